"""The entity menu of every page's header, and the home page of a role without a dashboard: a
count of the records it may read in each entity."""
from __future__ import annotations

import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import Response

from atrium.ui.web.templating import render


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
