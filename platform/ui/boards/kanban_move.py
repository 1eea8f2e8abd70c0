"""Moving a card on the kanban board:

    POST /r/{entity}/{id}/move?<the board's filters>    to=<column value>&version=<n>

The move is an update of the column field through SecuredRecords, so the pipeline's rules hold:
a stage whose `requires` (or any rule about another field) is not met answers with a small form
asking for exactly those fields, which posts back here with the values and then moves the card;
a transition the pipeline forbids is refused with the runtime's message and the card stays; a
stale version refreshes the board. To HTMX the two columns a move touched come back as
out-of-band swaps (their counts and totals with them); without JavaScript the answer is a
redirect to the board, or the board page with the message or the form.
"""
from __future__ import annotations

from typing import Any, Mapping

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from atrium.runtime.records.service import StaleRecord, ValidationFailed
from atrium.ui.boards.kanban import Board, board_context, kanban
from atrium.ui.records.detail_page import messages_of
from atrium.ui.records.form_model import FormModel
from atrium.ui.records.list_state import read_state
from atrium.ui.records.stage_ask import Answers, Ask, ask_form, askable, asked_names, read_answers
from atrium.ui.web.edge import whole_number
from atrium.ui.web.page_tools import Kit, record_page
from atrium.ui.web.templating import is_htmx, render
from atrium.ui.web.threads import with_form


class Move:
    def __init__(self, kit: Kit, board: Board, current: Mapping[str, Any]):
        self.kit = kit
        self.board = board
        self.current = current
        self.record_id = kit.record_id()
        self.model = FormModel(kit, current)
        self.source = current.get(board.group.name)
        query = kit.request.url.query
        self.board_url = f"/r/{kit.entity_name}/kanban" + (f"?{query}" if query else "")
        self.action = f"/r/{kit.entity_name}/{self.record_id}/move" + (f"?{query}" if query else "")

    def title(self, connection) -> str:
        return self.kit.site.queries.titles(connection, self.kit.entity_name, [self.record_id]).get(
            self.record_id, f"#{self.record_id}")

    def ask(self, to: str, version: str, names: list[str], answers: Answers,
            errors: Mapping[str, list[str]]) -> Ask:
        with self.kit.site.engine.connect() as connection:
            title = self.title(connection)
        heading = self.kit.word("To move {title} to {stage}, fill in:", title=title,
                                stage=self.board.label_of(self.board.stored(to)))
        return ask_form(self.kit, self.model, self.current, heading, self.action, to, version, names, answers,
                        errors, self.board_url)


def _answer_board(request: Request, kit: Kit, board: Board, status: int, **extra: Any) -> Response:
    """The whole board page (without JavaScript), or its board block (HTMX: a refresh)."""
    with kit.site.engine.connect() as connection:
        state = read_state(kit, connection)
        context = board_context(kit, board, connection, state, **extra)
    if is_htmx(request):
        return render(request, "kanban.html", context, block="board",
                      headers={"HX-Retarget": "#board", "HX-Reswap": "outerHTML"})
    return render(request, "kanban.html", context, status_code=status)


def _answer_lanes(request: Request, kit: Kit, board: Board, values: list[Any], **extra: Any) -> Response:
    """The message, and the columns with these values swapped out of band (HTMX only)."""
    with kit.site.engine.connect() as connection:
        state = read_state(kit, connection)
        known = {str(v) for v in board.values()}
        wanted = [str(v) if v is not None and str(v) in known else None for v in values]
        lanes = board.fill(connection, state, only=wanted)
    return render(request, "kanban_moved.html", {"lanes": lanes, "entity_name": kit.entity_name,
                                                 "sum_label": kit.presenter.text(board.sum_field.label)
                                                 if board.sum_field is not None else "",
                                                 "messages": [], "notice": "", **extra})


@record_page
@with_form
def move(request: Request, form: FormData) -> Response:
    kit = Kit(request)
    board = Board(kit)
    current = kit.secured.get(kit.actor, kit.entity_name, kit.record_id(), action="update")
    to = str(form.get("to", "")).strip()
    version = str(form.get("version", "")).strip()
    step = Move(kit, board, current)
    target = board.stored(to)
    if target is None:
        return _refuse(request, kit, board, step, [("", kit.word("Choose a column to move the card to"))])
    answers = read_answers(kit, step.model, form, board.group.name)
    if answers.errors:
        return _ask(request, kit, board, step.ask(to, version, answers.asked, answers, answers.errors))
    try:
        kit.secured.update(kit.actor, kit.entity_name, kit.record_id(), {**answers.changes, board.group.name: target},
                           version=whole_number(version, "version", kit.locale))
    except ValidationFailed as failed:
        if askable(kit, step.model, failed.errors, board.group.name):
            names = asked_names(kit, failed.errors, answers.asked)
            return _ask(request, kit, board, step.ask(to, version, names, answers, failed.errors))
        return _refuse(request, kit, board, step, messages_of(kit, failed.errors))
    except StaleRecord as stale:
        return _answer_board(request, kit, board, stale.status, messages=[("", str(stale))],
                             notice=kit.word("The board now shows the latest changes"))
    if not is_htmx(request):
        return RedirectResponse(step.board_url, status_code=303)
    with kit.site.engine.connect() as connection:
        title = step.title(connection)
    notice = kit.word("Moved {title} to {stage}", title=title, stage=board.label_of(target))
    return _answer_lanes(request, kit, board, [step.source, target], notice=notice, close_dialog=True)


def _ask(request: Request, kit: Kit, board: Board, ask: Ask) -> Response:
    if is_htmx(request):
        return render(request, "kanban_ask.html", {"ask": ask},
                      headers={"HX-Retarget": "#board-dialog", "HX-Reswap": "outerHTML"})
    return _answer_board(request, kit, board, 200, ask=ask)


def _refuse(request: Request, kit: Kit, board: Board, step: Move, messages: list[tuple[str, str]]) -> Response:
    """Nothing moved: the message, and the card's own column again (the card goes back)."""
    if is_htmx(request):
        return _answer_lanes(request, kit, board, [step.source], messages=messages, close_dialog=True)
    return _answer_board(request, kit, board, 422, messages=messages)


routes = [  # the board's routes; the record id's int convertor keeps /kanban apart from records
    Route("/r/{entity}/kanban", kanban, methods=["GET"], name="record_kanban"),
    Route("/r/{entity}/{record_id:int}/move", move, methods=["POST"], name="record_move"),
]
