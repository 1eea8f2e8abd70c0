"""`target(name, period)`: the goal for a metric in the current period, as the viewer may see it.

blueprint.yaml says where goals live (`targets: {entity, metric, period, value, owner, where}`).
The value is the sum of `value` over the target records whose `metric` is `name`, whose `period`
date falls in the period, that match `where`, and that the viewer may read: a rep's own goal, a
manager's team's, an administrator's company total, from the same call. None when no target is
set, when the blueprint configures none, or when the viewer may not read targets at all.

`target(name, period, owner)` (in a report grouped by owner) is one person's goal: the targets
whose owner field is that row's owner, still among those the viewer may read.

The period is a unit (`day`, `week`, `month`, `quarter`, `year`: the current one, in the
blueprint's time zone) or any relative period of the condition language (`last_month`, ...).
"""
from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from atrium.metadata.expressions import ExpressionError
from atrium.metadata.model import Blueprint
from atrium.runtime.access.policy import Access
from atrium.runtime.query.periods import as_bounds, local_today, period_range
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.reports.columns import normalize
from atrium.runtime.reports.scope import ReportScope
from atrium.runtime.schema.tables import Tables

UNITS = {"day": "today", "week": "this_week", "month": "this_month", "quarter": "this_quarter",
         "year": "this_year"}


class TargetReader:
    def __init__(self, blueprint: Blueprint, tables: Tables, access: Access):
        self.blueprint, self.tables, self.access = blueprint, tables, access

    def value(self, connection: Connection, actor: Actor, metric: Any, period: Any, now: dt.datetime,
              *owner: Any) -> Any:
        """The goal; with an `owner` (a report row's owner group), only that person's goals among
        those the viewer may read - None (a totals row) keeps everyone's."""
        config = self.blueprint.targets
        if config is None or not self.access.can(actor, config.entity, "read"):
            return None
        if not isinstance(metric, str) or not isinstance(period, str):
            raise ExpressionError("target() takes text: target('revenue', 'month')")
        try:
            start, end = period_range(UNITS.get(period, period), local_today(now, self.blueprint.timezone))
        except (ValueError, KeyError):
            raise ExpressionError(f"'{period}' is not a period (day, week, month, quarter, year or "
                                  "a relative period such as last_month)") from None
        scope = ReportScope(self.blueprint, self.tables, self.access, connection, actor, now)
        joins = scope.joins(config.entity)
        table = joins.base
        model = self.blueprint.entities[config.entity]
        date_field = model.fields[config.period]
        low, high = as_bounds(start, end, date_field.type, self.blueprint.timezone)
        value_field = model.fields[config.value]
        where = [scope.row_filter(config.entity, table), table.c[config.metric] == metric,
                 table.c[config.period] >= low, table.c[config.period] < high]
        if config.where:
            where.append(scope.condition(joins, config.where))
        if owner and owner[0] is not None:
            if config.owner is None:
                raise ExpressionError("target(metric, period, owner) needs `targets.owner` in blueprint.yaml")
            where.append(table.c[config.owner] == owner[0])
        total = connection.execute(sa.select(sa.func.sum(table.c[config.value]))
                                   .select_from(joins.from_clause).where(*where)).scalar()
        return normalize(value_field.type, total)
