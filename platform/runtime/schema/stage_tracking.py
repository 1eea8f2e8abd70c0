"""Stage tracking: per record of a pipeline's entity, when it entered its current stage and the
furthest stage it reached, so `stalled`, `in_stage_longer_than_days` and funnels read one row per
record instead of grouping the stage history (atrium_stage_history).

One side table per pipeline, `atrium_track_<entity>_<digest>`: `record_id` (primary key),
`entered_at` (the newest move of the record, as `stage_analytics.entered_at` reads it from the
history), `furthest` (the highest step of the pipeline's ladder, its open stages and won outcome in
the order the pipeline lists them, that a move of the record went into; empty when none did) and a
`lost<i>` flag per lost outcome (1 when a move went into it). The digest covers the pipeline's
name, ladder and lost outcomes: a pipeline that changes (a stage added, removed or moved) gets a
new table filled afresh from the history, and the old one is dropped, so a number is never read
from a table of another ladder.

Why a side table kept by triggers on the history rather than columns of the entity's table kept by
the records service: every writer of a stage move already writes a history row (the records
service, bulk changes, imports, automations, demo walks that rewrite a created record's history,
a migration's value moves, SQL run by hand), so a row trigger on atrium_stage_history sees every
one of them inside the writing transaction, and the entity's table (its columns, the recycle bin's
copy of its rows, exports, the pre-aggregates' triggers) is left untouched. A record deleted and
restored keeps its history, hence its tracking row. Each trigger recomputes the record's row from
its history (a few rows found through the (entity, record_id) index), so inserts, deletes and
corrections of history rows are all exact. PostgreSQL: a concurrent move of the same record waits
on the record's row (its UPDATE comes before the history INSERT), so the recomputation reads the
other's committed move.

The entered-stage time is also kept on the entity's own table, in `<stage field>_entered_at`
(tables.entered_column: the newest move, else the record's creation, as `entered_at` reads it),
indexed after the owner and the stage, so the stalled list and `in_stage_longer_than_days` of
any owner scope are a range of that index instead of a lookup per record of the scope. The same
history triggers write it (an UPDATE of that one column, only when it changes: no other trigger
of the entity's table watches it), and a row trigger on the entity's table sets it on every insert
(a create through any path, an import, a restore from the recycle bin, SQL by hand) from the
record's tracking row, else its creation time; the records service gives it at once, so its
inserts write nothing more. A database whose tracking tables predate the column gets them built
again by `atrium migrate` (the digest names the column), which fills it.

Beside each tracking table, `<name>_agg` counts the records per owner × furthest stage × lost flags
for the funnels that only count (funnel_aggregates.py); it is built, dropped and rebuilt with it.

`plan` says what is missing or left over (`atrium migrate` lists it as `build stage tracking ...`),
`build` makes it so in the migration's transaction, `rebuild` refills every table (`atrium
recompute`). `tracked` is what queries ask: the table when the database holds it, else None (and
they read the history, as before).
"""
from __future__ import annotations

import hashlib
import weakref
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from atrium.metadata.model import Blueprint, Entity, Pipeline
from atrium.runtime.schema import funnel_aggregates
from atrium.runtime.schema.preaggregates import live_derived, owner_key
from atrium.runtime.schema.tables import ID_TYPE, Tables, UTCDateTime, bounded_name, entered_column

PREFIX = "atrium_track_"
HISTORY = "atrium_stage_history"
SQLITE_TRIGGERS = ("insert", "delete", "update", "entity_insert")


@dataclass(frozen=True)
class Tracking:
    pipeline: str
    entity: str
    ladder: tuple[str, ...]  # the stages a funnel counts in order: open ones and the won outcome
    losses: tuple[str, ...]  # the lost outcomes
    table: sa.Table
    aggregate: sa.Table | None = None  # the funnel's pre-aggregate by owner × furthest stage (funnel_aggregates.py)
    entered: str = ""  # the entity's column holding the entered-stage time (tables.entered_column)

    @property
    def name(self) -> str:
        return self.table.name


