"""Comments in the global search: a record is found by the text of its comments too (not deleted
ones), under the same access filter as its fields, so a comment never shows a record its reader
may not see. Every word must be in one comment. The comments of one entity are read through
their (entity, record_id) index and matched by substring (LIKE / strpos, any letter case): a
site's comments are far fewer than its records' fields, so no text index is kept for them.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import sqlalchemy as sa

from atrium.runtime.schema.tables import Tables

BODY = "atrium_comment_body"  # the column a found record carries its matching comment in
AROUND = 40  # characters of a snippet either side of the match


def comment_matches(tables: Tables, entity: str, words: Sequence[str],
                    readable: Callable[[Any], sa.ColumnElement], limit: int, dialect: str) -> sa.Select:
    """The readable records of `entity` with a comment holding every word, newest comment first."""
    comments, table = tables.system("atrium_comments"), tables[entity]

    def holds(word: str) -> sa.ColumnElement:
        if dialect == "postgresql":
            return sa.func.strpos(sa.func.lower(comments.c.body), word.lower()) > 0
        return comments.c.body.icontains(word, autoescape=True)
    return (sa.select(table, comments.c.body.label(BODY))
            .select_from(comments.join(table, table.c.id == comments.c.record_id))
            .where(comments.c.entity == entity, comments.c.deleted_at.is_(None), readable(table),
                   *(holds(word) for word in words))
            .order_by(comments.c.id.desc()).limit(limit))


def comment_snippet(body: str, words: Sequence[str]) -> str:
    """The comment around the first word found in it, on one line."""
    lowered = body.lower()
    at = next((lowered.find(w.lower()) for w in words if w.lower() in lowered), 0)
    start, end = max(0, at - AROUND), min(len(body), at + AROUND * 2)
    return ("…" if start else "") + " ".join(body[start:end].split()) + ("…" if end < len(body) else "")
