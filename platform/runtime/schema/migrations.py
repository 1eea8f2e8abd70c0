"""Compare the live database with the model, plan the difference, apply it with Alembic.

`plan_migration` only reads; `apply_migration` runs the plan's steps through Alembic's
`Operations` in one transaction. Nothing is dropped unless a person named it in `drop`:
a field removed from metadata keeps its column. Tables the model does not know are left alone.
A stage or option some record still holds is never removed silently: the plan moves the records
where the metadata's `moved` map says (a `move_values` step), or refuses with the counts
(value_moves.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field as dataclass_field
from typing import Any, Callable, Mapping, Sequence, cast

import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy.engine import Connection, Engine

from atrium.errors import AtriumError
from atrium.metadata.model import Blueprint
from atrium.runtime.duplicates.keys import fill_match_keys, key_gaps
from atrium.runtime.schema import preaggregates, stage_tracking
from atrium.runtime.schema.column_types import family, type_change
from atrium.runtime.schema.database import refresh_statistics
from atrium.runtime.schema.field_renames import FieldRename, follow_renames
from atrium.runtime.schema.table_renames import drop_search_index, follow_table_renames, table_renames
from atrium.runtime.schema.tables import SYSTEM_TABLES, Tables, build_tables, index_columns, location_columns
from atrium.runtime.schema.value_moves import Stranded, move_values, refusals, stranded_values
from atrium.runtime.schema.value_renames import ValueRenames, declared, of_step, planned, rename_value
from atrium.runtime.search import index as search_index

# what a migration hands over after moving records: (entity, field, ids of the records moved) each
Moved = list[tuple[str, str, list[int]]]
AfterMoves = Callable[[Connection, Moved], None]

class MigrationRefused(AtriumError):
    """The model asks for a change that would lose data, or a --drop names nothing droppable."""

    status, code = 409, "migration"


class MigrationFailed(MigrationRefused):
    """The database refused a step (e.g. a unique index over duplicate values); nothing was changed."""

    status = 500


@dataclass(frozen=True)
class Step:
    # create_table, rename_table (a renamed entity: table_renames.py), add_column, rename_column,
    # rename_field (what follows a renamed field: field_renames.py), rename_value (a renamed stage or
    # option: value_renames.py),
    # change_type, create_index, drop_index, keep_column, drop_column,
    # move_values (records holding `value`, a removed stage or option, get `target`),
    # search_index, search_fill, search_extension, search_unindexed (the global search: search/index.py),
    # fill_keys (values typed before a duplicate rule compared them get their key: duplicates/keys.py),
    # preaggregate_build, preaggregate_drop (what summary reports are answered from: preaggregates.py),
    # tracking_build, tracking_drop (entered-stage time and furthest stage per record: stage_tracking.py)
    action: str
    table: str
    name: str  # column or index
    description: str
    new_name: str | None = None
    value: Any = None
    target: Any = None
    records: int = 0

    @property
    def changes_database(self) -> bool:
        return self.action not in ("keep_column", "search_unindexed")


@dataclass(frozen=True)
class MigrationPlan:
    steps: tuple[Step, ...] = ()
    refused: tuple[str, ...] = dataclass_field(default=())
    stranded: tuple[Stranded, ...] = ()  # removed stages and options records hold (moved or refused)

    @property
    def changes(self) -> tuple[Step, ...]:
        return tuple(step for step in self.steps if step.changes_database)

    def refusals(self, locale: str | None) -> list[str]:
        """Why the plan is refused, in the reader's language (the stranded values' words; the
        other reasons are the planner's English)."""
        english = set(refusals(list(self.stranded), "en"))
        return [reason for reason in self.refused if reason not in english] + refusals(list(self.stranded), locale)

    def describe(self) -> str:
        lines = [f"- {step.description}" for step in self.steps]
        lines += [f"! refused: {reason}" for reason in self.refused]
        return "\n".join(lines) if lines else "The database matches the blueprint; nothing to do."


