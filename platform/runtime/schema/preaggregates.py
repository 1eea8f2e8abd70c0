"""Pre-aggregates: per-owner counts and sums that summary and matrix reports are answered from,
kept current by the database itself, so every write path keeps them true (the records service,
bulk changes, imports, automations, recompute, stage moves of a migration, a person's own SQL).

Which exist is derived from the metadata. A report is *covered* when its source entity has an owner
column (the owner field, else created_by), every field it filters or groups by is a plain column
of the entity of a key type (select, stage, user, reference, boolean, date; a date group may be
bucketed), no filter reads the stage history (`stalled`), and every measure is a count of records
or the sum of a numeric column. Its *shape* is the entity, the key columns (the owner column, the
filtered and grouped fields) and the summed columns; covered reports whose key columns are the
same or a subset of another's share one table (each table's triggers cost every write; not a subset of
few-valued keys into a table keyed by a date, user or reference too: FEW_VALUES),
`atrium_agg_<entity>_<digest of the shape>`, holding one row per distinct key tuple: `_count`
records and, per summed field, the sum of its values (empty ones count as 0: a sum reads the same
once a report shows it). A shape that changes gets a new name: its table is
built afresh and the old one dropped, so a report is never answered from a table of another shape.

The rows are kept by row triggers on the entity's table (as the global search's index is:
search/index.py): an insert adds the new row's keys and values, a delete subtracts the old row's,
an update touching a key or a summed column does both. Key tuples whose count fell to 0 stay as
rows; a grouped query keeps only groups with records (HAVING). SQLite: three triggers per table,
an `INSERT ... WHERE NOT EXISTS` then an `UPDATE` matching keys with `IS` (NULL keys match). PostgreSQL
(15 or later): one PL/pgSQL trigger function and a unique index NULLS NOT DISTINCT on the keys, so
`INSERT ... ON CONFLICT DO UPDATE` adds each delta atomically under concurrent writers.

`plan` says which tables are missing, out of date or left over; `build` makes it so inside the
migration's transaction (a table is filled from the entity's rows with one INSERT ... SELECT
... GROUP BY); `rebuild` refills them all (`atrium recompute`). DDL text is built from the
metadata's checked identifiers, quoted by the dialect.
"""
from __future__ import annotations

import hashlib
import weakref
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from atrium.metadata.condition_tree import leaves
from atrium.metadata.field_paths import STAGE_OPERATORS
from atrium.metadata.model import Blueprint, Document, Entity
from atrium.metadata.report_checks import measure_function, report_entity
from atrium.runtime.schema.tables import Tables, bounded_name

PREFIX = "atrium_agg_"
COUNT = "_count"  # a field name never starts with "_": it cannot collide with a key or a sum
KEY_TYPES = frozenset({"select", "stage", "user", "reference", "boolean", "date"})
SUM_TYPES = frozenset({"integer", "number", "money", "percent"})
# Keys whose values are a short list. A table keyed by the owner and such keys only has a few rows per
# owner; folding it into a wider one keyed by a date, user or reference too (about a row per day or per
# record) would make its reports scan a table nearly the size of the entity's: it keeps a table of its
# own (one more set of triggers on each write, against milliseconds per read at scale).
FEW_VALUES = frozenset({"select", "stage", "boolean"})
SQLITE_TRIGGERS = ("insert", "delete", "update")


@dataclass(frozen=True)
class Shape:
    entity: str
    keys: tuple[str, ...]  # the owner column first, then the others sorted
    sums: tuple[str, ...]
    table: sa.Table

    @property
    def name(self) -> str:
        return self.table.name


@dataclass(frozen=True)
class Need:
    """What one report (with what the viewer asks on top) reads: the keys and the summed columns."""

    entity: str
    keys: frozenset[str]
    sums: frozenset[str]


@dataclass(frozen=True)
class PreaggregateChange:
    kind: str  # build (create and fill, or rebuild a table whose triggers are gone), drop
    entity: str
    table: str
    description: str


