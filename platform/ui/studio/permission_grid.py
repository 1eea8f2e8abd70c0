"""The permissions grid's two ideas besides its pages: reading a role back from the grid's form
(roles × entities × read/create/update/delete with scopes, pool and studio flags, a mode per field),
and telling, role by role, what a change to roles.yaml gives and takes away in plain words.

What a role gains or loses is decided on the loaded models before and after (`Role.grant`, which
already reads `all: true` as every scope), so it holds whatever edited roles.yaml: the grid, the
YAML editor or an undo."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from atrium.metadata.model import Blueprint, Role
from atrium.ui.web.edge import MalformedInput
from atrium.ui.web.i18n import N_, word

SCOPES = ("none", "own", "team", "all")
MODES = ("", "readonly", "hidden")  # '' is the field as its entity makes it (usually editable)
SCOPED = ("read", "update", "delete")

SCOPE_WORDS = {"none": N_("nothing"), "own": N_("their own"), "team": N_("their team's"), "all": N_("all")}
MODE_WORDS = {"": N_("editable"), "readonly": N_("read-only"), "hidden": N_("hidden")}
ACTION_WORDS = {"read": N_("See"), "update": N_("Change"), "delete": N_("Delete")}
MODE_RANK = {"hidden": 0, "readonly": 1, "": 2}


NOT_A_CHOICE = N_("'{value}' is not one of: {choices}")


def role_from_form(before: Mapping[str, Any], form: Mapping[str, Any], blueprint: Blueprint,
                   locale: str) -> dict[str, Any]:
    """The role's document as the grid's form leaves it; label, description and anything the grid
    does not show are kept as they were. A role with `all` keeps its grants as written."""
    role = dict(before)
    for flag in ("all", "studio"):
        if form.get(flag) == "yes":
            role[flag] = True
        else:
            role.pop(flag, None)
    if role.get("all"):
        return role
    grants: dict[str, Any] = {}
    old_grants = before.get("entities") or {}
    for name, entity in blueprint.entities.items():
        grant: dict[str, Any] = {}
        for action in ("read", "create", "update", "delete"):
            if action == "create":
                grant["create"] = form.get(f"{name}.create") == "yes"
                continue
            scope = str(form.get(f"{name}.{action}", "none"))
            if scope not in SCOPES:
                raise MalformedInput(locale, f"{name}.{action}", NOT_A_CHOICE, value=scope, choices=", ".join(SCOPES))
            grant[action] = scope
        if entity.pool is not None and form.get(f"{name}.pool") == "yes":
            grant["pool"] = True
        closed = all(grant[a] == "none" for a in SCOPED) and not grant["create"] and not grant.get("pool")
        if not closed or name in old_grants:
            grants[name] = {**(old_grants.get(name) or {}), **grant} if name in old_grants else grant
            if "pool" in grants[name] and not grant.get("pool"):
                grants[name].pop("pool")
    if grants:
        role["entities"] = grants
    else:
        role.pop("entities", None)
    modes: dict[str, str] = {}
    old_modes = before.get("fields") or {}
    for key in old_modes:  # the order they were written in first
        entity_name, _, field_name = key.partition(".")
        if entity_name not in blueprint.entities or field_name not in blueprint.entities[entity_name].fields:
            modes[key] = old_modes[key]
    for entity_name, entity in blueprint.entities.items():
        for field_name in entity.fields:
            mode = str(form.get(f"field:{entity_name}.{field_name}", ""))
            if mode not in MODES:
                raise MalformedInput(locale, f"field:{entity_name}.{field_name}", NOT_A_CHOICE, value=mode,
                                     choices=", ".join(m for m in MODES if m))
            if mode:
                modes[f"{entity_name}.{field_name}"] = mode
    ordered = {key: modes[key] for key in old_modes if key in modes}
    ordered.update({key: mode for key, mode in modes.items() if key not in ordered})
    if ordered:
        role["fields"] = ordered
    else:
        role.pop("fields", None)
    return role


@dataclass
class RoleChange:
    """What one role gains and loses, in the reader's language."""

    role: str
    label: str
    gains: list[str] = field(default_factory=list)
    losses: list[str] = field(default_factory=list)
    added: bool = False
    removed: bool = False


def role_changes(before: Blueprint | None, after: Blueprint | None, locale: str) -> list[RoleChange]:
    """Role by role, what a change of roles.yaml gives and takes away (roles that change only)."""
    if before is None or after is None:
        return []
    olds, news = before.roles, after.roles
    found = []
    for name in list(olds) + [n for n in news if n not in olds]:
        old, new = olds.get(name), news.get(name)
        label = (new or old).label.text(locale, after.default_locale)  # type: ignore[union-attr]
        change = RoleChange(name, label, added=old is None, removed=new is None)
        _compare(change, old, new, after, locale)
        if change.gains or change.losses or change.added or change.removed:
            found.append(change)
    return found


def _compare(change: RoleChange, old: Role | None, new: Role | None, blueprint: Blueprint, locale: str) -> None:
    def tell(gained: bool, msgid: str, **params: Any) -> None:
        (change.gains if gained else change.losses).append(word(msgid, locale, **params))

    was_all, is_all = bool(old and old.all), bool(new and new.all)
    if was_all != is_all:
        tell(is_all, N_("Everything: every record of every entity, every field"))
    if bool(old and old.studio) != bool(new and new.studio):
        tell(bool(new and new.studio), N_("The studio (changing the metadata, users and permissions)"))
    for name, entity in blueprint.entities.items():
        label = entity.plural.text(locale, blueprint.default_locale)
        before = old.grant(name) if old else None
        after = new.grant(name) if new else None
        for action in SCOPED:
            was = getattr(before, action) if before else "none"
            now = getattr(after, action) if after else "none"
            if was != now:
                tell(SCOPES.index(now) > SCOPES.index(was), N_("{action} {entity}: {before} → {after}"),
                     action=word(ACTION_WORDS[action], locale), entity=label,
                     before=word(SCOPE_WORDS[was], locale), after=word(SCOPE_WORDS[now], locale))
        if bool(before and before.create) != bool(after and after.create):
            tell(bool(after and after.create), N_("Create {entity}"), entity=label)
        if entity.pool is not None and bool(before and before.pool) != bool(after and after.pool):
            tell(bool(after and after.pool), N_("See and claim the public pool of {entity}"), entity=label)
        for field_name, model in entity.fields.items():
            was_mode = _mode(old, name, field_name)
            now_mode = _mode(new, name, field_name)
            if was_mode != now_mode:
                tell(MODE_RANK[now_mode] > MODE_RANK[was_mode], N_("Field {field} of {entity}: {before} → {after}"),
                     field=model.label.text(locale, blueprint.default_locale), entity=label,
                     before=word(MODE_WORDS[was_mode], locale), after=word(MODE_WORDS[now_mode], locale))


def _mode(role: Role | None, entity: str, field_name: str) -> str:
    if role is None or role.all:
        return ""
    return role.fields.get(f"{entity}.{field_name}", "")
