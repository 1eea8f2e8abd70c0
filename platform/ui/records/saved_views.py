"""Saved views: a user's named list queries (filters, search, sort), kept in atrium_saved_views.

The query is read back through the list's own state reader before it is stored, so a saved view
keeps only filters the user may use, never a page cursor.
"""
from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from starlette.datastructures import FormData, QueryParams
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from atrium.runtime.records.service import RecordNotFound
from atrium.ui.records.list_state import read_state
from atrium.ui.web.page_tools import Kit, record_page
from atrium.ui.web.templating import is_htmx, render
from atrium.ui.web.threads import in_thread, with_form

MAX_VIEWS = 50
FORM_ONLY = {"csrf_token", "name", "query", "after", "count"}


def saved_views(kit: Kit, connection: Connection) -> list[dict]:
    table = kit.site.tables.system("atrium_saved_views")
    query = (sa.select(table.c.id, table.c.name, table.c.query)
             .where(table.c.user_id == kit.actor.user_id, table.c.entity == kit.entity_name)
             .order_by(table.c.name).limit(MAX_VIEWS))
    return [dict(row._mapping) for row in connection.execute(query)]


def _panel(kit: Kit, request: Request, status: int = 200, error: str = "") -> Response:
    with kit.site.engine.connect() as connection:
        views = saved_views(kit, connection)
    return render(request, "list.html", {"entity_name": kit.entity_name, "saved_views": views,
                                         "view_error": error, "state": None},
                  block="saved_views", status_code=status)


@record_page
@with_form
def save_view(request: Request, form: FormData) -> Response:
    kit = Kit(request)
    kit.require("read")
    name = str(form.get("name", "")).strip()[:100]
    # With HTMX the list's own fields come along (hx-include); without, the page's query string.
    fields = [(k, str(v)) for k, v in form.multi_items() if k not in FORM_ONLY]
    if not fields:
        fields = parse_qsl(str(form.get("query", "")), keep_blank_values=False)
    table = kit.site.tables.system("atrium_saved_views")
    if not name:
        if is_htmx(request):
            return _panel(kit, request, error=kit.word("Give the view a name"))
        return RedirectResponse(f"/r/{kit.entity_name}?{urlencode(fields)}", status_code=303)
    with kit.site.engine.begin() as connection:
        state = read_state(kit, connection, QueryParams(fields))
        query = state.query_string()
        mine = sa.and_(table.c.user_id == kit.actor.user_id, table.c.entity == kit.entity_name)
        connection.execute(table.delete().where(mine, table.c.name == name))
        count = connection.execute(sa.select(sa.func.count()).select_from(table).where(mine)).scalar()
        if count < MAX_VIEWS:
            connection.execute(table.insert().values(user_id=kit.actor.user_id, entity=kit.entity_name,
                                                     name=name, query=query[:2000],
                                                     created_at=kit.site.now()))
    if is_htmx(request):
        return _panel(kit, request)
    return RedirectResponse(f"/r/{kit.entity_name}?{query}", status_code=303)


@record_page
@in_thread
def delete_view(request: Request) -> Response:
    kit = Kit(request)
    table = kit.site.tables.system("atrium_saved_views")
    with kit.site.engine.begin() as connection:
        deleted = connection.execute(table.delete().where(
            table.c.id == int(request.path_params["view_id"]), table.c.user_id == kit.actor.user_id,
            table.c.entity == kit.entity_name)).rowcount
    if not deleted:
        raise RecordNotFound("saved view")  # someone else's view is not there for this user
    if is_htmx(request):
        return _panel(kit, request)
    return RedirectResponse(f"/r/{kit.entity_name}", status_code=303)
