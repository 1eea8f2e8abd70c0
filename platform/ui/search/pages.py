"""GET /search?q=: every entity the user may read, searched in its searchable fields (runtime/search),
results grouped by entity with titles and a snippet. The header's box asks the same URL over HTMX
and gets only the results block, a short list under the box that arrows and Enter walk
(static/search.js); without JavaScript the box submits to this page."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from atrium.metadata.model import Entity, Label
from atrium.runtime.schema.database import connect
from atrium.runtime.search.service import MAX_TEXT, SHORT_SCAN, Hit, only_short_words
from atrium.ui.web.guards import login_required
from atrium.ui.web.templating import is_htmx, render
from atrium.ui.web.threads import in_thread

PAGE_LIMIT = 50
BOX_LIMIT = 8  # results under the header's box


@dataclass(frozen=True)
class Group:
    entity: Entity
    hits: list[Hit]

    def field_label(self, hit: Hit) -> Label | None:
        field = self.entity.fields.get(hit.field or "")
        return field.label if field is not None else None


def grouped(site: Any, hits: list[Hit]) -> list[Group]:
    groups: dict[str, list[Hit]] = {}
    for hit in hits:
        groups.setdefault(hit.entity, []).append(hit)
    return [Group(site.blueprint.entities[name], found) for name, found in groups.items()]


@login_required
@in_thread
def search_page(request: Request) -> Response:
    site, actor = request.app.state.site, request.state.actor
    text = request.query_params.get("q", "").strip()[:MAX_TEXT]
    box = is_htmx(request)
    hits: list[Hit] = []
    if text:
        with connect(site.engine) as connection:
            hits = site.search.search(connection, actor, text, BOX_LIMIT if box else PAGE_LIMIT)
    context = {"search_text": text, "groups": grouped(site, hits), "count": len(hits), "limit": PAGE_LIMIT,
               "short_scan": SHORT_SCAN if only_short_words(text) else None, "active_entity": "_search"}
    return render(request, "search.html", context, block="results" if box else None)


routes = [Route("/search", search_page, methods=["GET"], name="search")]
