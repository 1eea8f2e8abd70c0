"""An entity's checks in the studio: GET/POST /studio/entities/{entity}/checks. Each check is a row:
its name, when it applies and what must hold (expressions over the record, checked as they are
typed), the field its message shows beside, and the message in both languages; add one, reorder,
take one out. The rest of the entity is kept as it is; Review shows the YAML the overlay gets."""
from __future__ import annotations

import copy
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from atrium.metadata.overlays.documents import render_overlay_yaml
from atrium.metadata.overlays.paths import plain
from atrium.runtime.site.change import Proposal
from atrium.translation import N_
from atrium.ui.studio.flow import Outcome, applied_redirect, decide
from atrium.ui.studio.forms import (
    NAME,
    editor_token,
    label_of,
    number_of,
    page,
    rows,
    watched_of,
    watched_text,
    yaml_mapping,
)
from atrium.ui.studio.setup import studio_of, studio_page
from atrium.ui.web.i18n import word
from atrium.ui.web.page_tools import notice
from atrium.ui.web.threads import in_thread, with_form

COLUMNS = ("name", "when", "assert", "field", "message_en", "message_zh", "position", "remove", "keep")
SHOWN = ("name", "when", "assert", "field", "message")
NEW_ROWS = 1


def _is_label(value: Any) -> bool:
    return isinstance(value, dict) and set(value) <= {"en", "zh"}


def _state(checks: list[dict]) -> list[dict[str, str]]:
    """Each check → its row; keys the row cannot show ride along as YAML (`keep`)."""
    result = []
    for index, check in enumerate(checks):
        message = check.get("message")
        kept = {key: value for key, value in check.items()
                if key not in SHOWN or (key == "message" and not _is_label(value))
                or (key in ("when", "assert", "field", "name") and not isinstance(value, str))}
        texts: dict[str, str] = message if isinstance(message, dict) and _is_label(message) else {}
        result.append({"name": str(check.get("name", "")), "when": str(check.get("when") or ""),
                       "assert": str(check.get("assert") or ""), "field": str(check.get("field") or ""),
                       "message_en": texts.get("en", ""), "message_zh": texts.get("zh", ""),
                       "position": str((index + 1) * 10), "remove": "",
                       "keep": render_overlay_yaml(kept) if kept else ""})
    return result


def _entity(request: Request, entity: str) -> dict | None:
    found = studio_of(request).changes.documents().get(("entity", entity))
    return plain(found.data) if found is not None else None


def _context(request: Request, entity: str, state: list[dict], token: str = "") -> dict[str, Any]:
    locale = request.state.locale
    blueprint = request.app.state.site.blueprint
    model = blueprint.entities[entity]
    blank = [{**{column: "" for column in COLUMNS}, "position": str((len(state) + n + 1) * 10), "new": True}
             for n in range(NEW_ROWS)]
    keys = [("entity", entity)]
    plural = model.plural.text(locale, blueprint.default_locale)
    return {"heading": word("Checks", locale) + f" · {plural}", "entity": entity,
            "checks": [row for row in state if row["name"].strip() or row["assert"].strip()] + blank,
            "fields": sorted(model.fields), "token": token or editor_token(request, keys),
            "watched": watched_text(keys), "confirm": False,
            "crumbs": [("/studio", word("Studio", locale)), (f"/studio/entities/{entity}", plural)]}


@studio_page
@in_thread
def checks_page(request: Request) -> Response:
    entity = request.path_params["entity"]
    document = _entity(request, entity)
    if document is None or entity not in request.app.state.site.blueprint.entities:
        return notice(request, "not_found", 404)
    return page(request, "studio/checks.html", _context(request, entity, _state(document.get("checks") or [])))


def build_checks(state: list[dict[str, str]]) -> tuple[list[dict], list[int], dict[str, list[str]]]:
    """(the checks in their sequence, the form row of each, errors by input)."""
    errors: dict[str, list[str]] = {}
    kept = []
    for index, row in enumerate(state):
        if row["remove"] == "yes" or not (row["name"].strip() or row["assert"].strip()):
            continue
        try:
            position = number_of(row["position"]) or 0
        except ValueError:
            errors.setdefault(f"check-{index}-position", []).append(N_("Not a number"))
            position = 0
        kept.append((position, index, row))
    kept.sort(key=lambda item: (item[0], item[1]))
    checks, placed = [], []
    for _, index, row in kept:
        name = row["name"].strip()
        if not NAME.match(name):
            errors.setdefault(f"check-{index}-name", []).append(
                N_("Use lower-case letters, digits and _ (starting with a letter)"))
        check: dict[str, Any] = {"name": name}
        for key in ("when", "assert", "field"):
            if row[key].strip():
                check[key] = row[key].strip()
        if (message := label_of({"label_en": row["message_en"], "label_zh": row["message_zh"]})) is not None:
            check["message"] = message
        try:
            for key, value in yaml_mapping(row["keep"]).items():
                check.setdefault(key, value)
        except ValueError:
            errors.setdefault(f"check-{index}-name", []).append(N_("Not a value YAML can read"))
        checks.append(check)
        placed.append(index)
    return checks, placed, errors


@studio_page
@with_form
def save_checks(request: Request, form: FormData) -> Response:
    entity = request.path_params["entity"]
    document = _entity(request, entity)
    if document is None or entity not in request.app.state.site.blueprint.entities:
        return notice(request, "not_found", 404)
    locale = request.state.locale
    state = rows(form, "check", COLUMNS)
    checks, placed, found = build_checks(state)
    context = _context(request, entity, state, str(form.get("token", "")))
    context["confirm"] = form.get("confirm") == "yes"
    if found:
        errors = {key: [word(text, locale) for text in texts] for key, texts in found.items()}
        return page(request, "studio/checks.html", context, Outcome(errors=errors))
    target = copy.deepcopy(document)
    if checks:
        target["checks"] = checks
    else:
        target.pop("checks", None)

    def mapper(steps: list[Any]) -> str | None:
        if len(steps) >= 2 and steps[0] == "checks" and isinstance(steps[1], int) and steps[1] < len(placed):
            key = steps[2] if len(steps) > 2 and steps[2] in ("name", "when", "assert", "field") else (
                "message_en" if len(steps) > 2 and steps[2] == "message" else "assert")
            return f"check-{placed[steps[1]]}-{key}"
        return None
    summary = {loc: word("Change the checks of {entity}", loc, entity=entity) for loc in ("en", "zh")}
    proposal = Proposal({("entity", entity): target}, summary, str(form.get("token", "")) or None,
                        watched_of(form) or (("entity", entity),))
    outcome = decide(request, proposal, str(form.get("intent", "review")), form.get("confirm") == "yes", mapper)
    if outcome.applied:
        return applied_redirect(f"/studio/entities/{entity}/checks", outcome.applied)
    return page(request, "studio/checks.html", context, outcome)
