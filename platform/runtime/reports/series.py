"""Time series reports: measures per period (day, week, month, quarter, year) of a date field,
each period next to the previous one or the same period a year earlier.

The range shown is the request's period, else `period.within`, else a `within` on the period field
in `where` (taken out of the filter and used as the range), widened to whole buckets; every bucket
of the range gets a row, an empty one zero counts and sums. Without a range the rows run from the
first to the last period that has records. The comparison needs the periods before the range, so
the one statement reads the range widened back by one period (or one year) and each row looks up
its previous period among the grouped rows: `<measure>_previous` and `<measure>_change` (the
relative change in percent), and `<metric>_previous` for metrics.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any, Callable, Mapping

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from atrium.metadata.model import Document
from atrium.runtime.query.periods import as_bounds, local_today, period_range
from atrium.runtime.reports.buckets import bucket_sql, buckets_between, covering_range, shift, year_before
from atrium.runtime.reports.columns import (
    CHANGE_WORDS,
    COMPARE_WORDS,
    ReportColumn,
    bucket_words,
    derived_words,
    label_of,
    normalize,
    zero,
)
from atrium.runtime.reports.parts import CompiledReport, Group, ReportParts, ReportRequest

ADDITIVE = ("count", "count_distinct", "sum")


def compile_series(compiler: ReportParts, document: Document, entity: str,
                   request: ReportRequest) -> CompiledReport:
    scope = compiler.scope
    spec = document["period"]
    path, bucket, compare = spec["field"], spec.get("bucket", "month"), spec.get("compare")
    condition = {p: dict(v) if isinstance(v, Mapping) else v for p, v in document.get("where", {}).items()}
    within = request.period or spec.get("within")
    on_field = condition.get(path)
    if isinstance(on_field, dict) and "within" in on_field:
        within = within or on_field["within"]
        del on_field["within"]
        if not on_field:
            del condition[path]
    joins = scope.joins(entity)
    column, field = scope.column(joins, path)
    name = path.split(".")[-1]
    period = Group(name, bucket_sql(column, field.type, bucket, scope.dialect, scope.timezone), column,
                   ReportColumn(name, "group", "date", label_of(spec.get("label"), bucket_words(field, bucket)),
                                field, compiler._entity_at(entity, path), bucket))
    groups = [period, *(compiler.group(joins, g) for g in document.get("group_by", ()))]
    measures, dropped = compiler.measures(joins, document)
    metrics, metric_columns = compiler.metrics(document, dropped)
    where = compiler.where(joins, document, ReportRequest(filters=request.filters, owners=request.owners),
                           condition)
    shown, current = None, []
    if within:
        shown = covering_range(*period_range(within, local_today(scope.now, scope.timezone)), bucket)
        start = {"previous_period": lambda s: shift(s, bucket, -1),
                 "previous_year": lambda s: year_before(s, bucket)}.get(compare, lambda s: s)(shown[0])
        low, high = as_bounds(start, shown[1], field.type, scope.timezone)
        where += [column >= low, column < high]  # the range, and the periods it is compared with
        current = [column >= as_bounds(*shown, field.type, scope.timezone)[0], column < high]
    aggregates = [m.aggregate().label(m.name) for m in measures]
    statement = (sa.select(*(g.expression.label(g.name) for g in groups), *aggregates)
                 .select_from(joins.from_clause).where(*where).group_by(*(g.expression for g in groups)))
    columns = [g.column for g in groups]
    for measure in measures:
        columns.append(measure.column)
        if compare:
            columns.append(ReportColumn(f"{measure.name}_previous", "previous", measure.column.type,
                                        derived_words(measure.column.label, COMPARE_WORDS[compare]), of=measure.name))
            columns.append(ReportColumn(f"{measure.name}_change", "change", "percent",
                                        derived_words(measure.column.label, CHANGE_WORDS), of=measure.name))
    columns += metric_columns
    if compare:
        columns += [ReportColumn(f"{c.name}_previous", "previous", c.type,
                                 derived_words(c.label, COMPARE_WORDS[compare]), of=c.name) for c in metric_columns]
    compiled = CompiledReport(document.name, "timeseries", entity, columns, statement, groups, measures, metrics,
                              entities=compiler.entities_read(joins),
                              extra={"bucket": bucket, "compare": compare, "range": shown})
    if document.get("totals"):  # over the range shown, not the periods before it
        compiled.totals = sa.select(*aggregates).select_from(joins.from_clause).where(*where, *current)
    return compiled


def shape_series(connection: Connection, compiled: CompiledReport, result: Any,
                 metrics: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    bucket, compare, shown = compiled.extra["bucket"], compiled.extra["compare"], compiled.extra["range"]
    period, *groups = compiled.groups
    found: dict[tuple, dict[str, Any]] = {}
    for stored in connection.execute(compiled.statement):
        mapping = stored._mapping
        key = (normalize("date", mapping[period.name]), *(normalize(g.column.type, mapping[g.name]) for g in groups))
        found[key] = {m.name: normalize(m.column.type, mapping[m.name]) for m in compiled.measures}
    if shown is not None:
        starts = buckets_between(shown[0], shown[1], bucket)
    else:
        dated = sorted(key[0] for key in found if key[0] is not None)
        starts = buckets_between(dated[0], shift(dated[-1], bucket, 1), bucket) if dated else []
    combinations = list(dict.fromkeys(key[1:] for key in found)) or [()]
    before = {"previous_period": lambda s: shift(s, bucket, -1),
              "previous_year": lambda s: year_before(s, bucket)}.get(compare)
    for combination in combinations:
        for start in starts:
            row = {period.name: start, **{g.name: v for g, v in zip(groups, combination, strict=False)}}
            row.update(_values(compiled, found.get((start, *combination))))
            metrics(row)
            if before is not None:
                previous = {**row, **_values(compiled, found.get((before(start), *combination)))}
                metrics(previous)
                for measure in compiled.measures:
                    now, then = row[measure.name], previous[measure.name]
                    row[f"{measure.name}_previous"] = then
                    row[f"{measure.name}_change"] = _change(now, then)
                for name in compiled.metrics:
                    row[f"{name}_previous"] = previous.get(name)
            result.rows.append(row)
    if compiled.totals is not None:
        totals = connection.execute(compiled.totals).first()
        assert totals is not None  # an aggregate without GROUP BY always gives one row
        mapping = totals._mapping
        result.totals = metrics({m.name: normalize(m.column.type, mapping[m.name]) for m in compiled.measures})
    result.period = shown


def _values(compiled: CompiledReport, found: dict[str, Any] | None) -> dict[str, Any]:
    """A period's measures; an empty period counts and sums to zero."""
    values = {}
    for measure in compiled.measures:
        value = (found or {}).get(measure.name)
        if value is None and measure.function in ADDITIVE:
            value = zero(measure.column.type)
        values[measure.name] = value
    return values


def _change(now: Any, then: Any) -> Decimal | None:
    if now is None or then in (None, 0):
        return None
    return normalize("percent", (Decimal(str(now)) - Decimal(str(then))) * 100 / Decimal(str(then)))
