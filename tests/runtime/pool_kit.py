"""A small blueprint with a public pool and a conversion, a clock the test moves, and people.

    account  pooled (owner, lock flag `locked`), recycled after 30 idle days by an automation
    prospect converts into account (+ duplicate check on name and phone), person, optional deal
    person, deal  children of account (deal titles are unique, so a conversion can fail late)

Roles: `rep` (own + pool), `manager` (team + pool), `viewer` (own accounts, no pool), `admin`.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import sqlalchemy as sa
from automation_kit import Clock, write_automations
from blueprint_factory import write_blueprint

from atrium.metadata import load_blueprint
from atrium.runtime.access.users import add_team, add_user
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.schema.migrations import migrate
from atrium.runtime.site.site import Site

UTC = dt.timezone.utc
START = dt.datetime(2026, 3, 10, 4, 0, tzinfo=UTC)  # noon in Shanghai

POOL = {"owner_field": "owner", "max_owned_per_user": 5, "daily_claim_cap": 3, "cooldown_days": 7,
        "lock_field": "locked"}
ENTITIES: dict[str, Any] = {
    "account": {"owner": "owner", "title": "{name}", "search": ["name"], "pool": POOL, "fields": {
        "name": {"type": "text", "required": True},
        "phone": {"type": "phone"},
        "owner": {"type": "user"},
        "locked": {"type": "boolean", "default": False},
        "last_touch_at": {"type": "datetime"},
    }},
    "person": {"owner": "owner", "title": "{name}", "fields": {
        "account": {"type": "reference", "to": "account", "required": True, "on_delete": "cascade"},
        "name": {"type": "text", "required": True},
        "phone": {"type": "phone"},
        "owner": {"type": "user", "default": "current_user()"},
    }},
    "deal": {"owner": "owner", "title": "{title}", "fields": {
        "title": {"type": "text", "required": True, "unique": True},
        "account": {"type": "reference", "to": "account", "required": True, "on_delete": "cascade"},
        "amount": {"type": "money", "min": 0},
        "owner": {"type": "user", "default": "current_user()"},
    }},
    "prospect": {"owner": "owner", "title": "{company}", "fields": {
        "company": {"type": "text", "required": True},
        "person_name": {"type": "text", "required": True},
        "phone": {"type": "phone"},
        "budget": {"type": "money"},
        "status": {"type": "select", "options": ["new", "qualified", "converted"], "default": "'new'"},
        "owner": {"type": "user", "default": "current_user()"},
        "account": {"type": "reference", "to": "account", "on_delete": "set_null"},
        "person": {"type": "reference", "to": "person", "on_delete": "set_null"},
        "deal": {"type": "reference", "to": "deal", "on_delete": "set_null"},
        "converted_at": {"type": "datetime"},
    }, "convert": {
        "label": {"en": "Convert", "zh": "转化"},
        "when": "status == 'qualified'",
        "targets": [
            {"entity": "account", "link": "account", "map": {"name": "company", "phone": "phone"},
             "match": ["name", "phone"]},
            {"entity": "person", "link": "person", "map": {"name": "person_name", "phone": "phone"},
             "parent": {"account": "account"}},
            {"entity": "deal", "link": "deal", "optional": True, "map": {"title": "company", "amount": "budget"},
             "parent": {"account": "account"}},
        ],
        "set": {"status": "'converted'", "converted_at": "now()"}}},
}
OWN = {"read": "own", "create": True, "update": "own", "delete": "none"}
TEAM = {"read": "team", "create": True, "update": "team", "delete": "none"}
ROLES = {"roles": {
    "admin": {"label": "Admin", "all": True},
    "manager": {"label": "Manager", "entities": {"account": {**TEAM, "pool": True},
                                                 **{e: TEAM for e in ("person", "deal", "prospect")}}},
    "rep": {"label": {"en": "Rep", "zh": "销售"}, "entities": {"account": {**OWN, "pool": True},
                                                               **{e: OWN for e in ("person", "deal", "prospect")}}},
    "viewer": {"label": "Viewer", "entities": {e: OWN for e in ENTITIES}},
}}
RECYCLE = {"entity": "account", "on": "schedule", "every": "day",
           "where": {"owner": {"is_set": True}, "last_touch_at": {"older_than_days": 30}},
           "do": [{"set": {"owner": None}},
                  {"notify": {"to": "previous_owner",
                              "message": {"en": "{name} went back to the pool", "zh": "{name} 已退回公海"}}}]}


@dataclass
class People:
    admin: Actor
    manager: Actor
    rep1: Actor
    rep2: Actor
    viewer: Actor


def pool_site(tmp_path: Path, database_url: str, clock: Clock,
              automations: Mapping[str, Any] | None = None,
              entities: Mapping[str, Any] | None = None,
              roles: Mapping[str, Any] | None = None) -> tuple[Site, People]:
    folder = tmp_path / "bp"
    write_blueprint(folder, entities or ENTITIES, None, roles or ROLES, timezone="Asia/Shanghai")
    write_automations(folder, {"recycle": RECYCLE} if automations is None else automations)
    blueprint = load_blueprint(folder)
    site = Site.open(blueprint, database_url, clock=clock)
    migrate(site.engine, blueprint)
    people = {}
    with site.engine.begin() as connection:
        team = add_team(connection, site.tables, "east")
        for name, role, locale in (("admin", "admin", "en"), ("manager", "manager", "en"),
                                   ("rep1", "rep", "en"), ("rep2", "rep", "zh"), ("viewer", "viewer", "en")):
            user = add_user(connection, site.tables, blueprint, name, role, "east", locale=locale)
            people[name] = Actor(user_id=user, name=name, role=role, team_id=team, locale=locale)
    return site, People(**people)


def clock_at(now: dt.datetime = START) -> Clock:
    return Clock(now)


def pool_rows(site: Site, record_id: int | None = None) -> list[tuple]:
    """(action, user, previous owner, rule) per pool history row, oldest first."""
    table = site.tables.system("atrium_pool_history")
    query = sa.select(table).order_by(table.c.id)
    if record_id is not None:
        query = query.where(table.c.record_id == record_id)
    with site.engine.connect() as connection:
        return [(r.action, r.user_id, r.previous_owner, r.rule) for r in connection.execute(query)]


def count(site: Site, entity: str) -> int:
    table = site.tables[entity]
    with site.engine.connect() as connection:
        return connection.execute(sa.select(sa.func.count()).select_from(table)).scalar()
