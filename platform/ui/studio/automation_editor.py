"""Automations and approvals in the studio as a form: GET /studio/automations/new |
/studio/automations/{name}, POST the same path (`new` for a new rule).

The trigger, the conditions (field, operator in the admin's language, value), the `when`
expression and each action with its own inputs (whom to notify and what to say, the fields to set
and their expressions, the record to create, how to assign, the webhook, who approves and what the
decision writes) become the rule's YAML; every expression is checked as it is typed
(`/studio/check-expression`), and Review shows the YAML the site overlay gets. What the form cannot
show stays as YAML beside it (automation_state.py); the whole rule is also open in the YAML editor."""
from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from atrium.metadata.overlays.paths import plain
from atrium.runtime.site.change import Proposal
from atrium.translation import N_
from atrium.ui.studio.automation_state import (
    ACTION_WORDS,
    EVERY_WORDS,
    PAIRS,
    RECIPIENTS,
    STRATEGY_WORDS,
    TRIGGER_WORDS,
    document_from_state,
    state_from_form,
    state_of,
    with_blank_rows,
)
from atrium.ui.studio.condition_rows import OPERATOR_WORDS
from atrium.ui.studio.flow import Outcome, applied_redirect, decide
from atrium.ui.studio.forms import NAME, editor_token, page, watched_of, watched_text
from atrium.ui.studio.setup import studio_of, studio_page
from atrium.ui.web.i18n import word
from atrium.ui.web.page_tools import notice
from atrium.ui.web.threads import in_thread, with_form

# a key of an action's spec → the input of its block that holds it
SPEC_INPUTS = {"to": "to", "message": "message_en", "link": "link", "group": "group", "grouped": "grouped_en",
               "entity": "create_entity", "strategy": "strategy", "role": "role", "team": "team",
               "by_field": "by_field", "field": "owner_field", "url": "url", "secret": "secret",
               "approver": "approver", "when": "approval_when", "lock": "lock", "comment": "comment",
               "show": "show", "voided_by": "voided_by"}
RULE_INPUTS = {"name": "name", "label": "label_en", "entity": "entity", "on": "on", "every": "every", "at": "at",
               "when": "when", "enabled": "enabled"}


def _choices(words: dict[str, str], locale: str) -> list[tuple[str, str]]:
    return [(value, word(text, locale)) for value, text in words.items()]


def _context(request: Request, state: dict, new: bool, token: str = "") -> dict[str, Any]:
    locale = request.state.locale
    blueprint = request.app.state.site.blueprint
    name = state["name"] or "new"
    keys = [("automation", name)]
    entity = blueprint.entities.get(state["entity"])
    user_fields = sorted(n for n, f in entity.fields.items() if f.type == "user") if entity else []
    approvals = sorted(n for n, rule in blueprint.automations.items()
                       if any("require_approval" in step for step in rule.get("do") or ()))
    return {"heading": (word("New automation", locale) if new else word("Automation", locale) + f" · {name}"),
            "state": with_blank_rows(state), "new": new, "action": f"/studio/automations/{'new' if new else name}",
            "yaml_link": None if new else f"/studio/yaml/automation/{name}",
            "entities": [(n, e.label.text(locale, blueprint.default_locale)) for n, e in blueprint.entities.items()],
            "fields_of": {n: sorted(e.fields) for n, e in blueprint.entities.items()},
            "stages": [(p.entity, s.name, s.label.text(locale, blueprint.default_locale))
                       for p in blueprint.pipelines.values() for s in p.stages],
            "recipients": list(RECIPIENTS) + sorted(blueprint.roles) + user_fields,
            "approvers": ["manager"] + sorted(blueprint.roles) + user_fields, "approvals": approvals,
            "roles": sorted(blueprint.roles), "triggers": _choices(TRIGGER_WORDS, locale),
            "operators": _choices(OPERATOR_WORDS, locale), "kinds": _choices(ACTION_WORDS, locale),
            "every_choices": _choices(EVERY_WORDS, locale), "strategies": _choices(STRATEGY_WORDS, locale),
            "pair_groups": PAIRS,
            "token": token or editor_token(request, keys), "watched": watched_text(keys), "confirm": False,
            "crumbs": [("/studio", word("Studio", locale)), ("/studio#automations", word("Automations", locale))]}


