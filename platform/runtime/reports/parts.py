"""What every report type compiles from: the request, groups, measures and the compiled report,
and `ReportParts`, the steps they share (the scope's filters, a group's column, the measures and
metrics the viewer may see). compiler.py compiles summaries, matrices and lists on top of them,
funnel.py and series.py funnels and time series; all three import this module, none another.
"""
from __future__ import annotations

from dataclasses import dataclass, field as dataclass_field
from types import MappingProxyType
from typing import Any, Mapping, Sequence

import sqlalchemy as sa

from atrium.metadata.condition_tree import paths
from atrium.metadata.expressions import Expression
from atrium.metadata.model import Document, Field, Label
from atrium.metadata.report_checks import group_name, measure_function
from atrium.runtime.query.conditions import ConditionError
from atrium.runtime.reports.buckets import bucket_sql
from atrium.runtime.reports.columns import (
    AGGREGATE_WORDS,
    RECORDS,
    ReportColumn,
    bucket_words,
    field_words,
    label_of,
    measure_type,
    metric_type,
)
from atrium.runtime.reports.scope import ReportScope

NO_PERIOD = "this report has no date to apply a period to"


@dataclass(frozen=True)
class ReportRequest:
    """What the viewer asks for on top of the report's own definition.

    `period` (a relative period like `this_month`) replaces the report's period: the range of a
    time series, the stage changes a funnel counts, else the `within` on the report's first
    date filter. `filters` are more conditions (the condition language); `owners` keeps the
    records owned by these users (a dashboard's team filter); `limit` replaces the report's.
    """

    period: str | None = None
    filters: Mapping[str, Any] = dataclass_field(default_factory=lambda: MappingProxyType({}))
    owners: tuple[int, ...] | None = None
    limit: int | None = None


NO_REQUEST = ReportRequest()  # the default: nothing asked on top of the report (frozen, so one can be shared)


@dataclass
class Group:
    name: str
    expression: sa.ColumnElement
    sort_key: sa.ColumnElement
    column: ReportColumn


@dataclass
class Measure:
    name: str
    function: str
    value: sa.ColumnElement | None  # the column aggregated; None for count (records)
    column: ReportColumn
    where: sa.ColumnElement | None = None  # the measure's own filter (`{count: id, where: {stage: won}}`)
    tally: sa.ColumnElement | None = None  # read from a pre-aggregate: the column counting its records

    def aggregate(self, when: sa.ColumnElement | None = None) -> sa.ColumnElement:
        """The aggregate over all rows, or only over the rows where `when` (and the measure's own
        `where`) holds: `COUNT(CASE WHEN ... THEN 1 END)`, `SUM(CASE WHEN ... THEN amount END)`."""
        value = self.value
        if self.where is not None:
            when = self.where if when is None else sa.and_(self.where, when)
        if self.function == "count" and self.tally is not None:  # a pre-aggregate's rows count records
            tally = self.tally if when is None else sa.case((when, self.tally))
            return sa.func.coalesce(sa.func.sum(tally), 0)
        if when is not None:
            value = sa.case((when, value if value is not None else sa.literal_column("1")))
        if self.function == "count":
            return sa.func.count(value) if value is not None else sa.func.count()
        if self.function == "count_distinct":
            assert value is not None  # count_distinct always names a field (the schema requires it)
            return sa.func.count(sa.distinct(value))
        if self.function == "avg":  # a float on both databases, rounded the same way afterwards
            return sa.func.avg(value, type_=sa.Float)
        return getattr(sa.func, self.function)(value)


@dataclass
class CompiledReport:
    name: str
    kind: str
    entity: str
    columns: list[ReportColumn]
    statement: sa.Select
    groups: list[Group] = dataclass_field(default_factory=list)
    measures: list[Measure] = dataclass_field(default_factory=list)
    metrics: dict[str, Expression] = dataclass_field(default_factory=dict)
    totals: sa.Select | None = None
    margins: sa.CompoundSelect | None = None
    python_sort: list[tuple[str, bool]] | None = None
    limit: int | None = None
    entities: frozenset[str] = frozenset()
    extra: dict[str, Any] = dataclass_field(default_factory=dict)  # per type: range, stages ...


