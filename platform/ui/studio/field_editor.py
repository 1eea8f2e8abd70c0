"""Fields of an entity in the studio: add one (placed in a form section, optionally as a list column
and filter), change one, hide one (out of the metadata; its column and values stay), rename one
(`renamed_from`, so the column is renamed and the values stay; every formula, stage, role, view,
report, dashboard, automation and seed entry that uses it is rewritten in the same change, listed
in the review: metadata/renames.py).

GET  /studio/entities/{entity}/fields/new      POST /studio/entities/{entity}/fields
GET  /studio/entities/{entity}/fields/{field}  POST the same path
POST /studio/entities/{entity}/fields/{field}/hide | /rename
"""
from __future__ import annotations

import copy
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from atrium.metadata.overlays.paths import plain
from atrium.metadata.renames import RenameRefused, Use, rename_field as renamed_documents
from atrium.runtime.site.change import Proposal
from atrium.translation import N_
from atrium.ui.studio.field_state import BLANK_OPTION_ROWS, TYPES, input_of, spec_from_state, state_from_form, state_of
from atrium.ui.studio.flow import Outcome, applied_redirect, decide
from atrium.ui.studio.forms import COLOURS, NAME, editor_token, label_texts, page, watched_of, watched_text
from atrium.ui.studio.setup import studio_of, studio_page
from atrium.ui.web.edge import id_or_none
from atrium.ui.web.i18n import word
from atrium.ui.web.page_tools import notice
from atrium.ui.web.threads import in_thread, with_form


def _documents(request: Request, entity: str) -> tuple[dict | None, dict | None]:
    documents = studio_of(request).changes.documents()
    found = documents.get(("entity", entity))
    views = documents.get(("views", entity))
    return (plain(found.data) if found else None), (plain(views.data) if views else None)


def _keys(entity: str) -> list[tuple[str, str]]:
    return [("entity", entity), ("views", entity)]


def _sections(views: dict | None, locale: str) -> list[tuple[str, str]]:
    found = ((views or {}).get("form") or {}).get("sections") or []
    result = []
    for index, section in enumerate(found):
        texts = label_texts(section.get("label"))
        result.append((str(index), texts.get(locale) or texts["en"] or f"#{index + 1}"))
    return result


def _context(request: Request, entity: str, state: dict, new: bool, views: dict | None,
             token: str = "", extra: dict | None = None) -> dict[str, Any]:
    locale = request.state.locale
    blueprint = request.app.state.site.blueprint
    model = blueprint.entities[entity]
    blank = {"value": "", "label_en": "", "label_zh": "", "color": "", "remove": "", "moved_to": "", "blank": True}
    state = {**state, "options": [o for o in state["options"] if o.get("value")]
                      + [dict(blank) for _ in range(BLANK_OPTION_ROWS)]}
    label = model.label.text(locale, blueprint.default_locale)
    return {
        "heading": word("Add a field", locale) if new else f"{label} · {state['name']}",
        "entity": entity, "state": state, "new": new, "colours": COLOURS,
        "types": TYPES if state["type"] in TYPES else (state["type"], *TYPES),  # a stage field stays one
        "entities": [(name, e.label.text(locale, blueprint.default_locale)) for name, e in blueprint.entities.items()],
        "sections": _sections(views, locale), "token": token or editor_token(request, _keys(entity)),
        "watched": watched_text(_keys(entity)), "confirm": False, "rename_error": "",
        "crumbs": [("/studio", word("Studio", locale)), (f"/studio/entities/{entity}", label)],
        **(extra or {})}


@studio_page
@in_thread
def new_field(request: Request) -> Response:
    entity = request.path_params["entity"]
    if entity not in request.app.state.site.blueprint.entities:
        return notice(request, "not_found", 404)
    _, views = _documents(request, entity)
    state = state_of("", {"type": "text"})
    state.update(section="0" if _sections(views, "en") else "", add_to_list=False, add_to_filters=False)
    return page(request, "studio/field.html", _context(request, entity, state, True, views))