def owner_key(entity: Entity) -> str:
    """The column the own and team scopes read (Access.owner_column): the owner field, else created_by."""
    return entity.owner if entity.owner and entity.owner in entity.fields else "created_by"


def _conditions_fit(entity: Entity, condition: Mapping[str, Any]) -> set[str] | None:
    keys = set()
    for _, path, spec in leaves(condition):  # `any:` / `all:` read their fields like the top level
        field = entity.fields.get(path)
        if field is None or field.type not in KEY_TYPES:
            return None
        operators = spec if isinstance(spec, Mapping) else {"eq": spec}
        if any(operator in STAGE_OPERATORS for operator in operators):
            return None
        keys.add(path)
    return keys


def need_of(blueprint: Blueprint, document: Document, filters: Mapping[str, Any] | None = None) -> Need | None:
    """The keys and sums `document` reads, or None when a pre-aggregate cannot answer it."""
    if document.get("type", "summary") not in ("summary", "matrix"):
        return None
    name = report_entity(document.data, blueprint.pipelines)
    entity = blueprint.entities.get(name or "")
    if entity is None:
        return None
    keys = _conditions_fit(entity, document.get("where", {}))
    more = _conditions_fit(entity, filters or {})
    if keys is None or more is None:
        return None
    keys |= more | {owner_key(entity)}
    for spec in document.get("group_by", ()):
        path = spec if isinstance(spec, str) else spec["field"]
        field = entity.fields.get(path)
        if field is None or field.type not in KEY_TYPES:
            return None
        if not isinstance(spec, str) and spec.get("bucket") and field.type != "date":
            return None
        keys.add(path)
    sums = set()
    for spec in document.get("measures", {}).values():
        function, path = measure_function(spec)
        own = _conditions_fit(entity, spec.get("where", {})) if isinstance(spec, Mapping) else set()
        if own is None:  # a measure's own filter reads the aggregate's keys like the report's
            return None
        keys |= own
        if function == "count" and path in (None, "id"):
            continue
        field = entity.fields.get(path or "")
        if function != "sum" or field is None or field.type not in SUM_TYPES:
            return None
        sums.add(field.name)
    return Need(entity.name, frozenset(keys), frozenset(sums))


def _few_values(entity: Entity):
    owner = owner_key(entity)
    return lambda keys: all(k == owner or entity.fields[k].type in FEW_VALUES for k in keys)


def _digest(entity: str, keys: Iterable[str], sums: Iterable[str], types: Mapping[str, str]) -> str:
    text = "|".join([entity, ",".join(f"{k}:{types[k]}" for k in keys), ",".join(f"{s}:{types[s]}" for s in sums)])
    return hashlib.sha1(text.encode()).hexdigest()[:10]


def _shape(entity: Entity, base: sa.Table, keys: set[str], sums: set[str], metadata: sa.MetaData) -> Shape:
    owner = owner_key(entity)
    ordered = (owner, *sorted(keys - {owner}))
    summed = tuple(sorted(sums))
    types = {name: str(base.c[name].type) for name in (*ordered, *summed)}
    name = bounded_name(f"{PREFIX}{entity.name}_{_digest(entity.name, ordered, summed, types)}")
    table = sa.Table(name, metadata,
                     *(sa.Column(k, base.c[k].type) for k in ordered),
                     sa.Column(COUNT, sa.BigInteger(), nullable=False),
                     *(sa.Column(s, _sum_type(base.c[s].type)) for s in summed))
    sa.Index(f"{name}_keys", *(table.c[k] for k in ordered), unique=True, postgresql_nulls_not_distinct=True)
    return Shape(entity.name, ordered, summed, table)


def _sum_type(column_type: sa.types.TypeEngine) -> sa.types.TypeEngine:
    """A type that holds the sum of many values of `column_type` (a percent column's numeric(9, 4)
    overflows at 100,000 on PostgreSQL; an integer's at 2**31)."""
    if isinstance(column_type, sa.Integer):
        return sa.BigInteger()
    if isinstance(column_type, sa.Numeric) and not isinstance(column_type, sa.Float):
        return sa.Numeric(38, column_type.scale)
    return column_type


