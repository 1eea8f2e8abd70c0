"""The list page of an entity: the view's columns, filters, quick search, sort, keyset pages and a
capped count; an HTMX request gets only the results block."""
from __future__ import annotations

from sqlalchemy.engine import Connection
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from atrium.runtime.query.conditions import ConditionError
from atrium.runtime.query.lists import COUNT_CAP, ListQuery, Page
from atrium.ui.records.bulk_actions import bulk_context
from atrium.ui.records.in_place import inline_context
from atrium.ui.records.list_state import ANY_PREFIX, ListState, filters_for, read_state
from atrium.ui.records.record_actions import list_context
from atrium.ui.records.saved_views import saved_views
from atrium.ui.web.edge import id_or_none
from atrium.ui.web.i18n import format_number
from atrium.ui.web.page_tools import Kit, active_users, record_page
from atrium.ui.web.present import Column, Lookups, Presenter
from atrium.ui.web.request_connection import request_connection
from atrium.ui.web.templating import is_htmx, render
from atrium.ui.web.threads import in_thread


def default_columns(kit: Kit) -> list[str]:
    if kit.view.columns:
        return list(kit.view.columns)
    names = [f.name for f in kit.entity if f.type not in ("textarea", "location", "multiselect", "file")]
    return names[:6]


def query_of(state: ListState, after: str | None = None) -> ListQuery:
    return ListQuery(state.entity, where=state.where, search=state.search, sort=state.sort,
                     limit=state.limit, after=after)


def fetch(kit: Kit, connection: Connection, state: ListState) -> Page:
    try:
        return kit.secured.list(kit.actor, query_of(state, state.after), connection)
    except ConditionError:
        if state.after is None:
            raise
        state.after = None  # a cursor that no longer fits the sort: start again from the top
        state.problems.append(kit.word("That page no longer exists; showing the first page"))
        return kit.secured.list(kit.actor, query_of(state), connection)


def cells(presenter: Presenter, entity: str, records: list[dict], columns: list[Column],
          lookups: Lookups) -> list[tuple[dict, list]]:
    return [(record, [presenter.show(c.field, presenter.value_at(entity, record, c.path, lookups), lookups)
                      for c in columns]) for record in records]


def filter_titles(kit: Kit, connection: Connection) -> dict[str, dict[int, str]]:
    """Titles of the records chosen in reference filters (only readable ones)."""
    titles: dict[str, dict[int, str]] = {}
    for path in kit.view.filters:
        field = kit.presenter.path_field(kit.entity_name, path)
        values = kit.request.query_params.getlist(path) + kit.request.query_params.getlist(ANY_PREFIX + path)
        if field is None or field.type != "reference" or not values:
            continue
        assert field.to is not None  # a loaded blueprint's references name an entity
        ids = {number for v in values if (number := id_or_none(v)) is not None}
        titles.setdefault(field.to, {}).update(kit.presenter.readable_titles(connection, field.to, ids))
    return titles


@record_page
@in_thread
def list_page(request: Request) -> Response:
    kit = Kit(request)
    kit.require("read")
    with request_connection(request.scope, kit.site.engine) as connection:  # the badges' too (render)
        return _list_page(kit, request, connection)


def _list_page(kit: Kit, request: Request, connection: Connection) -> Response:
    state = read_state(kit, connection)
    page = fetch(kit, connection, state)
    exact = None
    if state.exact_count and page.count_capped:
        exact = kit.site.queries.exact_count(connection, kit.actor, query_of(state), kit.site.now())
    columns = kit.presenter.columns(kit.entity_name, default_columns(kit))
    lookups = kit.presenter.load(connection, kit.entity_name, page.records, [c.path for c in columns])
    rows = cells(kit.presenter, kit.entity_name, page.records, columns, lookups)
    users = active_users(kit, connection) if any(
        (filtered := kit.presenter.path_field(kit.entity_name, p)) is not None and filtered.type == "user"
        for p in kit.view.filters) else []
    titles = filter_titles(kit, connection)
    filters = filters_for(kit.presenter, kit.entity_name, request.query_params, titles, users)
    either = filters_for(kit.presenter, kit.entity_name, request.query_params, titles, users, ANY_PREFIX)
    views = saved_views(kit, connection)
    pool = list_context(kit, connection, page.records)  # the pool link; claims on the pool list
    bulk = bulk_context(kit, connection)  # the bar acting on ticked rows
    inline = inline_context(kit, connection, page.records, columns)  # the cells the reader may edit
    context = {
        "entity": kit.entity, "entity_name": kit.entity_name, "active_entity": kit.entity_name,
        "state": state, "page": page, "columns": columns, "rows": rows, "filters": filters,
        "either_filters": either,
        "count_text": count_text(page, exact), "capped": page.count_capped and exact is None,
        "can_create": kit.can("create"), "saved_views": views, **pool, **bulk, **inline,
    }
    if is_htmx(request) and request.headers.get("HX-Target", "results") == "results":
        # the address bar shows the state without the empty fields a form sends
        query = state.query_string(after=state.after or "")
        location = f"/r/{kit.entity_name}" + (f"?{query}" if query else "")
        return render(request, "list.html", context, block="results", headers={"HX-Push-Url": location})
    return render(request, "list.html", context)


def count_text(page: Page, exact: int | None) -> str:
    if exact is not None:
        return format_number(exact)
    if page.count_capped:
        return format_number(COUNT_CAP) + "+"
    return format_number(page.count)


@record_page
@in_thread
def exact_count(request: Request) -> Response:
    """The exact number of matches, computed on demand (the list stops counting at 1,000)."""
    kit = Kit(request)
    kit.require("read")
    with request_connection(request.scope, kit.site.engine) as connection:
        state = read_state(kit, connection)
        count = kit.site.queries.exact_count(connection, kit.actor, query_of(state), kit.site.now())
    response = HTMLResponse(f'<span class="count" id="count">{format_number(count)}</span>')
    response.headers["Vary"] = "HX-Request, Cookie"
    return response
