"""The web application: `create_app(settings)` wires the site, sessions, CSRF and the routes."""
from __future__ import annotations

import contextlib
import functools
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Awaitable, Callable

import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from atrium.runtime.site.site import Site
from atrium.ui.api import records as api
from atrium.ui.web import sessions
from atrium.ui.web.templating import render

PACKAGE_ROOT = Path(__file__).resolve().parents[3]
Endpoint = Callable[[Request], Awaitable[Response]]
MAX_BODY = 32 * 1024 * 1024  # a CSV import of a few hundred thousand rows


@dataclass(frozen=True)
class Settings:
    blueprint: str
    database_url: str = "sqlite:///atrium.db"
    overlays: tuple[str, ...] = field(default_factory=tuple)
    secret_key: str | None = None
    node_modules: str = str(PACKAGE_ROOT / "node_modules")
    https_only: bool = False
    scheduler: bool = False  # run scheduled automations and send webhooks in this process (atrium serve)
    site_overlay: str | None = None  # where the studio writes (default: overlays/site beside a SQLite file)


def secret_key(settings: Settings) -> str:
    """The session signing key: configured, or kept in a file so every worker and restart agrees."""
    if settings.secret_key:
        return settings.secret_key
    if os.environ.get("ATRIUM_SECRET_KEY"):
        return os.environ["ATRIUM_SECRET_KEY"]
    path = Path(".atrium-secret")
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


def login_required(endpoint: Endpoint) -> Endpoint:
    """Pages send a visitor to the login page; the API answers 401."""
    @functools.wraps(endpoint)
    async def guarded(request: Request) -> Response:
        if request.state.actor is None:
            if request.url.path.startswith("/api/"):
                return JSONResponse({"error": "unauthorized"}, status_code=401)
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            login = request.url_for("login_page").include_query_params(next=target)
            if request.headers.get("HX-Request"):
                return Response(status_code=204, headers={"HX-Redirect": str(login)})
            return RedirectResponse(login, status_code=303)
        return await endpoint(request)
    return guarded


def menu(request: Request) -> list[tuple[str, str]]:
    """(entity, label) for each entity the user may read, as the blueprint lists them."""
    site = request.app.state.site
    actor = request.state.actor
    return [(name, entity.plural) for name, entity in site.blueprint.entities.items()
            if site.access.can(actor, name, "read")]


def home(request: Request) -> Response:
    """What a role without a dashboard sees at / (dashboard_page.home guards and threads it)."""
    site = request.app.state.site
    actor = request.state.actor
    counts = {}
    with site.engine.connect() as connection:
        for name, _ in menu(request):
            table = site.tables[name]
            counts[name] = connection.execute(sa.select(sa.func.count()).select_from(table).where(
                site.access.row_filter(connection, actor, name, "read"))).scalar()
    return render(request, "home.html", {"counts": counts, "menu": menu(request)})


def create_app(settings: Settings, site: Site | None = None) -> Starlette:
    from atrium.runtime.site.overlay import SiteOverlay, default_site_overlay
    from atrium.ui.studio import routes as studio_routes
    from atrium.ui.studio import setup as studio_setup  # /studio/...: the admin studio
    overlay = SiteOverlay(settings.blueprint, settings.overlays,
                          settings.site_overlay or default_site_overlay(settings.database_url))
    site = site or Site.open(settings.blueprint, settings.database_url, overlay.load_overlays())
    from atrium.ui.reports import dashboard_page
    from atrium.ui.reports import report_page  # / is the user's role dashboard; /reports, /dashboards
    routes = [Route("/", dashboard_page.home, name="home"), *sessions.routes]
    routes += report_page.routes + dashboard_page.routes
    from atrium.ui.records.routes import routes as record_routes  # /r/{entity}/...: lists, forms, detail
    routes += record_routes
    from atrium.ui.records.import_page import routes as import_routes; routes += import_routes  # /r/{entity}/import
    from atrium.ui.boards import calendar as calendar_page
    from atrium.ui.boards import kanban_move; routes += kanban_move.routes + calendar_page.routes  # /kanban, /calendar
    from atrium.ui.api import approvals as approval_api
    from atrium.ui.approvals import pages as approval_pages  # approvals: before /api/v1/{entity}, which would take them
    routes += approval_pages.routes + approval_api.routes
    routes += api.routes  # /api/v1/...: the JSON API and its OpenAPI document
    from atrium.ui.approvals.inbox import routes as inbox_routes; routes += inbox_routes  # /notifications
    routes += studio_routes.routes
    vendor = Path(settings.node_modules)
    if (vendor / "htmx.org" / "dist").is_dir():
        routes.append(Mount("/static/vendor/htmx", StaticFiles(directory=vendor / "htmx.org" / "dist"),
                            name="htmx"))
    if (vendor / "echarts" / "dist").is_dir():  # the chart library of report pages and dashboards
        routes.append(Mount("/static/vendor/echarts", StaticFiles(directory=vendor / "echarts" / "dist"),
                            name="echarts"))
    routes.append(Mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static"))
    middleware = [
        Middleware(studio_setup.MetadataReload),  # first: every request sees the newest metadata
        Middleware(SessionMiddleware, secret_key=secret_key(settings), session_cookie="atrium_session",
                   same_site="lax", https_only=settings.https_only, max_age=14 * 24 * 3600),
        Middleware(sessions.IdentityMiddleware),
    ]
    app = Starlette(routes=routes, middleware=middleware, max_body_size=MAX_BODY,
                    lifespan=scheduler_lifespan if settings.scheduler else None)
    app.state.site = site
    app.state.menu = menu
    studio_setup.install(app, overlay, site)
    return app


@contextlib.asynccontextmanager
async def scheduler_lifespan(app: Starlette):
    """Each server process runs the scheduler; leases in the database keep runs single."""
    from atrium.runtime.automation.scheduler import Scheduler
    scheduler = app.state.scheduler = Scheduler(app.state.site)  # the studio hands it new metadata
    scheduler.start()
    try:
        yield
    finally:
        scheduler.stop()


def app_from_environment() -> Starlette:
    overlays = tuple(p for p in os.environ.get("ATRIUM_OVERLAYS", "").split(os.pathsep) if p)
    return create_app(Settings(blueprint=os.environ["ATRIUM_BLUEPRINT"],
                               database_url=os.environ.get("ATRIUM_DATABASE_URL", "sqlite:///atrium.db"),
                               overlays=overlays, site_overlay=os.environ.get("ATRIUM_SITE_OVERLAY") or None,
                               scheduler=os.environ.get("ATRIUM_SCHEDULER", "on") != "off"))