_SHAPES: dict[int, tuple[weakref.ref, list[Shape]]] = {}


def shapes(blueprint: Blueprint, tables: Tables) -> list[Shape]:
    """The pre-aggregates the metadata asks for: one per entity and key set, over every covered report."""
    cached = _SHAPES.get(id(tables))
    if cached is not None and cached[0]() is tables:
        return cached[1]
    wanted: dict[tuple[str, frozenset[str]], set[str]] = {}
    for document in blueprint.reports.values():
        need = need_of(blueprint, document)
        if need is not None and need.entity in tables.entities and all(
                c in tables[need.entity].c for c in (*need.keys, *need.sums)):
            wanted.setdefault((need.entity, need.keys), set()).update(need.sums)
    for entity, keys in sorted(wanted, key=lambda item: len(item[1])):  # one table serves its subsets too
        few = _few_values(blueprint.entities[entity])
        small = few(keys)
        wider = next((k for k in wanted if k[0] == entity and keys < k[1] and (not small or few(k[1]))), None)
        if wider is not None:
            wanted[wider] |= wanted.pop((entity, keys))
    metadata = sa.MetaData()
    found = [_shape(blueprint.entities[entity], tables[entity], set(keys), sums, metadata)
             for (entity, keys), sums in sorted(wanted.items(), key=lambda item: (item[0][0], sorted(item[0][1])))]
    for key in [k for k, (ref, _) in _SHAPES.items() if ref() is None]:
        del _SHAPES[key]
    _SHAPES[id(tables)] = (weakref.ref(tables), found)
    return found


def shape_for(blueprint: Blueprint, tables: Tables, need: Need) -> Shape | None:
    """The smallest pre-aggregate holding every key and sum `need` reads."""
    fitting = [s for s in shapes(blueprint, tables)
               if s.entity == need.entity and need.keys <= set(s.keys) and need.sums <= set(s.sums)]
    return min(fitting, key=lambda s: (len(s.keys), s.name), default=None)


# --- is it there: the compiler asks before it reads one ------------------------------------------

_PRESENT: weakref.WeakKeyDictionary[Engine, set[str]] = weakref.WeakKeyDictionary()


def present(connection: Connection, shape: Shape) -> bool:
    """Whether the database holds the shape's table (a database `atrium migrate` has not brought
    to this metadata yet reads the base tables). Only a yes is remembered: a table of a shape
    is only dropped once the metadata no longer asks for it (and then its name is not asked)."""
    known = _PRESENT.setdefault(connection.engine, set())
    if shape.name in known:
        return True
    if sa.inspect(connection).has_table(shape.name):
        known.add(shape.name)
        return True
    return False


# --- DDL ---------------------------------------------------------------------------------------


def _quote(connection: Connection, name: str) -> str:
    return connection.dialect.identifier_preparer.quote_identifier(name)


