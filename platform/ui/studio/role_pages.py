"""Adding and removing a role from the permissions grid. "Add role" asks a name, a label in both
languages and, optionally, a role to copy the grants and field modes from; removing a role lives on
the role's own page. Both write roles.yaml through the same review as the grid (what each role gains
or loses, the YAML), and a role users still hold is not removed (runtime/access/held_roles.py says
who holds it)."""
from __future__ import annotations

import copy
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from atrium.runtime.site.change import Proposal
from atrium.ui.studio.flow import Outcome, applied_redirect, decide
from atrium.ui.studio.forms import NAME, editor_token, label_of, page, watched_of, watched_text
from atrium.ui.studio.permission_grid import role_changes
from atrium.ui.studio.permissions_page import KEY, roles_document
from atrium.ui.studio.setup import studio_page
from atrium.ui.web.i18n import word
from atrium.ui.web.page_tools import notice
from atrium.ui.web.threads import in_thread, with_form

RESERVED_NAMES = ("new",)  # /studio/permissions/new is the form


def _new_context(request: Request, state: dict[str, str], token: str = "") -> dict[str, Any]:
    blueprint, locale = request.app.state.site.blueprint, request.state.locale
    return {"heading": word("Add role", locale), "state": state, "changes": [], "confirm": False,
            "roles": [(name, role.label.text(locale, blueprint.default_locale))
                      for name, role in blueprint.roles.items()],
            "token": token or editor_token(request, [KEY]), "watched": watched_text([KEY]),
            "crumbs": [("/studio", word("Studio", locale)), ("/studio/permissions", word("Permissions", locale))]}


@studio_page
@in_thread
def new_role(request: Request) -> Response:
    state = {"name": "", "label_en": "", "label_zh": "", "copy_from": request.query_params.get("copy_from", "")}
    return page(request, "studio/permissions_new.html", _new_context(request, state))


@studio_page
@with_form
def create_role(request: Request, form: FormData) -> Response:
    locale = request.state.locale
    state = {key: str(form.get(key, "")).strip() for key in ("name", "label_en", "label_zh", "copy_from")}
    context = _new_context(request, state, str(form.get("token", "")))
    document = roles_document(request)
    roles = document.setdefault("roles", {})
    name, errors = state["name"], {}
    if name in roles or name in RESERVED_NAMES:
        errors["name"] = [word("That name is already used", locale)]
    elif not NAME.match(name):
        errors["name"] = [word("Use lower-case letters, digits and _ (starting with a letter)", locale)]
    if state["copy_from"] and state["copy_from"] not in roles:
        errors["copy_from"] = [word("There is no role '{role}' to copy", locale, role=state["copy_from"])]
    if errors:
        return page(request, "studio/permissions_new.html", context, Outcome(errors=errors))
    role = {key: copy.deepcopy(value) for key, value in (roles.get(state["copy_from"]) or {}).items()
            if key not in ("label", "description")}
    roles[name] = {"label": label_of(state) or {"en": name.replace("_", " ").capitalize(), "zh": name}, **role}
    summary = {loc: word("Add role {role}", loc, role=name) for loc in ("en", "zh")}
    proposal = Proposal({KEY: document}, summary, str(form.get("token", "")) or None, watched_of(form) or (KEY,))
    outcome: Outcome = decide(request, proposal, str(form.get("intent", "review")), form.get("confirm") == "yes",
                              lambda steps: "label_en" if steps[2:3] == ["label"] else None)
    if outcome.applied is not None:
        return applied_redirect(f"/studio/permissions/{name}", outcome.applied)
    if outcome.preview is not None:
        context["changes"] = role_changes(request.app.state.site.blueprint, outcome.preview.blueprint, locale)
    return page(request, "studio/permissions_new.html", context, outcome)


@studio_page
@with_form
def remove_role(request: Request, form: FormData) -> Response:
    """Review or apply taking the role out of roles.yaml; refused while users hold it."""
    name, locale = request.path_params["role"], request.state.locale
    document = roles_document(request)
    if name not in (document.get("roles") or {}):
        return notice(request, "not_found", 404)
    blueprint = request.app.state.site.blueprint
    label = blueprint.roles[name].label.text(locale, blueprint.default_locale) if name in blueprint.roles else name
    del document["roles"][name]
    summary = {loc: word("Remove role {role}", loc, role=name) for loc in ("en", "zh")}
    proposal = Proposal({KEY: document}, summary, str(form.get("token", "")) or None, watched_of(form) or (KEY,))
    outcome: Outcome = decide(request, proposal, str(form.get("intent", "review")), form.get("confirm") == "yes")
    if outcome.applied is not None:
        return applied_redirect("/studio/permissions", outcome.applied)
    context = {"heading": word("Remove role {role}", locale, role=label), "role_name": name, "changes": [],
               "token": str(form.get("token", "")), "watched": watched_text([KEY]), "confirm": False,
               "crumbs": [("/studio", word("Studio", locale)), ("/studio/permissions", word("Permissions", locale))]}
    if outcome.preview is not None:
        context["changes"] = role_changes(blueprint, outcome.preview.blueprint, locale)
    return page(request, "studio/permissions_remove.html", context, outcome)


routes = [  # before the grid's /studio/permissions/{role}
    Route("/studio/permissions/new", new_role, methods=["GET"], name="studio_new_role"),
    Route("/studio/permissions/new", create_role, methods=["POST"], name="studio_create_role"),
    Route("/studio/permissions/{role}/remove", remove_role, methods=["POST"], name="studio_remove_role"),
]
