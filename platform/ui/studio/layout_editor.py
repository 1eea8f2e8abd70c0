"""Form and list layout of an entity in the studio: GET/POST /studio/views/{entity}. Form sections
(their names, sequence, fields in sequence, and `visible_when`, checked as it is typed), list columns
and list filters. Everything else in the entity's views (kanban, calendar, detail) is kept."""
from __future__ import annotations

import copy
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from atrium.metadata.overlays.paths import plain
from atrium.runtime.site.change import Proposal
from atrium.ui.studio.flow import Outcome, applied_redirect, decide
from atrium.ui.studio.forms import (
    comma_list,
    editor_token,
    label_of,
    label_texts,
    number_of,
    page,
    rows,
    watched_of,
    watched_text,
)
from atrium.ui.studio.setup import studio_of, studio_page
from atrium.ui.web.i18n import word
from atrium.ui.web.page_tools import notice
from atrium.ui.web.threads import in_thread, with_form

COLUMNS = ("label_en", "label_zh", "fields", "visible_when", "position", "remove")


def _state(views: dict) -> dict[str, Any]:
    sections = []
    for index, section in enumerate(((views.get("form") or {}).get("sections")) or []):
        label = label_texts(section.get("label"))
        sections.append({"label_en": label["en"], "label_zh": label["zh"],
                         "fields": ", ".join(section.get("fields") or ()),
                         "visible_when": section.get("visible_when") or "", "position": str((index + 1) * 10),
                         "remove": ""})
    listing = views.get("list") or {}
    return {"sections": sections, "columns": ", ".join(listing.get("columns") or ()),
            "filters": ", ".join(listing.get("filters") or ())}


def _context(request: Request, entity: str, state: dict, token: str = "") -> dict[str, Any]:
    locale = request.state.locale
    blueprint = request.app.state.site.blueprint
    model = blueprint.entities[entity]
    blank = {"label_en": "", "label_zh": "", "fields": "", "visible_when": "", "remove": "",
             "position": str((len(state["sections"]) + 1) * 10), "new": True}
    keys = [("views", entity)]
    return {"heading": word("Form and list layout", locale)
            + f" · {model.plural.text(locale, blueprint.default_locale)}",
            "entity": entity, "state": {**state, "sections": state["sections"] + [blank]},
            "fields": list(model.fields), "token": token or editor_token(request, keys),
            "watched": watched_text(keys), "confirm": False,
            "crumbs": [("/studio", word("Studio", locale)), (f"/studio/entities/{entity}",
                                                              model.plural.text(locale, blueprint.default_locale))]}


def _views(request: Request, entity: str) -> dict:
    found = studio_of(request).changes.documents().get(("views", entity))
    return plain(found.data) if found is not None else {"entity": entity}


@studio_page
@in_thread
def layout_page(request: Request) -> Response:
    entity = request.path_params["entity"]
    if entity not in request.app.state.site.blueprint.entities:
        return notice(request, "not_found", 404)
    return page(request, "studio/layout_editor.html", _context(request, entity, _state(_views(request, entity))))


@studio_page
@with_form
def save_layout(request: Request, form: FormData) -> Response:
    entity = request.path_params["entity"]
    if entity not in request.app.state.site.blueprint.entities:
        return notice(request, "not_found", 404)
    locale = request.state.locale
    views = _views(request, entity)
    posted = rows(form, "section", COLUMNS)
    while posted and not (posted[-1]["fields"].strip() or posted[-1]["label_en"] or posted[-1]["label_zh"]):
        posted.pop()  # the blank row for a new section, left empty
    state = {"sections": posted, "columns": str(form.get("columns", "")), "filters": str(form.get("filters", ""))}
    context = _context(request, entity, state, str(form.get("token", "")))
    context["confirm"] = form.get("confirm") == "yes"
    errors: dict[str, list[str]] = {}
    kept = []
    for index, row in enumerate(posted):
        if row["remove"] == "yes" or not (row["fields"].strip() or row["label_en"] or row["label_zh"]):
            continue
        try:
            kept.append((number_of(row["position"]) or 0, index, row))
        except ValueError:
            errors.setdefault(f"section-{index}-position", []).append(word("Not a number", locale))
    if errors:
        return page(request, "studio/layout_editor.html", context, Outcome(errors=errors))
    kept.sort(key=lambda item: (item[0], item[1]))
    original = ((views.get("form") or {}).get("sections")) or []
    sections: list[dict[str, Any]] = []
    placed: list[int] = []
    for _, index, row in kept:
        base = {k: v for k, v in (copy.deepcopy(original[index]) if index < len(original) else {}).items()
                if k not in ("label", "fields", "visible_when")}
        section = {"label": label_of(row) or {"en": f"Section {len(sections) + 1}", "zh": f"分组 {len(sections) + 1}"},
                   "fields": comma_list(row["fields"]), **base}
        if row["visible_when"].strip():
            section["visible_when"] = row["visible_when"].strip()
        sections.append(section)
        placed.append(index)
    target = copy.deepcopy(views)
    if sections:
        target.setdefault("form", {})["sections"] = sections
    elif "form" in target:
        target["form"].pop("sections", None)
    listing = target.setdefault("list", {})
    for key in ("columns", "filters"):
        if names := comma_list(state[key]):
            listing[key] = names
        else:
            listing.pop(key, None)
    if not listing:
        target.pop("list")

    def mapper(steps: list[Any]) -> str | None:
        if (steps[:2] == ["form", "sections"] and len(steps) > 2 and isinstance(steps[2], int)
                and steps[2] < len(placed)):
            key = steps[3] if len(steps) > 3 and steps[3] in ("fields", "visible_when") else "label_en"
            return f"section-{placed[steps[2]]}-{key}"
        if steps[:1] == ["list"] and len(steps) > 1 and steps[1] in ("columns", "filters"):
            return steps[1]
        return None
    summary = {loc: word("Change the form and list of {entity}", loc, entity=entity) for loc in ("en", "zh")}
    proposal = Proposal({("views", entity): target}, summary, str(form.get("token", "")) or None, watched_of(form))
    outcome = decide(request, proposal, str(form.get("intent", "review")), form.get("confirm") == "yes", mapper)
    if outcome.applied:
        return applied_redirect(f"/studio/views/{entity}", outcome.applied)
    return page(request, "studio/layout_editor.html", context, outcome)