def _starter(blueprint: Any) -> dict[str, Any]:
    entity = next(iter(blueprint.entities), "")
    return {"name": "", "entity": entity, "on": "create", "do": [{"notify": {"to": "owner"}}]}


@studio_page
@in_thread
def automation_page(request: Request) -> Response:
    name = request.path_params["name"]
    if name == "new":
        return page(request, "studio/automation.html",
                    _context(request, state_of(_starter(request.app.state.site.blueprint)), True))
    found = studio_of(request).changes.documents().get(("automation", name))
    if found is None:
        return notice(request, "not_found", 404)
    return page(request, "studio/automation.html", _context(request, state_of(plain(found.data)), False))


def input_of(state: dict, placed: list[int]):
    """The input a problem at a path of the rule belongs to."""
    conditions = [row["field"].strip() for row in state["conditions"]]

    def mapper(steps: list[Any]) -> str | None:
        if len(steps) > 3 and steps[0] == "do" and steps[2] == "require_approval" and steps[3] == "message":
            return f"act-{placed[steps[1]]}-question_en" if steps[1] < len(placed) else None
        if not steps:
            return None
        head = steps[0]
        if head == "where" and len(steps) > 1 and steps[1] in conditions:
            return f"cond-{conditions.index(steps[1])}-field"
        if head == "do" and len(steps) > 1 and isinstance(steps[1], int) and steps[1] < len(placed):
            block = f"act-{placed[steps[1]]}"
            if len(steps) > 3 and isinstance(steps[3], str):
                kind = steps[2]
                if steps[3] in PAIRS.get(kind, ()) or kind == "set":
                    group = "set" if kind == "set" else steps[3]
                    return f"{block}-{group}-field"
                if steps[3] in SPEC_INPUTS:
                    return f"{block}-{SPEC_INPUTS[steps[3]]}"
            return f"{block}-kind"
        return RULE_INPUTS.get(head, "other")
    return mapper


@studio_page
@with_form
def save_automation(request: Request, form: FormData) -> Response:
    name = request.path_params["name"]
    new = name == "new"
    locale = request.state.locale
    documents = studio_of(request).changes.documents()
    if not new and ("automation", name) not in documents:
        return notice(request, "not_found", 404)
    state = state_from_form(form)
    if not new:
        state["name"] = name  # an existing rule keeps its name (and file)
    document, found, placed = document_from_state(state)
    context = _context(request, state, new, str(form.get("token", "")))
    context["confirm"] = form.get("confirm") == "yes"
    errors = {key: [word(text, locale)] for key, text in found.items()}
    if new and (not NAME.match(state["name"]) or ("automation", state["name"]) in documents):
        errors["name"] = [(word("Use lower-case letters, digits and _ (starting with a letter)", locale)
                           if not NAME.match(state["name"]) else word("That name is already used", locale))]
    if errors:
        return page(request, "studio/automation.html", context, Outcome(errors=errors))
    what = N_("Add automation {rule}") if new else N_("Change automation {rule}")
    summary = {loc: word(what, loc, rule=state["name"]) for loc in ("en", "zh")}
    key = ("automation", state["name"])
    proposal = Proposal({key: document}, summary, None if new else (str(form.get("token", "")) or None),
                        watched_of(form) or (key,))
    outcome = decide(request, proposal, str(form.get("intent", "review")), form.get("confirm") == "yes",
                     input_of(state, placed))
    if outcome.applied:
        return applied_redirect(f"/studio/automations/{state['name']}", outcome.applied)
    return page(request, "studio/automation.html", context, outcome)
