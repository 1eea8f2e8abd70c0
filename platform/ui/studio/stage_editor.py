"""Pipeline stages in the studio: GET/POST /studio/pipelines/{name}. Add a stage, reorder them,
set each one's probability, outcome, colour and the fields a record needs to enter it; take one
out, choosing the stage its records move to (the review says how many move; without a choice a
stage that records are in is refused with their count). The choice is written as `moved_to:`
beside the stage's `remove: true`."""
from __future__ import annotations

import copy
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from atrium.metadata.overlays.paths import plain
from atrium.runtime.site.change import Proposal
from atrium.translation import N_
from atrium.ui.studio.flow import Outcome, applied_redirect, decide
from atrium.ui.studio.forms import (
    COLOURS,
    NAME,
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

COLUMNS = ("name", "label_en", "label_zh", "probability", "outcome", "requires", "color", "position", "remove",
           "moved_to", "known")
NEW_ROWS = 2
MANAGED = ("name", "label", "probability", "outcome", "requires", "color")


def _state(stages: list[dict]) -> list[dict[str, str]]:
    result = []
    for index, stage in enumerate(stages):
        label = label_texts(stage.get("label"))
        result.append({"name": stage.get("name", ""), "label_en": label["en"], "label_zh": label["zh"],
                       "probability": "" if stage.get("probability") is None else str(stage["probability"]),
                       "outcome": stage.get("outcome") or "", "requires": ", ".join(stage.get("requires") or ()),
                       "color": stage.get("color") or "", "position": str((index + 1) * 10), "remove": "",
                       "moved_to": "", "known": "yes"})
    return result


def _context(request: Request, name: str, document: dict, state: list[dict], token: str = "") -> dict[str, Any]:
    locale = request.state.locale
    blueprint = request.app.state.site.blueprint
    pipeline = blueprint.pipelines[name]
    padding = [{"name": "", "label_en": "", "label_zh": "", "probability": "", "outcome": "", "requires": "",
                "color": "", "position": str((len(state) + i + 1) * 10), "remove": "", "moved_to": "",
                "known": ""}
               for i in range(NEW_ROWS)]
    key = [("pipeline", name)]
    entity = blueprint.entities.get(pipeline.entity)
    return {"heading": word("Stages", locale) + f" · {pipeline.label.text(locale, blueprint.default_locale)}",
            "name": name, "stages": [s for s in state if s.get("known") or s.get("name")] + padding,
            "colours": COLOURS, "fields": sorted(entity.fields) if entity else [],
            "targets": [(stage["name"], label_texts(stage.get("label")).get(locale) or stage["name"])
                        for stage in document["stages"]],
            "token": token or editor_token(request, key), "watched": watched_text(key), "confirm": False,
            "crumbs": [("/studio", word("Studio", locale))]}


def _document(request: Request, name: str) -> dict | None:
    found = studio_of(request).changes.documents().get(("pipeline", name))
    return plain(found.data) if found is not None else None


@studio_page
@in_thread
def stages_page(request: Request) -> Response:
    name = request.path_params["name"]
    document = _document(request, name)
    if document is None or name not in request.app.state.site.blueprint.pipelines:
        return notice(request, "not_found", 404)
    return page(request, "studio/stages.html", _context(request, name, document, _state(document["stages"])))


def moves_of(state: list[dict], stages: list[dict]) -> dict[str, str]:
    """Removed stage → the stage its records move to, from the rows that remove a known stage and
    chose where its records go (a choice of a stage that goes too is left to the loader's check)."""
    return {row["name"].strip(): row["moved_to"] for row in state
            if row["known"] and row["remove"] == "yes" and row["moved_to"] and row["moved_to"] != row["name"].strip()}


def build_stages(original: list[dict], state: list[dict]) -> tuple[list[dict], list[int], dict[str, list[str]]]:
    """(the stages in their new sequence, form row of each, errors) from the posted rows."""
    by_name = {stage.get("name"): stage for stage in original}
    errors: dict[str, list[str]] = {}
    kept = []
    for row_index, row in enumerate(state):
        if not row["name"].strip() or row["remove"] == "yes":
            continue
        try:
            position = number_of(row["position"]) or 0
        except ValueError:
            errors.setdefault(f"stage-{row_index}-position", []).append(N_("Not a number"))
            position = 0
        kept.append((position, row_index, row))
    kept.sort(key=lambda item: (item[0], item[1]))
    stages, placed = [], []
    for _, row_index, row in kept:
        name = row["name"].strip()
        if not row["known"] and not NAME.match(name):
            errors.setdefault(f"stage-{row_index}-name", []).append("bad_name")
        stage = {key: value for key, value in copy.deepcopy(by_name.get(name, {})).items() if key not in MANAGED}
        stage = {"name": name, **stage}
        if (label := label_of(row)) is not None:
            stage["label"] = label
        try:
            if (probability := number_of(row["probability"])) is not None:
                stage["probability"] = probability
        except ValueError:
            errors.setdefault(f"stage-{row_index}-probability", []).append(N_("Not a number"))
        if row["outcome"] in ("won", "lost"):
            stage["outcome"] = row["outcome"]
        if requires := comma_list(row["requires"]):
            stage["requires"] = requires
        if row["color"]:
            stage["color"] = row["color"]
        stages.append(stage)
        placed.append(row_index)
    return stages, placed, errors


@studio_page
@with_form
def save_stages(request: Request, form: FormData) -> Response:
    name = request.path_params["name"]
    document = _document(request, name)
    if document is None:
        return notice(request, "not_found", 404)
    locale = request.state.locale
    state = rows(form, "stage", COLUMNS)
    stages, placed, found = build_stages(document["stages"], state)
    context = _context(request, name, document, state, str(form.get("token", "")))
    context["confirm"] = form.get("confirm") == "yes"
    errors = {key: [word(text, locale) for text in texts] for key, texts in found.items()}
    if errors:
        return page(request, "studio/stages.html", context, Outcome(errors=errors))
    target = copy.deepcopy(document)
    target["stages"] = stages
    if moves := moves_of(state, stages):
        target["moved"] = {**(target.get("moved") or {}), **moves}

    def mapper(steps: list[Any]) -> str | None:
        if len(steps) >= 2 and steps[0] == "stages" and isinstance(steps[1], int) and steps[1] < len(placed):
            key = steps[2] if len(steps) > 2 and steps[2] in COLUMNS else "name"
            return f"stage-{placed[steps[1]]}-{'label_en' if key == 'label' else key}"
        if len(steps) >= 2 and steps[0] == "moved":  # a choice the loader refused: beside its row
            row = next((i for i, r in enumerate(state) if r["name"].strip() == steps[1]), None)
            return None if row is None else f"stage-{row}-moved_to"
        return None
    summary = {loc: word("Change the stages of {pipeline}", loc, pipeline=name) for loc in ("en", "zh")}
    proposal = Proposal({("pipeline", name): target}, summary, str(form.get("token", "")) or None, watched_of(form))
    outcome = decide(request, proposal, str(form.get("intent", "review")), form.get("confirm") == "yes", mapper)
    if outcome.applied:
        return applied_redirect(f"/studio/pipelines/{name}", outcome.applied)
    return page(request, "studio/stages.html", context, outcome)
