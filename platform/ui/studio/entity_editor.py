"""Entities in the studio: GET /studio/entities/{entity} (its fields, and its names in both
languages, POST to change them), GET /studio/entities/new and POST /studio/entities (a new entity
with a name field: a new table, a list, a form and a menu entry for roles that may read it)."""
from __future__ import annotations

import copy
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from atrium.metadata.overlays.paths import plain
from atrium.runtime.site.change import Proposal
from atrium.ui.studio.flow import Outcome, applied_redirect, decide
from atrium.ui.studio.forms import NAME, editor_token, label_of, label_texts, page, watched_of, watched_text
from atrium.ui.studio.setup import studio_of, studio_page
from atrium.ui.web.i18n import word
from atrium.ui.web.page_tools import notice
from atrium.ui.web.threads import in_thread, with_form


def _fields(request: Request, entity: str, document: dict) -> list[dict[str, Any]]:
    model = request.app.state.site.blueprint.entities[entity]
    locale, default = request.state.locale, request.app.state.site.blueprint.default_locale
    rows = []
    for name, spec in document.get("fields", {}).items():
        field = model.fields.get(name)
        rows.append({"name": name, "type": spec.get("type"),
                     "label": field.label.text(locale, default) if field else name,
                     "required": bool(spec.get("required")), "computed": bool(field and field.computed),
                     "options": len(spec.get("options") or ())})
    return rows


def _context(request: Request, entity: str, document: dict, state: dict, token: str = "") -> dict[str, Any]:
    locale = request.state.locale
    model = request.app.state.site.blueprint.entities[entity]
    return {"heading": model.plural.text(locale, request.app.state.site.blueprint.default_locale), "entity": entity,
            "fields": _fields(request, entity, document), "state": state, "new": False,
            "token": token or editor_token(request, [("entity", entity)]),
            "watched": watched_text([("entity", entity)]),
            "pipeline": request.app.state.site.blueprint.pipeline_for(entity),
            "crumbs": [("/studio", word("Studio", locale))], "confirm": False}


def _state(document: dict) -> dict[str, str]:
    label, plural = label_texts(document.get("label")), label_texts(document.get("plural", document.get("label")))
    return {"name": document.get("name", ""), "label_en": label["en"], "label_zh": label["zh"],
            "plural_en": plural["en"], "plural_zh": plural["zh"]}


@studio_page
@in_thread
def entity_page(request: Request) -> Response:
    entity = request.path_params["entity"]
    found = studio_of(request).changes.documents().get(("entity", entity))
    if found is None or entity not in request.app.state.site.blueprint.entities:
        return notice(request, "not_found", 404)
    document = plain(found.data)
    return page(request, "studio/entity.html", _context(request, entity, document, _state(document)))


@studio_page
@with_form
def save_entity(request: Request, form: FormData) -> Response:
    entity = request.path_params["entity"]
    found = studio_of(request).changes.documents().get(("entity", entity))
    if found is None:
        return notice(request, "not_found", 404)
    document = plain(found.data)
    state = {key: str(form.get(key, "")).strip() for key in ("label_en", "label_zh", "plural_en", "plural_zh")}
    target = copy.deepcopy(document)
    target["label"] = label_of(state) or target.get("label")
    if (plural := label_of(state, "plural")) is not None:
        target["plural"] = plural
    summary = {loc: word("Rename entity {entity}", loc, entity=entity) for loc in ("en", "zh")}
    proposal = Proposal({("entity", entity): target}, summary, str(form.get("token", "")) or None, watched_of(form))
    outcome = decide(request, proposal, str(form.get("intent", "review")), form.get("confirm") == "yes",
                     lambda steps: "label_en" if steps and steps[0] == "label"
                     else "plural_en" if steps and steps[0] == "plural" else None)
    if outcome.applied:
        return applied_redirect(f"/studio/entities/{entity}", outcome.applied)
    context = _context(request, entity, document, {**state, "name": entity}, str(form.get("token", "")))
    return page(request, "studio/entity.html", context, outcome)


def _new_context(request: Request, state: dict) -> dict[str, Any]:
    locale = request.state.locale
    return {"heading": word("New entity", locale), "state": state, "new": True, "fields": [], "entity": "",
            "token": "", "watched": "", "pipeline": None, "confirm": False,
            "crumbs": [("/studio", word("Studio", locale))]}


@studio_page
@in_thread
def new_entity(request: Request) -> Response:
    return page(request, "studio/entity.html", _new_context(request, {"name": "", "label_en": "", "label_zh": "",
                                                                       "plural_en": "", "plural_zh": ""}))


@studio_page
@with_form
def create_entity(request: Request, form: FormData) -> Response:
    locale = request.state.locale
    state = {key: str(form.get(key, "")).strip() for key in ("name", "label_en", "label_zh", "plural_en", "plural_zh")}
    name = state["name"]
    context = _new_context(request, state)
    taken = ("entity", name) in studio_of(request).changes.documents() or name.startswith("atrium_")
    if not NAME.match(name) or taken:
        return page(request, "studio/entity.html", context,
                    Outcome(errors={"name": [(word("That name is already used", locale) if taken else word(
                        "Use lower-case letters, digits and _ (starting with a letter)", locale))]}))
    label = label_of(state) or {"en": name.replace("_", " ").capitalize(), "zh": name}
    document = {"name": name, "label": label, "plural": label_of(state, "plural") or label, "title": "{name}",
                "search": ["name"], "fields": {"name": {"type": "text", "required": True, "max_length": 200,
                                                       "label": {"en": "Name", "zh": "名称"}}}}
    views = {"entity": name, "list": {"columns": ["name", "created_at"], "sort": "-created_at"},
             "form": {"sections": [{"label": {"en": "Basics", "zh": "基本信息"}, "fields": ["name"]}]}}
    summary = {loc: word("Add entity {entity}", loc, entity=name) for loc in ("en", "zh")}
    proposal = Proposal({("entity", name): document, ("views", name): views}, summary)
    outcome = decide(request, proposal, str(form.get("intent", "review")), form.get("confirm") == "yes",
                     lambda steps: "label_en" if steps and steps[0] == "label" else None)
    if outcome.applied:
        return applied_redirect(f"/studio/entities/{name}", outcome.applied)
    return page(request, "studio/entity.html", context, outcome)
