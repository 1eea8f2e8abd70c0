"""The index walk: the first page of a filtered list read along the sort's own index.

Asked for `stage = won` sorted by amount, both planners take the stage index and sort every won
record (187,000 of a million) to keep 50: they cannot know that walking the amount index and
keeping the won ones stops after a few hundred rows. So when no index serves the filter and the sort
together (list_indexes.py derives the common ones), the list first reads a bounded window of the
sort index (`id IN (the next N ids in sort order)`) and keeps the matches. A window that holds a
full page is the answer (the window is a prefix of the order, so its first matches are the first
matches overall); one that holds fewer means the filter keeps few rows, which its own index finds
and sorts quickly, and the plain statement runs instead.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

import sqlalchemy as sa

from atrium.metadata.model import Entity

ROWS_WALKED_PER_ROW = 40  # window size per row asked for: a filter keeping 1 row in 40 still fills a page
SELECTIVE_TYPES = ("reference", "autonumber")  # one value matches few rows: that column's index wins


def _pinned_values(spec: Any) -> bool:
    """Whether a condition holds its column to one value (`won`, `{eq: won}`, `{in: [won]}`)."""
    if not isinstance(spec, Mapping):
        return spec is not None
    if set(spec) == {"eq"}:
        return spec["eq"] is not None
    return set(spec) == {"in"} and isinstance(spec["in"], list | tuple) and len(spec["in"]) == 1


def pinned_columns(entity: Entity, where: Mapping[str, Any]) -> set[str] | None:
    """The entity's own columns the conditions hold to one value; None when a condition already picks
    few rows (an id, a reference, a unique field), whose own index is the better way."""
    pinned = set()
    for path, spec in where.items():
        field = entity.fields.get(path)
        if path == "id" or field is not None and (field.type in SELECTIVE_TYPES or field.unique):
            if _pinned_values(spec) or isinstance(spec, Mapping) and "in" in spec:
                return None
        if field is not None and _pinned_values(spec):
            pinned.add(path)
    return pinned


def served_by_index(table: sa.Table, pinned: set[str], leading_sort: str) -> bool:
    """Whether an index reads the pinned rows in sort order: columns all pinned, then the sort's."""
    for index in table.indexes:
        names = [column.name for column in index.columns]
        for position in range(1, len(names)):
            if not set(names[:position]) <= pinned:
                break
            if names[position] == leading_sort:
                return True
    return False


def sort_has_index(table: sa.Table, leading_sort: str) -> bool:
    return any(next(iter(index.columns)).name == leading_sort for index in table.indexes)


def walk_pays(table: sa.Table, entity: Entity, leading_sort: str | None, where: Mapping[str, Any],
              scoped_owner: str | None, narrowed: bool) -> bool:
    """Whether to try the window first: something narrows the rows (`narrowed`: a filter, a search,
    an access scope), the sort's column leads an index, and no index serves filter and sort together.
    `scoped_owner` is the owner column when the access scope holds it to the user (own records)."""
    if leading_sort is None or not narrowed or not sort_has_index(table, leading_sort):
        return False
    pinned = pinned_columns(entity, where)
    if pinned is None:
        return False
    if scoped_owner is not None:
        pinned.add(scoped_owner)
    return not (pinned and served_by_index(table, pinned, leading_sort))


def window(table: sa.Table, size: int, ordering_of: Callable[[Any], list[sa.ColumnElement]],
           after_of: Callable[[Any], sa.ColumnElement] | None) -> sa.ColumnElement:
    """`id IN (the first `size` ids in sort order, after the cursor)`: an index-only read of the
    sort's index, on a table alias of its own so it never correlates with the outer statement."""
    walked = table.alias("walked")
    ids = sa.select(walked.c.id).order_by(*ordering_of(walked)).limit(size)
    if after_of is not None:
        ids = ids.where(after_of(walked))
    return table.c.id.in_(ids)
