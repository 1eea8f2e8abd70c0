"""Report pages: GET /reports (the reports the viewer may run, by the entity they report on),
GET /reports/{name} (filters in the URL, the chart the report's `chart:` block asks for, the
table with its totals row), GET /reports/{name}.csv and .xlsx (the same rows as CSV, or typed cells). Everything runs
under the viewer's access scope; an unknown report and one the viewer may not run are both 404."""
from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import inspect
import io
import json
from email.utils import encode_rfc2231
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from atrium.metadata.model import Label
from atrium.runtime.io.xlsx_export import MEDIA_TYPE, XlsxSheet
from atrium.runtime.query.conditions import ConditionError
from atrium.runtime.reports.columns import TOTAL
from atrium.runtime.reports.compiler import ReportRequest
from atrium.runtime.reports.output import LABELLED, plain
from atrium.runtime.reports.runner import Reports
from atrium.runtime.schema.database import connect
from atrium.ui.reports import charts
from atrium.ui.reports.dashboard_page import visible_dashboards
from atrium.ui.reports.filters import BadFilter, read_filters
from atrium.ui.reports.tables import table_of
from atrium.ui.reports.widgets import has_period
from atrium.ui.web.guards import login_required
from atrium.ui.web.i18n import format_date
from atrium.ui.web.templating import render
from atrium.ui.web.threads import in_thread

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def source_of(blueprint: Any, document: Any) -> str:
    return document.get("source") or blueprint.pipelines[document["pipeline"]].entity


def guarded(endpoint):
    """Signed-in users only; an unknown or forbidden report raises ReportNotFound, which the
    pages' error handler answers with a 404. `__wrapped__` is the endpoint itself."""
    return login_required(endpoint)


@guarded
@in_thread
def reports_index(request: Request) -> Response:
    site, actor, locale = request.app.state.site, request.state.actor, request.state.locale
    blueprint = site.blueprint
    text = lambda label: label.text(locale, blueprint.default_locale) if label is not None else ""  # noqa: E731
    groups: dict[str, list] = {}
    for document in Reports(site).available(actor):
        entity = blueprint.entities[source_of(blueprint, document)]
        description = document.get("description")
        groups.setdefault(text(entity.plural), []).append(
            (document.name, text(document.label), text(Label.of(description)) if description else ""))
    dashboards = [(d.name, text(d.label)) for d in visible_dashboards(site, actor)]
    return render(request, "reports.html", {"groups": list(groups.items()), "dashboards": dashboards,
                                            "active_entity": "_reports"})


def _run(request: Request, name: str):
    site, actor = request.app.state.site, request.state.actor
    locale = request.state.locale
    actor = dataclasses.replace(actor, locale=locale)
    reports = Reports(site)
    document = reports.document(actor, name)
    with connect(site.engine) as connection, connection.begin():
        filters = read_filters(site, connection, actor, request.query_params, locale,
                               [source_of(site.blueprint, document)], with_period=has_period(document))
        result = reports.run(actor, name, ReportRequest(period=filters.period, owners=filters.owners), connection)
    return site, document, filters, result, locale


@guarded
@in_thread
def report_page(request: Request) -> Response:
    name = request.path_params["name"]
    if request.query_params.get("format") == "csv":
        return inspect.unwrap(report_csv)(request)
    site, document, filters, result, locale = _run(request, name)  # a bad filter: a 400 notice
    blueprint = site.blueprint
    default = blueprint.default_locale
    chart = charts.build(result, document, locale, blueprint)
    context: dict[str, Any] = {
        "title": result.label.text(locale, default),
        "description": _text(document.get("description"), locale, default),
        "filters": filters, "action": f"/reports/{name}",
        "csv_url": f"/reports/{name}.csv" + (f"?{filters.query()}" if filters.query() else ""),
        "xlsx_url": f"/reports/{name}.xlsx" + (f"?{filters.query()}" if filters.query() else ""),
        "table": table_of(result, locale, default, source_of(blueprint, document), _first_y(document)),
        "chart": chart if chart.kind in charts.CHARTED else None,
        "payload": json.dumps(chart.payload(locale, blueprint.currency), ensure_ascii=False),
        "kpi": None, "warnings": result.warnings, "active_entity": "_reports",
        "period_text": _period_text(result, locale),
    }
    if chart.kind == "kpi":
        columns = charts.value_columns(result, charts.spec_of(document))
        column = columns[0] if columns else None
        context["kpi"] = {"value": charts.kpi_value(result, column), "format": charts.format_of(column),
                          "label": column.label.text(locale, default) if column else ""}
    return render(request, "report.html", context)