@dataclass(frozen=True)
class TrackingChange:
    kind: str  # build, drop
    entity: str
    table: str
    description: str


def ladder_of(pipeline: Pipeline) -> tuple[tuple[str, ...], tuple[str, ...]]:
    return (tuple(stage.name for stage in pipeline.stages if stage.outcome != "lost"),
            tuple(stage.name for stage in pipeline.stages if stage.outcome == "lost"))


def tracking_of(pipeline: Pipeline, entity: Entity, metadata: sa.MetaData | None = None) -> Tracking:
    ladder, losses = ladder_of(pipeline)
    entered = entered_column(pipeline.field)
    text = "\n".join([pipeline.entity, pipeline.name, ",".join(ladder), ",".join(losses), owner_key(entity), entered])
    digest = hashlib.sha1(text.encode()).hexdigest()[:10]
    name = bounded_name(f"{PREFIX}{pipeline.entity}_{digest}")
    table = sa.Table(name, metadata if metadata is not None else sa.MetaData(),
                     sa.Column("record_id", ID_TYPE, primary_key=True, autoincrement=False),
                     sa.Column("entered_at", UTCDateTime()),
                     sa.Column("furthest", sa.Integer()),
                     *(sa.Column(f"lost{i}", sa.Integer(), nullable=False) for i in range(len(losses))),
                     sa.Index(bounded_name(f"ix_{name}_entered"), "entered_at"))
    return Tracking(pipeline.name, pipeline.entity, ladder, losses, table,
                    funnel_aggregates.aggregate_table(name, entity, len(losses)), entered)


def trackings(blueprint: Blueprint) -> list[Tracking]:
    """One per pipeline whose entity holds its stage field."""
    metadata = sa.MetaData()
    found = []
    for pipeline in blueprint.pipelines.values():
        entity = blueprint.entities.get(pipeline.entity)
        if entity is None or entity.stage_field is None or entity.stage_field.pipeline != pipeline.name:
            continue
        found.append(tracking_of(pipeline, entity, metadata))
    return found


_PRESENT: weakref.WeakKeyDictionary[Engine, set[str]] = weakref.WeakKeyDictionary()


def tracked(connection: Connection, pipeline: Pipeline, entity: Entity) -> Tracking | None:
    """The pipeline's tracking (and its funnel aggregate, built with it) when the database holds
    it (only a yes is remembered, as for the pre-aggregates: a table is dropped only once the
    metadata no longer names it)."""
    tracking = tracking_of(pipeline, entity)
    known = _PRESENT.setdefault(connection.engine, set())
    if tracking.name in known:
        return tracking
    if sa.inspect(connection).has_table(tracking.name):
        known.add(tracking.name)
        return tracking
    return None


# --- what a record's row is, from its history --------------------------------------------------


def _summary(tracking: Tracking, history: sa.Table) -> list[sa.ColumnElement]:
    """The aggregates of one record's history rows, in the tracking table's column order."""
    mine = history.c.pipeline == tracking.pipeline
    step = sa.case({name: index for index, name in enumerate(tracking.ladder)}, value=history.c.to_stage)
    return [sa.func.max(history.c.changed_at),
            sa.func.max(sa.case((mine, step))),
            *(sa.func.max(sa.case((sa.and_(mine, history.c.to_stage == name), 1), else_=0))
              for name in tracking.losses)]


def _columns(tracking: Tracking) -> list[str]:
    return ["record_id", "entered_at", "furthest", *(f"lost{i}" for i in range(len(tracking.losses)))]