def plan_migration(connection: Connection, blueprint: Blueprint, drop: Sequence[str] = (),
                   renames: Mapping[str, Mapping[str, str]] | None = None,
                   entities: Mapping[str, str] | None = None, values: ValueRenames | None = None) -> MigrationPlan:
    """`renames`: {entity: {field: its previous name}} beside the model's `renamed_from:`, `entities`:
    {entity: its table's name now}, `values`: {(entity, field): {value now: its name}} beside the
    `renamed:` maps (an undo of a rename names the way back)."""
    undone = dict(renames or {})
    tables = build_tables(blueprint)
    inspector = sa.inspect(connection)
    live_tables = set(inspector.get_table_names())
    live_indexes = {name: inspector.get_indexes(name) for name in live_tables}
    moved_tables = table_renames(blueprint, live_tables, entities or {})  # new name → the live table
    steps: list[Step] = []
    refused: list[str] = []
    droppable: set[str] = set()
    # Referenced tables first; a reference cycle (A.b → B, B.a → A) is fine, so no sort warning.
    wanted_tables = [t for t, _ in sa.schema.sort_tables_and_constraints(tables.metadata.tables.values())
                     if t is not None]
    for table in wanted_tables:
        live_name = moved_tables.get(table.name, table.name)
        if live_name not in live_tables:
            kind = "system table" if table.name in SYSTEM_TABLES else "table"
            steps.append(Step("create_table", table.name, table.name, f"create {kind} {table.name}"))
            continue
        if live_name != table.name:
            steps.append(Step("rename_table", table.name, live_name, f"rename table {live_name} to {table.name} "
                              "(records kept; history, comments, files ... follow)", new_name=table.name))
        live_columns = {c["name"]: c["type"] for c in inspector.get_columns(live_name)}
        renamed = _renames(blueprint, table.name, live_columns, steps, undone.get(table.name, {}))
        for column in table.columns:
            if column.name in renamed:
                continue
            if column.name not in live_columns:
                steps.append(Step("add_column", table.name, column.name,
                                  f"add column {table.name}.{column.name} ({family(column.type)})"))
                continue
            change, refusal = type_change(table.name, column.name, live_columns[column.name], column.type)
            if change:
                steps.append(Step("change_type", table.name, column.name, change))
            if refusal:
                refused.append(refusal)
        renamed_away = {step.name for step in steps if step.action == "rename_column" and step.table == table.name}
        for name in live_columns:
            if name not in table.columns and name not in renamed_away and table.name not in SYSTEM_TABLES:
                droppable.add(f"{table.name}.{name}")
                if f"{table.name}.{name}" in drop:
                    # its indexes go first (SQLite's table rebuild would try to keep them)
                    steps += [Step("drop_index", table.name, cast(str, ix["name"]), f"drop index {ix['name']} "
                                   f"(on the dropped column {table.name}.{name})")
                              for ix in live_indexes[live_name] if name in ix["column_names"]]
                    steps.append(Step("drop_column", table.name, name,
                                      f"DROP column {table.name}.{name} and all its data (--drop)"))
                else:
                    steps.append(Step("keep_column", table.name, name,
                                      f"keep column {table.name}.{name}: no longer in the blueprint "
                                      f"(hidden; data kept; drop it with --drop {table.name}.{name})"))
        columns_renamed = {step.name: step.new_name for step in steps  # a rename_column step has a new_name
                           if step.action == "rename_column" and step.table == table.name
                           and step.new_name is not None}
        steps.extend(_index_steps(inspector, table, columns_renamed, live_name))
    for name in drop:
        if name not in droppable:
            refused.append(f"--drop {name}: no such column is left over from the blueprint")
    live = {name: {c["name"] for c in inspector.get_columns(name)} for name in live_tables}
    live.update({new: live[old] for new, old in moved_tables.items()})
    renamed_values, found = planned(connection, tables, declared(blueprint, values),
                                    stranded_values(connection, blueprint, tables, live, moved_tables))
    steps += [Step("rename_value", rename.entity, rename.field, f"rename {rename.kind} {rename.old} of "
                   f"{rename.entity}.{rename.field} to {rename.new} ({records} record(s); history follows)",
                   value=rename.old, target=rename.new, records=records) for rename, records in renamed_values]
    stranded = found
    steps += [Step("move_values", item.entity, item.field, item.move_text("en"), value=item.value,
                   target=item.target, records=item.records) for item in stranded if item.target is not None]
    refused += refusals(stranded, "en")
    steps += [Step("fill_keys", entity, name, f"fill {entity}.{name}_key: {entity}.{name} normalised for "
                   "duplicate checks") for entity, name in key_gaps(connection, blueprint, tables, live)]
    steps += [Step(f"search_{change.kind}", change.entity, change.entity, change.description)
              for change in search_index.plan(connection, blueprint, tables)]
    steps += [Step(f"preaggregate_{change.kind}", change.entity, change.table, change.description)
              for change in preaggregates.plan(connection, blueprint, tables)]
    steps += [Step(f"tracking_{change.kind}", change.entity, change.table, change.description)
              for change in stage_tracking.plan(connection, blueprint)]
    return MigrationPlan(tuple(steps), tuple(refused), tuple(stranded))