@studio_page
@in_thread
def edit_field(request: Request) -> Response:
    entity, name = request.path_params["entity"], request.path_params["field"]
    document, views = _documents(request, entity)
    if document is None or name not in document.get("fields", {}):
        return notice(request, "not_found", 404)
    state = state_of(name, document["fields"][name])
    return page(request, "studio/field.html", _context(request, entity, state, False, views))


def _place(views: dict | None, name: str, state: dict) -> dict | None:
    """The entity's views with the new field in the chosen section, list columns and filters."""
    if views is None and not (state.get("add_to_list") or state.get("add_to_filters")):
        return None
    views = copy.deepcopy(views) if views is not None else {"entity": state["entity"]}
    sections = (views.get("form") or {}).get("sections") or []
    section = id_or_none(state.get("section", ""))
    if section is not None and section < len(sections):
        sections[section].setdefault("fields", []).append(name)
    listing = views.setdefault("list", {}) if (state.get("add_to_list") or state.get("add_to_filters")) else {}
    if state.get("add_to_list"):
        listing.setdefault("columns", []).append(name)
    if state.get("add_to_filters"):
        listing.setdefault("filters", []).append(name)
    return views


@studio_page
@with_form
def save_field(request: Request, form: FormData) -> Response:
    entity = request.path_params["entity"]
    name = request.path_params.get("field")
    new = name is None
    locale = request.state.locale
    document, views = _documents(request, entity)
    if document is None or (not new and name not in document.get("fields", {})):
        return notice(request, "not_found", 404)
    state = state_from_form(form)
    state.update(section=str(form.get("section", "")), add_to_list=form.get("add_to_list") == "yes",
                 add_to_filters=form.get("add_to_filters") == "yes", entity=entity)
    if not new:
        state["name"] = name
    context = _context(request, entity, state, new, views, str(form.get("token", "")),
                       {"confirm": form.get("confirm") == "yes"})
    errors: dict[str, list[str]] = {}
    if new and not NAME.match(state["name"]):
        errors["name"] = [word("Use lower-case letters, digits and _ (starting with a letter)", locale)]
    elif new and state["name"] in document.get("fields", {}):
        errors["name"] = [word("That name is already used", locale)]
    original = None if new else document["fields"][name]
    spec, found = spec_from_state(state, original)
    for key, message in found.items():
        errors.setdefault(key, []).append(word(message, locale))
    if errors:
        return page(request, "studio/field.html", context, Outcome(errors=errors))
    target = copy.deepcopy(document)
    target["fields"][state["name"]] = spec
    documents: dict = {("entity", entity): target}
    if new and (placed := _place(views, state["name"], state)) is not None:
        documents[("views", entity)] = placed
    what = N_("Add field {field} to {entity}") if new else N_("Change field {field} of {entity}")
    summary = {loc: word(what, loc, field=state["name"], entity=entity) for loc in ("en", "zh")}
    proposal = Proposal(documents, summary, str(form.get("token", "")) or None, watched_of(form))
    outcome = decide(request, proposal, str(form.get("intent", "review")), form.get("confirm") == "yes", input_of)
    if outcome.applied:
        return applied_redirect(f"/studio/entities/{entity}", outcome.applied)
    return page(request, "studio/field.html", context, outcome)


# --- hide and rename -----------------------------------------------------------------------------

