"""Dashboard widgets computed for one viewer: a KPI (a report's figure against a target and the
previous period), a funnel over a pipeline, a report's chart or table, a list of records. Every
one runs under the viewer's access scope through the report engine or the secured record list,
so one dashboard YAML shows a rep their own numbers and a manager the team's."""
from __future__ import annotations

from dataclasses import dataclass, field as dataclass_field
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Mapping

from sqlalchemy.engine import Connection

from atrium.metadata.expressions import ExpressionError
from atrium.metadata.model import Document, Label
from atrium.runtime.access.secured import AccessDenied, SecuredRecords
from atrium.runtime.query.conditions import ConditionError
from atrium.runtime.query.lists import ListQuery
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.reports.compiler import ReportRequest
from atrium.runtime.reports.runner import Reports
from atrium.runtime.reports.scope import ReportNotFound
from atrium.runtime.site.site import Site
from atrium.ui.reports import charts
from atrium.ui.reports.filters import Filters
from atrium.ui.reports.what_it_takes_widget import make_plan, what_it_takes_tables
from atrium.ui.reports.widget_cache import WidgetCache, report_paths, tables_read
from atrium.ui.reports.words import PREVIOUS
from atrium.ui.web.i18n import PERIOD_WORDS, word
from atrium.ui.web.present import Presenter

FUNNEL = "_funnel"  # the name of a funnel widget's own report document


@dataclass
class Widget:
    """One widget ready for _widget.html."""

    index: int
    kind: str
    title: str
    width: int = 6
    href: str | None = None
    notice: str | None = None
    note: str | None = None
    chart: charts.Chart | None = None
    result: Any = None
    kpi: dict[str, Any] | None = None
    columns: list[Any] = dataclass_field(default_factory=list)
    rows: list[Any] = dataclass_field(default_factory=list)
    entity: str | None = None
    plan: dict[str, Any] | None = None


class WidgetReports(Reports):
    """Reports, plus the funnel documents that funnel widgets make for their pipeline."""

    def __init__(self, site: Site, extra: Mapping[str, Document] | None = None):
        super().__init__(site)
        self.extra = dict(extra or {})

    def document(self, actor: Actor, name: str) -> Document:
        document = self.extra.get(name)
        if document is None:
            return super().document(actor, name)
        entity = self.blueprint.pipelines[document["pipeline"]].entity
        if not self.site.access.can(actor, entity, "read"):
            raise ReportNotFound(name)
        return document


def funnel_document(blueprint: Any, widget: Mapping[str, Any]) -> Document:
    pipeline = blueprint.pipelines[widget["pipeline"]]
    data = {"type": "funnel", "pipeline": pipeline.name, "where": dict(widget.get("where") or {}),
            "chart": {"type": "funnel"}}
    return Document(FUNNEL, MappingProxyType(data), pipeline.label)


def has_period(document: Any) -> bool:
    """Whether a dashboard's period filter can replace the report's period."""
    if document.get("type") in ("timeseries", "funnel"):
        return True
    return any(isinstance(spec, Mapping) and "within" in spec for spec in (document.get("where") or {}).values())


def own_period(document: Any) -> str | None:
    for spec in (document.get("where") or {}).values():
        if isinstance(spec, Mapping) and "within" in spec:
            return spec["within"]
    return (document.get("period") or {}).get("within")


def widget_tables(blueprint: Any, widget: Mapping[str, Any]) -> set[str]:
    """The tables a widget reads (for its cache key)."""
    kind = widget["type"]
    if kind == "funnel":
        entity = blueprint.pipelines[widget["pipeline"]].entity
        return tables_read(blueprint, entity, list((widget.get("where") or {}).keys()))
    if kind == "list":
        paths = list((widget.get("where") or {}).keys()) + list(widget.get("columns") or ())
        return tables_read(blueprint, widget["entity"], paths)
    if kind == "what_it_takes":
        return what_it_takes_tables(blueprint, widget)
    document = blueprint.reports[widget["report"]]
    entity = document.get("source") or blueprint.pipelines[document["pipeline"]].entity
    extra = [blueprint.targets.entity] if kind == "kpi" and blueprint.targets is not None else []
    return tables_read(blueprint, entity, report_paths(document.data), extra)


