"""List queries: filters, quick search, sort and keyset pagination compiled to one SQL statement,
always limited by the caller's access scope."""
from __future__ import annotations

import base64
import builtins
import datetime as dt
import json
import math
import re
from dataclasses import dataclass, field as dataclass_field, replace
from decimal import Decimal
from typing import AbstractSet, Any, Mapping, Sequence
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection

from atrium.metadata.condition_tree import paths
from atrium.metadata.model import Blueprint, Entity, Field, Label
from atrium.runtime.access.policy import Access
from atrium.runtime.query import index_walk, through
from atrium.runtime.query.conditions import ConditionError, Joins, compile_condition
from atrium.runtime.query.prepared import Statements, equalities
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.records.phones import digit_queries
from atrium.runtime.schema.list_indexes import owner_column
from atrium.runtime.schema.tables import Tables, phone_key_column
from atrium.translation import N_

COUNT_CAP = 1000
CURSOR_DECIMAL_LIMIT = Decimal("1e20")  # beyond any money, percent or number column
ID_FIELD = Field(name="id", type="integer", label=Label.of("id"))
PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)[^}]*\}")


@dataclass(frozen=True)
class ListQuery:
    entity: str
    where: Mapping[str, Any] = dataclass_field(default_factory=dict)
    search: str = ""
    sort: Sequence[str] = ()
    limit: int = 50
    after: str | None = None


@dataclass(frozen=True)
class Page:
    records: list[dict[str, Any]]
    next_cursor: str | None
    count: int
    count_capped: bool  # True when there are more than `count` matches (counting stopped)


