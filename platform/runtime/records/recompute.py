"""Compute stored derived values (formulas, roll-ups, fields follow-ups move forward) again for
every record of an entity: after a migration adds or changes one, and on demand (`atrium recompute`).

Each field takes the fastest route that gives exactly what a save would store:
- a roll-up: one correlated UPDATE (its `where` compiled to SQL), else aggregates in Python;
- a field follow-ups move forward: raised to the latest follow-up where that is later (one
  correlated UPDATE per counting entity, else in Python), never lowered;
- a formula on PostgreSQL: one UPDATE whose value is the formula compiled to SQL (formula_sql);
- a formula on SQLite (whose NUMERIC is a double, so SQL arithmetic is not Decimal arithmetic):
  one UPDATE calling a function registered on the connection that evaluates the formula in
  Python, exactly as on save, with the values read as the records service reads them;
- otherwise (dotted paths, functions that read the database) in batches through the records
  rules (`compute_batch`), with a progress report.
A record whose computation fails stores NULL; it is counted and its id named among the first few.
Everything runs in the caller's transaction: a migration commits its schema and values together.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field as dataclass_field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from atrium.metadata.model import Blueprint, Entity, Field, Rollup
from atrium.runtime.records import derived_fields
from atrium.runtime.records.evaluation import SYSTEM
from atrium.runtime.records.expression_sql import NotCompilable, compile_condition
from atrium.runtime.records.formula_sql import formula_value
from atrium.runtime.records.formula_sqlite import rounded_formula
from atrium.runtime.records.phones import refresh_phone_digits
from atrium.runtime.records.rollups import AGGREGATES, follow_up_readers, latest

if TYPE_CHECKING:
    from atrium.runtime.records.service import RecordService

BATCH = 2_000
FAILED_IDS_NAMED = 5
# functions whose value needs the database or the acting user: never inside an UPDATE
DATABASE_READERS = frozenset({"stage_probability", "target", "current_user", "current_role"})
Progress = Callable[[str, int, int], None]  # (entity.field, done, total)
_function_names = itertools.count()


@dataclass
class Outcome:
    """What recomputing one field did (or, in a dry run, would do)."""

    entity: str
    field: str
    records: int = 0
    changed: int = 0
    failed: int = 0
    failed_ids: list[int] = dataclass_field(default_factory=list)
    route: str = "sql"  # sql, function (SQLite), python

    def fail(self, record_id: int) -> None:
        self.failed += 1
        if len(self.failed_ids) < FAILED_IDS_NAMED:
            self.failed_ids.append(record_id)


class Recompute:
    def __init__(self, service: RecordService, progress: Progress | None = None):
        self.service = service
        self.blueprint = service.blueprint
        self.tables = service.tables
        self.progress = progress

    # --- what to compute -----------------------------------------------------------------------

    def chosen(self, target: str | None = None) -> list[tuple[Entity, Field]]:
        """Every derived field, an entity's (`order`) or one (`order.total`), in dependency order;
        KeyError names what is unknown."""
        every = derived_fields.derived(self.blueprint)
        if target is None:
            keys = list(every)
        else:
            entity, _, name = target.partition(".")
            keys = [key for key in every if key[0] == entity and (not name or key[1] == name)]
            if not keys:
                raise KeyError(target)
        wanted = set(keys)
        # only the chosen fields: a dependent is computed again when it is chosen too
        return [pair for pair in derived_fields.ordered(self.blueprint, keys)
                if (pair[0].name, pair[1].name) in wanted]

    def stale(self, connection: Connection) -> list[tuple[Entity, Field]]:
        """The derived fields a migration must compute: new or changed ones and their readers."""
        return derived_fields.ordered(self.blueprint, derived_fields.stale(connection, self.blueprint, self.tables))

    def forgotten(self, connection: Connection) -> bool:
        """Whether the database remembers a derived field the model no longer has."""
        known = derived_fields.remembered(connection, self.tables)
        return bool(set(known) - set(derived_fields.derived(self.blueprint)))

    def changed_since(self, old: Blueprint) -> list[tuple[Entity, Field]]:
        """The derived fields a change from `old` adds or changes, and their readers."""
        before = derived_fields.derived(old)
        keys = [key for key, text in derived_fields.derived(self.blueprint).items() if before.get(key) != text]
        return derived_fields.ordered(self.blueprint, keys)

    def records(self, connection: Connection, fields: Sequence[tuple[Entity, Field]]) -> int:
        """How many records computing `fields` touches (a record counts once, however many fields)."""
        live = set(sa.inspect(connection).get_table_names())
        entities = {entity.name: entity for entity, _ in fields if entity.name in live}
        return sum(self._count(connection, entity) for entity in entities.values())

    # --- computing -----------------------------------------------------------------------------

    def after_migration(self, connection: Connection, old: Blueprint | None = None) -> list[Outcome]:
        """Compute the stale derived fields (those changed since `old`, when given) and remember
        their definitions, in the caller's transaction."""
        fields = self.stale(connection) if old is None else self.changed_since(old)
        outcomes = self.run(connection, fields)
        self.remember(connection, [(entity.name, field.name) for entity, field in fields])
        return outcomes

    def remember(self, connection: Connection, keys: Iterable[tuple[str, str]] | None = None) -> None:
        """Record the current definitions (of `keys`, or all) as those the stored values follow."""
        derived_fields.remember(connection, self.blueprint, self.tables, keys)

    def run(self, connection: Connection, fields: Iterable[tuple[Entity, Field]]) -> list[Outcome]:
        return [self.field(connection, entity, field) for entity, field in fields]

    def field(self, connection: Connection, entity: Entity, field: Field) -> Outcome:
        outcome = Outcome(entity.name, field.name, records=self._count(connection, entity))
        if outcome.records == 0:
            return outcome
        if field.rollup is not None:
            self._rollup(connection, entity, field, outcome)
        elif field.formula is None:  # derived and stored, neither formula nor roll-up: moved by follow-ups
            self._follow_ups(connection, entity, field, outcome)
        elif not self._in_python(entity, field) and connection.dialect.name == "postgresql":
            try:
                self._formula_sql(connection, entity, field, outcome)
            except NotCompilable:
                self._python(connection, entity, field, outcome)
        elif not self._in_python(entity, field) and connection.dialect.name == "sqlite":
            try:
                self._formula_sqlite(connection, entity, field, outcome)
            except NotCompilable:
                self._formula_function(connection, entity, field, outcome)
        else:
            self._python(connection, entity, field, outcome)
        if field.type == "phone" and outcome.changed:  # its digits for matching follow (records/phones.py)
            refresh_phone_digits(connection, self.blueprint, self.tables, entity, field.name)
        return outcome

    def _count(self, connection: Connection, entity: Entity) -> int:
        return int(connection.execute(sa.select(sa.func.count()).select_from(self.tables[entity.name])).scalar() or 0)

    def _inputs(self, entity: Entity, field: Field) -> list[str]:
        """The columns a formula reads."""
        assert field.formula is not None  # formulas only
        columns = self.tables[entity.name].c
        return sorted(name for name in field.formula.names if name in columns and name != field.name)

    def _in_python(self, entity: Entity, field: Field) -> bool:
        formula = field.formula
        assert formula is not None  # formulas only
        columns = self.tables[entity.name].c
        return bool(formula.paths or formula.names & DATABASE_READERS or field.name not in columns
                    or any(name in entity.fields and name not in columns for name in formula.names))

    def _failed_where(self, entity: Entity, field: Field) -> sa.ColumnElement[bool]:
        """A failed computation: no value although every field the formula reads has one."""
        table = self.tables[entity.name]
        return sa.and_(table.c[field.name].is_(None), *(table.c[n].is_not(None) for n in self._inputs(entity, field)))

    def _formula_sql(self, connection: Connection, entity: Entity, field: Field, outcome: Outcome) -> None:
        table = self.tables[entity.name]
        value = formula_value(field, entity, table)
        with connection.begin_nested():  # a database error (an overflow) leaves the Python route a clean slate
            try:
                outcome.changed = connection.execute(
                    table.update().where(table.c[field.name].is_distinct_from(value))
                    .values({field.name: value})).rowcount
            except sa.exc.DBAPIError as error:
                raise NotCompilable(str(error)) from error
        self._count_failures(connection, entity, field, outcome)

    def _count_failures(self, connection: Connection, entity: Entity, field: Field, outcome: Outcome) -> None:
        table = self.tables[entity.name]
        failed = self._failed_where(entity, field)
        counted = sa.select(sa.func.count()).select_from(table).where(failed)
        outcome.failed = int(connection.execute(counted).scalar() or 0)
        outcome.failed_ids = list(connection.execute(
            sa.select(table.c.id).where(failed).order_by(table.c.id).limit(FAILED_IDS_NAMED)).scalars())

    def _formula_sqlite(self, connection: Connection, entity: Entity, field: Field, outcome: Outcome) -> None:
        """SQLite: the formula in doubles where that surely rounds as Decimal does, and the Python
        evaluation (a registered function) for the rows where it might not (formula_sqlite)."""
        table = self.tables[entity.name]
        names = self._inputs(entity, field)
        name = f"atrium_exact_{next(_function_names)}"
        value = rounded_formula(field, entity, table, lambda: getattr(sa.func, name)(*(table.c[n] for n in names)))
        exact = self._row_function(connection, entity, field, names)
        raw = connection.connection.dbapi_connection
        assert raw is not None  # a connection in use has its DBAPI connection
        raw.create_function(name, len(names), exact, deterministic=True)
        try:
            outcome.changed = connection.execute(
                table.update().where(table.c[field.name].is_distinct_from(value)).values({field.name: value})).rowcount
        finally:
            raw.create_function(name, len(names), None)
        self._count_failures(connection, entity, field, outcome)

    def _row_function(self, connection: Connection, entity: Entity, field: Field,
                      names: list[str]) -> Callable[..., Any]:
        """The stored value of the formula from the columns `names` as SQLite hands them over,
        computed as a save computes it (RecordRules.formula_value)."""
        table = self.tables[entity.name]
        inputs = [(n, table.c[n].type.result_processor(connection.dialect, None)) for n in names]
        writer = table.c[field.name].type.bind_processor(connection.dialect)
        evaluator = self.service.rules.evaluator.bind(entity.name, SYSTEM)
        value_of = self.service.rules.formula_value

        def exact(*values: Any) -> Any:
            record = {name: read(value) if read is not None and value is not None else value
                      for (name, read), value in zip(inputs, values, strict=True)}
            new = value_of(field, record, evaluator)
            return writer(new) if writer is not None and new is not None else new
        return exact

    def _formula_function(self, connection: Connection, entity: Entity, field: Field, outcome: Outcome) -> None:
        """One UPDATE calling the formula, evaluated in Python, as a function of the row (SQLite)."""
        outcome.route = "function"
        table = self.tables[entity.name]
        dialect = connection.dialect
        names = self._inputs(entity, field)
        # the dialect's own types: SQLite keeps a datetime as text, which only they read and write
        read_old = table.c[field.name].type.dialect_impl(dialect).result_processor(dialect, None)
        inputs = [(n, table.c[n].type.dialect_impl(dialect).result_processor(dialect, None)) for n in names]
        writer = table.c[field.name].type.dialect_impl(dialect).bind_processor(dialect)
        evaluator = self.service.rules.evaluator.bind(entity.name, SYSTEM)
        value_of = self.service.rules.formula_value  # what a save computes
        done = [0]

        def compute(record_id: int, old: Any, *values: Any) -> Any:
            record: dict[str, Any] = {"id": record_id}
            for (name, read), value in zip(inputs, values, strict=True):
                record[name] = read(value) if read is not None and value is not None else value
            new = value_of(field, record, evaluator)
            if new != (read_old(old) if read_old is not None and old is not None else old):
                outcome.changed += 1
            if new is None and None not in values:
                outcome.fail(record_id)
            done[0] += 1
            if self.progress is not None and done[0] % 100_000 == 0:
                self.progress(f"{entity.name}.{field.name}", done[0], outcome.records)
            return writer(new) if writer is not None and new is not None else new

        name = f"atrium_formula_{next(_function_names)}"
        raw = connection.connection.dbapi_connection
        assert raw is not None  # a connection in use has its DBAPI connection
        raw.create_function(name, 2 + len(names), compute, deterministic=True)
        try:
            connection.execute(table.update().values(
                {field.name: getattr(sa.func, name)(table.c.id, table.c[field.name], *(table.c[n] for n in names))}))
        finally:
            raw.create_function(name, 2 + len(names), None)

    def compute_batch(self, connection: Connection, entity: Entity, names: Sequence[str],
                      records: list[dict[str, Any]]) -> None:
        """THE place records get their formulas computed in batches outside a save: fills `names`
        in each record exactly as a save computes them (RecordRules); a failure leaves None.
        (`connection` is where linked records' values are read from, for dotted paths. The
        SQLite function route computes formulas without dotted paths one row at a time, through
        the same `RecordRules.formula_value`.)"""
        evaluator = self.service.rules.evaluator.bind(entity.name, SYSTEM)
        self.service.linked_values.fill(connection, entity, records)  # dotted paths' values, set-wise
        for record in records:
            self.service.rules._compute_formulas(entity, record, tuple(names), evaluator)

    def _batches(self, connection: Connection, entity: Entity) -> Iterable[list[dict[str, Any]]]:
        table = self.tables[entity.name]
        last = 0
        while True:
            rows = connection.execute(sa.select(table).where(table.c.id > last).order_by(table.c.id).limit(BATCH)).all()
            if not rows:
                return
            last = rows[-1].id
            yield [self.service.record_of(entity, row._mapping) for row in rows]

    def _python(self, connection: Connection, entity: Entity, field: Field, outcome: Outcome) -> None:
        outcome.route = "python"
        assert field.formula is not None  # roll-ups take their own route
        names = [n for n in field.formula.names if n in entity.fields]
        done = 0
        for records in self._batches(connection, entity):
            before = {record["id"]: record.get(field.name) for record in records}
            self.compute_batch(connection, entity, (field.name,), records)
            changed = [{"_id": r["id"], "_value": r[field.name]} for r in records if r[field.name] != before[r["id"]]]
            for record in records:
                if record[field.name] is None and all(record.get(n) is not None for n in names if n != field.name):
                    outcome.fail(record["id"])
            self._write(connection, entity, field, changed)
            outcome.changed += len(changed)
            done += len(records)
            self._report(entity, field, done, outcome.records)

    def _write(self, connection: Connection, entity: Entity, field: Field, changed: list[dict[str, Any]]) -> None:
        if changed:
            table = self.tables[entity.name]
            connection.execute(table.update().where(table.c.id == sa.bindparam("_id"))
                               .values({field.name: sa.bindparam("_value")}), changed)

    def _report(self, entity: Entity, field: Field, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(f"{entity.name}.{field.name}", done, total)

    def _rollup(self, connection: Connection, entity: Entity, field: Field, outcome: Outcome) -> None:
        rollup = field.rollup
        assert rollup is not None  # roll-ups only
        table, child = self.tables[entity.name], self.tables[rollup.entity]
        condition: sa.ColumnElement[bool] = sa.true()
        if rollup.where is not None:
            try:
                condition = compile_condition(rollup.where, child.c, self.service.rollups._sql_functions(rollup.entity))
            except NotCompilable:
                self._rollup_python(connection, entity, field, outcome)
                return
        aggregate = (sa.select(AGGREGATES[rollup.function](child.c[rollup.field]))
                     .where(child.c[rollup.via] == table.c.id, condition).scalar_subquery())
        value: sa.ColumnElement = (sa.func.coalesce(aggregate, 0) if rollup.function in ("count", "sum")
                                   else aggregate)
        if connection.dialect.name == "postgresql":
            value = sa.cast(value, table.c[field.name].type)  # compared as it is stored (an avg's decimals)
        outcome.changed = connection.execute(
            table.update().where(table.c[field.name].is_distinct_from(value)).values({field.name: value})).rowcount

    def _follow_ups(self, connection: Connection, entity: Entity, field: Field, outcome: Outcome) -> None:
        """Raise the field to the latest moment of its follow-ups where that is later; never lower it."""
        table = self.tables[entity.name]
        column = table.c[field.name]
        for parent, reader in follow_up_readers(self.blueprint):
            if parent.name != entity.name or reader.field.name != field.name:
                continue
            rollup, child = reader.rollup, self.tables[reader.rollup.entity]
            condition: sa.ColumnElement[bool] = sa.true()
            if rollup.where is not None:
                try:
                    condition = compile_condition(rollup.where, child.c,
                                                  self.service.rollups._sql_functions(rollup.entity))
                except NotCompilable:
                    self._follow_ups_python(connection, entity, field, reader.rollup, outcome)
                    continue
            found = (sa.select(sa.func.max(child.c[rollup.field]))
                     .where(child.c[rollup.via] == table.c.id, condition).scalar_subquery())
            outcome.changed += connection.execute(
                table.update().where(found.is_not(None), sa.or_(column.is_(None), column < found))
                .values({field.name: found})).rowcount

    def _follow_ups_python(self, connection: Connection, entity: Entity, field: Field, rollup: Rollup,
                           outcome: Outcome) -> None:
        outcome.route = "python"
        for records in self._batches(connection, entity):
            values = self.service.rollups._aggregate(connection, rollup, [record["id"] for record in records])
            changed = [{"_id": record["id"], "_value": new} for record in records
                       if (new := latest(record.get(field.name), values.get(record["id"]))) != record.get(field.name)]
            self._write(connection, entity, field, changed)
            outcome.changed += len(changed)

    def _rollup_python(self, connection: Connection, entity: Entity, field: Field, outcome: Outcome) -> None:
        """A roll-up whose `where` has no SQL form: aggregated as the roll-up refresh does."""
        outcome.route = "python"
        done = 0
        rollup = field.rollup
        assert rollup is not None  # roll-ups only
        for records in self._batches(connection, entity):
            ids = [record["id"] for record in records]
            values: Mapping[int, Any] = self.service.rollups._aggregate(connection, rollup, ids)
            changed = []
            for record in records:
                new = self.service.rollups._coerce_empty(field, values.get(record["id"]))
                if new != record.get(field.name):
                    changed.append({"_id": record["id"], "_value": new})
            self._write(connection, entity, field, changed)
            outcome.changed += len(changed)
            done += len(records)
            self._report(entity, field, done, outcome.records)
