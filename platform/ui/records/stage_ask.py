"""Asking for what a stage move needs: when a move (the record page's quick actions, the board, the
list) is refused only because fields it needs are empty - the stage's `requires`, and any
`required_when` that the move makes true (the loss reason, then the competitor when the reason is a
competitor) - the page answers with a small form holding exactly those fields, their errors beside
them, in the user's language; it posts back with the move, and the move and the values are saved
in one write. Used by detail_page.move_stage and boards/kanban_move.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from starlette.datastructures import FormData

from atrium.ui.records.form_model import FormModel, Widget, input_value
from atrium.ui.records.list_state import resolver
from atrium.ui.web.edge import id_or_none
from atrium.ui.web.i18n import format_money
from atrium.ui.web.page_tools import Kit, active_users


@dataclass
class Ask:
    """The form that asks for the fields a move needs."""

    heading: str
    action: str
    to: str
    version: str
    widgets: list[Widget]
    urls: Mapping[str, str]
    cancel: str
    currency_symbol: str
    back: str = ""  # "list": the move was asked from the list, which it goes back to


@dataclass
class Answers:
    """The fields a move's form sent back (`_fields`), read as the record form reads them."""

    asked: list[str]
    changes: dict[str, Any]
    raw: dict[str, Any] | None
    titles: dict[str, str]
    errors: Mapping[str, list[str]]


def read_answers(kit: Kit, model: FormModel, form: FormData, moved: str) -> Answers:
    """The values posted with a move for the fields it asked (never the moved field itself)."""
    asked = [n for n in dict.fromkeys(form.getlist("_fields"))
             if isinstance(n, str) and n in kit.entity.fields and n != moved]
    if not asked:
        return Answers([], {}, None, {}, {})
    with kit.site.engine.connect() as connection:
        draft = model.read(form, resolver(kit, connection))
    changes = {k: v for k, v in draft.changes.items() if k != moved}
    return Answers(asked, changes, draft.raw, draft.titles, draft.errors)


def askable(kit: Kit, model: FormModel, errors: Mapping[str, list[str]], moved: str) -> bool:
    """Whether every error is about a field the user can fill in with the move."""
    return bool(errors) and all(name in kit.entity.fields and name != moved and model.editable(name)
                                for name in errors)


def asked_names(kit: Kit, errors: Mapping[str, list[str]], asked: list[str]) -> list[str]:
    """The fields to ask for, in the entity's order: those in error and those asked before."""
    return [n for n in kit.entity.fields if n in errors or n in asked]


def ask_form(kit: Kit, model: FormModel, current: Mapping[str, Any], heading: str, action: str, to: str,
             version: str, names: list[str], answers: Answers, errors: Mapping[str, list[str]],
             cancel: str) -> Ask:
    presenter = kit.presenter
    raw = answers.raw
    shown = dict(current)
    for name, value in (raw or {}).items():
        field = kit.entity.fields.get(name)
        if field is not None and field.type == "reference":
            shown[name] = id_or_none(value)
    with kit.site.engine.connect() as connection:
        lookups = presenter.load(connection, kit.entity_name, [shown], names)
        users = active_users(kit, connection)
    widgets = []
    for name in names:
        field = kit.entity.fields[name]
        widget = Widget(name, field, presenter.text(field.label), True, required=True, touched=True,
                        help=presenter.text(field.help) if field.help else "")
        widget.value = raw[name] if raw is not None and name in raw else input_value(
            field, current.get(name), kit.blueprint.timezone)
        widget.shown = presenter.show(field, shown.get(name), lookups)
        widget.errors = list(errors.get(name, ()))
        widget.options = model.options(field, users)
        if field.type == "reference":
            chosen = id_or_none(widget.value)
            assert field.to is not None  # a loaded blueprint's references name an entity
            linked = lookups.titles.get(field.to, {}).get(chosen) if chosen is not None else None
            widget.title = linked or answers.titles.get(name, "")
        widgets.append(widget)
    base = f"/r/{kit.entity_name}/{kit.record_id()}"
    return Ask(heading, action, to, version, widgets, {"validate": f"{base}/validate", "state": f"{base}/form-state"},
               cancel, format_money(0, kit.blueprint.currency, kit.locale).rstrip("0.,"))
