"""A report document → one SQLAlchemy Core SELECT (GROUP BY, aggregates, joins along references),
under the viewer's scope. Summary, matrix and list reports are compiled here; funnels and time
series in report_funnel.py and report_series.py, from the same groups, measures and filters.

Sorting by a group or measure and `limit` go into the SQL; sorting by a metric (computed after
the query, over the aggregated rows) sorts those rows in Python and then applies the limit.
A totals row (and a matrix's row and column totals) is a second statement over the same FROM and
WHERE: count_distinct and avg totals cannot be added up from the group rows.
"""
from __future__ import annotations

from dataclasses import dataclass, field as dataclass_field
from types import MappingProxyType
from typing import Any, Mapping, Sequence

import sqlalchemy as sa

from atrium.metadata.expressions import Expression
from atrium.metadata.model import Document, Field, Label
from atrium.metadata.report_checks import group_name, measure_function, report_entity
from atrium.runtime.query.conditions import ConditionError
from atrium.runtime.reports.buckets import bucket_sql
from atrium.runtime.reports.columns import (RECORDS, AGGREGATE_WORDS, ReportColumn, bucket_words, field_words, label_of,
                             measure_type, metric_type)
from atrium.runtime.reports.scope import ReportNotFound, ReportScope

LIST_LIMIT = 1000  # rows of a list report when it sets no limit (the result says it was cut)
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

    def aggregate(self, when: sa.ColumnElement | None = None) -> sa.ColumnElement:
        """The aggregate over all rows, or only over the rows where `when` holds."""
        value = self.value
        if when is not None:
            value = sa.case((when, value if value is not None else sa.literal_column("1")))
        if self.function == "count":
            return sa.func.count(value) if value is not None else sa.func.count()
        if self.function == "count_distinct":
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
    margins: sa.Select | None = None
    python_sort: list[tuple[str, bool]] | None = None
    limit: int | None = None
    entities: frozenset[str] = frozenset()
    extra: dict[str, Any] = dataclass_field(default_factory=dict)  # per type: range, stages ...


