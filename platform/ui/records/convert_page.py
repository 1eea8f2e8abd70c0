"""The Convert action's pages: GET /r/{entity}/{id}/convert shows each target of the entity's
`convert:` with its mapped values (editable), a tick to leave out an optional target, and, where
similar records exist, the choice to link one instead of creating; POST converts in one
transaction and shows what was made and linked, or the form again with each target's errors."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field as dataclass_field
from decimal import Decimal
from typing import Any, Mapping

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from atrium.metadata.model import Field
from atrium.runtime.pool.conversion import (
    SOURCE,
    Choice,
    ConversionFailed,
    ConversionRefused,
    Conversions,
    DuplicatesFound,
    TargetPlan,
    conversion_of,
)
from atrium.runtime.pool.messages import pool_message
from atrium.runtime.records.rules import RECORD_ERRORS
from atrium.runtime.records.service import StaleRecord
from atrium.translation import N_
from atrium.ui.records.detail_page import detail_context, messages_of
from atrium.ui.web.edge import whole_number
from atrium.ui.web.page_tools import Kit, record_page
from atrium.ui.web.present import Lookups
from atrium.ui.web.templating import render
from atrium.ui.web.threads import in_thread, with_form

EDITABLE = {"text": "text", "email": "email", "phone": "tel", "url": "url", "textarea": "textarea",
            "integer": "number", "number": "number", "money": "number", "percent": "number",
            "date": "date", "datetime": "datetime-local", "select": "select", "boolean": "boolean"}


@dataclass
class Input:
    name: str  # target.field
    label: str
    kind: str  # an EDITABLE value, or "readonly"
    value: str = ""
    shown: Any = None
    options: list[tuple[str, str]] = dataclass_field(default_factory=list)
    required: bool = False
    errors: list[str] = dataclass_field(default_factory=list)


@dataclass
class TargetForm:
    name: str
    entity: str
    label: str
    optional: bool
    include: bool
    inputs: list[Input]
    choice: str  # "new", a record id, or "" (not chosen yet)
    candidates: list[tuple[int, str]]
    linked: tuple[int, str] | None
    errors: list[str]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%dT%H:%M")
    if isinstance(value, (dt.date, Decimal)):
        return str(value)
    return str(value)


def _fields_shown(kit: Kit, plan: TargetPlan) -> list[Field]:
    """The mapped fields and the target's other required fields, as the target lists its fields."""
    model = kit.blueprint.entities[plan.target.entity]
    return [f for f in model if f.name not in plan.target.parent and not f.computed
            and (f.name in plan.target.map or f.required)
            and kit.site.access.field_mode(kit.actor, model.name, f.name) != "hidden"]


def target_forms(kit: Kit, connection: Any, plans: list[TargetPlan], choices: Mapping[str, Choice],
                 errors: Mapping[str, Mapping[str, list[str]]], asked: set[str]) -> list[TargetForm]:
    forms = []
    lookups = Lookups()
    for plan in plans:
        target, model = plan.target, kit.blueprint.entities[plan.target.entity]
        choice = choices.get(target.name)
        mine = errors.get(target.name, {})
        inputs = []
        for field in _fields_shown(kit, plan):
            kind = EDITABLE.get(field.type, "readonly")
            if kit.site.access.field_mode(kit.actor, model.name, field.name) != "write":
                kind = "readonly"
            value = plan.values.get(field.name)
            item = Input(f"{target.name}.{field.name}", kit.presenter.text(field.label), kind, _text(value),
                         required=field.required, errors=list(mine.get(field.name, ())))
            if kind == "readonly":
                if field.type in ("reference", "user"):
                    kit.presenter.load(connection, model.name, [{field.name: value}], [field.name], lookups)
                item.shown = kit.presenter.show(field, value, lookups)
            elif kind == "select":
                item.options = [(str(o.value), kit.presenter.text(o.label)) for o in field.options]
            inputs.append(item)
        linked = None
        if plan.linked is not None:
            titles = kit.presenter.readable_titles(connection, model.name, [plan.linked])
            linked = (plan.linked, titles.get(plan.linked, f"#{plan.linked}"))
        if choice is None or choice.use is None:
            picked = "new" if choice is not None and (choice.allow_duplicate or not plan.candidates) \
                else ("" if plan.candidates else "new")
        else:
            picked = str(choice.use)
        record_errors = list(mine.get(RECORD_ERRORS, ()))
        if target.name in asked:
            record_errors.append(kit.word("Similar records already exist"))
        forms.append(TargetForm(target.name, target.entity, kit.presenter.text(target.label), target.optional,
                                choice.include if choice is not None else True, inputs, picked,
                                [(c.id, c.title) for c in plan.candidates], linked, record_errors))
    return forms