def _encode(values: Sequence[Any]) -> str:
    def plain(value: Any) -> Any:
        if isinstance(value, dt.datetime | dt.date):
            return {"t": type(value).__name__, "v": value.isoformat()}
        if isinstance(value, Decimal):
            return {"t": "decimal", "v": str(value)}
        return value
    text = json.dumps([plain(v) for v in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _target(field: Field) -> str:
    """The entity a reference field points to."""
    assert field.to is not None  # a blueprint loads only if every reference names an entity
    return field.to


INVALID_CURSOR = N_("Not a cursor this list gave: start again from its first page")


class InvalidCursor(ConditionError):
    """A keyset cursor that is not one a list gave (crafted or damaged): a 400 naming `after`; the
    API says so in the caller's language, the pages start the list again."""

    parameter = "after"

    def __init__(self) -> None:
        super().__init__(INVALID_CURSOR)


def _decode(cursor: str) -> list[Any]:
    """The values of a cursor `_encode` made; anything else (a crafted or damaged cursor) is a
    ConditionError (a 400), never a value sent to SQL untyped."""
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError, RecursionError):  # binascii.Error and JSONDecodeError are ValueErrors
        raise InvalidCursor() from None
    def typed(value: Any) -> Any:
        if isinstance(value, dict):
            kind, text = value.get("t"), value.get("v")
            if not isinstance(text, str) or len(text) > 64:
                raise InvalidCursor()
            try:
                if kind == "datetime":
                    return dt.datetime.fromisoformat(text)
                if kind == "date":
                    return dt.date.fromisoformat(text)
                if kind == "decimal":
                    number = Decimal(text)
                    if number.is_finite() and abs(number) < CURSOR_DECIMAL_LIMIT:
                        return number
            except (ValueError, ArithmeticError):  # decimal.InvalidOperation is an ArithmeticError
                pass
            raise InvalidCursor()
        if isinstance(value, float) and not math.isfinite(value):
            raise InvalidCursor()
        if isinstance(value, int) and not isinstance(value, bool) and not -2 ** 63 <= value < 2 ** 63:
            raise InvalidCursor()
        if isinstance(value, list | dict):
            raise InvalidCursor()
        return value
    if not isinstance(raw, list):
        raise InvalidCursor()
    return [typed(v) for v in raw]


def _fits(field: Field | None, value: Any) -> bool:
    """Whether a cursor value has the type its sort key stores (None: an empty value)."""
    if value is None:
        return True
    kind = field.type if field is not None else "datetime"  # created_at, updated_at
    if kind == "boolean":
        return isinstance(value, bool)
    if kind in ("integer", "reference", "user"):
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind in ("money", "percent"):
        return isinstance(value, Decimal)
    if kind == "datetime":
        return isinstance(value, dt.datetime)
    if kind == "date":
        return isinstance(value, dt.date) and not isinstance(value, dt.datetime)
    if kind == "select":  # option values may be numbers
        return isinstance(value, str | int | float) and not isinstance(value, bool)
    return isinstance(value, str)


class Queries:
    def __init__(self, blueprint: Blueprint, tables: Tables, access: Access, service: Any):
        self.blueprint = blueprint
        self.tables = tables
        self.access = access
        self.service = service
        self.statements = Statements()  # built once per shape, for this site's metadata only
        # whether the index walk pays, by the shape it depends on (the tables' indexes are this site's)
        self._walks: dict[tuple, bool] = {}

    def sort_keys(self, entity: Entity, sort: Sequence[str]) -> list[tuple[str, bool]]:
        """(field, descending) pairs, validated; the view's default sort when none is given."""
        keys = []
        for key in sort or self.blueprint.view(entity.name).sort:
            name = key.lstrip("-+")
            if name in entity.fields and entity.fields[name].type not in ("multiselect", "location", "file") \
                    or name in ("created_at", "updated_at", "id"):
                keys.append((name, key.startswith("-")))
            else:
                raise ConditionError(f"cannot sort by '{name}'")
        return [k for k in keys if k[0] != "id"]

    def list(self, connection: Connection, actor: Actor, query: ListQuery, now: dt.datetime) -> Page:
        entity = self.blueprint.entities[query.entity]
        filtered = equalities(entity, self.tables[entity.name], query.where)
        if filtered is not None and not query.search.strip() and query.after is None:
            keys = self.sort_keys(entity, query.sort)
            if not self._walk_pays(actor, entity, self.tables[entity.name], keys, query, connection.dialect.name):
                self._refuse_hidden_filters(actor, entity, query)
                return self._list_prepared(connection, actor, entity, query, keys, filtered)
        joins = Joins(self.blueprint, self.tables, entity.name, connection=connection)
        table = joins.base
        where = self.where(connection, actor, joins, query, now)
        keys = self.sort_keys(entity, query.sort)
        statement = sa.select(table).select_from(joins.from_clause).where(*where)
        values: builtins.list[Any] | None = None
        if query.after:
            values = _decode(query.after)
            if len(values) != len(keys) + 1 or not all(_fits(entity.fields.get(name), value) for (name, _), value
                                                       in zip(keys, values, strict=False)) \
                    or not _fits(ID_FIELD, values[-1]) or values[-1] is None:
                raise InvalidCursor()
            statement = statement.where(self._after(table, keys, values))
        limit = max(1, min(int(query.limit), 500))
        statement = statement.order_by(*self.ordering(table, keys)).limit(limit + 1)
        matched = None
        if joins.aliases and query.after is None:
            # A filter through a reference (`account.tier`) hides from the planner how few rows it
            # keeps (1 in 100 of a rep's deals, measured), so it walks the sort's index row by row.
            # The capped count's matches, read first, answer both: up to COUNT_CAP ids sort in a
            # moment, and a full cap is the count, the page then read as before.
            matched = connection.execute(self._matching_ids(connection, actor, entity, joins, where, query, now)
                                         .limit(COUNT_CAP + 1)).scalars().all()
            if len(matched) <= COUNT_CAP:
                statement = sa.select(table).where(table.c.id.in_(matched)) \
                    .order_by(*self.ordering(table, keys)).limit(limit + 1)
        rows = None
        if (matched is None or len(matched) > COUNT_CAP) \
                and self._walk_pays(actor, entity, table, keys, query, connection.dialect.name):
            cursor_values = values
            rows = connection.execute(statement.where(index_walk.window(
                table, index_walk.ROWS_WALKED_PER_ROW * (limit + 1), lambda walked: self.ordering(walked, keys),
                None if cursor_values is None else lambda walked: self._after(walked, keys, cursor_values),
                keys[0], connection.dialect.name))).fetchall()
            if len(rows) <= limit:  # the window held less than a page: the filter keeps few rows
                rows = None
        if rows is None:
            rows = connection.execute(statement).fetchall()
        records = [self.service.record_of(entity, row._mapping) for row in rows[:limit]]
        cursor = None
        if len(rows) > limit:
            last = records[-1]
            cursor = _encode([last[name] for name, _ in keys] + [last["id"]])
        if query.after is None and len(rows) <= limit:
            return Page(records, None, len(records), False)  # the whole result is in hand
        if matched is not None:
            return Page(records, cursor, min(len(matched), COUNT_CAP), len(matched) > COUNT_CAP)
        count_query = (sa.select(sa.literal(1)).select_from(joins.from_clause).where(*where)
                       .limit(COUNT_CAP + 1).subquery())
        count = connection.execute(sa.select(sa.func.count()).select_from(count_query)).scalar_one()
        return Page(records, cursor, min(count, COUNT_CAP), count > COUNT_CAP)

    def _matching_ids(self, connection: Connection, actor: Actor, entity: Entity, joins: Joins,
                      where: builtins.list[sa.ColumnElement], query: ListQuery, now: dt.datetime) -> sa.Select:
        """The ids the list's conditions match; on PostgreSQL a condition through a reference as the
        linked records' ids the reader may read (query/through.py), not a join."""
        rest, linked = through.split(entity, query.where) if connection.dialect.name == "postgresql" else ({}, {})
        if not linked:
            return sa.select(joins.base.c.id).select_from(joins.from_clause).where(*where)
        joins = Joins(self.blueprint, self.tables, entity.name, connection=connection)
        where = self.where(connection, actor, joins, replace(query, where=rest), now)
        for name, conditions in linked.items():
            target = _target(entity.fields[name])
            table = self.tables[target]
            ids = sa.select(sa.func.array_agg(table.c.id)).where(
                compile_condition(Joins(self.blueprint, self.tables, target, connection=connection), conditions,
                                  now, self.blueprint.timezone),
                self.access.row_filter(connection, actor, target, "read", table))
            where.append(joins.base.c[name] == sa.any_(sa.cast(ids.scalar_subquery(), ARRAY(table.c.id.type))))
        return sa.select(joins.base.c.id).select_from(joins.from_clause).where(*where)

    def _walk_pays(self, actor: Actor, entity: Entity, table: sa.Table, keys: builtins.list[tuple[str, bool]],
                   query: ListQuery, dialect: str) -> bool:
        """Whether to read a window of the sort's index first (query/index_walk.py)."""
        scope = self.access.scope(actor, entity.name, "read")
        own = scope == "own" and not self.access.claims(actor, entity.name)
        narrowed = bool(query.where) or bool(query.search.strip()) or scope != "all"
        shape = None
        if equalities(entity, table, query.where) is not None:
            # equal values on own columns: what decides is which columns they are, not the values
            shape = (entity.name, table.name, tuple(sorted(query.where)), tuple(keys), own, narrowed, dialect)
            if shape in self._walks:
                return self._walks[shape]
        pays = index_walk.walk_pays(table, entity, keys[0][0] if keys else None, query.where,
                                    owner_column(entity) if own else None, narrowed,
                                    bool(keys) and keys[0][1], dialect)
        if shape is not None:
            self._walks[shape] = pays
        return pays

    def exact_count(self, connection: Connection, actor: Actor, query: ListQuery, now: dt.datetime) -> int:
        entity = self.blueprint.entities[query.entity]
        joins = Joins(self.blueprint, self.tables, entity.name, connection=connection)
        where = self.where(connection, actor, joins, query, now)
        return connection.execute(sa.select(sa.func.count()).select_from(joins.from_clause)
                                  .where(*where)).scalar_one()

    def where(self, connection: Connection, actor: Actor, joins: Joins, query: ListQuery,
               now: dt.datetime) -> builtins.list[sa.ColumnElement]:
        """Access scope, filters and search. A filter through a reference (`account.name`) only
        matches linked records the actor may read, and never a field the actor cannot see:
        otherwise filtering would reveal what the actor may not read."""
        entity = self.blueprint.entities[joins.entity]
        self._refuse_hidden_filters(actor, entity, query)
        where = [self.access.row_filter(connection, actor, entity.name, "read", joins.base),
                 compile_condition(joins, query.where, now, self.blueprint.timezone)]
        for path, alias in joins.aliases.items():
            target = self._entity_at(entity, path)
            where.append(sa.or_(alias.c.id.is_(None),
                                self.access.row_filter(connection, actor, target.name, "read", alias)))
        if query.search.strip():
            where.append(self.search_condition(entity, joins.base, query.search, self._hidden(actor, entity)))
        return where

    def _refuse_hidden_filters(self, actor: Actor, entity: Entity, query: ListQuery) -> None:
        for path in paths(query.where):
            current = entity
            for step in path.split("."):
                if step in current.fields and self.access.field_mode(actor, current.name, step) == "hidden":
                    raise ConditionError(f"cannot filter by '{path}'")
                field = current.fields.get(step)
                if field is None or field.type != "reference":
                    break
                current = self.blueprint.entities[_target(field)]

    def _list_prepared(self, connection: Connection, actor: Actor, entity: Entity, query: ListQuery,
                       keys: builtins.list[tuple[str, bool]], filtered: tuple[str, ...]) -> Page:
        """`list` for a first page filtered on the entity's own columns by equal values only (a
        related list: `{link: id}`): the statements are built once per shape (prepared.py) and run
        with the reader's ids and the values as parameters."""
        limit = max(1, min(int(query.limit), 500))
        shape = ("list", filtered, tuple(keys), limit, self.access.scope_shape(actor, entity.name, "read"))

        def build() -> tuple[sa.Select, sa.Select]:
            table = self.tables[entity.name]
            where = [self.access.row_filter(connection, actor, entity.name, "read", table),
                     *(table.c[name] == sa.bindparam(f"eq_{name}", type_=table.c[name].type) for name in filtered)]
            counted = sa.select(sa.literal(1)).select_from(table).where(*where).limit(COUNT_CAP + 1).subquery()
            return (sa.select(table).where(*where).order_by(*self.ordering(table, keys)).limit(limit + 1),
                    sa.select(sa.func.count()).select_from(counted))
        statement, counting = self.statements.get(shape, build)
        values = self.access.scope_values(actor) | {f"eq_{name}": query.where[name] for name in filtered}
        rows = connection.execute(statement, values).fetchall()
        records = [self.service.record_of(entity, row._mapping) for row in rows[:limit]]
        if len(rows) <= limit:
            return Page(records, None, len(records), False)
        last = records[-1]
        count = connection.execute(counting, values).scalar_one()
        return Page(records, _encode([last[name] for name, _ in keys] + [last["id"]]), min(count, COUNT_CAP),
                    count > COUNT_CAP)

    def _entity_at(self, entity: Entity, path: str) -> Entity:
        for step in path.split("."):
            entity = self.blueprint.entities[_target(entity.fields[step])]
        return entity

    def _hidden(self, actor: Actor, entity: Entity) -> AbstractSet[str]:
        return self.access.hidden_fields(actor, entity.name)

    @staticmethod
    def search_condition(entity: Entity, table: sa.Table, text: str,
                         hidden: AbstractSet[str] = frozenset()) -> sa.ColumnElement:
        """Quick search over the entity's searchable fields, never over a field the user cannot see;
        a phone is also matched on its digits (`13912345678` finds `139 1234 5678`)."""
        fields = [f for f in entity.searchable if f in table.c and f not in hidden]
        digits = digit_queries(text, None)
        phones = [table.c[phone_key_column(f)] for f in fields
                  if entity.fields[f].type == "phone" and phone_key_column(f) in table.c]
        return sa.or_(sa.false(), *(sa.cast(table.c[f], sa.String).icontains(text.strip(), autoescape=True)
                                    for f in fields),
                      *(key.contains(number, autoescape=True) for key in phones for number in digits))

    @staticmethod
    def ordering(table: sa.Table, keys: builtins.list[tuple[str, bool]]) -> builtins.list[sa.ColumnElement]:
        """Sort terms: empty values last, ties broken by id in the direction of the last key.

        Breaking ties that way makes `(field)` and `(owner, field)` indexes serve a sort in either
        direction (an index holds equal values sorted by id), so a page is read from the index
        instead of sorting the table."""
        terms = [(table.c[name].desc() if descending else table.c[name].asc()).nulls_last()
                 for name, descending in keys]
        last_descending = bool(keys) and keys[-1][1]
        return terms + [table.c.id.desc() if last_descending else table.c.id.asc()]

    @staticmethod
    def _after(table: sa.Table, keys: builtins.list[tuple[str, bool]],
               values: builtins.list[Any]) -> sa.ColumnElement:
        """Rows strictly after the cursor in `ordering`, for any mix of directions.

        Each non-empty value gives `field <= v AND (field < v OR <rest>)` (for a descending key),
        a range the database can seek to, rather than an OR it must filter row by row."""
        if len(values) != len(keys) + 1:
            raise InvalidCursor()
        last_descending = bool(keys) and keys[-1][1]
        condition = table.c.id < values[-1] if last_descending else table.c.id > values[-1]
        for (name, descending), value in reversed(list(zip(keys, values, strict=False))):
            column = table.c[name]
            if value is None:  # empty values sort last: after one only later empty ones
                condition = sa.and_(column.is_(None), condition)
                continue
            within = column <= value if descending else column >= value
            beyond = column < value if descending else column > value
            condition = sa.or_(sa.and_(within, sa.or_(beyond, condition)), column.is_(None))
        return condition

    def titles(self, connection: Connection, entity: str, ids: Sequence[int],
               actor: Actor | None = None, depth: int = 0, readable_only: bool = False) -> dict[int, str]:
        """How records show in links and pickers, from the entity's `title` template: a linked
        record shows as its own title (if the actor may read it), a time in the blueprint's time
        zone, and a field the actor's role hides is left out."""
        table = self.tables[entity]
        template, names = self._title_template(entity, actor)
        wanted = sorted({i for i in ids if i is not None})
        scoped = readable_only and actor is not None
        shape = ("titles", entity, tuple(names),
                 self.access.scope_shape(actor, entity, "read") if scoped and actor is not None else None)

        def build() -> sa.Select:
            query = sa.select(table.c.id, *(table.c[n] for n in names)).where(
                table.c.id.in_(sa.bindparam("ids", expanding=True)))
            return query.where(self.access.row_filter(connection, actor, entity, "read", table)) \
                if scoped and actor is not None else query
        query = self.statements.get(shape, build)
        values = self.access.scope_values(actor) if scoped and actor is not None else {}
        rows = []
        for start in range(0, len(wanted), 500):
            rows += [dict(row._mapping) for row in connection.execute(
                query, values | {"ids": wanted[start:start + 500]})]
        return self.titles_of(connection, entity, rows, actor, depth)

    def _title_template(self, entity: str, actor: Actor | None) -> tuple[str, builtins.list[str]]:
        model = self.blueprint.entities[entity]
        template = model.title or "{" + next((f.name for f in model if f.type == "text"), "id") + "}"
        hidden = self._hidden(actor, model) if actor is not None else frozenset()
        table = self.tables[entity]
        return template, [n for n in PLACEHOLDER.findall(template) if n in table.c and n not in hidden]

    def titles_of(self, connection: Connection, entity: str, rows: Sequence[Mapping[str, Any]],
                  actor: Actor | None = None, depth: int = 0) -> dict[int, str]:
        """The titles of records already read (no query unless the title shows a linked record)."""
        model = self.blueprint.entities[entity]
        template, names = self._title_template(entity, actor)
        linked = {name: self._linked_titles(connection, _target(model.fields[name]),
                                            {row.get(name) for row in rows}, actor, depth)
                  for name in names if name in model.fields and model.fields[name].type == "reference"}

        def shown(name: str, value: Any) -> str:
            if value is None:
                return ""
            if name in linked:
                return linked[name].get(value, "")
            if isinstance(value, dt.datetime):
                return f"{value.astimezone(ZoneInfo(self.blueprint.timezone)):%Y-%m-%d %H:%M}"
            return str(value)

        shows = set(names)  # a field the actor's role hides stays out, even if the row holds it
        def title(row: Mapping[str, Any]) -> str:
            return " ".join(PLACEHOLDER.sub(lambda m: shown(m.group(1), row.get(m.group(1))
                                                           if m.group(1) in shows else None),
                                         template).split()) or f"#{row['id']}"

        return {row["id"]: title(row) for row in rows}

    def _linked_titles(self, connection: Connection, entity: str, ids: set, actor: Actor | None,
                       depth: int) -> dict[int, str]:
        ids = {i for i in ids if i is not None}
        if not ids or depth >= 2:
            return {}
        return self.titles(connection, entity, sorted(ids), actor, depth + 1, readable_only=True)