@guarded
@in_thread
def report_csv(request: Request) -> Response:
    name = request.path_params["name"]
    try:
        site, document, filters, result, locale = _run(request, name)
    except (BadFilter, ConditionError) as error:
        return Response(getattr(error, "text", str(error)), status_code=400, media_type="text/plain; charset=utf-8")
    out = io.StringIO()
    out.write("\ufeff")  # Excel reads UTF-8 (Chinese) only with the BOM
    write_csv(result, out, locale)
    filename = f"{name}.csv"
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f"attachment; filename=\"{filename}\"; filename*={encode_rfc2231(filename, 'utf-8')}"})


@guarded
@in_thread
def report_xlsx(request: Request) -> Response:
    """The report's rows and totals as an .xlsx: money, counts and dates typed, labels as text."""
    name = request.path_params["name"]
    try:
        site, document, filters, result, locale = _run(request, name)
    except (BadFilter, ConditionError) as error:
        return Response(getattr(error, "text", str(error)), status_code=400, media_type="text/plain; charset=utf-8")
    blueprint = site.blueprint
    default = result.default_locale
    sheet = XlsxSheet(result.label.text(locale, default), blueprint.currency, blueprint.timezone, locale)
    sheet.header([c.label.text(locale, default) for c in result.columns])
    records = [*result.rows, *([result.totals] if result.totals is not None else [])]
    for index, record in enumerate(records):
        cells: list[tuple[str | None, Any, str]] = []
        for column in result.columns:
            value = record.get(column.name)
            if column.type in LABELLED or column.bucket or isinstance(value, (dict, str)):
                cells.append((None, value, result.text(column, value, locale) if value is not None else ""))
            else:
                kind = column.type if column.type in ("money", "percent", "date", "datetime") else "number"
                cells.append((kind, value, "" if value is None else str(plain(value))))
        if index == len(result.rows) and not cells[0][2]:
            cells[0] = (None, TOTAL.text(locale), TOTAL.text(locale))
        sheet.append(cells)
    filename = f"{name}.xlsx"
    return Response(sheet.content(), media_type=MEDIA_TYPE, headers={
        "Content-Disposition": f"attachment; filename=\"{filename}\"; filename*={encode_rfc2231(filename, 'utf-8')}"})


def write_csv(result: Any, out: io.StringIO, locale: str) -> None:
    """The result's headings, rows and totals row; names as people read them, exact numbers; a
    text cell that a spreadsheet would run as a formula is quoted with a leading apostrophe."""
    writer = csv.writer(out, lineterminator="\r\n")
    default = result.default_locale
    writer.writerow([c.label.text(locale, default) for c in result.columns])
    records = [*result.rows, *([result.totals] if result.totals is not None else [])]
    for index, record in enumerate(records):
        cells = []
        for column in result.columns:
            value = record.get(column.name)
            if column.type in LABELLED or column.bucket or isinstance(value, (dict, str)):
                shown = result.text(column, value, locale) if value is not None else ""
                if shown.startswith(FORMULA_START):
                    shown = "'" + shown
            else:
                shown = plain(value)
            cells.append("" if shown is None else shown)
        if index == len(result.rows) and not cells[0]:
            cells[0] = TOTAL.text(locale)
        writer.writerow(cells)


def _first_y(document: Any) -> str | None:
    y = charts.spec_of(document).get("y")
    return y if isinstance(y, str) else (y[0] if y else None)


def _text(label: Any, locale: str, default: str) -> str:
    return Label.of(label).text(locale, default) if label else ""


def _period_text(result: Any, locale: str) -> str:
    period = getattr(result, "period", None)
    if not period:
        return ""
    start, end = period
    return f"{format_date(start, locale)} – {format_date(end - dt.timedelta(days=1), locale)}"


routes = [
    Route("/reports", reports_index, methods=["GET"], name="reports"),
    Route("/reports/{name}.csv", report_csv, methods=["GET"], name="report_csv"),
    Route("/reports/{name}.xlsx", report_xlsx, methods=["GET"], name="report_xlsx"),
    Route("/reports/{name}", report_page, methods=["GET"], name="report_page"),
]
