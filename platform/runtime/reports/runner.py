"""Run a report for a viewer: compile, execute under their scope, then compute metrics over the
aggregated rows (never per record), sort by metrics, add the totals row and the titles of
referenced records and users. The one entry point the CLI, the API, report pages and dashboards use:

    reports = Reports(site)
    result = reports.run(actor, "by_stage", ReportRequest(period="this_month"))
    reports.run_document(actor, document)                # a report made on the fly (a funnel widget)
    result.columns, result.rows, result.totals, result.text(column, value, locale), result.to_json(locale)
    reports.target(actor, "revenue", "month")            # what target('revenue', 'month') gives
    reports.evaluate(actor, expression, {"amount": 1})   # a dashboard's KPI target expression
"""
from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field as dataclass_field
from decimal import Decimal
from typing import Any, Mapping

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from atrium.metadata.expressions import Expression, ExpressionError
from atrium.metadata.model import Document, Label
from atrium.runtime.records.evaluation import Actor, RecordEvaluator
from atrium.runtime.reports.columns import ReportColumn, normalize, zero
from atrium.runtime.reports.compiler import CompiledReport, ReportCompiler, ReportRequest
from atrium.runtime.reports.funnel import shape_funnel
from atrium.runtime.reports.output import ResultText
from atrium.runtime.reports.parts import NO_REQUEST
from atrium.runtime.reports.scope import ReportNotFound, ReportScope
from atrium.runtime.reports.series import shape_series
from atrium.runtime.reports.targets import TargetReader
from atrium.runtime.schema.database import connect


@dataclass
class Matrix:
    """A matrix report pivoted: `cells[(row key, column key)]` is the row of `rows` for that pair."""

    row: str
    column: str
    row_keys: list[Any]
    column_keys: list[Any]
    cells: dict[tuple[Any, Any], dict[str, Any]]
    row_totals: dict[Any, dict[str, Any]]
    column_totals: dict[Any, dict[str, Any]]


@dataclass
class ReportResult(ResultText):
    name: str
    kind: str
    label: Label
    columns: list[ReportColumn]
    rows: list[dict[str, Any]]
    totals: dict[str, Any] | None = None
    matrix: Matrix | None = None
    truncated: bool = False  # a list report had more records than its limit
    period: tuple[dt.date, dt.date] | None = None  # [start, end) of a time series or funnel
    entities: frozenset[str] = frozenset()  # what it read: a cache of it is stale when these change
    warnings: list[str] = dataclass_field(default_factory=list)
    titles: dict[str, dict[Any, Any]] = dataclass_field(default_factory=dict)  # value → title or Label
    timezone: str = "UTC"
    default_locale: str = "en"


