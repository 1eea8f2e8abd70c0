"""Bulk actions on the list page: the ticked rows, or every record the current filter matches
("all N matching", re-evaluated under the actor's access when the action runs), changed in one
form posted to `/r/{entity}/bulk`, all or nothing (runtime/access/bulk_changes.py):

- assign to another owner (the users the actor may give records to: `Access.owner_reach`);
- change a field the role may write to one value (`/r/{entity}/bulk/field` draws its input);
- release to / claim from the public pool (entities with `pool:`); delete;
- export: the list's CSV or .xlsx export (ui/records/export.py) of the selection (the ticked rows, or
  every record the filter matches).

The bar offers only what the role may do (ui/api/openapi_actions.bulk_actions, the API's list);
the runtime refuses the rest. The action runs in a thread of its own (bulk_jobs.py): a small one
answers at once, a large one answers with a progress bar polling `/r/{entity}/bulk/{job}`. An HTMX
post gets the outcome and, when something changed, `HX-Trigger: bulk-done`, which refreshes the
list; without JavaScript the outcome is a page linking back to the list.
"""
from __future__ import annotations

from typing import Any, Mapping
from urllib.parse import urlencode

from sqlalchemy.engine import Connection
from starlette.datastructures import FormData, QueryParams
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from atrium.errors import AtriumError
from atrium.metadata.model import Field
from atrium.runtime.access.bulk_changes import BulkChanges, BulkRefused, Selection
from atrium.runtime.records.errors import ValidationFailed
from atrium.runtime.site.site import Site
from atrium.ui.api.openapi_actions import bulk_actions
from atrium.ui.records.bulk_jobs import jobs_for
from atrium.ui.records.list_state import read_state
from atrium.ui.web.edge import whole_number
from atrium.ui.web.page_tools import Kit, active_users, record_page
from atrium.ui.web.templating import is_htmx, render
from atrium.ui.web.threads import in_thread, with_form

MAX_OWNERS = 200  # users offered in the select
SETTABLE = frozenset({"text", "email", "phone", "url", "integer", "number", "money", "percent", "boolean", "date",
                      "select", "stage", "user"})
DONE = {"assign": "{count} record(s) assigned", "set": "{count} record(s) changed",
        "release": "{count} record(s) released to the public pool", "claim": "{count} record(s) claimed",
        "delete": "{count} record(s) deleted"}


def owners_offered(kit: Kit, connection: Connection) -> list[tuple[int, str]]:
    """The active users the actor may give the entity's records to, by name."""
    reach = kit.site.access.owner_reach(connection, kit.actor, kit.entity_name)
    return active_users(kit, connection, MAX_OWNERS, among=reach)


def settable_fields(kit: Kit) -> list[Field]:
    """The fields "Change a field" offers: stored, of a type one value fits, writable by the role."""
    if not kit.can("update"):
        return []
    return [f for f in kit.entity if f.type in SETTABLE and not f.computed and f.name != kit.entity.owner
            and kit.presenter.mode(kit.entity_name, f.name) == "write"]


def bulk_context(kit: Kit, connection: Connection) -> dict[str, Any]:
    """`bulk`: what the bar offers this actor (None: nothing but the list's own export)."""
    if kit.actor is None:
        return {"bulk": None}
    actions = set(bulk_actions(kit.site.access, kit.actor, kit.entity))
    owners = owners_offered(kit, connection) if "assign" in actions else []
    fields = [(f.name, kit.presenter.text(f.label)) for f in settable_fields(kit)]
    return {"bulk": {"owners": owners, "fields": fields, "release": "release" in actions,
                     "claim": "claim" in actions, "delete": "delete" in actions}}


