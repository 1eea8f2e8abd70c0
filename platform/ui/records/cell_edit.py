"""Inline edit in list cells:

    GET  /r/{entity}/{id}/cell/{field}?version=N    the cell's input (click, or Enter on the cell)
    GET  /r/{entity}/{id}/cell/{field}?show=1       the cell's value again (Esc)
    POST /r/{entity}/{id}/cell/{field}              _cell_value, _cell_version: save (Enter, or leaving it)

A cell is editable when its column is a field the user may write (in_place.py) on a record the
user may update. Each answer is the cell itself, with the row's other cells out of band, so a
formula or roll-up the save changed (and the row's version) shows at once. A refused save
keeps the user's input with the messages in the cell; a stale one shows the current value and
who changed it. To HTMX every answer is 200 (htmx swaps only those); otherwise 422 / 409.
"""
from __future__ import annotations

from typing import Any, Mapping

from sqlalchemy.engine import Connection
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from atrium.runtime.access.secured import AccessDenied
from atrium.runtime.records.rules import RECORD_ERRORS
from atrium.runtime.records.service import RecordNotFound
from atrium.ui.records.in_place import InPlace, ListCells, version_of
from atrium.ui.records.list_page import default_columns
from atrium.ui.web.page_tools import Kit, active_users, record_page
from atrium.ui.web.present import Column, Shown
from atrium.ui.web.templating import is_htmx, render
from atrium.ui.web.threads import in_thread, with_form

VALUE, VERSION = "_cell_value", "_cell_version"


class Cell:
    """One cell of one record on one request."""

    def __init__(self, kit: Kit):
        self.kit = kit
        self.path = kit.request.path_params["field"]
        self.columns = kit.presenter.columns(kit.entity_name, default_columns(kit))
        if not any(c.path == self.path for c in self.columns[1:]):
            raise RecordNotFound(kit.entity_name)  # not a column of this list
        self.record = kit.secured.get(kit.actor, kit.entity_name, kit.record_id(), action="update")
        self.in_place = InPlace(kit, self.record)
        if not self.in_place.editable(self.path):
            raise AccessDenied(kit.word("This field cannot be changed here"))
        self.field = kit.entity.fields[self.path]

    def values(self, connection: Connection, record: Mapping[str, Any]) -> list[tuple[Column, Shown]]:
        presenter, entity = self.kit.presenter, self.kit.entity_name
        lookups = presenter.load(connection, entity, [record], [c.path for c in self.columns])
        return [(c, presenter.show(c.field, presenter.value_at(entity, record, c.path, lookups), lookups))
                for c in self.columns[1:]]

    def answer(self, record: Mapping[str, Any], editing: bool = False, raw: Mapping[str, Any] | None = None,
               titles: Mapping[str, str] | None = None, errors: Mapping[str, list[str]] | None = None,
               version: int | None = None, note: str = "", alert: str = "", status: int = 200) -> Response:
        """The cell (its value, or its input) and the row's other cells out of band."""
        kit = self.kit
        with kit.site.engine.connect() as connection:
            cells = self.values(connection, record)
            inline = ListCells(kit, connection, [record], self.columns)
            editor = None
            if editing:
                users = active_users(kit, connection) if self.field.type == "user" else []
                editor = self.in_place.editors(connection, record, [self.path], users, raw, titles, errors)[0]
                editor.errors += others(kit, errors or {}, self.path)
        context = {"entity_name": kit.entity_name, "record": record, "cells": cells, "path": self.path,
                   "inline": inline, "editor": editor, "version": version or record["version"],
                   "note": note, "alert": alert, "input_name": VALUE, "version_name": VERSION}
        request = kit.request
        return render(request, "list_cell.html", context, status_code=200 if is_htmx(request) else status)


def others(kit: Kit, errors: Mapping[str, list[str]], path: str) -> list[str]:
    """Messages about other fields or the whole record, which the cell shows too (with labels)."""
    result = []
    for name, texts in errors.items():
        if name == path:
            continue
        field = kit.entity.fields.get(name)
        label = kit.presenter.text(field.label) if field is not None and name != RECORD_ERRORS else ""
        result += [f"{label}: {text}" if label else text for text in texts]
    return result


@record_page
@in_thread
def cell_editor(request: Request) -> Response:
    kit = Kit(request)
    cell = Cell(kit)
    record = cell.record
    if request.query_params.get("show"):
        return cell.answer(record)
    seen = version_of(request.query_params.get("version"))
    note = ""
    if seen is not None and seen != record["version"]:
        with kit.site.engine.connect() as connection:
            note = cell.in_place.changed_note(connection, record)
    return cell.answer(record, editing=True, note=note)


@record_page
@with_form
def cell_save(request: Request, form: FormData) -> Response:
    kit = Kit(request)
    cell = Cell(kit)
    path = cell.path
    # the input as the form would post it (`<field>__q`: a reference's typed text)
    values = {path: str(form.get(VALUE, "")), f"{path}__q": str(form.get(f"{VALUE}__q", ""))}
    version = version_of(form.get(VERSION))
    with kit.site.engine.connect() as connection:
        draft = cell.in_place.read(connection, values, [path])
    if draft.errors:
        return cell.answer(cell.record, True, draft.raw, draft.titles, draft.errors, version, status=422)
    saved = cell.in_place.save(kit.record_id(), draft.changes, version)
    if saved.record is not None:
        return cell.answer(saved.record)
    if saved.stale is not None:
        with kit.site.engine.connect() as connection:
            alert = cell.in_place.stale_note(connection, saved.stale)
        return cell.answer(saved.stale, alert=alert, status=409)
    return cell.answer(cell.record, True, draft.raw, draft.titles, saved.errors, version, status=422)


CELL = "/r/{entity}/{record_id:int}/cell/{field}"
routes = [
    Route(CELL, cell_editor, methods=["GET"], name="record_cell"),
    Route(CELL, cell_save, methods=["POST"], name="record_cell_save"),
]
