"""A small world for periodic-report tests: visits with an owner and a done time, a report that
counts them, a daily report for reps, two teams each with a manager and reps; the clock is set
by the test (the site reads `world.clock["now"]`)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from blueprint_factory import write_blueprint

from atrium.metadata import load_blueprint
from atrium.runtime.access.users import add_team, add_user, team_id
from atrium.runtime.periodic.service import PeriodicReports
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.schema.migrations import migrate
from atrium.runtime.site.site import Site

UTC = dt.timezone.utc
ZONE = "Asia/Shanghai"
NOW = dt.datetime(2026, 5, 15, 4, 0, tzinfo=UTC)  # noon in Shanghai, Friday 15 May 2026

ENTITIES: dict[str, Any] = {"visit": {"owner": "owner", "title": "{subject}", "fields": {
    "subject": {"type": "text", "required": True},
    "owner": {"type": "user", "default": "current_user()"},
    "status": {"type": "select", "options": ["planned", "done"]},
    "done_at": {"type": "datetime"},
}}}
ROLES = {"roles": {
    "admin": {"label": "Admin", "all": True},
    "manager": {"label": "Manager", "entities": {"visit": {"read": "team", "create": True, "update": "team"}}},
    "rep": {"label": "Rep", "entities": {"visit": {"read": "own", "create": True, "update": "own"}}},
}}
REPORTS = {"visits_done": {"label": {"en": "Visits done", "zh": "完成拜访"}, "source": "visit",
                           "where": {"status": {"eq": "done"}},
                           "measures": {"visits": {"count": "id"}}}}
DAILY = {"name": "daily", "label": {"en": "Daily report", "zh": "日报"}, "period": "day", "roles": ["rep"],
         "due": "18:00",
         "figures": [{"name": "visits", "label": {"en": "Visits done", "zh": "完成拜访"}, "report": "visits_done",
                      "value": "visits", "date": "done_at"}],
         "texts": [{"name": "done", "label": {"en": "Done", "zh": "完成情况"}, "required": True},
                   {"name": "plan", "label": {"en": "Plan", "zh": "明日计划"}}],
         "plan": [{"name": "visits", "label": {"en": "Visits tomorrow", "zh": "明日拜访"}, "actual": "visits",
                   "pass": 3, "excellent": 5}]}


def write_periodic_blueprint(folder: Path, daily: dict[str, Any] | None = None) -> Path:
    write_blueprint(folder, ENTITIES, roles=ROLES, timezone=ZONE)
    for kind, documents in (("reports", REPORTS), ("periodic_reports", {"daily": daily or DAILY})):
        (folder / kind).mkdir(exist_ok=True)
        for name, document in documents.items():
            text = yaml.safe_dump({"name": name, **document}, allow_unicode=True, sort_keys=False)
            (folder / kind / f"{name}.yaml").write_text(text, encoding="utf-8")
    return folder


@dataclass
class World:
    site: Site
    clock: dict[str, dt.datetime]
    users: dict[str, dict[str, Any]] = field(default_factory=dict)

    def actor(self, name: str) -> Actor:
        user = self.users[name]
        return Actor(user["id"], name, user["role"], user["team_id"], "en")

    @property
    def reports(self) -> PeriodicReports:
        return PeriodicReports(self.site)

    def visit(self, owner: str, done_at: dt.datetime | None, status: str = "done") -> None:
        self.site.records.create("visit", {"subject": "v", "owner": self.users[owner]["id"], "status": status,
                                           "done_at": done_at}, self.actor(owner))


PEOPLE = (("boss", "admin", None), ("ann", "manager", "north"), ("rita", "rep", "north"),
          ("ron", "rep", "north"), ("sam", "manager", "south"), ("sue", "rep", "south"))


def build_world(folder: Path, engine: Any, url: str) -> World:
    blueprint = load_blueprint(write_periodic_blueprint(folder))
    migrate(engine, blueprint)
    clock = {"now": NOW}
    site = Site.open(blueprint, url, engine=engine, clock=lambda: clock["now"])
    world = World(site, clock)
    with engine.begin() as connection:
        add_team(connection, site.tables, "north")
        add_team(connection, site.tables, "south")
        for name, role, team in PEOPLE:
            user_id = add_user(connection, site.tables, blueprint, name, role, team, password_hash="x")
            world.users[name] = {"id": user_id, "role": role, "team_id": team_id(connection, site.tables, team)}
    return world