def _renames(blueprint: Blueprint, table: str, live_columns: dict, steps: list[Step],
             extra: Mapping[str, str]) -> set[str]:
    """Plan `renamed_from:` renames (and the `extra` ones); returns the new column names they produce."""
    entity = blueprint.entities.get(table)
    produced: set[str] = set()
    if entity is None:
        return produced
    for field in entity:
        previous = extra.get(field.name) or field.renamed_from
        if not previous:
            continue
        if field.type == "location":
            pairs = list(zip(location_columns(previous), location_columns(field.name), strict=False))
        else:
            pairs = [(previous, field.name)]
        moved = False
        for old, new in pairs:
            if old in live_columns and new not in live_columns:
                steps.append(Step("rename_column", table, old, f"rename column {table}.{old} to {new} "
                                  f"(data kept)", new_name=new))
                produced.add(new)
                moved = True
        if moved:
            steps.append(Step("rename_field", table, previous, f"field history and saved views of "
                              f"{table}.{previous} follow it to {field.name}", new_name=field.name))
    return produced


def _index_steps(inspector, table: sa.Table, renames: dict[str, str], live_name: str) -> list[Step]:
    live = {ix["name"]: ix for ix in inspector.get_indexes(live_name) if ix.get("name")}
    for ix in live.values():  # an index follows its column through a rename
        ix["column_names"] = [renames.get(c, c) for c in ix["column_names"]]
    # the model's indexes are named by the MetaData naming convention (tables.py), never None
    wanted = {cast(str, ix.name): ix for ix in table.indexes}
    steps = [Step("create_index", table.name, name, f"create {'unique ' if ix.unique else ''}index "
                  f"{name} on {table.name} ({', '.join(c.name for c in ix.columns)})")
             for name, ix in wanted.items() if name not in live]
    ours = (f"ix_{table.name}_", f"uq_{table.name}_", f"ix_{live_name}_", f"uq_{live_name}_")
    steps += [Step("drop_index", table.name, name, f"drop index {name} (no longer declared; no data lost)")
              for name, ix in live.items()
              if name not in wanted and name.startswith(ours)
              and all(c in table.columns for c in ix["column_names"] if c)]
    return steps


def apply_migration(engine: Engine, blueprint: Blueprint, plan: MigrationPlan,
                    after: Callable[[Connection], None] | None = None, after_moves: AfterMoves | None = None) -> None:
    """Run every step of `plan` in one transaction; any failure leaves the database as it was.
    `after_moves` gets the records a `move_values` step moved, in the same transaction (to
    recompute what is computed from them). `after` runs in the same transaction once the schema
    is there (the CLI computes the new and changed formulas and roll-ups of existing records with
    it: records/recompute.py)."""
    if plan.refused:
        raise MigrationRefused("\n".join(plan.refused))
    tables = build_tables(blueprint)
    with engine.connect() as connection:
        # SQLite rebuilds a table to change a column's type or drop a column; with foreign keys
        # on, dropping the old copy of a table other tables point to fails. The switch only
        # works outside a transaction; the keys are checked again before commit.
        rebuild = connection.dialect.name == "sqlite" and any(
            step.action in ("change_type", "drop_column") for step in plan.steps)
        raw = connection.connection.dbapi_connection if rebuild else None
        if raw is not None:
            raw.execute("PRAGMA foreign_keys=OFF")
        try:
            with connection.begin():
                operations = Operations(MigrationContext.configure(connection))
                _apply(operations, connection, blueprint, tables, plan, after_moves)
                if after is not None:
                    after(connection)
                if raw is not None and connection.exec_driver_sql("PRAGMA foreign_key_check").first():
                    raise MigrationFailed("rebuilding a table broke a link between records; nothing was changed")
        finally:
            if raw is not None:
                raw.execute("PRAGMA foreign_keys=ON")
    refresh_statistics(engine, [*tables.metadata.tables, *(s.name for s in preaggregates.shapes(blueprint, tables)),
                                *(t.name for t in stage_tracking.trackings(blueprint))])