def _selection(kit: Kit, form: FormData) -> Selection | None:
    """The ticked ids, or — "all matching" ticked — the filter it carries (the list's query string)."""
    matching = form.get("all")
    if isinstance(matching, str) and form.get("scope") == "all":
        with kit.site.engine.connect() as connection:
            state = read_state(kit, connection, QueryParams(matching))
        if state.problems:
            raise ValidationFailed({"where": state.problems})
        return Selection(where=state.where, search=state.search)
    ids = [number for v in form.getlist("ids") if (number := whole_number(v, "ids", kit.locale)) is not None]
    return Selection(ids=ids) if ids else None


EXPORTS = {"export": "csv", "export_xlsx": "xlsx"}  # the bar's export buttons → the list export's format


def _export_url(kit: Kit, form: FormData, selection: Selection, extension: str = "csv") -> str:
    """The list's CSV or .xlsx export of the selection (the exporter of lists; it keeps access and columns)."""
    matching = form.get("all")
    if selection.ids is None and isinstance(matching, str):
        query = urlencode(QueryParams(matching).multi_items())  # as the list wrote it (a header is latin-1)
    else:
        query = urlencode([("id", str(i)) for i in selection.ids or ()])
    return f"/r/{kit.entity_name}/export.{extension}?{query}"


def _values(kit: Kit, form: FormData, action: str) -> dict[str, Any] | None:
    if action == "assign":
        owner = form.get("assign_to")
        owner_id = whole_number(owner, "assign_to", kit.locale) if isinstance(owner, str) else None
        if not kit.entity.owner or owner_id is None:
            return None
        return {kit.entity.owner: owner_id}
    name = form.get("field")
    if not isinstance(name, str) or name not in {f.name for f in settable_fields(kit)}:
        return None
    value = form.get("value")
    return {name: value if isinstance(value, str) else None}


@record_page
@with_form
def bulk(request: Request, form: FormData) -> Response:
    kit = Kit(request)
    action = str(form.get("action") or "")
    try:
        selection = _selection(kit, form)
        if selection is None:
            return _outcome(kit, kit.word("Tick the records first"), error=True)
        if action in EXPORTS:
            url = _export_url(kit, form, selection, EXPORTS[action])
            if is_htmx(request):
                return Response(status_code=204, headers={"HX-Redirect": url})
            return RedirectResponse(url, status_code=303)
        values = _values(kit, form, action) if action in ("assign", "set") else None
        if action == "assign" and values is None:
            return _outcome(kit, kit.word("Choose whom to assign them to"), error=True)
        if action == "set" and values is None:
            return _outcome(kit, kit.word("Choose the field to change"), error=True)
        if action not in DONE:
            return _outcome(kit, kit.word("You may not do that"), error=True, status=400)
        if not is_htmx(request):  # no page to poll from: the answer waits for the work
            changes = BulkChanges(kit.site)
            count = (changes.set(kit.actor, kit.entity_name, selection, values) if values is not None
                     else changes.act(kit.actor, kit.entity_name, selection, action))
            return _outcome(kit, kit.word(DONE[action], count=count))
    except AtriumError as error:
        return _failure(kit, error)
    job, state = _start(kit, selection, action, values)
    return _answer(kit, job, state)


def _start(kit: Kit, selection: Selection, action: str, values: Mapping[str, Any] | None) -> tuple[str, dict]:
    site = Site.open(kit.site.blueprint, "", engine=kit.site.engine, clock=kit.site.clock)  # its own, off this thread
    actor, entity = kit.actor, kit.entity_name

    def work(progress) -> int:
        changes = BulkChanges(site)
        if values is not None:
            return changes.set(actor, entity, selection, values, progress)
        return changes.act(actor, entity, selection, action, progress)
    return jobs_for(kit.request.app).start(actor.user_id, entity, action, work)


@record_page
@in_thread
def progress(request: Request) -> Response:
    """The job's progress bar (polled), then its outcome."""
    kit = Kit(request)
    job = request.path_params["job"]
    state = jobs_for(request.app).read(job, kit.actor.user_id, kit.entity_name)
    if state is None:
        return _outcome(kit, kit.word("Not found"), error=True, status=404)
    return _answer(kit, job, state)