class Reports:
    def __init__(self, site: Any):
        self.site = site
        self.blueprint = site.blueprint
        self.targets = TargetReader(site.blueprint, site.tables, site.access)

    # --- the public API ----------------------------------------------------------------------------

    def document(self, actor: Actor, name: str) -> Document:
        """The report, if the viewer may run it (else ReportNotFound: unknown and forbidden look alike)."""
        document = self.blueprint.reports.get(name)
        if document is None:
            raise ReportNotFound(name)
        entity = document.get("source") or self.blueprint.pipelines[document["pipeline"]].entity
        if not self.site.access.can(actor, entity, "read"):
            raise ReportNotFound(name)
        return document

    def available(self, actor: Actor) -> list[Document]:
        """The reports this viewer may run, sorted by name."""
        result = []
        for name in sorted(self.blueprint.reports):
            try:
                result.append(self.document(actor, name))
            except ReportNotFound:
                pass
        return result

    def run(self, actor: Actor, name: str, request: ReportRequest = NO_REQUEST,
            connection: Connection | None = None) -> ReportResult:
        """The report's rows under `actor`'s scope. Raises ReportNotFound (or ReportRefused, when
        the report reads a field the role hides) and ConditionError for a bad request."""
        return self.run_document(actor, self.document(actor, name), request, connection)

    def run_document(self, actor: Actor, document: Document, request: ReportRequest = NO_REQUEST,
                     connection: Connection | None = None) -> ReportResult:
        """Run a report document that need not be in the blueprint (a dashboard's funnel widget over a
        pipeline makes one). Its data must be what the loader accepts for a report; metrics need
        their parsed expressions in `document.expressions`. The viewer's scope applies as always."""
        if connection is None:
            with connect(self.site.engine) as connection, connection.begin():
                return self.run_document(actor, document, request, connection)
        scope = self.scope(connection, actor, document.name)
        compiled = ReportCompiler(scope).compile(document, request)
        result = ReportResult(document.name, compiled.kind, document.label, compiled.columns, [],
                              entities=compiled.entities, timezone=self.blueprint.timezone,
                              default_locale=self.blueprint.default_locale)
        evaluator = self.evaluator(connection, actor, compiled.entity)
        metrics = lambda row: self._metrics(evaluator, compiled, row, result)  # noqa: E731
        if compiled.kind == "list":
            self._list(connection, compiled, result)
        elif compiled.kind == "funnel":
            shape_funnel(connection, compiled, result, metrics)
        elif compiled.kind == "timeseries":
            shape_series(connection, compiled, result, metrics)
        else:
            self._grouped(connection, compiled, result, evaluator)
        self._titles(connection, actor, result)
        return result

    def compile(self, actor: Actor, name: str, request: ReportRequest = NO_REQUEST,
                connection: Connection | None = None) -> CompiledReport:
        """The statement(s) a run would execute (for EXPLAIN, benchmarks and tests)."""
        document = self.document(actor, name)
        if connection is None:
            with connect(self.site.engine) as connection:
                return self.compile(actor, name, request, connection)
        return ReportCompiler(self.scope(connection, actor, name)).compile(document, request)

    def target(self, actor: Actor, metric: str, period: str, connection: Connection | None = None) -> Any:
        """The viewer's target for a metric in the current period (None when none is set)."""
        if connection is None:
            with connect(self.site.engine) as connection:
                return self.target(actor, metric, period, connection)
        return self.targets.value(connection, actor, metric, period, self.site.now())

    def evaluate(self, actor: Actor, expression: Expression, variables: Mapping[str, Any] | None = None,
                 entity: str = "", connection: Connection | None = None) -> Any:
        """An expression in a report or dashboard context (target() reads the viewer's goals)."""
        if connection is None:
            with connect(self.site.engine) as connection:
                return self.evaluate(actor, expression, variables, entity, connection)
        return self.evaluator(connection, actor, entity).evaluate(expression, variables or {})

    # --- the steps --------------------------------------------------------------------------------

    def scope(self, connection: Connection, actor: Actor, name: str = "") -> ReportScope:
        return ReportScope(self.blueprint, self.site.tables, self.site.access, connection, actor,
                           self.site.now(), name)

    def evaluator(self, connection: Connection, actor: Actor, entity: str) -> RecordEvaluator:
        now = self.site.now()
        reader = lambda metric, period, *owner: self.targets.value(  # noqa: E731
            connection, actor, metric, period, now, *owner)
        return RecordEvaluator(self.blueprint, self.site.clock, targets=reader).bind(entity, actor)

    def _metrics(self, evaluator: RecordEvaluator, compiled: CompiledReport, row: dict[str, Any],
                 result: ReportResult) -> dict[str, Any]:
        for column in result.columns:
            if column.kind != "metric" or column.name not in compiled.metrics:
                continue
            try:
                value = evaluator.evaluate(compiled.metrics[column.name], row)
                row[column.name] = normalize(column.type, value) if _numeric(value) else value
            except (ExpressionError, ArithmeticError, ValueError, TypeError) as error:
                row[column.name] = None
                warning = f"{column.name}: {error}"
                if warning not in result.warnings:
                    result.warnings.append(warning)
        return row

    def _typed(self, compiled: CompiledReport, mapping: Mapping[str, Any] | sa.RowMapping) -> dict[str, Any]:
        """A result row as Python values; a sum of no values is 0 (SQL says NULL), so metrics can add up."""
        row = {c.name: normalize(c.type, mapping.get(c.name)) for c in compiled.columns if c.kind != "metric"}
        for measure in compiled.measures:
            if measure.function == "sum" and row.get(measure.name) is None:
                row[measure.name] = zero(measure.column.type)
        return row

    def _grouped(self, connection: Connection, compiled: CompiledReport, result: ReportResult,
                 evaluator: RecordEvaluator) -> None:
        rows = [self._typed(compiled, row._mapping) for row in connection.execute(compiled.statement)]
        result.rows = [self._metrics(evaluator, compiled, row, result) for row in rows]
        if compiled.python_sort:
            for name, descending in reversed(compiled.python_sort):  # stable: last key first
                present = [r for r in result.rows if r.get(name) is not None]
                missing = [r for r in result.rows if r.get(name) is None]
                result.rows = sorted(present, key=lambda r: r[name], reverse=descending) + missing
            if compiled.limit:
                result.rows = result.rows[:compiled.limit]
        if compiled.totals is not None:
            totals = connection.execute(compiled.totals).first()
            assert totals is not None  # an aggregate without GROUP BY always gives one row
            result.totals = self._metrics(evaluator, compiled, self._typed(compiled, totals._mapping), result)
        if compiled.margins is not None:
            row_group, column_group = (g.name for g in compiled.groups)
            margins: list[dict[int, dict]] = [{}, {}]
            for row in connection.execute(compiled.margins):
                typed = self._metrics(evaluator, compiled, self._typed(compiled, row._mapping), result)
                key = typed[row_group] if row.margin == 0 else typed[column_group]
                margins[row.margin][key] = typed
            result.matrix = Matrix(row_group, column_group, _unique(r[row_group] for r in result.rows),
                                   _unique(r[column_group] for r in result.rows),
                                   {(r[row_group], r[column_group]): r for r in result.rows},
                                   margins[0], margins[1])
            result.matrix.column_keys.sort(key=self._sort_key(compiled.groups[1].column))

    def _sort_key(self, column: ReportColumn) -> Any:
        """Values in the group's sequence (stages as the pipeline lists them, options as listed), empty last."""
        names: tuple = ()
        if column.type == "stage" and column.field is not None:
            pipeline = self.blueprint.pipelines.get(column.field.pipeline or "")
            names = pipeline.stage_names if pipeline else ()
        elif column.type == "select" and column.field is not None:
            names = column.field.option_values
        rank = {name: index for index, name in enumerate(names)}
        return lambda value: (value is None, rank.get(value, len(rank)), value if rank == {} and value is not None
                              else 0)

    def _list(self, connection: Connection, compiled: CompiledReport, result: ReportResult) -> None:
        assert compiled.limit is not None  # a list report always has one (LIST_LIMIT by default)
        rows = None
        if "walk" in compiled.extra:  # a window of the sort's index first (query/index_walk.py)
            rows = connection.execute(compiled.extra["walk"]).fetchall()
            if len(rows) <= compiled.limit:  # it held less than a page: the filter keeps few rows
                rows = None
        if rows is None and "parts" in compiled.extra:
            rows = self._merged_parts(connection, compiled)
        if rows is None:
            rows = connection.execute(compiled.statement).fetchall()
        result.truncated = len(rows) > compiled.limit
        for row in rows[:compiled.limit]:
            mapping, record = row._mapping, {"id": row.id}
            for index, column in enumerate(compiled.columns):
                if column.type == "location":
                    record[column.name] = {part: mapping[f"c{index}_{part}"] for part in ("lat", "lng", "address")}
                else:
                    record[column.name] = normalize(column.type, mapping[f"c{index}"])
            result.rows.append(record)

    def _merged_parts(self, connection: Connection, compiled: CompiledReport) -> list[Any]:
        """The first page of a list held to several values of a field, as the merge of each value's
        first page (compiler._partitions): each part is the list's own statement for one value (or
        for empty values, or values outside the options when there are any), so the merge of their
        first `limit + 1` rows in the list's order is the list's first `limit + 1` rows."""
        parts = list(compiled.extra["parts"])
        if "parts_outside" in compiled.extra:
            probes, outside = compiled.extra["parts_outside"]
            if any(connection.execute(probe).first() is not None for probe in probes):
                parts.append(outside)
        rows = [row for part in parts for row in connection.execute(part).fetchall()]
        descending = compiled.extra["sort_terms"]

        def compare(a: Any, b: Any) -> int:
            for index, down in enumerate(descending):
                x, y = getattr(a, f"k{index}"), getattr(b, f"k{index}")
                if x == y:
                    continue
                if x is None or y is None:  # empty values last, either way
                    return 1 if x is None else -1
                return (-1 if x > y else 1) if down else (-1 if x < y else 1)
            if a.id == b.id:
                return 0
            up = a.id < b.id
            return (1 if up else -1) if descending and descending[-1] else (-1 if up else 1)
        rows.sort(key=functools.cmp_to_key(compare))
        assert compiled.limit is not None
        return rows[:compiled.limit + 1]

    def _titles(self, connection: Connection, actor: Actor, result: ReportResult) -> None:
        """Titles of the records and users the rows point at, as the viewer may see them."""
        users = self.site.tables.system("atrium_users")
        records = [*result.rows, *([result.totals] if result.totals else [])]
        for column in result.columns:
            if column.type == "stage" and column.field is not None:
                pipeline = self.blueprint.pipelines.get(column.field.pipeline or "")
                result.titles[column.name] = {s.name: s.label for s in pipeline.stages} if pipeline else {}
            if column.type not in ("reference", "user") or column.field is None:
                continue
            ids = sorted({value for r in records if isinstance(value := r.get(column.name), int)})
            if not ids:
                continue
            if column.type == "user":
                query = sa.select(users.c.id, users.c.display_name, users.c.name).where(users.c.id.in_(ids))
                result.titles[column.name] = {r.id: r.display_name or r.name for r in connection.execute(query)}
            else:  # only records the viewer may read get a title
                table = self.site.tables[column.field.to]
                readable = sorted(connection.execute(sa.select(table.c.id).where(
                    table.c.id.in_(ids), self.site.access.row_filter(connection, actor, column.field.to, "read",
                                                                     table))).scalars())
                result.titles[column.name] = self.site.queries.titles(connection, column.field.to, readable, actor)


def _unique(values: Any) -> list[Any]:
    return list(dict.fromkeys(values))


def _numeric(value: Any) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)