def read_choices(kit: Kit, form: Any) -> dict[str, Choice]:
    _, conversion = conversion_of(kit.blueprint, kit.entity_name, kit.locale)
    choices = {}
    for target in conversion.targets:
        prefix = target.name + "."
        values: dict[str, Any] = {}
        for name in form.getlist("_fields"):
            if not name.startswith(prefix):
                continue
            field = kit.blueprint.entities[target.entity].fields.get(name[len(prefix):])
            if field is None:
                continue
            raw = form.get(name)
            values[field.name] = (raw == "true") if field.type == "boolean" else (raw if raw is not None else "")
        include = not target.optional or form.get(f"{target.name}._include") == "true"
        picked = str(form.get(f"{target.name}._choice", ""))
        use = whole_number(picked, f"{target.name}._choice", kit.locale) if picked != "new" else None
        choices[target.name] = Choice(include=include, use=use, values=values, allow_duplicate=picked == "new")
    return choices


def _page(kit: Kit, record_id: int, choices: Mapping[str, Choice], errors: Mapping[str, Mapping[str, list[str]]],
          asked: set[str], messages: list[str], status: int = 200) -> Response:
    model, conversion = conversion_of(kit.blueprint, kit.entity_name, kit.locale)
    conversions = Conversions(kit.site)
    plans = conversions.plan(kit.actor, kit.entity_name, record_id, choices)
    with kit.site.engine.connect() as connection:
        source = kit.secured.get(kit.actor, kit.entity_name, record_id, connection)
        title = kit.site.queries.titles_of(connection, kit.entity_name, [source], kit.actor).get(
            record_id, f"#{record_id}")
        forms = target_forms(kit, connection, plans, choices, errors, asked)
    label = kit.presenter.text(conversion.label) if "" not in conversion.label.texts else kit.word("Convert")
    return render(kit.request, "convert.html", {
        "entity": model, "entity_name": kit.entity_name, "active_entity": kit.entity_name,
        "record_id": record_id, "record_title": title, "heading": label, "targets": forms,
        "messages": messages}, status_code=status)


def _refused(kit: Kit, record_id: int, text: str) -> Response:
    return render(kit.request, "detail.html", detail_context(kit, record_id, [("", text)]), status_code=409)


@record_page
@in_thread
def convert_form(request: Request) -> Response:
    kit = Kit(request)
    record_id = kit.record_id()
    conversion_of(kit.blueprint, kit.entity_name, kit.locale)
    conversions = Conversions(kit.site)
    with kit.site.engine.connect() as connection:
        record = kit.secured.get(kit.actor, kit.entity_name, record_id, connection, action="update")
        offered = conversions.offered(connection, kit.actor, kit.entity_name, record)
    if not offered:
        done = conversions.converted(kit.entity.convert, record)
        return _refused(kit, record_id, pool_message("convert_done" if done else "convert_not_now", kit.locale))
    return _page(kit, record_id, {}, {}, set(), [])


@record_page
@with_form
def convert(request: Request, form: FormData) -> Response:
    kit = Kit(request)
    record_id = kit.record_id()
    choices = read_choices(kit, form)
    try:
        result = Conversions(kit.site).convert(kit.actor, kit.entity_name, record_id, choices)
    except ConversionRefused as refused:
        return _refused(kit, record_id, str(refused))
    except DuplicatesFound as found:
        return _page(kit, record_id, choices, {}, {p.target.name for p in found.plans}, [str(found)],
                     status=found.status)
    except ConversionFailed as failed:
        source = messages_of(kit, failed.by_target.get(SOURCE, {}))
        messages = [f"{label}: {text}" if label else text for label, text in source]
        return _page(kit, record_id, choices, failed.by_target, set(),
                     messages or [kit.word("Please correct the fields marked below")],
                     status=failed.status)
    except StaleRecord as stale:
        return _page(kit, record_id, choices, {}, set(), [str(stale)], status=stale.status)
    rows = []
    with kit.site.engine.connect() as connection:
        for target in kit.entity.convert.targets:
            made = result.created.get(target.name) or result.linked.get(target.name)
            status = (N_("Created") if target.name in result.created else
                      N_("Linked") if target.name in result.linked else N_("Left out"))
            title = (kit.presenter.readable_titles(connection, target.entity, [made]).get(made, f"#{made}")
                     if made else "")
            rows.append((kit.presenter.text(target.label), kit.word(status), title,
                         f"/r/{target.entity}/{made}" if made else None))
        source_title = kit.site.queries.titles_of(connection, kit.entity_name, [result.source], kit.actor).get(
            record_id, f"#{record_id}")
    return render(request, "convert_done.html", {
        "entity": kit.entity, "entity_name": kit.entity_name, "active_entity": kit.entity_name,
        "record_id": record_id, "record_title": source_title, "rows": rows})
