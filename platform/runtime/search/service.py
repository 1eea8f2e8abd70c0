"""The global search: one text looked for in every entity the caller may read, in the fields each
entity declares searchable (`search:`), under the same access layer lists use.

- Only records the caller may read (`Access.row_filter`), only entities they may read at all, and
  never in a field their role hides: a hidden field is neither searched nor shown in a snippet
  nor in a title.
- Each word of the text must be found (in any searchable field). A word of three characters or
  more is looked up in the index (SQLite FTS5 trigram, PostgreSQL pg_trgm: index.py); a word of
  one or two characters (`王`, `张三`) cannot be, and is matched with LIKE over the searchable
  columns of the records the longer words found, or, when every word is that short, of each
  entity's newest 5,000 records (a bounded scan: tens of milliseconds, where a scan of a table
  of a million orders takes seconds). The page says so.
- A text that reads as a phone number (digits, spaces, `+ - ( ) .`) is also looked for among the
  phones' digits, as digits and as the whole number with its country code: `13912345678`,
  `139 1234 5678` and `+86 139-1234-5678` all find `139 1234 5678`.
- A record is also found by the text of its comments (search/comments.py), under the same access
  filter; the snippet is then the comment's.
- Newest records first; results are shared fairly between entities up to `limit`, then grouped
  by entity in the blueprint's order.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from atrium.metadata.model import Blueprint, Entity
from atrium.runtime.access.policy import Access
from atrium.runtime.query.lists import Queries
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.records.phones import NOT_DIGITS, digit_queries
from atrium.runtime.schema.tables import Tables, phone_key_column
from atrium.runtime.search.comments import BODY, comment_matches, comment_snippet
from atrium.runtime.search.index import fts_name

MAX_TEXT = 100  # characters of a search text that count
MAX_WORDS = 8
MAX_LIMIT = 100
TRIGRAM = 3  # the shortest word the index can look up
SHORT_SCAN = 5_000  # words shorter than TRIGRAM alone: looked for among each entity's newest records
SNIPPET_AROUND = 40  # characters of a snippet's value either side of the match


@dataclass(frozen=True)
class Hit:
    entity: str
    id: int
    title: str
    snippet: str  # the matching field's value around the match ("" when none of the shown fields holds it)
    field: str | None = None  # the field the snippet is from


def words_of(text: str) -> list[str]:
    return text.strip()[:MAX_TEXT].split()[:MAX_WORDS]


def only_short_words(text: str) -> bool:
    """Whether every word is too short for the index: the search then reads only each entity's
    newest records (SHORT_SCAN), which the page says."""
    words = words_of(text)
    return bool(words) and all(len(word) < TRIGRAM for word in words) and not digit_queries(text, None)


def _fts_phrase(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


def _fts_query(columns: Sequence[str], words: Sequence[str], joiner: str) -> str:
    """An FTS5 query: every (or any) word, as a substring, in one of `columns`."""
    return "{" + " ".join(columns) + "} : (" + f" {joiner} ".join(_fts_phrase(w) for w in words) + ")"


class GlobalSearch:
    def __init__(self, blueprint: Blueprint, tables: Tables, access: Access, queries: Queries):
        self.blueprint, self.tables, self.access, self.queries = blueprint, tables, access, queries

    def searchable(self, actor: Actor, entity: Entity) -> list[str]:
        """The searchable fields of `entity` the actor's role shows."""
        return [name for name in entity.searchable if name in entity.fields
                and self.access.field_mode(actor, entity.name, name) != "hidden"]

    def search(self, connection: Connection, actor: Actor, text: str, limit: int = 20,
               entities: Sequence[str] | None = None) -> list[Hit]:
        words = words_of(text)
        limit = max(1, min(int(limit), MAX_LIMIT))
        if not words:
            return []
        digits = digit_queries(" ".join(words), self.blueprint.phone_country_code)
        found: dict[str, list[Hit]] = {}
        for entity in self.blueprint.entities.values():
            if entities is not None and entity.name not in entities:
                continue
            if not self.access.can(actor, entity.name, "read"):
                continue
            hits = self._entity(connection, actor, entity, self.searchable(actor, entity), words, digits, limit)
            if hits:
                found[entity.name] = hits
        return _shared(found, limit)

    def _entity(self, connection: Connection, actor: Actor, entity: Entity, fields: list[str],
                words: list[str], digits: Sequence[str], limit: int) -> list[Hit]:
        table = self.tables[entity.name]
        columns = [phone_key_column(f) if entity.fields[f].type == "phone" else f for f in fields]
        columns = [c for c in columns if c in table.c]
        phones = [phone_key_column(f) for f in fields if entity.fields[f].type == "phone"
                  and phone_key_column(f) in table.c]
        def readable(source: Any) -> sa.ColumnElement:
            return self.access.row_filter(connection, actor, entity.name, "read", source)

        ids: set[int] = set()
        rows: dict[int, dict[str, Any]] = {}
        # a number written with its country code (+86 …) is a phone, not words to look for in names
        international = bool(digits) and words[0].startswith("+")
        arms = ([] if international or not columns else [(columns, words, "AND")]) + (
            [(phones, list(digits), "OR")] if phones and digits else [])
        for arm_columns, arm_words, joiner in arms:
            statement = self._statement(connection, table, arm_columns, arm_words, joiner, readable, limit)
            for row in connection.execute(statement):
                if row.id not in ids:
                    ids.add(row.id)
                    rows[row.id] = dict(row._mapping)
        if not international:  # the record's comments
            statement = comment_matches(self.tables, entity.name, words, readable, limit, connection.dialect.name)
            for row in connection.execute(statement):
                if row.id not in ids:
                    ids.add(row.id)
                    rows[row.id] = dict(row._mapping)
        if not rows:
            return []
        newest = sorted(rows, reverse=True)[:limit]
        titles = self.queries.titles_of(connection, entity.name, [rows[i] for i in newest], actor)
        return [self._hit(entity, fields, rows[i], titles.get(i, f"#{i}"), words, digits) for i in newest]

    def _statement(self, connection: Connection, base: sa.Table, columns: Sequence[str], words: Sequence[str],
                   joiner: str, readable: Callable[[Any], sa.ColumnElement], limit: int) -> sa.Select:
        indexed = [w for w in words if len(w) >= TRIGRAM]
        scanned = [w for w in words if len(w) < TRIGRAM]
        if joiner == "OR" and scanned:  # any of the words: the index cannot rule out a short one
            indexed, scanned = [], list(words)
        table = base
        conditions: list[sa.ColumnElement] = [readable(table)]
        if not indexed:  # nothing the index can narrow: a bounded scan of the newest records, read by id
            # (the ids first, so the database walks them, not an index of the access filter's owner
            # column, which would read every record of a team)
            newest = sa.select(sa.func.max(base.c.id)).scalar_subquery()
            recent = (sa.select(base.c.id.label("recent_id")).where(base.c.id > newest - SHORT_SCAN)
                      .order_by(base.c.id.desc()).limit(SHORT_SCAN).subquery("recent"))
            return (sa.select(table).select_from(recent.join(table, table.c.id == recent.c.recent_id))
                    .where(*conditions, *self._like(table, columns, scanned, joiner, connection.dialect.name))
                    .order_by(recent.c.recent_id.desc()).limit(limit))
        conditions += self._like(table, columns, scanned, joiner, connection.dialect.name)
        if connection.dialect.name == "sqlite" and indexed:
            fts = sa.table(fts_name(base.name), sa.column("rowid"), sa.column(fts_name(base.name)))
            match = fts.c[fts_name(base.name)].op("MATCH")(_fts_query(columns, indexed, joiner))
            return (sa.select(table).select_from(fts.join(table, table.c.id == fts.c.rowid))
                    .where(match, *conditions).order_by(fts.c.rowid.desc()).limit(limit))
        if indexed:  # PostgreSQL: ILIKE, served by the pg_trgm indexes
            terms = [sa.or_(*(table.c[c].icontains(w, autoescape=True) for c in columns)) for w in indexed]
            conditions.append(sa.and_(*terms) if joiner == "AND" else sa.or_(*terms))
        return sa.select(table).where(*conditions).order_by(table.c.id.desc()).limit(limit)

    @staticmethod
    def _like(table: sa.Table, columns: Sequence[str], words: Sequence[str], joiner: str,
              dialect: str = "sqlite") -> list[sa.ColumnElement]:
        """Conditions for words too short for the index: every word (AND) or any (OR) in one of the
        columns. On PostgreSQL as `strpos`, which a pg_trgm index does not offer to serve (for a
        two-character ILIKE it would read the whole index)."""
        if not words:
            return []

        def within(column: str, word: str) -> sa.ColumnElement:
            if dialect == "postgresql":
                return sa.func.strpos(sa.func.lower(table.c[column]), word.lower()) > 0
            return table.c[column].icontains(word, autoescape=True)
        if joiner == "OR":
            return [sa.or_(*(within(c, w) for w in words for c in columns))]
        return [sa.or_(*(within(c, w) for c in columns)) for w in words]

    def _hit(self, entity: Entity, fields: list[str], row: Mapping[str, Any], title: str,
             words: Sequence[str], digits: Sequence[str]) -> Hit:
        lowered = [w.lower() for w in words]
        for name in fields:
            value = row.get(name)
            if value is None:
                continue
            text = str(value)
            if entity.fields[name].type == "phone":
                key = str(row.get(phone_key_column(name)) or "")
                numbers = [NOT_DIGITS.sub("", w) for w in words]
                if any(d in key for d in digits) or all(n and n in key for n in numbers):
                    return Hit(entity.name, row["id"], title, text, name)
                continue
            at = next((text.lower().find(w) for w in lowered if w in text.lower()), -1)
            if at < 0:
                continue
            start = max(0, at - SNIPPET_AROUND)
            end = min(len(text), at + SNIPPET_AROUND * 2)
            snippet = ("…" if start else "") + " ".join(text[start:end].split()) + ("…" if end < len(text) else "")
            return Hit(entity.name, row["id"], title, snippet, name)
        if row.get(BODY):  # found by a comment
            return Hit(entity.name, row["id"], title, comment_snippet(row[BODY], words), None)
        return Hit(entity.name, row["id"], title, "", None)


def _shared(found: Mapping[str, list[Hit]], limit: int) -> list[Hit]:
    """Up to `limit` hits shared fairly between entities (one from each in turn), grouped by entity."""
    taken: dict[str, int] = {name: 0 for name in found}
    total, more = 0, True
    while total < limit and more:
        more = False
        for name, hits in found.items():
            if taken[name] < len(hits) and total < limit:
                taken[name] += 1
                total += 1
                more = True
    return [hit for name, hits in found.items() for hit in hits[:taken[name]]]
