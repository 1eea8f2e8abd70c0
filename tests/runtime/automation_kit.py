"""A small blueprint (account ← deal ← chore, a deal pipeline) with automations written per test,
a clock the test moves, and a migrated site with a few users and two teams.

    site = automation_site(tmp_path, database_url, clock, {"rule": {...automation...}})
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import sqlalchemy as sa
import yaml
from blueprint_factory import write_blueprint

from atrium.metadata import load_blueprint
from atrium.runtime.access.users import add_team, add_user, set_team_manager
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.schema.migrations import migrate
from atrium.runtime.site.site import Site

UTC = dt.timezone.utc
START = dt.datetime(2026, 3, 10, 9, 0, tzinfo=UTC)  # a Tuesday; 17:00 in Shanghai

ENTITIES: dict[str, Any] = {
    "account": {"owner": "owner", "fields": {
        "name": {"type": "text", "required": True},
        "owner": {"type": "user"},
        "region": {"type": "select", "options": ["east", "west", "north"]},
        "tier": {"type": "select", "options": ["gold", "silver", "bronze"], "default": "'bronze'"},
        "last_touch_at": {"type": "datetime"},
        "score": {"type": "integer", "min": 0},
        "note": {"type": "text"},
    }},
    "deal": {"owner": "owner", "fields": {
        "title": {"type": "text", "required": True},
        "account": {"type": "reference", "to": "account", "on_delete": "cascade"},
        "owner": {"type": "user", "default": "current_user()"},
        "amount": {"type": "money", "min": 0},
        "stage": {"type": "stage", "pipeline": "deal"},
        "probability": {"type": "percent", "formula": "stage_probability(stage)"},
        "learned": {"type": "percent", "formula": "stage_probability(stage, learned=True)"},
        "lost_reason": {"type": "select", "options": ["price", "timing"]},
    }},
    "chore": {"owner": "owner", "fields": {
        "title": {"type": "text", "required": True, "max_length": 40},
        "deal": {"type": "reference", "to": "deal", "on_delete": "cascade"},
        "owner": {"type": "user"},
        "due": {"type": "date"},
    }},
}
PIPELINES = {"deal": {"entity": "deal", "field": "stage", "transitions": "any", "stall_after_days": 7,
                      "learned_probability": {"window_days": 365, "min_samples": 2},
                      "stages": [{"name": "new", "probability": 10},
                                 {"name": "qualified", "probability": 30},
                                 {"name": "proposal", "probability": 60},
                                 {"name": "won", "probability": 100, "outcome": "won"},
                                 {"name": "lost", "probability": 0, "outcome": "lost",
                                  "requires": ["lost_reason"]}]}}
GRANTS = {"read": "own", "create": True, "update": "own", "delete": "own"}
ROLES = {"roles": {"admin": {"label": "Admin", "all": True},
                   "manager": {"label": "Manager", "entities": {e: {**GRANTS, "read": "team", "update": "team"}
                                                                for e in ENTITIES}},
                   "rep": {"label": {"en": "Rep", "zh": "销售"}, "entities": {e: GRANTS for e in ENTITIES}}}}


class Clock:
    def __init__(self, now: dt.datetime = START):
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


def write_automations(folder: Path, automations: Mapping[str, Mapping[str, Any]]) -> None:
    target = folder / "automations"
    target.mkdir(parents=True, exist_ok=True)
    for old in target.glob("*.yaml"):
        old.unlink()
    for name, spec in automations.items():
        document = {"name": name, "label": {"en": name.replace("_", " "), "zh": name}, **spec}
        (target / f"{name}.yaml").write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False),
                                             encoding="utf-8")


def blueprint_with(folder: Path, automations: Mapping[str, Mapping[str, Any]] | None = None,
                   entities: Mapping[str, Any] | None = None, manifest: Mapping[str, Any] | None = None):
    write_blueprint(folder, entities or ENTITIES, PIPELINES, ROLES, timezone="Asia/Shanghai", **(manifest or {}))
    write_automations(folder, automations or {})
    return load_blueprint(folder)


@dataclass
class People:
    admin: Actor
    manager: Actor
    rep1: Actor
    rep2: Actor
    rep3: Actor  # team west

    def __iter__(self):
        return iter((self.admin, self.manager, self.rep1, self.rep2, self.rep3))


def automation_site(tmp_path: Path, database_url: str, clock: Clock,
                    automations: Mapping[str, Mapping[str, Any]] | None = None,
                    entities: Mapping[str, Any] | None = None,
                    manifest: Mapping[str, Any] | None = None) -> tuple[Site, People]:
    """`manifest`: more blueprint.yaml keys (e.g. `messages:`)."""
    blueprint = blueprint_with(tmp_path / "bp", automations, entities, manifest)
    site = Site.open(blueprint, database_url, clock=clock)
    migrate(site.engine, blueprint)
    with site.engine.begin() as connection:
        add_team(connection, site.tables, "east")
        add_team(connection, site.tables, "west")
        ids = {}
        for name, role, team, locale in (("admin", "admin", None, "en"), ("manager", "manager", "east", "zh"),
                                         ("rep1", "rep", "east", "en"), ("rep2", "rep", "east", "zh"),
                                         ("rep3", "rep", "west", "en")):
            ids[name] = (add_user(connection, site.tables, blueprint, name, role, team, locale=locale),
                         role, team, locale)
        set_team_manager(connection, site.tables, "east", "manager")
        teams = {row.name: row.id for row in connection.execute(
            sa.select(site.tables.system("atrium_teams")))}
    people = People(**{name: Actor(user_id=i, name=name, role=role, team_id=teams.get(team), locale=locale)
                       for name, (i, role, team, locale) in ids.items()})
    return site, people


def rows(site: Site, table: str, order: str = "id", **where: Any) -> list[dict[str, Any]]:
    found = site.tables.metadata.tables[table]
    query = sa.select(found).order_by(found.c[order])
    for key, value in where.items():
        query = query.where(found.c[key] == value)
    with site.engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(query)]


def inbox(site: Site, user: Actor) -> list[str]:
    """The user's notifications, oldest first, in their language."""
    from atrium.runtime.automation.notifications import Notifications
    with site.engine.connect() as connection:
        found = Notifications(site.tables).list_for(connection, user.user_id, limit=1000)
    return [n.text(user.locale) for n in reversed(found)]