def sqlite_triggers(connection: Connection, shape: Shape) -> dict[str, str]:
    """name → CREATE TRIGGER statement of the shape's three SQLite triggers."""
    q = lambda name: _quote(connection, name)  # noqa: E731
    agg, base = q(shape.name), q(shape.entity)
    listed = ", ".join(q(c) for c in (*shape.keys, COUNT, *shape.sums))

    def match(row: str) -> str:
        return " AND ".join(f"{q(k)} IS {row}.{q(k)}" for k in shape.keys)

    def ensure(row: str) -> str:
        values = ", ".join([*(f"{row}.{q(k)}" for k in shape.keys), "0", *("0" for _ in shape.sums)])
        missing = f"NOT EXISTS (SELECT 1 FROM {agg} WHERE {match(row)})"
        return f"INSERT INTO {agg} ({listed}) SELECT {values} WHERE {missing};"

    def add(row: str, sign: str) -> str:
        sets = ", ".join([f"{q(COUNT)} = {q(COUNT)} {sign} 1",
                          *(f"{q(s)} = {q(s)} {sign} COALESCE({row}.{q(s)}, 0)" for s in shape.sums)])
        return f"UPDATE {agg} SET {sets} WHERE {match(row)};"

    watched = (*shape.keys, *shape.sums)
    changed = " OR ".join(f"old.{q(c)} IS NOT new.{q(c)}" for c in watched)
    bodies = {
        "insert": ("AFTER INSERT", ensure("new") + " " + add("new", "+")),
        "delete": ("AFTER DELETE", add("old", "-")),
        "update": (f"AFTER UPDATE OF {', '.join(q(c) for c in watched)} ON {base} WHEN {changed}",
                   add("old", "-") + " " + ensure("new") + " " + add("new", "+")),
    }
    statements = {}
    for kind, (when, body) in bodies.items():
        name = f"{shape.name}_{kind}"
        on = "" if kind == "update" else f" ON {base}"
        statements[name] = f"CREATE TRIGGER {q(name)} {when}{on} BEGIN {body} END"
    return statements


def postgres_function(connection: Connection, shape: Shape) -> tuple[str, str]:
    """(CREATE FUNCTION, CREATE TRIGGER) of the shape's PostgreSQL trigger."""
    q = lambda name: _quote(connection, name)  # noqa: E731
    agg = q(shape.name)
    listed = ", ".join(q(c) for c in (*shape.keys, COUNT, *shape.sums))
    conflict = ", ".join(q(k) for k in shape.keys)
    sets = ", ".join(f"{q(c)} = a.{q(c)} + EXCLUDED.{q(c)}" for c in (COUNT, *shape.sums))

    def delta(row: str, sign: str) -> str:
        values = ", ".join([*(f"{row}.{q(k)}" for k in shape.keys), f"{sign}1",
                            *(f"{sign}COALESCE({row}.{q(s)}, 0)" for s in shape.sums)])
        return (f"INSERT INTO {agg} AS a ({listed}) VALUES ({values}) "
                f"ON CONFLICT ({conflict}) DO UPDATE SET {sets};")

    same = " AND ".join(f"OLD.{q(c)} IS NOT DISTINCT FROM NEW.{q(c)}" for c in (*shape.keys, *shape.sums))
    function = (f"CREATE FUNCTION {q(shape.name + '_f')}() RETURNS trigger LANGUAGE plpgsql AS $body$ BEGIN "
                f"IF TG_OP = 'UPDATE' AND {same} THEN RETURN NULL; END IF; "
                f"IF TG_OP <> 'INSERT' THEN {delta('OLD', '-')} END IF; "
                f"IF TG_OP <> 'DELETE' THEN {delta('NEW', '')} END IF; "
                "RETURN NULL; END $body$")
    trigger = (f"CREATE TRIGGER {q(shape.name + '_t')} AFTER INSERT OR UPDATE OR DELETE ON {q(shape.entity)} "
               f"FOR EACH ROW EXECUTE FUNCTION {q(shape.name + '_f')}()")
    return function, trigger


def live_derived(connection: Connection, prefix: str) -> tuple[set[str], set[str]]:
    """(the tables named with `prefix`, the names of their triggers) the database holds: what the
    pre-aggregates and the stage tracking find before they plan."""
    tables = {name for name in sa.inspect(connection).get_table_names() if name.startswith(prefix)}
    if connection.dialect.name == "sqlite":
        master = sa.table("sqlite_master", sa.column("name"), sa.column("type"))
        triggers = set(connection.execute(sa.select(master.c.name).where(
            master.c.type == "trigger", master.c.name.like(prefix + "%"))).scalars())
    else:
        trigger = sa.table("pg_trigger", sa.column("tgname"), sa.column("tgrelid"))
        pg_class = sa.table("pg_class", sa.column("oid"), sa.column("relnamespace"))
        triggers = set(connection.execute(
            sa.select(trigger.c.tgname).select_from(trigger.join(pg_class, pg_class.c.oid == trigger.c.tgrelid))
            .where(trigger.c.tgname.like(prefix + "%"),
                   pg_class.c.relnamespace == sa.text("current_schema()::regnamespace"))).scalars())
    return tables, triggers