def _replace_in_views(views: dict, old: str, new: str | None) -> dict:
    """The views with every mention of field `old` renamed to `new` (or taken out, for None)."""
    views = copy.deepcopy(views)

    def fix(items: list) -> list:
        result = []
        for item in items:
            head, dot, rest = str(item).partition(".")
            bare, sign = head.lstrip("-+"), head[:len(head) - len(head.lstrip("-+"))]
            if bare == old:
                if new is not None:
                    result.append(sign + new + dot + rest)
            else:
                result.append(item)
        return result
    listing = views.get("list") or {}
    for key in ("columns", "filters"):
        if isinstance(listing.get(key), list):
            listing[key] = fix(listing[key])
    if isinstance(listing.get("sort"), str):
        listing["sort"] = (fix([listing["sort"]]) or [None])[0]
        if listing["sort"] is None:
            listing.pop("sort")
    for part in ("form", "detail"):
        for section in ((views.get(part) or {}).get("sections") or []):
            section["fields"] = fix(section.get("fields") or [])
    kanban = views.get("kanban") or {}
    if isinstance(kanban.get("card"), list):
        kanban["card"] = fix(kanban["card"])
    return views


def _hidden(request: Request, entity: str, name: str) -> dict:
    """The entity without the field, and its views without it (its column and values stay)."""
    document, views = _documents(request, entity)
    assert document is not None  # _hide_or_rename answered 404 when the entity is not there
    target = copy.deepcopy(document)
    target["fields"].pop(name)
    if name in (target.get("search") or []):
        target["search"] = [s for s in target["search"] if s != name]
    documents: dict = {("entity", entity): target}
    if views is not None:
        documents[("views", entity)] = _replace_in_views(views, name, None)
    return documents


def renamed(request: Request, entity: str, name: str, new_name: str) -> tuple[dict, list[Use]]:
    """Every document that uses the field, rewritten for its new name (metadata/renames.py)."""
    documents = studio_of(request).changes.documents()
    return renamed_documents({key: plain(found.data) for key, found in documents.items()}, entity, name, new_name)


@studio_page
@with_form
def hide_field(request: Request, form: FormData) -> Response:
    return _hide_or_rename(request, form, hide=True)


@studio_page
@with_form
def rename_field(request: Request, form: FormData) -> Response:
    return _hide_or_rename(request, form, hide=False)


def _hide_or_rename(request: Request, form: FormData, hide: bool) -> Response:
    entity, name = request.path_params["entity"], request.path_params["field"]
    locale = request.state.locale
    document, views = _documents(request, entity)
    if document is None or name not in document.get("fields", {}):
        return notice(request, "not_found", 404)
    new_name = None if hide else str(form.get("new_name", "")).strip()
    state = state_of(name, document["fields"][name])
    context = _context(request, entity, state, False, views, str(form.get("token", "")),
                       {"confirm": form.get("confirm") == "yes", "new_name": new_name or ""})
    if not hide and (not NAME.match(new_name or "") or new_name in document["fields"]):
        context["rename_error"] = (word("Use lower-case letters, digits and _ (starting with a letter)", locale)
                                   if not NAME.match(new_name or "") else word("That name is already used", locale))
        return page(request, "studio/field.html", context)
    what = N_("Hide field {field} of {entity}") if hide else N_("Rename field {field} of {entity} to {new}")
    summary = {loc: word(what, loc, field=name, entity=entity, new=new_name or "") for loc in ("en", "zh")}
    if hide:
        documents = _hidden(request, entity, name)
    else:
        assert new_name is not None  # a rename has its new name
        try:
            documents, uses = renamed(request, entity, name, new_name)
        except RenameRefused as refused:
            context["rename_error"] = word("This field cannot be renamed: {reason}", locale,
                                           reason=refused.text(locale))
            return page(request, "studio/field.html", context)
        context["uses"] = [use.text() for use in uses]
    # a rename touches documents beyond the editor's own: the token still watches the editor's
    proposal = Proposal(documents, summary, str(form.get("token", "")) or None, watched_of(form))
    outcome = decide(request, proposal, str(form.get("intent", "review")), form.get("confirm") == "yes")
    if outcome.applied:
        return applied_redirect(f"/studio/entities/{entity}", outcome.applied)
    context["action_review"] = "hide" if hide else "rename"
    return page(request, "studio/field.html", context, outcome)
