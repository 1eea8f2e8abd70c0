"""The typeahead behind reference pickers: records of an entity the user may read, by title.

`GET /r/{entity}/pick?q=acme` answers a small HTML list; records.js puts a chosen record's id
into the picker's hidden input. The text box is named `<field>__q`, so the endpoint also takes
the text from any `*__q` parameter (what htmx sends from the box itself).
"""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from atrium.runtime.query.lists import ListQuery
from atrium.ui.web.page_tools import Kit, record_page
from atrium.ui.web.templating import render
from atrium.ui.web.threads import in_thread

PICK_LIMIT = 10


def typed_text(request: Request) -> str:
    params = request.query_params
    text = params.get("q")
    if text is None:
        text = next((v for k, v in params.multi_items() if k.endswith("__q")), "")
    return text.strip()[:200]


@record_page
@in_thread
def pick(request: Request) -> Response:
    kit = Kit(request)
    kit.require("read")
    text = typed_text(request)
    with kit.site.engine.connect() as connection:
        page = kit.secured.list(kit.actor, ListQuery(kit.entity_name, search=text, limit=PICK_LIMIT), connection)
        ids = [record["id"] for record in page.records]
        titles = kit.site.queries.titles(connection, kit.entity_name, ids, kit.actor)
    choices = [(i, titles.get(i, f"#{i}")) for i in ids]
    return render(request, "pick.html", {"choices": choices, "entity_name": kit.entity_name,
                                         "more": page.next_cursor is not None, "text": text})
