"""Bulk updates written set-wise: one outcome for records that all get the same values, one UPDATE
per group of records written alike, and event rules fed whole records when the update had read
only some columns (that last in automation/triggers.py).

A scheduled rule over many records mostly writes the same values everywhere (`owner: null` on
every idle record). Three things make that cheap without changing what is written:

- **One outcome for all.** When every record gets the same values (one mapping, not per-record
  expressions) and none of the rules those fields reach reads another field of the record
  (formulas are tried on the new values alone: a formula that reads nothing else, like
  `None if owner is None else ...` once the owner is empty, has one value for every record),
  the first record's `RecordRules.prepare` is every record's: its errors are every record's
  errors, its new values every record's new values.
- **One statement per group.** Records whose changed columns get equal values are written by
  one `UPDATE ... WHERE id IN (...)`: for a table with several indexes and foreign keys SQLite
  does about half the work it does for the same rows one statement each.
- **Whole records only where a rule needs them.** A scheduled run may read only the columns its
  rule needs (rule_columns.py). The event rules the update fires see whole records, read again
  for just the records a rule fires on (after its `where`, when it is the only rule), so a
  rule whose `where` leaves every record out costs one query (`EventAutomations.update_pairs`,
  automation/triggers.py).
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Iterator, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from atrium.metadata.expressions import ExpressionError
from atrium.metadata.model import Blueprint, Entity
from atrium.runtime.records.coercion import CoercionError, coerce
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.records.rules import RecordRules, RulePlan
from atrium.runtime.schema.bulk_statements import among_ids, execute_many

SYSTEM_COLUMNS = ("id", "created_at", "created_by", "updated_at", "updated_by", "version")
IN_CHUNK = 1000  # ids per UPDATE ... WHERE id IN (...)


def stored_names(model: Entity) -> frozenset[str]:
    """The names a record of an entity without location fields holds: system columns and fields."""
    return frozenset(SYSTEM_COLUMNS) | frozenset(model.fields)


class _Probe(Mapping[str, Any]):
    """A record of which only `known` is known; notes whether an expression read anything else."""

    def __init__(self, known: Mapping[str, Any]):
        self.known = known
        self.read_unknown = False

    def get(self, name: str, default: Any = None) -> Any:
        if name in self.known:
            return self.known[name]
        self.read_unknown = True
        return default

    def __getitem__(self, name: str) -> Any:
        if name in self.known:
            return self.known[name]
        self.read_unknown = True
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self.known)

    def __len__(self) -> int:
        return len(self.known)


def plan_inputs(blueprint: Blueprint, model: Entity, plan: RulePlan) -> frozenset[str]:
    """Every field `RecordRules.prepare` reads when it applies `plan`: the fields it touches, what
    its formulas, conditional requirements and checks read, and with the stage what stages require."""
    stored = stored_names(model)
    wanted = set(plan.touched)
    expressions = [model.fields[name].formula for name in plan.formulas]
    for field in plan.fields:
        wanted.add(field.name)
        expressions += [field.required_when, field.visible_when]
    for check in plan.checks:
        expressions += [check.assertion, check.when]
    for expression in expressions:
        if expression is not None:
            wanted.update(expression.names & stored)
    pipeline = blueprint.pipeline_for(model.name) if plan.stage else None
    if pipeline is not None:
        assert model.stage_field is not None  # the pipeline is its stage field's
        wanted.add(model.stage_field.name)
        for stage in pipeline.stages:
            wanted.update(stage.requires)
    return frozenset(wanted)


def shared_outcome(rules: RecordRules, model: Entity, plan: RulePlan, values: Mapping[str, Any],
                   actor: Actor) -> dict[str, Any] | None:
    """What every record gets when `values` are written with `plan` (the touched fields' new
    values), or None when that may differ from record to record: a rule of the plan reads a field
    outside the plan's own (the stage rule, a field checked on its own value, a condition or a
    check over other fields), or a formula of the plan reads one even given the new values."""
    if plan.stage:  # the moves a stage allows depend on the stage a record is in
        return None
    stored, touched = stored_names(model), plan.touched
    for planned in plan.fields:
        if planned.name not in values or any(
                condition is not None and (condition.names & stored) - touched
                for condition in (planned.required_when, planned.visible_when)):
            return None
    for check in plan.checks:
        names = check.assertion.names | (check.when.names if check.when is not None else frozenset())
        if (names & stored) - touched or check.assertion.previous or (check.when and check.when.previous):
            return None  # it reads other fields, or each record's stored values
    timezone = rules.blueprint.timezone
    known: dict[str, Any] = {}
    for name, value in values.items():
        field = model.fields.get(name)
        if field is None or field.computed:
            return None
        try:
            known[name] = coerce(field, value, timezone)
        except CoercionError:
            return None  # refused: let each record say so
    evaluator = rules.evaluator.bind(model.name, actor)
    for name in plan.formulas:  # as RecordRules computes them, on the known values alone
        field, probe = model.fields[name], _Probe(known)
        assert field.formula is not None  # plan.formulas names formula fields
        try:
            value = coerce(field, evaluator.evaluate(field.formula, probe), timezone)
        except (ExpressionError, CoercionError):
            value = None
        if probe.read_unknown:
            return None
        known[name] = value
    return known


# values equal exactly when they are stored alike (with their type: 1 and True are not)
_PLAIN = frozenset({str, int, bool, dt.date, dt.datetime, type(None)})


def _key(values: tuple) -> tuple:
    """Values as a group key that tells apart values stored differently (1 and True, 1.0 and 1.00)."""
    kinds = tuple(map(type, values))
    if _PLAIN.issuperset(kinds):
        return kinds, values
    return kinds, tuple(_text(value) for value in values)


def _text(value: Any) -> Any:
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is float or kind is Decimal:
        return repr(value)
    raise TypeError(kind)  # lists, mappings: written one row at a time


def write_alike(connection: Connection, table: sa.Table, values: Mapping[str, Any], ids: Sequence[int]) -> None:
    """Give every record of `ids` the same column values and raise its version: one UPDATE per
    chunk of ids."""
    among, parameter = among_ids(connection, table.c.id)
    statement = table.update().where(among).values({**values, "version": table.c.version + 1})
    for start in range(0, len(ids), IN_CHUNK):
        connection.execute(statement, {"_ids": parameter(ids[start:start + IN_CHUNK])})


def write_changes(connection: Connection, table: sa.Table,
                  by_columns: Mapping[tuple[str, ...], Sequence[Mapping[str, Any]]]) -> None:
    """UPDATE each row (`_id`, its changed columns, updated_at, updated_by) and raise its version:
    rows whose values are all equal with one statement per chunk of ids, the rest by executemany
    (all of them when a row is written twice: its writes must keep their sequence)."""
    ids = [row["_id"] for parameters in by_columns.values() for row in parameters]
    grouped = len(set(ids)) == len(ids)
    for columns, parameters in by_columns.items():
        names = columns + ("updated_at", "updated_by")
        groups: dict[tuple, list[Mapping[str, Any]]] = {}
        single: list[Mapping[str, Any]] = [] if grouped else list(parameters)
        for row in parameters if grouped else ():
            try:
                groups.setdefault(_key(tuple([row[name] for name in names])), []).append(row)
            except TypeError:
                single.append(row)
        for rows in groups.values():
            if len(rows) == 1:
                single += rows
                continue
            write_alike(connection, table, {name: rows[0][name] for name in names}, [row["_id"] for row in rows])
        if single:
            execute_many(connection, table.update().where(table.c.id == sa.bindparam("_id")).values(
                {**{name: sa.bindparam(name) for name in names}, "version": table.c.version + 1}), single)
