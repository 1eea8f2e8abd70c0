"""The studio's place in the app: the site overlay and change service on `app.state.studio`, the
middleware that keeps each process at the newest metadata version, and the guard of its pages
(signed in, and a role with `studio: true`; anyone else gets a 404, as for a page that is not there)."""
from __future__ import annotations

import functools
from typing import Any, Awaitable, Callable

from sqlalchemy.engine import Connection
from starlette.requests import Request
from starlette.responses import Response

from atrium.runtime.site import history as metadata_history
from atrium.runtime.site.change import MetadataChanges
from atrium.runtime.site.overlay import SiteOverlay
from atrium.runtime.site.site import Site
from atrium.runtime.site.watch import MetadataWatcher
from atrium.ui.web.guards import login_required
from atrium.ui.web.page_tools import notice

Endpoint = Callable[[Request], Awaitable[Response]]


class Studio:
    """What the studio pages share within one server process."""

    def __init__(self, overlay: SiteOverlay, site: Site):
        self.overlay = overlay
        self.changes = MetadataChanges(overlay, site.engine, site.clock)
        self.watcher = MetadataWatcher(overlay, site.engine, site, self._open)

    def _open(self, blueprint: Any) -> Site:
        current = served(self.watcher.site)
        return Site.open(blueprint, "", engine=current.engine, clock=current.clock)

    def applied(self, app_state: Any, version: int) -> None:
        """This process applied `version`: serve it from the next request on."""
        with self.changes.engine.connect() as connection:
            _, digest = metadata_history.latest(connection)
        use_site(app_state, served(self.watcher.reload(version, digest)))


def served(site: object) -> Site:
    """A site the studio's watcher holds: the one it was given or one `Studio._open` opened (the
    watcher itself types its sites as `object`)."""
    assert isinstance(site, Site)
    return site


def use_site(app_state: Any, site: Site) -> None:
    if app_state.site is site:
        return
    app_state.site = site
    scheduler = getattr(app_state, "scheduler", None)
    if scheduler is not None:
        scheduler.use(site)


def install(app: Any, overlay: SiteOverlay, site: Site) -> None:
    app.state.studio = Studio(overlay, site)


class SiteRefresh:
    """Before each request: the site at the newest metadata version (runtime/site/watch.py). The
    identity middleware calls it in the worker thread where it looks up the user, on the same
    connection, so a request reads the version and its user in one thread hop and one checkout."""

    def needed(self, state: Any) -> bool:
        return getattr(state, "studio", None) is not None

    def __call__(self, state: Any, connection: Connection) -> None:
        studio = getattr(state, "studio", None)
        if studio is None:
            return
        studio.watcher.site = state.site  # a test or the app may have swapped it
        if connection.engine is not studio.watcher.engine:  # a test swapped in a site on another engine
            use_site(state, served(studio.watcher.current()))
            return
        use_site(state, served(studio.watcher.current(connection)))


def studio_of(request: Request) -> Studio:
    return request.app.state.studio


def may_use_studio(request: Request) -> bool:
    actor = request.state.actor
    if actor is None:
        return False
    return request.app.state.site.access.may_use_studio(actor)


def studio_page(endpoint: Endpoint) -> Endpoint:
    """Signed-in users with a studio role only; others get a 404."""
    @functools.wraps(endpoint)
    async def guarded(request: Request) -> Response:
        async def run(request: Request) -> Response:
            if not may_use_studio(request) or getattr(request.app.state, "studio", None) is None:
                return notice(request, "not_found", 404)
            return await endpoint(request)
        return await login_required(run)(request)
    return guarded