def apply_in_transaction(connection: Connection, blueprint: Blueprint, plan: MigrationPlan,
                         after_moves: AfterMoves | None = None) -> None:
    """Run the plan's steps in the caller's transaction, so other writes commit or roll back with
    the schema (the studio records a metadata version with its migration). On SQLite the caller
    turns foreign keys off before the transaction when the plan rebuilds a table (see
    `apply_migration`, and `rebuilds_tables`)."""
    if plan.refused:
        raise MigrationRefused("\n".join(plan.refused))
    _apply(Operations(MigrationContext.configure(connection)), connection, blueprint, build_tables(blueprint), plan,
           after_moves)


def rebuilds_tables(connection: Connection, plan: MigrationPlan) -> bool:
    """Whether applying the plan on this connection copies a table (SQLite: type changes, drops)."""
    return connection.dialect.name == "sqlite" and any(
        step.action in ("change_type", "drop_column") for step in plan.steps)


def _constraint_name(key: sa.ForeignKey) -> str | None:
    """The name of a foreign key's constraint (named by the naming convention of tables.py)."""
    assert key.constraint is not None  # a key of a column in a table belongs to its constraint
    return cast("str | None", key.constraint.name)


def _detached(column: sa.Column, keys: bool = True) -> sa.Column:
    """A copy of a model column for Alembic, with its foreign key (`Column._copy` drops it)."""
    references = [sa.ForeignKey(key.target_fullname, name=_constraint_name(key), ondelete=key.ondelete)
                  for key in column.foreign_keys] if keys else []
    # the model declares server defaults with sa.text(...): a DefaultClause, which has .arg
    default = (cast("str | sa.TextClause", cast(sa.DefaultClause, column.server_default).arg)
               if column.server_default is not None else None)
    return sa.Column(column.name, column.type, *references, primary_key=column.primary_key,
                     unique=column.unique, autoincrement=column.autoincrement,
                     nullable=column.nullable, server_default=default)


def _keys_for_later(column: sa.Column, existing: set[str], sqlite: bool) -> list[sa.ForeignKey]:
    """PostgreSQL checks that a key's table exists: a key into a table this plan has not created
    yet (a reference cycle) is added once every table is there. SQLite does not check."""
    return [] if sqlite else [key for key in column.foreign_keys if key.column.table.name not in existing]


def _apply(op: Operations, connection: Connection, blueprint: Blueprint, tables: Tables,
           plan: MigrationPlan, after_moves: AfterMoves | None = None) -> None:
    try:
        stage_tracking.before_schema(connection, {step.table for step in plan.steps
                                                  if step.action.endswith(("_column", "_type"))})
        stage_tracking.before_table_renames(connection, {name for step in plan.steps if step.action == "rename_table"
                                                         for name in (step.name, step.table)})
        _apply_steps(op, connection, tables, plan)
        follow_table_renames(connection, blueprint, tables, {step.table: step.name for step in plan.steps
                                                             if step.action == "rename_table"})
        for step in (s for s in plan.steps if s.action == "rename_value"):
            rename_value(connection, tables, of_step(blueprint, step.table, step.name, step.value, step.target))
        follow_renames(connection, blueprint, tables, [FieldRename(step.table, step.name, step.new_name)
                                                       for step in plan.steps
                                                       if step.action == "rename_field" and step.new_name])
        moved: Moved = [  # after the schema steps: a moved stage's history has its `migrated` column
            (step.table, step.name, move_values(connection, blueprint, tables, step.table, step.name, step.value,
                                                step.target))
            for step in plan.steps if step.action == "move_values"]
        if moved and after_moves is not None:
            after_moves(connection, moved)
        for step in (s for s in plan.steps if s.action == "fill_keys"):  # once the key columns exist
            fill_match_keys(connection, blueprint, tables, blueprint.entities[step.table], only=step.name)
        search_index.build(connection, op, blueprint, tables)  # after the schema: a rebuilt table lost its triggers
        preaggregates.build(connection, blueprint, tables)  # likewise
        stage_tracking.build(connection, blueprint, tables)  # after the value moves: their history counts
    except sa.exc.DBAPIError as error:  # the transaction rolls back: nothing is changed
        reason = " ".join(str(getattr(error, "orig", None) or error).split())
        raise MigrationFailed(f"the database refused the migration, nothing was changed: {reason}") from error


