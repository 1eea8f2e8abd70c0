"""The recycle bin in the pages: a delete's confirmation, the undo after it, and /trash.

    GET  /r/{entity}/{id}/delete   the confirmation the server renders (the page's Delete button
                                   without JavaScript; with htmx the button asks in the browser)
    GET  /trash                    the user's deletions (an administrator's: everyone's)
    POST /trash/{id}/restore       back with its links, to the record's page; refused: why, on /trash
    POST /trash/{id}/purge         gone for good

After a delete the next page shows "Deleted … Undo" once (a note in the session, `deleted_note`),
its Undo a POST to the restore (CSRF like every form).
"""
from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from atrium.runtime.records.errors import RecordNotFound
from atrium.runtime.schema.database import connect
from atrium.runtime.trash.bin import RestoreForbidden
from atrium.runtime.trash.restore import RestoreRefused
from atrium.ui.web.guards import login_required
from atrium.ui.web.page_tools import Kit, notice, record_page
from atrium.ui.web.templating import is_htmx, render
from atrium.ui.web.threads import in_thread

NOTE = "deleted_note"  # the session key templating.deleted_note reads


def remember_deleted(kit: Kit, entry: int | None, title: str) -> None:
    """The undo the next page offers for this delete."""
    if entry is not None:
        kit.request.session[NOTE] = {"entry": entry, "title": title,
                                     "entity": kit.entity.label.text(kit.locale, kit.blueprint.default_locale)}


@record_page
@in_thread
def confirm_delete(request: Request) -> Response:
    kit = Kit(request)
    kit.require("delete")
    record = kit.secured.get(kit.actor, kit.entity_name, kit.record_id(), action="delete")
    title = record_title(kit, record)
    return render(request, "trash_confirm.html", {"entity_name": kit.entity_name, "entity": kit.entity,
                                                  "record": record, "title": title})


def record_title(kit: Kit, record: dict[str, Any]) -> str:
    with connect(kit.site.engine) as connection:
        return kit.site.queries.titles_of(connection, kit.entity_name, [record], kit.actor)[record["id"]]


def _page(request: Request, messages: list[str] | None = None, status: int = 200) -> Response:
    site, actor = request.app.state.site, request.state.actor
    entries = site.trash.entries(actor)
    for entry in entries:
        model = site.blueprint.entities.get(entry["entity"])
        entry["label"] = model.label if model is not None else entry["entity"]
    return render(request, "trash.html", {"entries": entries, "messages": messages or [],
                                          "everyone": site.access.sees_everything(actor),
                                          "active_entity": "_trash"}, status_code=status)


@in_thread
def trash_page(request: Request) -> Response:
    return _page(request)


@in_thread
def restore(request: Request) -> Response:
    site, actor = request.app.state.site, request.state.actor
    try:
        back = site.trash.restore(actor, int(request.path_params["entry_id"]))
    except RecordNotFound:
        return notice(request, "not_found", 404)
    except (RestoreRefused, RestoreForbidden) as refused:
        return _page(request, [str(refused)], refused.status)
    location = f"/r/{back['entity']}/{back['record_id']}"
    if is_htmx(request):
        return Response(status_code=200, headers={"HX-Redirect": location})
    return RedirectResponse(location, status_code=303)


@in_thread
def purge(request: Request) -> Response:
    site, actor = request.app.state.site, request.state.actor
    try:
        site.trash.purge(actor, int(request.path_params["entry_id"]))
    except RecordNotFound:
        return notice(request, "not_found", 404)
    return RedirectResponse("/trash", status_code=303)


routes = [
    Route("/r/{entity}/{record_id:int}/delete", confirm_delete, methods=["GET"], name="record_delete_confirm"),
    Route("/trash", login_required(trash_page), methods=["GET"], name="trash"),
    Route("/trash/{entry_id:int}/restore", login_required(restore), methods=["POST"], name="trash_restore"),
    Route("/trash/{entry_id:int}/purge", login_required(purge), methods=["POST"], name="trash_purge"),
]
