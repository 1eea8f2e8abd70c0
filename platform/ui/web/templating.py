"""Jinja2 rendering: autoescape on for every template, whole pages or one block for HTMX."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse

from atrium.metadata.model import Label
from atrium.runtime.automation.notifications import Notifications
from atrium.ui.web.i18n import Words, format_date, format_datetime, format_money, format_number
from atrium.ui.web.request_connection import request_connection
from atrium.ui.web.shown_markup import (
    cell_html,
    cell_id,
    closing_cell,
    field_rows,
    related_cells,
    row_cells,
    shown_html,
)

TEMPLATE_DIR = Path(__file__).parent / "templates"

environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
    autoescape=True,  # every template, whatever its name (STACK-NOTES: select_autoescape misses some)
    extensions=["jinja2.ext.i18n"],
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
# Words are per request: render() puts the reader's gettext/ngettext/pgettext (and `_`) in the
# context; they fill `{name}` fields themselves, as the Python code's words do.
environment.newstyle_gettext = True  # type: ignore[attr-defined]
environment.filters.update(number=format_number, money=format_money, date=format_date,
                           datetime=format_datetime)
environment.globals.update(shown_html=shown_html, cell_html=cell_html, list_cell_id=cell_id, row_cells=row_cells,
                           field_rows=field_rows, related_cells=related_cells, closing_cell=closing_cell)


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true" and request.headers.get("HX-History-Restore-Request") != "true"


def context_for(request: Request, extra: Mapping[str, Any]) -> dict[str, Any]:
    site = request.app.state.site
    locale = getattr(request.state, "locale", site.blueprint.default_locale)
    words = Words(locale)

    def text(label: Label | str | None) -> str:
        if label is None:
            return ""
        if isinstance(label, Label):
            return label.text(locale, site.blueprint.default_locale)
        return str(label)

    return {
        "request": request,
        "site": site,
        "blueprint": site.blueprint,
        "locale": locale,
        "actor": getattr(request.state, "actor", None),
        "user": getattr(request.state, "user", None),
        "csrf_token": getattr(request.state, "csrf_token", ""),
        "t": text,
        "_": words.gettext,
        "gettext": words.gettext,
        "ngettext": words.ngettext,
        "pgettext": words.pgettext,
        "url": lambda name, **params: str(request.url_for(name, **params)),
        "deleted_note": lambda: deleted_note(request),  # the undo after a delete, on the next whole page
        "unread_notifications": lambda: inbox_counts(request)[0],  # counted only where shown
        "pending_approvals": lambda: inbox_counts(request)[1],
        **extra,
    }


def deleted_note(request: Request) -> dict[str, Any] | None:
    """The delete the next whole page offers an undo for, once (records/trash_pages.py sets it)."""
    session = request.scope.get("session")
    return session.pop("deleted_note", None) if session is not None else None


def unread_notifications(request: Request) -> int:
    """The signed-in user's unread notifications, for the header (0 when signed out)."""
    return inbox_counts(request)[0]


def inbox_counts(request: Request) -> tuple[int, int]:
    """(unread notifications, approvals waiting for the user's decision): read together on one
    connection, once a request, for the header's badges and the home page's strip."""
    counted = getattr(request.state, "inbox_counts", None)
    if counted is not None:
        return counted
    actor = getattr(request.state, "actor", None)
    if actor is None or actor.user_id is None:
        return 0, 0
    site = request.app.state.site
    approvals = getattr(site.records, "approvals", None)
    with request_connection(request.scope, site.engine) as connection:
        counted = (Notifications(site.tables).unread_count(connection, actor.user_id),
                   approvals.count_pending_for(actor.user_id, connection) if approvals is not None else 0)
    request.state.inbox_counts = counted
    return counted


def render(request: Request, template: str, context: Mapping[str, Any] | None = None,
           status_code: int = 200, block: str | None = None,
           headers: Mapping[str, str] | None = None) -> HTMLResponse:
    """A whole page, or only `block` of it (an HTMX partial rendered with the same autoescape)."""
    compiled = environment.get_template(template)
    values = context_for(request, context or {})
    if block is not None:
        html = "".join(compiled.blocks[block](compiled.new_context(values)))
    else:
        html = compiled.render(values)
    response = HTMLResponse(html, status_code=status_code, headers=dict(headers or {}))
    response.headers["Vary"] = "HX-Request, Cookie"
    return response