def fill(connection: Connection, tables: Tables, tracking: Tracking) -> None:
    """The tracking rows computed from the history (one INSERT ... SELECT ... GROUP BY)."""
    history = tables.system(HISTORY)
    select = (sa.select(history.c.record_id, *_summary(tracking, history))
              .where(history.c.entity == tracking.entity).group_by(history.c.record_id))
    connection.execute(sa.delete(tracking.table))
    connection.execute(tracking.table.insert().from_select(_columns(tracking), select))
    fill_entered(connection, tables, tracking)


def fill_entered(connection: Connection, tables: Tables, tracking: Tracking) -> None:
    """The entity's entered-stage column from the tracking rows (else each record's creation), where it differs."""
    base, track = tables[tracking.entity], tracking.table
    column = base.c[tracking.entered]
    value = sa.func.coalesce(sa.select(track.c.entered_at).where(track.c.record_id == base.c.id)
                             .scalar_subquery(), base.c.created_at)
    connection.execute(sa.update(base).where(column.is_distinct_from(value)).values({tracking.entered: value}))


# --- DDL ---------------------------------------------------------------------------------------


def _quote(connection: Connection, name: str) -> str:
    return connection.dialect.identifier_preparer.quote_identifier(name)


def _recompute(connection: Connection, tables: Tables, tracking: Tracking, record: str) -> str:
    """SQL (for a trigger body) making the tracking row of the record whose id is `record` (NEW.x
    or OLD.x) what its history says, or removing it when it has no history left."""
    history = tables.system(HISTORY)
    q = lambda name: _quote(connection, name)  # noqa: E731
    marker: sa.ColumnElement = sa.literal_column("__record__")
    select = (sa.select(history.c.record_id, *_summary(tracking, history))
              .where(history.c.entity == tracking.entity, history.c.record_id == marker)
              .group_by(history.c.record_id))
    text = str(select.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True}))
    text = text.replace("__record__", record)
    entity = _literal(connection, tracking.entity)
    columns = _columns(tracking)
    listed = ", ".join(q(c) for c in columns)
    gone = (f"DELETE FROM {q(tracking.name)} WHERE {q('record_id')} = {record} AND NOT EXISTS "
            f"(SELECT 1 FROM {q(HISTORY)} WHERE {q('entity')} = {entity} AND {q('record_id')} = {record});")
    sets = ", ".join(f"{q(c)} = EXCLUDED.{q(c)}" for c in columns[1:])
    return (f"{gone} INSERT INTO {q(tracking.name)} ({listed}) {text} "
            f"ON CONFLICT ({q('record_id')}) DO UPDATE SET {sets}; "  # an UPDATE: the aggregate's trigger sees it
            f"{_set_entered(connection, tracking, record)}")


def _entered_value(connection: Connection, tracking: Tracking, record: str, created: str) -> str:
    """SQL for the record's entered-stage time: its tracking row's, else `created` (its creation time)."""
    q = lambda name: _quote(connection, name)  # noqa: E731
    return (f"COALESCE((SELECT {q('entered_at')} FROM {q(tracking.name)} WHERE {q('record_id')} = {record}), "
            f"{created})")


def _differs(connection: Connection) -> str:
    return "IS NOT" if connection.dialect.name == "sqlite" else "IS DISTINCT FROM"


def _set_entered(connection: Connection, tracking: Tracking, record: str) -> str:
    """SQL writing the entity's entered-stage column of the record `record` (when it exists and the
    value changes: an unchanged row is not written again)."""
    q = lambda name: _quote(connection, name)  # noqa: E731
    base, column = q(tracking.entity), q(tracking.entered)
    value = _entered_value(connection, tracking, record, f"{base}.{q('created_at')}")
    return (f"UPDATE {base} SET {column} = {value} WHERE {base}.{q('id')} = {record} "
            f"AND {base}.{column} {_differs(connection)} {value};")


def _literal(connection: Connection, value: str) -> str:
    return str(sa.literal(value).compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True}))