def _apply_steps(op: Operations, connection: Connection, tables: Tables, plan: MigrationPlan) -> None:
    sqlite = connection.dialect.name == "sqlite"
    dialect = connection.dialect.name
    created = {step.table for step in plan.steps if step.action == "create_table"}
    existing = set(sa.inspect(connection).get_table_names())
    deferred_keys: list[tuple[str, sa.ForeignKey]] = []
    for step in plan.steps:
        # the search index, keys, pre-aggregates and renamed uses come after the schema (_apply)
        if step.action.startswith(("search_", "preaggregate_", "tracking_")) \
                or step.action in ("fill_keys", "rename_field", "rename_value"):
            continue
        table = tables.metadata.tables[step.table]
        if step.action == "rename_table":
            drop_search_index(connection, step.name)
            op.rename_table(step.name, table.name)
        if step.action == "create_table":
            columns = []
            for column in table.columns:
                later = _keys_for_later(column, existing | {table.name}, sqlite)
                deferred_keys += [(table.name, key) for key in later]
                columns.append(_detached(column, keys=not later))
            op.create_table(table.name, *columns)
            existing.add(table.name)
            for index in table.indexes:
                op.create_index(index.name, table.name, index_columns(index, dialect), unique=index.unique)
        elif step.action == "add_column":
            later = _keys_for_later(table.c[step.name], existing, sqlite)
            deferred_keys += [(table.name, key) for key in later]
            op.add_column(table.name, _detached(table.c[step.name], keys=not later), inline_references=sqlite)
        elif step.action == "rename_column":
            op.alter_column(table.name, step.name, new_column_name=step.new_name)
        elif step.action == "change_type":
            if sqlite:
                # Alembic's batch mode copies the values with CAST(... AS <new type>), and SQLite's
                # CAST of '2026-03-31' to DATETIME keeps 2026: rebuild the table with the new
                # declared type and copy the values as they are.
                live = sa.Table(table.name, sa.MetaData(), autoload_with=connection)
                was = family(live.c[step.name].type)
                live.c[step.name].type = table.c[step.name].type
                with op.batch_alter_table(table.name, copy_from=live, recreate="always"):
                    pass
                if (was, family(table.c[step.name].type)) == ("date", "datetime"):
                    quoted = f'"{step.name}"'
                    connection.exec_driver_sql(f'UPDATE "{table.name}" SET {quoted} = {quoted} || '
                                               f"' 00:00:00.000000' WHERE length({quoted}) = 10")
            else:
                wanted = table.c[step.name].type.compile(connection.dialect)
                if family(table.c[step.name].type) == "datetime":  # a date is midnight UTC, as on SQLite
                    wanted = "timestamp AT TIME ZONE 'UTC'"
                op.alter_column(table.name, step.name, type_=table.c[step.name].type,
                                postgresql_using=f'"{step.name}"::{wanted}')
        elif step.action == "create_index" and step.table not in created:
            index = next(ix for ix in table.indexes if ix.name == step.name)
            op.create_index(index.name, table.name, index_columns(index, dialect), unique=index.unique)
        elif step.action == "drop_index":
            op.drop_index(step.name, table_name=table.name)
        elif step.action == "drop_column":
            if sqlite:
                with op.batch_alter_table(table.name) as batch:
                    batch.drop_column(step.name)
            else:
                op.drop_column(table.name, step.name)
    for table_name, key in deferred_keys:
        op.create_foreign_key(_constraint_name(key), table_name, key.column.table.name,
                              [key.parent.name], [key.column.name], ondelete=key.ondelete)


def migrate(engine: Engine, blueprint: Blueprint, drop: Sequence[str] = (),
            after: Callable[[Connection], None] | None = None,
            after_moves: AfterMoves | None = None) -> MigrationPlan:
    """Plan and apply in one go; returns the plan that was applied. `after` (see apply_migration)
    runs even when the schema needs no change."""
    with engine.connect() as connection:
        plan = plan_migration(connection, blueprint, drop)
    if plan.changes or (after is not None and not plan.refused):
        apply_migration(engine, blueprint, plan, after, after_moves)
    elif plan.refused:
        raise MigrationRefused("\n".join(plan.refused))
    return plan