class ReportParts:
    def __init__(self, scope: ReportScope):
        self.scope = scope
        self.blueprint = scope.blueprint

    # --- the parts every report type shares -----------------------------------------------------

    def where(self, joins: Any, document: Document, request: ReportRequest,
              condition: Mapping[str, Any] | None = None) -> list[sa.ColumnElement]:
        """Scope, the report's filter (or `condition` in its place), the request's filters."""
        entity = self.blueprint.entities[joins.entity]
        condition = document.get("where", {}) if condition is None else condition
        clauses = [self.scope.source_filter(entity.name, joins.base), self.scope.condition(joins, condition)]
        if request.filters:
            clauses.append(self.scope.condition(joins, request.filters))
        if request.owners is not None:
            clauses.append(self.scope.access.owner_column(entity, joins.base).in_(list(request.owners)))
        return clauses

    def period_condition(self, document: Document, request: ReportRequest) -> dict[str, Any]:
        """The report's filter, its period replaced by the request's."""
        condition = {path: dict(spec) if isinstance(spec, Mapping) else spec
                     for path, spec in document.get("where", {}).items()}
        if request.period is None:
            return condition
        path = period_field(document)
        if path is None:
            raise ConditionError(NO_PERIOD)
        spec = condition.get(path)
        spec = {k: v for k, v in spec.items() if k != "within"} if isinstance(spec, Mapping) else \
            ({} if spec is None else {"eq": spec})
        condition[path] = {**spec, "within": request.period}
        return condition

    def group(self, joins: Any, spec: Any) -> Group:
        path = spec if isinstance(spec, str) else spec["field"]
        bucket = None if isinstance(spec, str) else spec.get("bucket")
        column, field = self.scope.column(joins, path)
        owner = self._entity_at(joins.entity, path)
        if bucket:
            expression = bucket_sql(column, field.type, bucket, self.scope.dialect, self.scope.timezone)
            label, kind = bucket_words(field, bucket), "date"
        else:
            expression, label, kind = column, field.label, field.type
        label = label_of(None if isinstance(spec, str) else spec.get("label"), label)
        name = group_name(spec)
        return Group(name, expression, self.order_of(expression, field) if not bucket else expression,
                     ReportColumn(name, "group", kind, label, field, owner, bucket))

    def order_of(self, expression: sa.ColumnElement, field: Field) -> sa.ColumnElement:
        """Stages sort as the pipeline lists them and options as they are listed, not by name."""
        names: Sequence[Any] = ()
        if field.type == "stage":
            pipeline = self.blueprint.pipelines.get(field.pipeline or "")
            names = pipeline.stage_names if pipeline else ()
        elif field.type == "select":
            names = field.option_values
        if names:
            return sa.case({name: index for index, name in enumerate(names)}, value=expression)
        return expression

    def measures(self, joins: Any, document: Document) -> tuple[list[Measure], set[str]]:
        """The measures the viewer may see, and the names of those left out (hidden fields)."""
        measures, dropped = [], set()
        for name, spec in document.get("measures", {}).items():
            function, path = measure_function(spec)
            label = spec.get("label") if isinstance(spec, Mapping) else None
            condition = spec.get("where") if isinstance(spec, Mapping) else None
            if condition and any(self.scope.hidden_step(joins.entity, p) for p in paths(condition)):
                dropped.add(name)  # a filter on a field the viewer cannot see would reveal it
                continue
            where = self.scope.condition(joins, condition) if condition else None
            if path is None or (function == "count" and path == "id"):  # id is never empty: count(*)
                measures.append(Measure(name, "count", None, ReportColumn(
                    name, "measure", "integer", label_of(label, RECORDS), function="count"), where))
                continue
            if self.scope.hidden_step(joins.entity, path):
                dropped.add(name)
                continue
            column, field = self.scope.column(joins, path)
            measures.append(Measure(name, function, column, ReportColumn(
                name, "measure", measure_type(function, field), label_of(label, field_words(
                    field, AGGREGATE_WORDS[function])), field, self._entity_at(joins.entity, path),
                function=function), where))
        return measures, dropped

    def metrics(self, document: Document, dropped: set[str]) -> tuple[dict[str, Expression], list[ReportColumn]]:
        """Metrics, less those reading a measure left out (and those reading them)."""
        expressions, columns = {}, []
        for name, spec in document.get("metrics", {}).items():
            expression = document.expressions.get(name)
            if expression is None or expression.names & dropped:
                dropped.add(name)
                continue
            label = spec.get("label") if isinstance(spec, Mapping) else None
            expressions[name] = expression
            columns.append(ReportColumn(name, "metric", metric_type(spec), label_of(label, Label.of(None, name)),
                                        format=spec.get("format") if isinstance(spec, Mapping) else None))
        return expressions, columns

    def sort_keys(self, document: Document) -> list[tuple[str, bool]]:
        sort = document.get("sort", ())
        return [(key.lstrip("-+"), key.startswith("-")) for key in ([sort] if isinstance(sort, str) else sort)]

    def entities_read(self, joins: Any, *more: str) -> frozenset[str]:
        return frozenset({joins.entity, *(self._entity_at(joins.entity, path) for path in joins.aliases), *more})

    def _entity_at(self, entity: str, path: str) -> str:
        """The entity whose field the last step of `path` names (for a path through references)."""
        current = self.blueprint.entities[entity]
        for step in path.split(".")[:-1]:
            target = current.fields[step].to
            assert target is not None  # the loader resolved this path through references
            current = self.blueprint.entities[target]
        return current.name


def period_field(document: Document) -> str | None:
    """The field a requested period applies to: the report's `period`, else its first `within` filter."""
    return (document.get("period") or {}).get("field") or next(
        (path for path, spec in document.get("where", {}).items() if isinstance(spec, Mapping) and "within" in spec),
        None)


def takes_period(document: Document) -> bool:
    """Whether a request may give this report a period (a funnel and a time series always can)."""
    return document.get("type") in ("funnel", "timeseries") or period_field(document) is not None
