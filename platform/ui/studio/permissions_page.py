"""The permissions grid: GET /studio/permissions shows every role against every entity (what each
may see, create, change and delete, and whether it has the public pool); GET
/studio/permissions/{role} edits one role as a grid (scopes, create, pool, the `all` and `studio`
flags, and a mode per field: editable, read-only or hidden), and POST reviews or applies it like
every studio editor: roles.yaml is written to the site overlay (only what differs from the base),
the review lists what each role gains and loses in words, and the change can be undone from the
history."""
from __future__ import annotations

from dataclasses import asdict
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from atrium.metadata.model import Blueprint, EntityGrant
from atrium.metadata.overlays.paths import plain
from atrium.runtime.site.change import Proposal
from atrium.ui.studio.flow import Outcome, applied_redirect, decide
from atrium.ui.studio.forms import editor_token, page, watched_of, watched_text
from atrium.ui.studio.permission_grid import (
    MODE_WORDS,
    SCOPE_WORDS,
    SCOPES,
    role_changes,
    role_from_form,
)
from atrium.ui.studio.setup import studio_of, studio_page
from atrium.ui.web.i18n import word
from atrium.ui.web.page_tools import notice
from atrium.ui.web.templating import render
from atrium.ui.web.threads import in_thread, with_form

KEY = ("roles", "roles")


def roles_document(request: Request) -> dict[str, Any]:
    found = studio_of(request).changes.documents().get(KEY)
    return plain(found.data) if found is not None else {"roles": {}}


@studio_page
@in_thread
def permissions_page(request: Request) -> Response:
    blueprint, locale = request.app.state.site.blueprint, request.state.locale
    rows = [(name, entity, [(role, role.grant(name)) for role in blueprint.roles.values()])
            for name, entity in blueprint.entities.items()]
    return render(request, "studio/permissions.html", {
        "heading": word("Permissions", locale), "rows": rows, "roles": list(blueprint.roles.values()),
        "scope_words": SCOPE_WORDS, "applied": None, "crumbs": [("/studio", word("Studio", locale))]})


def _grid(blueprint: Blueprint, role: dict[str, Any], form: Any = None) -> list[dict[str, Any]]:
    """One row per entity: its grant and its fields' modes, from the role's document (or the form
    being reviewed)."""
    grants, modes = role.get("entities") or {}, role.get("fields") or {}
    rows = []
    for name, entity in blueprint.entities.items():
        grant = {**asdict(EntityGrant()), **(grants.get(name) or {})}
        fields = [(field_name, model, modes.get(f"{name}.{field_name}", ""), model.computed or model.readonly)
                  for field_name, model in entity.fields.items()]
        if form is not None:
            grant = {action: str(form.get(f"{name}.{action}", "none")) for action in ("read", "update", "delete")}
            grant.update(create=form.get(f"{name}.create") == "yes", pool=form.get(f"{name}.pool") == "yes")
            fields = [(f, m, str(form.get(f"field:{name}.{f}", "")), fixed) for f, m, _, fixed in fields]
        rows.append({"name": name, "entity": entity, "grant": grant, "fields": fields,
                     "restricted": sum(1 for _, _, mode, _ in fields if mode)})
    return rows


def _context(request: Request, name: str, role: dict[str, Any], token: str = "", form: Any = None) -> dict[str, Any]:
    blueprint, locale = request.app.state.site.blueprint, request.state.locale
    label = blueprint.roles[name].label.text(locale, blueprint.default_locale) if name in blueprint.roles else name
    return {"heading": word("Permissions of {role}", locale, role=label), "role_name": name, "role": role,
            "grid": _grid(blueprint, role, form), "scopes": SCOPES, "scope_words": SCOPE_WORDS,
            "mode_words": MODE_WORDS, "token": token or editor_token(request, [KEY]), "watched": watched_text([KEY]),
            "changes": [], "confirm": False, "crumbs": [("/studio", word("Studio", locale)),
                                      ("/studio/permissions", word("Permissions", locale))]}


@studio_page
@in_thread
def role_page(request: Request) -> Response:
    name = request.path_params["role"]
    role = (roles_document(request).get("roles") or {}).get(name)
    if role is None:
        return notice(request, "not_found", 404)
    return page(request, "studio/permissions_role.html", _context(request, name, role))


@studio_page
@with_form
def save_role(request: Request, form: FormData) -> Response:
    name, locale = request.path_params["role"], request.state.locale
    document = roles_document(request)
    before = (document.get("roles") or {}).get(name)
    if before is None:
        return notice(request, "not_found", 404)
    blueprint = request.app.state.site.blueprint
    role = role_from_form(before, form, blueprint, locale)  # MalformedInput (400) for a hand-made value
    document["roles"][name] = role
    label = blueprint.roles[name].label
    summary = {loc: word("Permissions of {role}", loc, role=label.text(loc, blueprint.default_locale))
               for loc in ("en", "zh")}
    proposal = Proposal({KEY: document}, summary, str(form.get("token", "")) or None, watched_of(form) or (KEY,))
    outcome: Outcome = decide(request, proposal, str(form.get("intent", "review")), form.get("confirm") == "yes")
    if outcome.applied is not None:
        return applied_redirect(f"/studio/permissions/{name}", outcome.applied)
    context = _context(request, name, role, str(form.get("token", "")), form)
    if outcome.preview is not None:
        context["changes"] = role_changes(blueprint, outcome.preview.blueprint, locale)
    context["confirm"] = form.get("confirm") == "yes"
    return page(request, "studio/permissions_role.html", context, outcome)


routes = [
    Route("/studio/permissions", permissions_page, methods=["GET"], name="studio_permissions"),
    Route("/studio/permissions/{role}", role_page, methods=["GET"], name="studio_role"),
    Route("/studio/permissions/{role}", save_role, methods=["POST"], name="studio_save_role"),
]