class ReportCompiler:
    def __init__(self, scope: ReportScope):
        self.scope = scope
        self.blueprint = scope.blueprint

    def compile(self, document: Document, request: ReportRequest = ReportRequest()) -> CompiledReport:
        kind = document.get("type", "summary")
        entity = report_entity(document.data, self.blueprint.pipelines)
        if entity not in self.blueprint.entities or not self.scope.can_read(entity):
            raise ReportNotFound(document.name)
        self.scope.report = document.name
        if kind == "funnel":
            from atrium.runtime.reports.funnel import compile_funnel
            return compile_funnel(self, document, entity, request)
        if kind == "timeseries":
            from atrium.runtime.reports.series import compile_series
            return compile_series(self, document, entity, request)
        if kind == "list":
            return self._list(document, entity, request)
        return self._grouped(document, entity, kind, request)

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
        path = (document.get("period") or {}).get("field") or next(
            (p for p, spec in condition.items() if isinstance(spec, Mapping) and "within" in spec), None)
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
            if path is None or (function == "count" and path == "id"):  # id is never empty: count(*)
                measures.append(Measure(name, "count", None, ReportColumn(
                    name, "measure", "integer", label_of(label, RECORDS), function="count")))
                continue
            if self.scope.hidden_step(joins.entity, path):
                dropped.add(name)
                continue
            column, field = self.scope.column(joins, path)
            measures.append(Measure(name, function, column, ReportColumn(
                name, "measure", measure_type(function, field), label_of(label, field_words(
                    field, AGGREGATE_WORDS[function])), field, self._entity_at(joins.entity, path),
                function=function)))
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
            current = self.blueprint.entities[current.fields[step].to]
        return current.name

    # --- summary and matrix --------------------------------------------------------------------

    def _grouped(self, document: Document, entity: str, kind: str, request: ReportRequest) -> CompiledReport:
        joins = self.scope.joins(entity)
        groups = [self.group(joins, spec) for spec in document.get("group_by", ())]
        measures, dropped = self.measures(joins, document)
        metrics, metric_columns = self.metrics(document, dropped)
        where = self.where(joins, document, request, self.period_condition(document, request))
        aggregates = {m.name: m.aggregate() for m in measures}
        ordering, python_sort = [], None
        keys = [(name, descending) for name, descending in self.sort_keys(document) if name not in dropped]
        if any(name in metrics for name, _ in keys):
            python_sort = keys
        else:
            by_group = {g.name: g.sort_key for g in groups}
            for name, descending in keys:
                expression = by_group.get(name, aggregates.get(name))
                ordering.append(expression.desc().nulls_last() if descending else expression.asc().nulls_last())
        ordering += [g.sort_key.asc().nulls_last() for g in groups]
        limit = request.limit or document.get("limit")
        statement = (sa.select(*(g.expression.label(g.name) for g in groups),
                               *(aggregate.label(name) for name, aggregate in aggregates.items()))
                     .select_from(joins.from_clause).where(*where)
                     .group_by(*(g.expression for g in groups)).order_by(*ordering))
        if limit and python_sort is None:
            statement = statement.limit(limit)
        compiled = CompiledReport(document.name, kind, entity,
                                  [g.column for g in groups] + [m.column for m in measures] + metric_columns,
                                  statement, groups, measures, metrics, python_sort=python_sort, limit=limit,
                                  entities=self.entities_read(joins))
        totals = sa.select(*(aggregate.label(name) for name, aggregate in aggregates.items()))
        if document.get("totals") or kind == "matrix":
            compiled.totals = totals.select_from(joins.from_clause).where(*where)
        if kind == "matrix" and len(groups) == 2:
            compiled.margins = self._margins(joins, groups, aggregates, where)
        return compiled

    def _margins(self, joins: Any, groups: list[Group], aggregates: dict[str, sa.ColumnElement],
                 where: list[sa.ColumnElement]) -> sa.Select:
        """A matrix's row totals (per first group) and column totals (per second), one statement."""
        parts = []
        for index, kept in enumerate(groups):
            columns = [sa.literal(index).label("margin")]
            for group in groups:
                value = group.expression if group is kept else sa.cast(sa.null(), group.expression.type)
                columns.append(value.label(group.name))
            parts.append(sa.select(*columns, *(a.label(n) for n, a in aggregates.items()))
                         .select_from(joins.from_clause).where(*where).group_by(kept.expression))
        return sa.union_all(*parts)

    # --- list ------------------------------------------------------------------------------------

    def _list(self, document: Document, entity: str, request: ReportRequest) -> CompiledReport:
        joins = self.scope.joins(entity)
        model = self.blueprint.entities[entity]
        selected, columns = [joins.base.c.id.label("id")], []
        for path in document.get("columns", ()):
            if self.scope.hidden_step(entity, path):
                continue  # a hidden field is not a column for this viewer
            index = len(columns)  # the SQL label is c<index>: paths have dots
            column, field = self.scope.column(joins, path)
            owner = self._entity_at(entity, path)
            if field.type == "location":
                table = column.table
                for part in ("lat", "lng", "address"):
                    selected.append(table.c[f"{field.name}_{part}"].label(f"c{index}_{part}"))
            else:
                selected.append(column.label(f"c{index}"))
            columns.append(ReportColumn(path, "field", field.type, field.label, field, owner))
        ordering = []
        for name, descending in self.sort_keys(document):
            column, field = self.scope.column(joins, name)
            expression = self.order_of(column, field)
            ordering.append(expression.desc().nulls_last() if descending else expression.asc().nulls_last())
        ordering.append(joins.base.c.id.desc() if ordering and self.sort_keys(document)[-1][1]
                        else joins.base.c.id.asc())
        limit = request.limit or document.get("limit") or LIST_LIMIT
        where = self.where(joins, document, request, self.period_condition(document, request))
        statement = (sa.select(*selected).select_from(joins.from_clause).where(*where)
                     .order_by(*ordering).limit(limit + 1))
        return CompiledReport(document.name, "list", entity, columns, statement, limit=limit,
                              entities=self.entities_read(joins), extra={"model": model.name})
