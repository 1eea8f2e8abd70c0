"""The condition language (`{stage: {not_in: [won, lost]}, expected_close: {within: this_quarter}}`)
compiled to SQLAlchemy Core, with dotted paths (`account.tier`) joined through references.

Lists, reports, dashboards, automations and the API all filter through this one compiler.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field as dataclass_field
from typing import Any, Callable, Mapping

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from atrium.errors import AtriumError
from atrium.metadata.condition_tree import LOGICAL
from atrium.metadata.model import Blueprint, Field
from atrium.metadata.references import resolve_path
from atrium.runtime.query.periods import as_bounds, local_today, period_range
from atrium.runtime.records.stage_analytics import STAGE_OPERATORS, stage_condition
from atrium.runtime.schema.tables import Tables

# Operators that count hours back from the current instant (date-time fields only).
HOUR_OPERATORS = ("older_than_hours", "within_last_hours")


class ConditionError(AtriumError, ValueError):
    """A condition names something that does not exist or uses an operator wrongly."""

    status, code = 400, "bad_request"


@dataclass
class Joins:
    """The FROM clause of a query over one entity, growing an outer join per reference path."""

    blueprint: Blueprint
    tables: Tables
    entity: str
    base: sa.Table = dataclass_field(init=False)
    from_clause: Any = dataclass_field(init=False)
    aliases: dict[str, Any] = dataclass_field(default_factory=dict)
    # Extra ON condition for each joined entity (reports: only linked records the viewer may read
    # join, so an unreadable record's values read as empty instead of dropping the row).
    join_filter: Callable[[str, Any], sa.ColumnElement] | None = None
    # The database the query runs on, when the caller has it: `stalled` and
    # `in_stage_longer_than_days` then read the stage tracking table if it holds one.
    connection: Connection | None = None

    def __post_init__(self) -> None:
        self.base = self.tables[self.entity]
        self.from_clause = self.base

    def column(self, path: str) -> tuple[sa.ColumnElement, Field]:
        """The column a dotted path ends at, joining along the way; raises ConditionError."""
        resolved = resolve_path(self.blueprint.entities, self.entity, path)
        if isinstance(resolved, str):
            raise ConditionError(resolved)
        steps = path.split(".")
        table: Any = self.base
        entity = self.blueprint.entities[self.entity]
        for depth, step in enumerate(steps[:-1]):
            key = ".".join(steps[:depth + 1])
            target = entity.fields[step].to
            assert target is not None  # resolve_path checked each step before the last is a reference
            if key not in self.aliases:
                alias = self.tables[target].alias(f"j_{key.replace('.', '_')}")
                on = table.c[step] == alias.c.id
                if self.join_filter is not None:
                    on = sa.and_(on, self.join_filter(target, alias))
                self.from_clause = self.from_clause.outerjoin(alias, on)
                self.aliases[key] = alias
            table = self.aliases[key]
            entity = self.blueprint.entities[target]
        return table.c[steps[-1]], resolved


def _values(value: Any) -> list:
    return list(value) if isinstance(value, list | tuple) else [value]


def compile_condition(joins: Joins, condition: Mapping[str, Any], now: dt.datetime,
                      timezone: str) -> sa.ColumnElement:
    """All entries must hold; `any: [...]` holds when one of its conditions does, `all: [...]` when
    each does, and both nest (`{any: [{a: 1}, {all: [{b: 2}, {c: 3}]}]}`)."""
    clauses = []
    for path, spec in condition.items():
        if path in LOGICAL:
            if not isinstance(spec, list | tuple) or not all(isinstance(part, Mapping) for part in spec):
                raise ConditionError(f"'{path}' takes a list of conditions")
            parts = [compile_condition(joins, part, now, timezone) for part in spec]
            # an empty `any` matches nothing, an empty `all` everything (as OR / AND of no terms)
            clauses.append(sa.or_(sa.false(), *parts) if path == "any" else sa.and_(sa.true(), *parts))
            continue
        column, field = joins.column(path)
        operators = spec if isinstance(spec, Mapping) else {"eq": spec}
        for operator, value in operators.items():
            if operator in STAGE_OPERATORS:  # these read the stage history, not the column alone
                try:
                    clauses.append(stage_condition(joins.blueprint, joins.tables, column, field,
                                                   operator, value, now, joins.connection))
                except ValueError as error:
                    raise ConditionError(str(error)) from None
                continue
            clauses.append(_operator(column, field, operator, value, now, timezone))
    return sa.and_(sa.true(), *clauses)


def _operator(column: sa.ColumnElement, field: Field, operator: str, value: Any, now: dt.datetime,
              timezone: str) -> sa.ColumnElement:
    if field.type == "multiselect" and operator in ("eq", "contains", "in"):
        # A JSON list column: match the quoted value inside it, portable across both databases.
        wanted = [f'%"{v}"%' for v in _values(value)]
        return sa.or_(*(sa.cast(column, sa.String).like(w) for w in wanted))
    if operator == "eq":
        return column.is_(None) if value is None else column == value
    if operator == "ne":
        return column.is_not(None) if value is None else sa.or_(column != value, column.is_(None))
    if operator == "in":
        return column.in_(_values(value))
    if operator == "not_in":
        return sa.or_(column.not_in(_values(value)), column.is_(None))
    simple = {"lt": column.__lt__, "lte": column.__le__, "gt": column.__gt__, "gte": column.__ge__}
    if operator in simple:
        return simple[operator](value)
    if operator == "between":
        low, high = value
        return column.between(low, high)
    if operator == "is_set":
        return column.is_not(None) if value else column.is_(None)
    if operator == "contains":
        return column.icontains(str(value), autoescape=True)
    if operator in HOUR_OPERATORS:
        if field.type != "datetime":
            raise ConditionError(f"'{operator}' applies to date-time fields; a date has no hours "
                                 f"(use older_than_days or within)")
        # counted on the UTC instant, not on local wall time: a DST change moves no cutoff
        instant = (now if now.tzinfo else now.replace(tzinfo=dt.timezone.utc)).astimezone(dt.timezone.utc)
        cutoff = instant - dt.timedelta(hours=int(value))
        if operator == "older_than_hours":
            return column < cutoff
        return sa.and_(column >= cutoff, column <= instant)
    today = local_today(now, timezone)
    if operator in ("within", "until"):
        start, end = as_bounds(*period_range(value, today), field.type, timezone)
        return sa.and_(column >= start, column < end) if operator == "within" else column < end
    if operator in ("older_than_days", "newer_than_days", "not_older_than_days"):
        cutoff, _ = as_bounds(today - dt.timedelta(days=int(value)), today, field.type, timezone)
        if operator == "not_older_than_days":  # older_than_days' complement: empty dates included
            return sa.or_(column >= cutoff, column.is_(None))
        return column < cutoff if operator == "older_than_days" else column >= cutoff
    raise ConditionError(f"unknown operator '{operator}'")
