"""GET /api/v1/search?q=&limit=: the global search as JSON, `{"results": [{"entity", "id", "title",
"snippet"}]}`, under the caller's access (runtime/search), and its OpenAPI description."""
from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from atrium.runtime.schema.database import connect
from atrium.runtime.search.service import MAX_LIMIT, MAX_TEXT
from atrium.ui.api.calls import UNAUTHORIZED, api_caller, bad_request
from atrium.ui.api.openapi_common import READ_ERRORS
from atrium.ui.web.edge import whole_number
from atrium.ui.web.threads import in_thread

DEFAULT_LIMIT = 20


def _limit(locale: str, raw: str | None) -> int:
    number = whole_number(raw, "limit", locale, low=1, high=MAX_LIMIT)
    return DEFAULT_LIMIT if number is None else number


@in_thread
def search(request: Request) -> Response:
    actor = api_caller(request)
    if actor is None:
        return JSONResponse(UNAUTHORIZED, status_code=401)
    site = request.app.state.site
    text = request.query_params.get("q", "").strip()
    if not text:
        raise bad_request(actor.locale, "Say what to search for: q", "q")
    if len(request.query_params.get("q", "")) > MAX_TEXT:  # as the document's maxLength says
        raise bad_request(actor.locale, "q may be at most {max} characters", "q", max=MAX_TEXT)
    limit = _limit(actor.locale, request.query_params.get("limit"))
    with connect(site.engine) as connection:
        hits = site.search.search(connection, actor, text, limit)
    return JSONResponse({"results": [{"entity": h.entity, "id": h.id, "title": h.title, "snippet": h.snippet}
                                     for h in hits]})


def search_path() -> dict[str, Any]:
    """The OpenAPI path item of /api/v1/search."""
    hit = {"type": "object", "required": ["entity", "id", "title", "snippet"], "properties": {
        "entity": {"type": "string", "description": "The entity's name (its records are at /api/v1/{entity}/{id})"},
        "id": {"type": "integer"},
        "title": {"type": "string", "description": "How the record shows in links (its `title`)"},
        "snippet": {"type": "string", "description": "The matching field's value around the match"}}}
    return {"get": {
        "tags": ["search"], "operationId": "search",
        "summary": "Search every entity the caller may read",
        "description": "Looks for `q` in the fields each entity declares searchable (`search:`), among the "
                       "records the caller may read, never in a field the caller's role hides. Every word must "
                       "be found; a phone matches on its digits whatever the spacing (`13912345678` finds "
                       "`139 1234 5678`). Newest first, shared between entities, grouped by entity.",
        "parameters": [
            {"name": "q", "in": "query", "required": True, "schema": {"type": "string", "maxLength": MAX_TEXT},
             "description": "The text to look for (a name, a code, a phone, an email; Chinese substrings work)"},
            {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT,
                                                         "default": DEFAULT_LIMIT}}],
        "responses": {
            "200": {"description": "The matches", "content": {"application/json": {"schema": {
                "type": "object", "required": ["results"],
                "properties": {"results": {"type": "array", "items": hit}}}}}},
            **READ_ERRORS}}}

