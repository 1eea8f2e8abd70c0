"""A kanban card's quick edit: the fields the board declares (`kanban: {quick_edit: [...]}`)
changed on the card itself.

    GET  /r/{entity}/{id}/quick-edit?<the board's filters>          the card with its inputs
    GET  /r/{entity}/{id}/quick-edit?show=1&<the board's filters>   the card again (Cancel, Esc)
    POST /r/{entity}/{id}/quick-edit?<the board's filters>          the fields and `version`: save

Only the declared fields this reader may write, on a card the reader may update (in_place.py),
saved through SecuredRecords with the version the card showed. A save answers with the card's
column out of band (its total moves with an amount) and a notice; a refused one with the card's
inputs and messages, nothing written; a stale one with the column showing the current values and
who changed the record. Without JavaScript the card's edit link opens the record's form.
"""
from __future__ import annotations

from typing import Any, Mapping

from starlette.datastructures import FormData, QueryParams
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from atrium.runtime.records.service import RecordNotFound
from atrium.ui.boards.kanban import Board, Card, quick_url
from atrium.ui.records.cell_edit import others
from atrium.ui.records.in_place import Editor, InPlace, version_of
from atrium.ui.records.list_state import ListState, read_state
from atrium.ui.web.page_tools import Kit, active_users, record_page
from atrium.ui.web.templating import is_htmx, render
from atrium.ui.web.threads import in_thread, with_form


class QuickEdit:
    def __init__(self, kit: Kit):
        self.kit = kit
        self.board = Board(kit)
        if not self.board.quick_fields:
            raise RecordNotFound(kit.entity_name)  # the board offers no quick edit (to this reader)
        self.record = kit.secured.get(kit.actor, kit.entity_name, kit.record_id(), action="update")
        self.in_place = InPlace(kit, self.record)
        self.names = list(self.board.quick_fields)
        params = [(k, v) for k, v in kit.request.query_params.multi_items() if k != "show"]
        with kit.site.engine.connect() as connection:
            self.state: ListState = read_state(kit, connection, QueryParams(params))
        self.url = quick_url(kit, kit.record_id(), self.state.query_string())

    def card(self, record: Mapping[str, Any]) -> Card:
        with self.kit.site.engine.connect() as connection:
            movable = self.kit.site.access.permits_each(connection, self.kit.actor, self.kit.entity_name, "update")
            if self.kit.presenter.mode(self.kit.entity_name, self.board.group.name) != "write":
                movable = _never
            return self.board.cards(connection, [dict(record)], self.state, movable)[0]

    def editing(self, raw: Mapping[str, Any] | None = None, titles: Mapping[str, str] | None = None,
                errors: Mapping[str, list[str]] | None = None, version: int | None = None,
                status: int = 200) -> Response:
        """The card with its inputs (and the messages of a refused save)."""
        kit = self.kit
        with kit.site.engine.connect() as connection:
            users = active_users(kit, connection) if any(
                kit.entity.fields[n].type == "user" for n in self.names) else []
            editors: list[Editor] = self.in_place.editors(connection, self.record, self.names, users, raw,
                                                          titles, errors)
        shown = set(self.names)
        messages = others(kit, {k: v for k, v in (errors or {}).items() if k not in shown}, "")
        context = {"entity_name": kit.entity_name, "c": self.card(self.record), "editors": editors,
                   "version": version or self.record["version"], "messages": messages, "url": self.url,
                   "cancel_url": self.url + ("&" if "?" in self.url else "?") + "show=1"}
        return render(kit.request, "kanban_quick.html", context, status_code=200 if is_htmx(kit.request) else status)

    def lane(self, record: Mapping[str, Any], notice: str = "", messages: list | None = None,
             status: int = 200) -> Response:
        """The notice or message, and the card's column out of band (its count and total too)."""
        kit, board = self.kit, self.board
        value = record.get(board.group.name)
        known = {str(v) for v in board.values()}
        with kit.site.engine.connect() as connection:
            lanes = board.fill(connection, self.state, only=[str(value) if str(value) in known else None])
        context = {"lanes": lanes, "entity_name": kit.entity_name, "messages": messages or [], "notice": notice,
                   "sum_label": kit.presenter.text(board.sum_field.label) if board.sum_field is not None else ""}
        return render(kit.request, "kanban_moved.html", context, status_code=200 if is_htmx(kit.request) else status,
                      headers={"HX-Retarget": "#board-message", "HX-Reswap": "outerHTML"})

    def title(self) -> str:
        with self.kit.site.engine.connect() as connection:
            return self.kit.site.queries.titles(connection, self.kit.entity_name, [self.record["id"]]).get(
                self.record["id"], f"#{self.record['id']}")


def _never(record: Mapping[str, Any]) -> bool:
    return False


@record_page
@in_thread
def quick_form(request: Request) -> Response:
    kit = Kit(request)
    quick = QuickEdit(kit)
    if not is_htmx(request):  # without JavaScript: the record's own form
        return RedirectResponse(f"/r/{kit.entity_name}/{kit.record_id()}/edit", status_code=303)
    if request.query_params.get("show"):
        return render(request, "kanban_quick.html", {"entity_name": kit.entity_name, "c": quick.card(quick.record),
                                                     "editors": None})
    return quick.editing()


@record_page
@with_form
def quick_save(request: Request, form: FormData) -> Response:
    kit = Kit(request)
    quick = QuickEdit(kit)
    values: dict[str, Any] = {}
    for name in quick.names:
        values[name] = [str(v) for v in form.getlist(name)]
        values[f"{name}__q"] = [str(v) for v in form.getlist(f"{name}__q")]
    version = version_of(form.get("version"))
    with kit.site.engine.connect() as connection:
        draft = quick.in_place.read(connection, values, quick.names)
    if draft.errors:
        return quick.editing(draft.raw, draft.titles, draft.errors, version, status=422)
    saved = quick.in_place.save(kit.record_id(), draft.changes, version)
    if saved.record is not None:
        if not is_htmx(request):
            return RedirectResponse(f"/r/{kit.entity_name}/kanban?{quick.state.query_string()}", status_code=303)
        return quick.lane(saved.record, notice=kit.word("Saved {title}", title=quick.title()))
    if saved.stale is not None:
        with kit.site.engine.connect() as connection:
            note = quick.in_place.stale_note(connection, saved.stale)
        return quick.lane(saved.stale, messages=[("", note)], status=409)
    return quick.editing(draft.raw, draft.titles, saved.errors, version, status=422)


QUICK = "/r/{entity}/{record_id:int}/quick-edit"
routes = [
    Route(QUICK, quick_form, methods=["GET"], name="record_quick_edit"),
    Route(QUICK, quick_save, methods=["POST"], name="record_quick_save"),
]