def sqlite_triggers(connection: Connection, tables: Tables, tracking: Tracking) -> list[str]:
    q = lambda name: _quote(connection, name)  # noqa: E731
    entity = _literal(connection, tracking.entity)
    new, old = _recompute(connection, tables, tracking, "new.record_id"), \
        _recompute(connection, tables, tracking, "old.record_id")
    bodies = {"insert": ("AFTER INSERT", f"new.entity = {entity}", new),
              "delete": ("AFTER DELETE", f"old.entity = {entity}", old),
              "update": ("AFTER UPDATE", f"old.entity = {entity} OR new.entity = {entity}", f"{old} {new}")}
    made = [f"CREATE TRIGGER {q(f'{tracking.name}_{kind}')} {when} ON {q(HISTORY)} "
            f"WHEN {condition} BEGIN {body} END"
            for kind, (when, condition, body) in bodies.items()]
    base, column = q(tracking.entity), q(tracking.entered)
    value = _entered_value(connection, tracking, f"new.{q('id')}", f"new.{q('created_at')}")
    made.append(f"CREATE TRIGGER {q(f'{tracking.name}_entity_insert')} AFTER INSERT ON {base} "
                f"WHEN new.{column} IS NOT {value} BEGIN UPDATE {base} SET {column} = {value} "
                f"WHERE {q('id')} = new.{q('id')}; END")
    return made


def postgres_statements(connection: Connection, tables: Tables, tracking: Tracking) -> list[str]:
    q = lambda name: _quote(connection, name)  # noqa: E731
    entity = _literal(connection, tracking.entity)
    function = (f"CREATE FUNCTION {q(tracking.name + '_f')}() RETURNS trigger LANGUAGE plpgsql AS $body$ BEGIN "
                f"IF TG_OP <> 'INSERT' AND OLD.entity = {entity} THEN "
                f"{_recompute(connection, tables, tracking, 'OLD.record_id')} END IF; "
                f"IF TG_OP <> 'DELETE' AND NEW.entity = {entity} THEN "
                f"{_recompute(connection, tables, tracking, 'NEW.record_id')} END IF; "
                "RETURN NULL; END $body$")
    trigger = (f"CREATE TRIGGER {q(tracking.name + '_t')} AFTER INSERT OR UPDATE OR DELETE ON {q(HISTORY)} "
               f"FOR EACH ROW EXECUTE FUNCTION {q(tracking.name + '_f')}()")
    value = _entered_value(connection, tracking, f"NEW.{q('id')}", f"NEW.{q('created_at')}")
    on_insert = (f"CREATE FUNCTION {q(tracking.name + '_ef')}() RETURNS trigger LANGUAGE plpgsql AS $body$ BEGIN "
                 f"NEW.{q(tracking.entered)} := {value}; RETURN NEW; END $body$")
    inserted = (f"CREATE TRIGGER {q(tracking.name + '_et')} BEFORE INSERT ON {q(tracking.entity)} "
                f"FOR EACH ROW EXECUTE FUNCTION {q(tracking.name + '_ef')}()")
    return [function, trigger, on_insert, inserted]


def _trigger_names(connection: Connection, tracking: Tracking) -> set[str]:
    aggregate = funnel_aggregates.trigger_names(connection, tracking)
    if connection.dialect.name == "sqlite":
        return {f"{tracking.name}_{kind}" for kind in SQLITE_TRIGGERS} | aggregate
    return {f"{tracking.name}_t", f"{tracking.name}_et"} | aggregate


def plan(connection: Connection, blueprint: Blueprint) -> list[TrackingChange]:
    """What stage tracking the database lacks, and the tables no pipeline asks for (only reads)."""
    live_tables, live_triggers = live_derived(connection, PREFIX)
    wanted = trackings(blueprint)
    changes = [TrackingChange("build", t.entity, t.name,
                              f"build stage tracking {t.name}: {t.entity} by pipeline {t.pipeline}")
               for t in wanted
               if not {t.name, _aggregate_name(t)} <= live_tables
               or not _trigger_names(connection, t) <= live_triggers]
    names = {t.name for t in wanted} | {_aggregate_name(t) for t in wanted}
    changes += [TrackingChange("drop", "", name, f"drop stage tracking {name} (no pipeline reads it)")
                for name in sorted(live_tables - names)]
    return changes


