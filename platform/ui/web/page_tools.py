"""What every record page shares: the signed-in guard, the entity from the path, the reader's
presenter, and the notice page. A record that is not there (404) or an action not allowed (403)
is raised, and answered by the pages' error handler (ui/web/errors.py)."""
from __future__ import annotations

from typing import Any, Awaitable, Callable, Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from starlette.requests import Request
from starlette.responses import Response

from atrium.runtime.access.secured import AccessDenied, SecuredRecords
from atrium.runtime.records.service import RecordNotFound
from atrium.translation import N_
from atrium.ui.web.guards import login_required
from atrium.ui.web.i18n import word
from atrium.ui.web.present import Presenter
from atrium.ui.web.templating import render

Endpoint = Callable[[Request], Awaitable[Response]]


class Kit:
    """The pieces one request about one entity needs."""

    def __init__(self, request: Request):
        self.request = request
        self.site = request.app.state.site
        self.blueprint = self.site.blueprint
        self.actor = request.state.actor
        self.locale = request.state.locale
        self.entity_name = request.path_params["entity"]
        if self.entity_name not in self.blueprint.entities:
            raise RecordNotFound(self.entity_name)
        self.entity = self.blueprint.entities[self.entity_name]
        self.view = self.blueprint.view(self.entity_name)
        self.secured = SecuredRecords(self.site)
        self.presenter = Presenter(self.site, self.actor, self.locale)

    def can(self, action: str, entity: str | None = None) -> bool:
        return self.site.access.can(self.actor, entity or self.entity_name, action)

    def require(self, action: str) -> None:
        if not self.can(action):
            raise AccessDenied(self.entity_name)

    def word(self, msgid: str, **params: Any) -> str:
        return word(msgid, self.locale, **params)

    def record_id(self) -> int:
        return int(self.request.path_params["record_id"])


NOTICES = {"not_found": N_("Not found"), "forbidden": N_("You may not do that"),
           "approval_gone": N_("This approval does not exist or is not yours to see.")}


def notice(request: Request, key: str, status: int) -> Response:
    """A page that only says why (one of NOTICES) with its status."""
    return render(request, "notice.html", {"title": word(NOTICES[key], request.state.locale)}, status_code=status)


def record_page(endpoint: Endpoint) -> Endpoint:
    """Signed-in users only; a record or entity that is not there, or not readable, raises
    RecordNotFound (a 404), an action the role may not take at all AccessDenied (a 403)."""
    return login_required(endpoint)


def active_users(kit: Kit, connection: Connection, limit: int = 200,
                 among: Iterable[int | None] | None = None) -> list[tuple[int, str]]:
    """The active users a user field offers (all, or those `among`), by name, at most `limit`."""
    table = kit.site.tables.system("atrium_users")
    query = sa.select(table.c.id, table.c.display_name, table.c.name).where(table.c.active.is_(True))
    if among is not None:
        query = query.where(table.c.id.in_([i for i in among if i is not None]))
    query = query.order_by(table.c.display_name, table.c.id).limit(limit)
    return [(row.id, row.display_name or row.name) for row in connection.execute(query)]
