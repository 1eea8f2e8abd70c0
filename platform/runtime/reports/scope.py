"""What one viewer may see of the data a report reads, for one run.

Reports obey roles.yaml through `Access` like every other surface; this module only applies it to
report queries: the source entity's rows through `Access.row_filter`, each entity joined along a
dotted path only where the viewer may read the linked record (otherwise its values read as empty,
and the row still counts), and no field the viewer's role hides: a report that filters, groups,
sorts or counts by a hidden field is refused for that role (its figures would reveal the field);
a hidden field among a list report's columns or under a measure is left out.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Mapping

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from atrium.errors import AtriumError
from atrium.metadata.condition_tree import map_leaves, paths
from atrium.metadata.model import Blueprint, Field, Label
from atrium.metadata.references import resolve_path
from atrium.runtime.access.policy import Access
from atrium.runtime.automation.messages import message
from atrium.runtime.query.conditions import ConditionError, Joins, compile_condition
from atrium.runtime.records.coercion import CoercionError, coerce
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.reports.columns import words
from atrium.runtime.schema.tables import Tables

TYPED = frozenset({"integer", "number", "money", "percent", "date", "datetime", "boolean", "reference", "user"})
VALUE_OPERATORS = ("eq", "ne", "lt", "lte", "gt", "gte")
LIST_OPERATORS = ("in", "not_in", "between")

NOT_FOUND = words("No report '{name}'", "没有报表“{name}”")
HIDDEN = words("Report '{name}' uses {field}, which your role cannot see",
               "报表“{name}”用到了您的角色不可见的字段“{field}”")


class ReportNotFound(AtriumError, LookupError):
    """No such report, or one the viewer may not run (the same answer for both, as for records)."""

    status, code, private = 404, "not_found", True

    def __init__(self, name: str, why: Label = NOT_FOUND, **params: Any):
        super().__init__(why.text("en").format(name=name, **params))
        self.name, self.why, self.params = name, why, params

    def text(self, locale: str) -> str:
        return self.why.text(locale, "en").format(name=self.name, **self.params)


class ReportRefused(ReportNotFound):
    """The report exists but reads a field the viewer's role hides."""


@dataclass
class ReportScope:
    blueprint: Blueprint
    tables: Tables
    access: Access
    connection: Connection
    actor: Actor
    now: dt.datetime
    report: str = ""

    @property
    def dialect(self) -> str:
        return self.connection.dialect.name

    @property
    def timezone(self) -> str:
        return self.blueprint.timezone

    def can_read(self, entity: str) -> bool:
        return self.access.can(self.actor, entity, "read")

    def row_filter(self, entity: str, table: Any) -> sa.ColumnElement:
        return self.access.row_filter(self.connection, self.actor, entity, "read", table)

    def source_filter(self, entity: str, table: Any) -> sa.ColumnElement:
        """The rows a report counts: as `row_filter`, but a public pool the viewer may claim from
        is seen (linked records' titles, groups), not counted as the viewer's numbers."""
        return self.access.row_filter(self.connection, self.actor, entity, "read", table, pool=False)

    def joins(self, entity: str) -> Joins:
        """The FROM clause over `entity`; each joined entity only where the viewer may read it."""
        return Joins(self.blueprint, self.tables, entity, join_filter=self.row_filter,
                     connection=self.connection)

    def hidden_step(self, entity: str, path: str) -> str | None:
        """The first field along `path` the viewer's role hides (as `entity.field`), if any."""
        current = self.blueprint.entities[entity]
        for step in path.split("."):
            if step in current.fields and self.access.field_mode(self.actor, current.name, step) == "hidden":
                return f"{current.name}.{step}"
            link = current.fields.get(step)
            if link is None or link.type != "reference" or link.to is None:
                break
            current = self.blueprint.entities[link.to]
        return None

    def refuse_hidden(self, entity: str, path: str) -> None:
        hidden = self.hidden_step(entity, path)
        if hidden is not None:
            raise ReportRefused(self.report, HIDDEN, field=hidden)

    def column(self, joins: Joins, path: str) -> tuple[sa.ColumnElement, Field]:
        """The column at `path` (joining as needed); refused when a step is hidden."""
        self.refuse_hidden(joins.entity, path)
        return joins.column(path)

    def condition(self, joins: Joins, condition: Mapping[str, Any]) -> sa.ColumnElement:
        """A condition of the condition language, values typed by their fields, as SQL."""
        for path in paths(condition):
            self.refuse_hidden(joins.entity, path)
        typed = typed_condition(self.blueprint, joins.entity, condition, self.timezone, self.actor.locale)
        return compile_condition(joins, typed, self.now, self.timezone)


def typed_condition(blueprint: Blueprint, entity: str, condition: Mapping[str, Any], timezone: str,
                    locale: str = "en") -> dict[str, Any]:
    """The condition with its values as the fields store them (YAML and query strings give text:
    '2026-01-01' must compare as a date on both databases); a value that does not fit is a
    ConditionError saying which."""
    def typed(path: str, spec: Any) -> dict[str, Any]:
        field = resolve_path(blueprint.entities, entity, path)
        if isinstance(field, str):
            raise ConditionError(field)
        operators = dict(spec) if isinstance(spec, Mapping) else {"eq": spec}
        if field.type in TYPED:
            for operator, value in operators.items():
                try:
                    if operator in VALUE_OPERATORS and value is not None:
                        operators[operator] = coerce(field, value, timezone)
                    elif operator in LIST_OPERATORS:
                        operators[operator] = [coerce(field, item, timezone) for item in value]
                except CoercionError as error:
                    raise ConditionError(f"{path} {operator} {value!r}: "
                                         + message(error.key, locale, **error.params)) from None
        return operators
    return map_leaves(condition, typed)
