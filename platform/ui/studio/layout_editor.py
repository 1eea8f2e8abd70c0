"""Form, detail and list layout of an entity in the studio: GET/POST /studio/views/{entity}. Form
sections (their names, sequence, fields in sequence, and `visible_when`, checked as it is typed),
the detail page's related lists, list columns and list filters. The page arranges them by drag and drop
(studio_layout.js) or with move buttons; both only rewrite the position numbers and comma-separated
names posted here, so the server sees one form either way. Everything else in the views is kept."""
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


# the posted row prefix, the views key (a detail page without sections of its own shows the form's)
SECTION_TABLES = (("section", "form"), ("detail_section", "detail"))


def _section_rows(part: dict) -> list[dict[str, str]]:
    found = []
    for index, section in enumerate(part.get("sections") or []):
        label = label_texts(section.get("label"))
        found.append({"label_en": label["en"], "label_zh": label["zh"],
                      "fields": ", ".join(section.get("fields") or ()),
                      "visible_when": section.get("visible_when") or "", "position": str((index + 1) * 10),
                      "remove": ""})
    return found


def _state(views: dict) -> dict[str, Any]:
    listing = views.get("list") or {}
    detail = views.get("detail") or {}
    return {"section": _section_rows(views.get("form") or {}),
            "detail_section": _section_rows(detail),
            "columns": ", ".join(listing.get("columns") or ()),
            "filters": ", ".join(listing.get("filters") or ()),
            "related": ", ".join(detail.get("related") or ())}


def _blank(rows: list) -> dict[str, Any]:
    return {"label_en": "", "label_zh": "", "fields": "", "visible_when": "", "remove": "",
            "position": str((len(rows) + 1) * 10), "new": True}


def _context(request: Request, entity: str, state: dict, token: str = "") -> dict[str, Any]:
    locale = request.state.locale
    blueprint = request.app.state.site.blueprint
    model = blueprint.entities[entity]
    keys = [("views", entity)]
    # the lists of other records that point here, offered for the detail page
    links = {f"{other.name}.{field.name}": f"{other.plural.text(locale, blueprint.default_locale)}"
             f" · {field.label.text(locale, blueprint.default_locale)}"
             for other in blueprint.entities.values() for field in other.fields.values()
             if field.type == "reference" and field.to == entity}
    return {"heading": word("Form and list layout", locale)
            + f" · {model.plural.text(locale, blueprint.default_locale)}",
            "entity": entity,
            "state": {**state, **{prefix: state[prefix] + [_blank(state[prefix])] for prefix, _ in SECTION_TABLES}},
            "fields": list(model.fields),
            "labels": {name: field.label.text(locale, blueprint.default_locale)
                       for name, field in model.fields.items()},
            "links": links, "comma_list": comma_list, "token": token or editor_token(request, keys),
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


def _posted_sections(form: FormData, prefix: str) -> list[dict[str, str]]:
    posted = rows(form, prefix, COLUMNS)
    while posted and not (posted[-1]["fields"].strip() or posted[-1]["label_en"] or posted[-1]["label_zh"]):
        posted.pop()  # the blank row for a new section, left empty
    return posted


def _placed_sections(posted: list[dict[str, str]], original: list, prefix: str, locale: str,
                     errors: dict[str, list[str]]) -> tuple[list[dict[str, Any]], list[int]]:
    """The sections in the order of their position numbers, each keeping the keys this page does not
    edit; and the posted row index of each, for errors reported at their rows."""
    kept = []
    for index, row in enumerate(posted):
        if row["remove"] == "yes" or not (row["fields"].strip() or row["label_en"] or row["label_zh"]):
            continue
        try:
            kept.append((number_of(row["position"]) or 0, index, row))
        except ValueError:
            errors.setdefault(f"{prefix}-{index}-position", []).append(word("Not a number", locale))
    kept.sort(key=lambda item: (item[0], item[1]))
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
    return sections, placed


def _set_names(part: dict, key: str, text: str) -> None:
    if names := comma_list(text):
        part[key] = names
    else:
        part.pop(key, None)


@studio_page
@with_form
def save_layout(request: Request, form: FormData) -> Response:
    entity = request.path_params["entity"]
    if entity not in request.app.state.site.blueprint.entities:
        return notice(request, "not_found", 404)
    locale = request.state.locale
    views = _views(request, entity)
    state: dict[str, Any] = {prefix: _posted_sections(form, prefix) for prefix, _ in SECTION_TABLES}
    state.update({key: str(form.get(key, "")) for key in ("columns", "filters", "related")})
    context = _context(request, entity, state, str(form.get("token", "")))
    context["confirm"] = form.get("confirm") == "yes"
    errors: dict[str, list[str]] = {}
    target = copy.deepcopy(views)
    placed: dict[str, list[int]] = {}
    for prefix, key in SECTION_TABLES:
        original = ((views.get(key) or {}).get("sections")) or []
        sections, placed[key] = _placed_sections(state[prefix], original, prefix, locale, errors)
        if sections:
            target.setdefault(key, {})["sections"] = sections
        elif key in target:
            target[key].pop("sections", None)
    if errors:
        return page(request, "studio/layout_editor.html", context, Outcome(errors=errors))
    listing = target.setdefault("list", {})
    for key in ("columns", "filters"):
        _set_names(listing, key, state[key])
    _set_names(target.setdefault("detail", {}), "related", state["related"])
    for key in ("list", "detail"):
        if key in target and not target[key]:
            target.pop(key)

    def mapper(steps: list[Any]) -> str | None:
        for prefix, key in SECTION_TABLES:
            if (steps[:2] == [key, "sections"] and len(steps) > 2 and isinstance(steps[2], int)
                    and steps[2] < len(placed[key])):
                name = steps[3] if len(steps) > 3 and steps[3] in ("fields", "visible_when") else "label_en"
                return f"{prefix}-{placed[key][steps[2]]}-{name}"
        if steps[:1] == ["list"] and len(steps) > 1 and steps[1] in ("columns", "filters"):
            return steps[1]
        if steps[:2] == ["detail", "related"]:
            return "related"
        return None
    summary = {loc: word("Change the form and list of {entity}", loc, entity=entity) for loc in ("en", "zh")}
    proposal = Proposal({("views", entity): target}, summary, str(form.get("token", "")) or None, watched_of(form))
    outcome = decide(request, proposal, str(form.get("intent", "review")), form.get("confirm") == "yes", mapper)
    if outcome.applied:
        return applied_redirect(f"/studio/views/{entity}", outcome.applied)
    return page(request, "studio/layout_editor.html", context, outcome)