def _trigger_names(connection: Connection, shape: Shape) -> set[str]:
    if connection.dialect.name == "sqlite":
        return {f"{shape.name}_{kind}" for kind in SQLITE_TRIGGERS}
    return {f"{shape.name}_t"}


def plan(connection: Connection, blueprint: Blueprint, tables: Tables) -> list[PreaggregateChange]:
    """What the pre-aggregates need that the database lacks, and those it holds no longer asked for (only reads)."""
    live_tables, live_triggers = live_derived(connection, PREFIX)
    changes = []
    wanted = shapes(blueprint, tables)
    for shape in wanted:
        if shape.name not in live_tables or not _trigger_names(connection, shape) <= live_triggers:
            changes.append(PreaggregateChange(
                "build", shape.entity, shape.name,
                f"build pre-aggregate {shape.name}: {shape.entity} by {', '.join(shape.keys)}"
                + (f", sums of {', '.join(shape.sums)}" if shape.sums else "")))
    names = {shape.name for shape in wanted}
    changes += [PreaggregateChange("drop", "", name, f"drop pre-aggregate {name} (no report reads its shape)")
                for name in sorted(live_tables - names)]
    return changes


def drop(connection: Connection, name: str) -> None:
    """The pre-aggregate's table and triggers gone (`build` makes them again where the metadata asks)."""
    q = lambda n: _quote(connection, n)  # noqa: E731
    if connection.dialect.name == "sqlite":
        for kind in SQLITE_TRIGGERS:
            connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {q(f'{name}_{kind}')}")
    else:  # the function's trigger goes with it
        connection.exec_driver_sql(f"DROP FUNCTION IF EXISTS {q(name + '_f')}() CASCADE")
    connection.exec_driver_sql(f"DROP TABLE IF EXISTS {q(name)}")


def fill(connection: Connection, shape: Shape) -> None:
    """The shape's rows computed from the entity's table (one INSERT ... SELECT ... GROUP BY)."""
    base = sa.table(shape.entity, *(sa.column(c) for c in (*shape.keys, *shape.sums)))
    keys = [base.c[k] for k in shape.keys]
    select = sa.select(*keys, sa.func.count().label(COUNT),
                       *(sa.func.coalesce(sa.func.sum(base.c[s]), 0).label(s) for s in shape.sums)).group_by(*keys)
    connection.execute(sa.delete(shape.table))
    connection.execute(shape.table.insert().from_select([*shape.keys, COUNT, *shape.sums], select))


def build(connection: Connection, blueprint: Blueprint, tables: Tables) -> None:
    """Make the database hold what `plan` finds missing, in the caller's transaction (after the
    schema steps: the key and summed columns exist, a rebuilt SQLite table has lost its triggers)."""
    by_name = {shape.name: shape for shape in shapes(blueprint, tables)}
    for change in plan(connection, blueprint, tables):
        drop(connection, change.table)
        shape = by_name.get(change.table)
        if change.kind != "build" or shape is None:
            continue
        shape.table.create(connection)
        if connection.dialect.name == "sqlite":
            statements = list(sqlite_triggers(connection, shape).values())
        else:
            statements = list(postgres_function(connection, shape))
        for statement in statements:
            connection.exec_driver_sql(statement)
        fill(connection, shape)


def rebuild(connection: Connection, blueprint: Blueprint, tables: Tables) -> list[str]:
    """Every pre-aggregate recomputed from its entity's rows (`atrium recompute`); the names refilled."""
    build(connection, blueprint, tables)
    refilled = []
    for shape in shapes(blueprint, tables):
        fill(connection, shape)
        refilled.append(shape.name)
    return refilled