class WidgetMaker:
    def __init__(self, site: Site, actor: Actor, locale: str, dashboard: Document, filters: Filters,
                 connection: Connection, cache: WidgetCache | None = None, cache_key: tuple = ()):
        self.site, self.actor, self.locale = site, actor, locale
        self.blueprint = site.blueprint
        self.dashboard, self.filters, self.connection = dashboard, filters, connection
        self.cache, self.cache_key = cache, cache_key  # where parts of a widget are kept (what it takes)

    def text(self, label: Any) -> str:
        if label is None:
            return ""
        return label.text(self.locale, self.blueprint.default_locale) if isinstance(label, Label) else str(label)

    def make(self, index: int) -> Widget:
        spec = self.dashboard["widgets"][index]
        kind = spec["type"]
        widget = Widget(index, kind, self.text(Label.of(spec["label"])) if spec.get("label") else "",
                        int(spec.get("width") or 6))
        try:
            if kind == "list":
                self._list(spec, widget)
            elif kind == "funnel":
                document = funnel_document(self.blueprint, spec)
                widget.title = widget.title or word("{pipeline} funnel", self.locale,
                                                    pipeline=self.text(document.label))
                self._report(spec, widget, WidgetReports(self.site, {FUNNEL: document}), FUNNEL)
            elif kind == "what_it_takes":
                widget.title = widget.title or word("What it takes", self.locale)
                widget.plan = make_plan(WidgetReports(self.site), self, spec, index)
                if self.filters.period:  # it has its own period and history window
                    widget.note = word("The period filter does not apply here", self.locale)
            else:
                self._report(spec, widget, WidgetReports(self.site), spec["report"])
        except (ReportNotFound, AccessDenied):
            widget.notice = word("This widget is not available to your role", self.locale)
        except (ConditionError, ExpressionError, ValueError) as error:
            widget.notice = word("This widget could not be computed: {why}", self.locale, why=str(error))
        return widget

    # --- report widgets: kpi, chart, table, funnel --------------------------------------------------

    def _report(self, spec: Mapping[str, Any], widget: Widget, reports: WidgetReports, name: str) -> None:
        document = reports.document(self.actor, name)
        widget.title = widget.title or self.text(document.label)
        if name != FUNNEL:
            widget.href = f"/reports/{name}" + (f"?{self.filters.query()}" if self.filters.query() else "")
        period = self.filters.period if has_period(document) else None
        if self.filters.period and period is None:
            widget.note = word("The period filter does not apply here", self.locale)
        request = ReportRequest(period=period, owners=self.filters.owners, limit=spec.get("limit"))
        result = reports.run(self.actor, name, request, self.connection)
        widget.result = result
        if widget.kind == "kpi":
            self._kpi(spec, widget, reports, name, document, result)
            return
        if widget.kind == "table":
            return
        widget.chart = charts.build(result, document, self.locale, self.blueprint)
        if widget.chart.kind == "kpi":
            widget.kind = "kpi"
            self._kpi(spec, widget, reports, name, document, result)
        elif widget.chart.kind == "table":
            widget.kind = "table"

    def _kpi(self, spec: Mapping[str, Any], widget: Widget, reports: WidgetReports, name: str,
             document: Document, result: Any) -> None:
        wanted = spec.get("value") or next(iter(charts.value_columns(result, charts.spec_of(document))), None)
        column = charts.find_column(result, wanted if isinstance(wanted, str) else getattr(wanted, "name", None),
                                    ("measure", "metric"))
        value = charts.kpi_value(result, column)
        kpi: dict[str, Any] = {"value": value, "format": charts.format_of(column),
                               "label": self.text(column.label) if column else ""}
        expression = self.dashboard.expressions.get(f"widgets.{widget.index}.target")
        if expression is not None:
            variables = dict(result.rows[0]) if len(result.rows) == 1 else {}
            try:
                kpi["target"] = reports.evaluate(self.actor, expression, variables,
                                                 document.get("source") or "", self.connection)
            except (ExpressionError, ArithmeticError, TypeError, ValueError):
                kpi["target"] = None
            kpi["has_target"] = True
            if _positive(kpi["target"]) and charts.number(value) is not None:
                kpi["progress"] = float(Decimal(str(value)) * 100 / Decimal(str(kpi["target"])))
        period = self.filters.period if has_period(document) and self.filters.period else own_period(document)
        previous = PREVIOUS.get(period or "")
        if previous and column is not None:
            before = reports.run(self.actor, name, ReportRequest(period=previous, owners=self.filters.owners),
                                 self.connection)
            then = charts.kpi_value(before, charts.find_column(before, column.name))
            kpi["previous"] = then
            kpi["previous_period"] = word(PERIOD_WORDS[previous], self.locale)
            if _positive(then) and charts.number(value) is not None:
                kpi["change"] = float((Decimal(str(value)) - Decimal(str(then))) * 100 / Decimal(str(then)))
        widget.kpi = kpi

    # --- list widgets ---------------------------------------------------------------------------

    def _list(self, spec: Mapping[str, Any], widget: Widget) -> None:
        entity = self.blueprint.entities[spec["entity"]]
        if not self.site.access.can(self.actor, entity.name, "read"):
            raise AccessDenied(entity.name)
        widget.entity = entity.name
        widget.title = widget.title or self.text(entity.plural)
        widget.href = f"/r/{entity.name}"
        where = dict(spec.get("where") or {})
        if self.filters.owners is not None and entity.owner:
            where = {**where, entity.owner: {"in": list(self.filters.owners)}} if entity.owner not in where \
                else where
        presenter = Presenter(self.site, self.actor, self.locale)
        paths = list(spec.get("columns") or self.blueprint.view(entity.name).columns or ())
        if not paths:
            paths = [f.name for f in entity][:4]
        columns = [c for c in presenter.columns(entity.name, paths)
                   if presenter.mode(entity.name, c.path.split(".")[0]) != "hidden"]
        sort = spec.get("sort") or ()
        query = ListQuery(entity.name, where=where, sort=tuple([sort] if isinstance(sort, str) else sort),
                          limit=int(spec.get("limit") or 10))
        page = SecuredRecords(self.site).list(self.actor, query, self.connection)
        lookups = presenter.load(self.connection, entity.name, page.records, [c.path for c in columns])
        widget.columns = columns
        widget.rows = [(record["id"], [presenter.show(c.field, presenter.value_at(entity.name, record, c.path, lookups),
                                                      lookups) for c in columns]) for record in page.records]


def _positive(value: Any) -> bool:
    number = charts.number(value)
    return number is not None and number > 0