def _aggregate_name(tracking: Tracking) -> str:
    assert tracking.aggregate is not None
    return tracking.aggregate.name


def drop(connection: Connection, name: str) -> None:
    """A tracking table (or a funnel aggregate: `<tracking>_agg`), its aggregate and their triggers gone."""
    q = lambda n: _quote(connection, n)  # noqa: E731
    funnel_aggregates.drop(connection, name if name.endswith("_agg") else bounded_name(f"{name}_agg"))
    if connection.dialect.name == "sqlite":
        for kind in SQLITE_TRIGGERS:
            connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {q(f'{name}_{kind}')}")
    else:  # the function's trigger goes with it
        connection.exec_driver_sql(f"DROP FUNCTION IF EXISTS {q(name + '_f')}() CASCADE")
        connection.exec_driver_sql(f"DROP FUNCTION IF EXISTS {q(name + '_ef')}() CASCADE")
    connection.exec_driver_sql(f"DROP TABLE IF EXISTS {q(name)}")


def before_schema(connection: Connection, entities: set[str]) -> None:
    """On SQLite, before a migration's schema steps on `entities`' tables: their trackings and funnel
    aggregates go (`build` makes them again afterwards). Their triggers on the history and on the
    tracking table name the entity's table, and SQLite refuses to rebuild (rename) a table a trigger
    of another table names."""
    if connection.dialect.name != "sqlite" or not entities:
        return
    live, _ = live_derived(connection, PREFIX)
    for name in sorted(live):
        if any(name.startswith(f"{PREFIX}{entity}_") for entity in entities):
            drop(connection, name)


def before_table_renames(connection: Connection, entities: set[str]) -> None:
    """Before a migration renames entities' tables (`entities`: the names before and after): their
    trackings go, and `build` makes them again under the new names. Their triggers name the table
    and the entity, which the rename and the system tables' update would leave naming nothing."""
    live, _ = live_derived(connection, PREFIX)
    for name in live:
        if not name.endswith("_agg") and any(name.startswith(f"{PREFIX}{entity}_") for entity in entities):
            drop(connection, name)


def build(connection: Connection, blueprint: Blueprint, tables: Tables) -> None:
    """Make the database hold what `plan` finds missing, in the caller's transaction (after the
    schema steps and a migration's value moves: their history rows are counted by the fill)."""
    by_name = {t.name: t for t in trackings(blueprint)}
    for change in plan(connection, blueprint):
        drop(connection, change.table)
        tracking = by_name.get(change.table)
        if change.kind != "build" or tracking is None:
            continue
        tracking.table.create(connection)
        statements = (sqlite_triggers(connection, tables, tracking) if connection.dialect.name == "sqlite"
                      else postgres_statements(connection, tables, tracking))
        for statement in statements:
            connection.exec_driver_sql(statement)
        fill(connection, tables, tracking)
        assert tracking.aggregate is not None
        tracking.aggregate.create(connection)  # made and filled after the tracking rows: no trigger per row
        funnel_aggregates.fill(connection, tracking, tables[tracking.entity])
        for statement in funnel_aggregates.statements(connection, tracking, blueprint.entities[tracking.entity]):
            connection.exec_driver_sql(statement)


def rebuild(connection: Connection, blueprint: Blueprint, tables: Tables) -> list[str]:
    """Every tracking table and funnel aggregate made afresh from the history and the records
    (`atrium recompute`); the tracking tables' names."""
    refilled = []
    for tracking in trackings(blueprint):
        drop(connection, tracking.name)
        refilled.append(tracking.name)
    build(connection, blueprint, tables)
    return refilled