def _answer(kit: Kit, job: str, state: Mapping[str, Any]) -> Response:
    if state["state"] == "running":
        total = state.get("total") or 0
        percent = int(100 * state.get("done", 0) / total) if total else 0
        context = {"entity": kit.entity, "entity_name": kit.entity_name, "job": job, "done": state.get("done", 0),
                   "total": total, "percent": percent}
        return render(kit.request, "bulk_done.html", context, block="progress",
                      headers={"Vary": "HX-Request, Cookie", "Cache-Control": "no-store"})
    if state["state"] == "done":
        return _outcome(kit, kit.word(DONE[state["action"]], count=state["count"]))
    if state["state"] == "refused":
        text = kit.word("You may not do that") if state.get("private") else state["text"]
        refused = {int(k): v for k, v in state.get("refused", {}).items()}
        return _outcome(kit, text, error=True, reasons=_reasons(kit, refused), status=state.get("status", 422))
    return _outcome(kit, kit.word("The action stopped on an internal error; nothing was changed."), error=True,
                    status=500)


def _failure(kit: Kit, error: AtriumError) -> Response:
    if isinstance(error, BulkRefused):
        return _outcome(kit, str(error), error=True, reasons=_reasons(kit, error.refused), status=error.status)
    if isinstance(error, ValidationFailed):
        return _outcome(kit, "; ".join(" ".join(texts) for texts in error.errors.values()), error=True,
                        status=error.status)
    text = kit.word("You may not do that") if error.private else str(error)
    return _outcome(kit, text, error=True, status=error.status)


def _reasons(kit: Kit, refused: Mapping[int, Any]) -> list[tuple[str, str]]:
    """(the record's title or #id, why) for each refused record the actor may read."""
    with kit.site.engine.connect() as connection:
        titles = kit.presenter.readable_titles(connection, kit.entity_name, set(refused))
    return [(titles.get(record_id) or f"#{record_id}",
             reason if isinstance(reason, str) else "; ".join(" ".join(texts) for texts in reason.values()))
            for record_id, reason in refused.items()]


def _outcome(kit: Kit, text: str, error: bool = False, reasons: list[tuple[str, str]] | None = None,
             status: int = 200) -> Response:
    context = {"text": text, "error": error, "reasons": reasons or [], "entity": kit.entity,
               "entity_name": kit.entity_name}
    if is_htmx(kit.request):  # htmx swaps only successful answers
        headers = {"Vary": "HX-Request, Cookie"}
        if not error:
            headers["HX-Trigger"] = "bulk-done"
        return render(kit.request, "bulk_done.html", context, block="outcome", headers=headers)
    return render(kit.request, "bulk_done.html", context, status_code=status if error else 200)


@record_page
@in_thread
def field_input(request: Request) -> Response:
    """The value input of "Change a field" for the chosen field (empty when none is chosen)."""
    kit = Kit(request)
    fields = {f.name: f for f in settable_fields(kit)}
    field = fields.get(request.query_params.get("field", ""))
    options: list[tuple[str, str]] = []
    if field is not None and field.type == "select":
        options = [(str(o.value), kit.presenter.text(o.label)) for o in field.options]
    elif field is not None and field.type == "stage":
        pipeline = kit.blueprint.pipelines.get(field.pipeline or "")
        options = [(s.name, kit.presenter.text(s.label)) for s in (pipeline.stages if pipeline else ())]
    elif field is not None and field.type == "boolean":
        options = [("true", kit.word("Yes")), ("false", kit.word("No"))]
    elif field is not None and field.type == "user":
        with kit.site.engine.connect() as connection:
            options = [(str(i), name) for i, name in active_users(kit, connection)]
    context = {"field": field, "options": options, "entity": kit.entity, "entity_name": kit.entity_name}
    return render(request, "bulk_done.html", context, block="value", headers={"Vary": "HX-Request, Cookie"})
