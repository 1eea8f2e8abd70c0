"""Rename an entity, a pipeline's stage or a select field's option in the studio, everywhere it is used.

The entity page, the stage editor and the field page each have a small rename form; it posts here,
and the answer is the rename's own page: the new name, every use rewritten (metadata/rename_entity.py,
rename_values.py), and the review every studio change has (the migration in words, the YAML
written to the site overlay); Apply applies it through the one write path (runtime/site/change.py),
and the history's Undo renames back with the data kept (runtime/site/reversals.py).

POST /studio/entities/{entity}/rename                       new_name
POST /studio/pipelines/{name}/rename-stage                  stage, new_name
POST /studio/entities/{entity}/fields/{field}/rename-option option, new_name
"""
from __future__ import annotations

from typing import Any, Callable

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from atrium.metadata.overlays.paths import plain
from atrium.metadata.rename_entity import rename_entity
from atrium.metadata.rename_values import rename_option, rename_stage
from atrium.metadata.renames import Key, RenameRefused, Use
from atrium.runtime.site.change import Proposal
from atrium.translation import N_
from atrium.ui.studio.flow import applied_redirect, decide
from atrium.ui.studio.forms import page, watched_of
from atrium.ui.studio.setup import studio_of, studio_page
from atrium.ui.web.i18n import word
from atrium.ui.web.page_tools import notice
from atrium.ui.web.threads import with_form

Rewrite = Callable[[dict[Key, Any], str], tuple[dict[Key, Any], list[Use]]]


@studio_page
@with_form
def rename_entity_page(request: Request, form: FormData) -> Response:
    entity = request.path_params["entity"]
    if entity not in request.app.state.site.blueprint.entities:
        return notice(request, "not_found", 404)
    return _rename(request, form, {
        "heading": N_("Rename entity {entity}"), "summary": N_("Rename entity {entity} to {new}"),
        "hint": N_("Renames the table too: the records, their history, comments and files stay. References, "
                   "roll-ups, related lists, reports, dashboards, roles, automations, the demo data plan and the "
                   "menu that name the entity are renamed with it; its files are renamed in the site overlay."),
        "params": {"entity": entity}, "action": f"/studio/entities/{entity}/rename", "hidden": {},
        "back": f"/studio/entities/{entity}", "done": lambda new: f"/studio/entities/{new}"},
        lambda documents, new: rename_entity(documents, entity, new))


@studio_page
@with_form
def rename_stage_page(request: Request, form: FormData) -> Response:
    pipeline = request.path_params["name"]
    stage = str(form.get("stage", ""))
    if pipeline not in request.app.state.site.blueprint.pipelines:
        return notice(request, "not_found", 404)
    return _rename(request, form, {
        "heading": N_("Rename stage {stage} of pipeline {pipeline}"),
        "summary": N_("Rename stage {stage} of pipeline {pipeline} to {new}"),
        "hint": N_("The records in the stage get the new name, and their stage history too; its label stays. "
                   "Conditions, quoted values in expressions, stage triggers, transitions and the demo data plan "
                   "that name the stage are renamed with it."),
        "params": {"stage": stage, "pipeline": pipeline}, "action": f"/studio/pipelines/{pipeline}/rename-stage",
        "hidden": {"stage": stage}, "back": f"/studio/pipelines/{pipeline}",
        "done": lambda new: f"/studio/pipelines/{pipeline}"},
        lambda documents, new: rename_stage(documents, pipeline, stage, new))


@studio_page
@with_form
def rename_option_page(request: Request, form: FormData) -> Response:
    entity, field = request.path_params["entity"], request.path_params["field"]
    option = str(form.get("option", ""))
    model = request.app.state.site.blueprint.entities.get(entity)
    if model is None or field not in model.fields:
        return notice(request, "not_found", 404)
    return _rename(request, form, {
        "heading": N_("Rename option {option} of {entity}.{field}"),
        "summary": N_("Rename option {option} of {entity}.{field} to {new}"),
        "hint": N_("The records holding the option get the new value, and their field history too; its label "
                   "stays. Conditions, quoted values in expressions, set values and the demo data plan that name "
                   "the option are renamed with it."),
        "params": {"option": option, "entity": entity, "field": field},
        "action": f"/studio/entities/{entity}/fields/{field}/rename-option", "hidden": {"option": option},
        "back": f"/studio/entities/{entity}/fields/{field}",
        "done": lambda new: f"/studio/entities/{entity}/fields/{field}"},
        lambda documents, new: rename_option(documents, entity, field, option, new))


def _rename(request: Request, form: FormData, what: dict[str, Any], rewrite: Rewrite) -> Response:
    locale = request.state.locale
    new_name = str(form.get("new_name", "")).strip()
    context: dict[str, Any] = {
        "heading": word(what["heading"], locale, **what["params"]), "hint": word(what["hint"], locale),
        "action": what["action"], "hidden": what["hidden"], "new_name": new_name, "rename_error": "", "uses": [],
        "token": str(form.get("token", "")), "watched": str(form.get("watched", "")),
        "confirm": form.get("confirm") == "yes",
        "crumbs": [("/studio", word("Studio", locale)), (what["back"], word("Back", locale))]}
    documents = {key: plain(found.data) for key, found in studio_of(request).changes.documents().items()}
    try:
        changed, uses = rewrite(documents, new_name)
    except RenameRefused as refused:
        context["rename_error"] = refused.text(locale)
        return page(request, "studio/rename.html", context)
    summary = {loc: word(what["summary"], loc, new=new_name, **what["params"]) for loc in ("en", "zh")}
    proposal = Proposal(changed, summary, context["token"] or None, watched_of(form))
    outcome = decide(request, proposal, str(form.get("intent", "review")), context["confirm"])
    if outcome.applied:
        return applied_redirect(what["done"](new_name), outcome.applied)
    context["uses"] = [use.text() for use in uses]
    return page(request, "studio/rename.html", context, outcome)
