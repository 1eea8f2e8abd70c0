"""The web application: `create_app(settings)` wires the site, sessions, CSRF and the routes."""
from __future__ import annotations

import contextlib
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from atrium.errors import AtriumError
from atrium.runtime.access.sessions import SessionPolicy
from atrium.runtime.automation.scheduler import Scheduler
from atrium.runtime.site.overlay import SiteOverlay, default_site_overlay
from atrium.runtime.site.site import Site
from atrium.ui.api import routing as api_routing
from atrium.ui.api.errors import api_error
from atrium.ui.approvals import inbox, pages as approval_pages
from atrium.ui.boards import calendar as calendar_page, kanban_move, quick_edit
from atrium.ui.periodic import pages as periodic_pages
from atrium.ui.records import attachments, import_page, routes as record_pages
from atrium.ui.records.import_jobs import JobStore
from atrium.ui.reports import dashboard_page, report_page
from atrium.ui.search import pages as search_pages
from atrium.ui.studio import routes as studio_routes, setup as studio_setup
from atrium.ui.web import account, sessions, sign_in, sso
from atrium.ui.web.body_limit import BodyLimit
from atrium.ui.web.edge import EdgeGuard
from atrium.ui.web.errors import page_error
from atrium.ui.web.navigation import menus
from atrium.ui.web.request_connection import RequestConnections

PACKAGE_ROOT = Path(__file__).resolve().parents[3]
MAX_BODY = import_page.MAX_UPLOAD + 1024 * 1024  # the file and its multipart envelope; BodyLimit is stricter


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
    # a session ends after this long without a request, and this long after sign-in whatever happens
    # (env ATRIUM_SESSION_IDLE_MINUTES, ATRIUM_SESSION_MAX_HOURS; default 12 hours and 14 days)
    session_idle_minutes: float | None = None
    session_max_hours: float | None = None


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


def atrium_error(request: Request, error: Exception) -> Response:
    """One handler per surface for every AtriumError an endpoint raises: JSON for the API, the
    notice page for the pages."""
    if not isinstance(error, AtriumError):  # registered for AtriumError only
        raise error
    if request.url.path.startswith("/api/"):
        return api_error(request, error)
    return page_error(request, error)


def create_app(settings: Settings, site: Site | None = None) -> Starlette:
    overlay = SiteOverlay(settings.blueprint, settings.overlays,
                          settings.site_overlay or default_site_overlay(settings.database_url))
    site = site or Site.open(settings.blueprint, settings.database_url, overlay.load_overlays())
    # / is the user's role dashboard; /reports, /dashboards
    routes: list[BaseRoute] = [Route("/", dashboard_page.home, name="home"), *sessions.routes, *sign_in.routes]
    routes += sso.routes  # /login/{provider}: single sign-on
    routes += account.routes  # /account: the user's own sessions and password
    routes += report_page.routes + dashboard_page.routes
    routes += record_pages.routes  # /r/{entity}/...: lists, forms, detail
    routes += import_page.routes  # /r/{entity}/import
    routes += attachments.routes  # /r/{entity}/{id}/files (upload), /files/{id} (download, delete)
    routes += kanban_move.routes + quick_edit.routes + calendar_page.routes  # /kanban, /calendar
    routes += approval_pages.routes
    routes += search_pages.routes  # /search (the API's /api/v1/search is in api_routing)
    routes += api_routing.routes  # /api/...: the JSON API and its OpenAPI document
    routes += inbox.routes  # /notifications
    routes += periodic_pages.routes  # /my-reports: daily, weekly and monthly reports people submit
    routes += studio_routes.routes  # /studio/...: the admin studio
    vendor = Path(settings.node_modules)
    if (vendor / "htmx.org" / "dist").is_dir():
        routes.append(Mount("/static/vendor/htmx", StaticFiles(directory=vendor / "htmx.org" / "dist"),
                            name="htmx"))
    if (vendor / "echarts" / "dist").is_dir():  # the chart library of report pages and dashboards
        routes.append(Mount("/static/vendor/echarts", StaticFiles(directory=vendor / "echarts" / "dist"),
                            name="echarts"))
    if (vendor / "sortablejs").is_dir():  # drag and drop of the studio's layout editor
        routes.append(Mount("/static/vendor/sortablejs", StaticFiles(directory=vendor / "sortablejs"),
                            name="sortablejs"))
    routes.append(Mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static"))
    policy = SessionPolicy.from_settings(settings.session_idle_minutes, settings.session_max_hours)
    middleware = [
        Middleware(RequestConnections),  # connections shared within each phase of a request
        Middleware(SessionMiddleware, secret_key=secret_key(settings), session_cookie="atrium_session",
                   same_site="lax", https_only=settings.https_only, max_age=int(policy.absolute.total_seconds())),
        # bodies bounded before the CSRF check reads them: small, except a signed-in upload
        Middleware(BodyLimit, upload_limit=MAX_BODY, uploads=import_page.UPLOAD_PATHS,
                   attachments=attachments.UPLOAD_PATHS, attachment_limit=attachments.MAX_BODY),
        # the newest metadata (studio's watcher), then the user, in one thread on one connection
        Middleware(sessions.IdentityMiddleware, form_checked=attachments.FORM_CHECKED,
                   refresh_site=studio_setup.SiteRefresh()),
        Middleware(EdgeGuard),  # a malformed path or query string is a 400, in the reader's language
    ]
    app = Starlette(routes=routes, middleware=middleware, max_body_size=max(MAX_BODY, attachments.MAX_BODY),
                    exception_handlers={AtriumError: atrium_error},
                    lifespan=scheduler_lifespan if settings.scheduler else None)
    app.state.site = site
    app.state.session_policy = policy
    app.state.navigation = menus
    JobStore(import_page.DEFAULT_ROOT).recover_all()  # imports a crash left running: interrupted, may run again
    studio_setup.install(app, overlay, site)
    return app


@contextlib.asynccontextmanager
async def scheduler_lifespan(app: Starlette):
    """Each server process runs the scheduler; leases in the database keep runs single."""
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
                               scheduler=os.environ.get("ATRIUM_SCHEDULER", "on") != "off",
                               session_idle_minutes=_number(os.environ.get("ATRIUM_SESSION_IDLE_MINUTES")),
                               session_max_hours=_number(os.environ.get("ATRIUM_SESSION_MAX_HOURS"))))


def _number(text: str | None) -> float | None:
    """A positive number from the environment, or None (the default) when unset; anything else
    stops the server with the variable's value in the message."""
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise SystemExit(f"not a number of minutes or hours: {text!r}") from None
    if not value > 0:
        raise SystemExit(f"a session timeout must be more than 0: {text!r}")
    return value
