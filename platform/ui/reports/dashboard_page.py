"""Dashboards: GET / (the signed-in user's role dashboard), GET /dashboards/{name} (the page:
title, period and team filters in the URL, one placeholder per widget) and
GET /dashboards/{name}/widgets/{index} (one widget, loaded and refreshed by HTMX).

Dashboards are bound to roles live: each request looks the dashboard up in the site's blueprint
as it is now, so a changed YAML shows for every user of the role on their next request. Widget
results are cached per widget definition, viewer, filters and language, and stay valid while
the database's change counters of the tables they read do not move (widget_cache.py)."""
from __future__ import annotations

import dataclasses
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from atrium.metadata.model import Document, Label
from atrium.runtime.query.periods import local_today
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.schema.database import connect
from atrium.runtime.site.site import Site
from atrium.ui.reports.filters import BadFilter, read_filters
from atrium.ui.reports.tables import table_of
from atrium.ui.reports.widget_cache import cache_of, fingerprint, metadata_version
from atrium.ui.reports.widgets import WidgetMaker, widget_tables
from atrium.ui.web.guards import login_required
from atrium.ui.web.home import home as entity_home
from atrium.ui.web.page_tools import notice
from atrium.ui.web.templating import context_for, environment, render
from atrium.ui.web.threads import in_thread


def visible_dashboards(site: Site, actor: Actor) -> list[Document]:
    """The dashboards this user may open: those of their role (every one for a role that sees everything)."""
    if site.access.role(actor) is None:
        return []
    sees_everything = site.access.sees_everything(actor)
    return [d for name, d in sorted(site.blueprint.dashboards.items())
            if sees_everything or not d.get("roles") or actor.role in d.get("roles")]


def role_dashboard(blueprint: Any, actor: Actor) -> Document | None:
    """The home dashboard: the first (by name) that names the user's role."""
    return next((d for name, d in sorted(blueprint.dashboards.items()) if actor.role in (d.get("roles") or ())), None)


def _dashboard(request: Request) -> Document | None:
    blueprint = request.app.state.site.blueprint
    name = request.path_params["name"]
    document = blueprint.dashboards.get(name)
    if document is None or document not in visible_dashboards(request.app.state.site, request.state.actor):
        return None
    return document


def entities_of(blueprint: Any, document: Document) -> set[str]:
    """The entities a dashboard's widgets start from (whose owners the team filter chooses)."""
    names = set()
    for widget in document["widgets"]:
        if widget.get("entity"):
            names.add(widget["entity"])
        elif widget.get("pipeline"):
            names.add(blueprint.pipelines[widget["pipeline"]].entity)
        elif widget.get("report") in blueprint.reports:
            report = blueprint.reports[widget["report"]]
            names.add(report.get("source") or blueprint.pipelines[report["pipeline"]].entity)
    return names


def _filters(request: Request, document: Document, connection: Any):
    site = request.app.state.site
    return read_filters(site, connection, request.state.actor, request.query_params, request.state.locale,
                        entities_of(site.blueprint, document))


def _page(request: Request, document: Document, status: int = 200, home: bool = False) -> Response:
    site, locale = request.app.state.site, request.state.locale
    blueprint = site.blueprint
    text = lambda label: label.text(locale, blueprint.default_locale) if label else ""  # noqa: E731
    with connect(site.engine) as connection:
        filters = _filters(request, document, connection)  # a bad filter: a 400 notice
    query = filters.query()
    placeholders = []
    for index, widget in enumerate(document["widgets"]):
        title = text(Label.of(widget["label"])) if widget.get("label") else _default_title(blueprint, widget, text)
        placeholders.append({"index": index, "width": int(widget.get("width") or 6), "title": title,
                             "url": f"/dashboards/{document.name}/widgets/{index}" + (f"?{query}" if query else "")})
    description = document.get("description")
    return render(request, "dashboard.html", {
        "title": text(document.label), "description": text(Label.of(description)) if description else "",
        "filters": filters, "action": request.url.path, "placeholders": placeholders,
        "today_strip": home,  # the home page's strip: approvals waiting, unread messages
    }, status_code=status)


def _default_title(blueprint: Any, widget: Any, text) -> str:
    if widget.get("report") in blueprint.reports:
        return text(blueprint.reports[widget["report"]].label)
    if widget.get("entity") in blueprint.entities:
        return text(blueprint.entities[widget["entity"]].plural)
    if widget.get("pipeline") in blueprint.pipelines:
        return text(blueprint.pipelines[widget["pipeline"]].label)
    return ""


@login_required
@in_thread
def home(request: Request) -> Response:
    document = role_dashboard(request.app.state.site.blueprint, request.state.actor)
    if document is None:  # a role without a dashboard: what it can open, as before
        return entity_home(request)
    return _page(request, document, home=True)


@login_required
@in_thread
def dashboard(request: Request) -> Response:
    document = _dashboard(request)
    if document is None:
        return notice(request, "not_found", 404)
    return _page(request, document)


@login_required
@in_thread
def widget(request: Request) -> Response:
    document = _dashboard(request)
    index = request.path_params["index"]
    if document is None or index >= len(document["widgets"]):
        return notice(request, "not_found", 404)
    html = widget_html(request, document, index)
    if html is None:
        return render(request, "notice.html", {"title": "400"}, status_code=400)
    response = HTMLResponse(html)
    response.headers["Vary"] = "HX-Request, Cookie"
    response.headers["Cache-Control"] = "no-store"
    return response


def widget_html(request: Request, document: Document, index: int) -> str | None:
    """One widget's HTML, from the cache when nothing it reads has changed."""
    site, locale = request.app.state.site, request.state.locale
    blueprint = site.blueprint
    actor = dataclasses.replace(request.state.actor, locale=locale)
    spec = document["widgets"][index]
    with connect(site.engine) as connection, connection.begin():
        try:
            filters = _filters(request, document, connection)
        except BadFilter:
            return None
        report = blueprint.reports.get(spec.get("report") or "")
        key = ("widget", document.name, index, metadata_version(blueprint),
               fingerprint(spec, report.data if report else None),
               actor.user_id, actor.role, actor.team_id, locale, filters.query(), filters.owners,
               local_today(site.now(), blueprint.timezone))
        tables = widget_tables(blueprint, spec)
        cache = cache_of(request.app.state)

        def compute() -> str:
            maker = WidgetMaker(site, actor, locale, document, filters, connection, cache, key)
            return render_widget(request, maker.make(index), document, blueprint, locale, filters)
        return cache.get_or_compute(connection, key, tables, compute)


def render_widget(request: Request, made: Any, document: Document, blueprint: Any, locale: str, filters) -> str:
    query = filters.query()
    values = {"w": made,
              "widget_url": f"/dashboards/{document.name}/widgets/{made.index}" + (f"?{query}" if query else ""),
              "payload": "", "table": None}
    if made.chart is not None:
        values["payload"] = json.dumps(made.chart.payload(locale, blueprint.currency), ensure_ascii=False)
    if made.kind == "table" and made.result is not None:
        spec = document["widgets"][made.index]
        entity = made.result and (blueprint.reports[spec["report"]].get("source") if spec.get("report") else None)
        values["table"] = table_of(made.result, locale, blueprint.default_locale, entity, spec.get("value"),
                                   limit=spec.get("limit"))
    return environment.get_template("_widget.html").render(context_for(request, values))


routes = [
    Route("/dashboards/{name}", dashboard, methods=["GET"], name="dashboard"),
    Route("/dashboards/{name}/widgets/{index:int}", widget, methods=["GET"], name="dashboard_widget"),
]
