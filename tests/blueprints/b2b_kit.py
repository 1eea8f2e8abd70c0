"""Set-up for the b2b_sales blueprint tests: a migrated database with the demo teams and users,
a records service on a clock the test moves, and actors for each demo login."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from atrium.runtime.access import users
from atrium.runtime.access.secured import SecuredRecords
from atrium.runtime.records.evaluation import SYSTEM, Actor
from atrium.runtime.records.service import RecordService
from atrium.runtime.schema.migrations import migrate
from atrium.runtime.site.site import Site

UTC = dt.timezone.utc
# 10:00 in Shanghai on 2026-03-16, a Monday: today() is 2026-03-16 in the blueprint's time zone
START = dt.datetime(2026, 3, 16, 2, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: dt.datetime):
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += dt.timedelta(**delta)


@dataclass
class World:
    service: RecordService
    clock: Clock
    actors: dict[str, Actor]
    secured: SecuredRecords  # the access-checked surface the UI and the API use

    def create(self, entity: str, values: dict, as_user: str | None = None) -> dict:
        return self.service.create(entity, values, self.actor(as_user))

    def update(self, entity: str, record: dict, values: dict, as_user: str | None = None) -> dict:
        return self.service.update(entity, record["id"], values, self.actor(as_user))

    def get(self, entity: str, record: dict | int) -> dict:
        return self.service.get(entity, record if isinstance(record, int) else record["id"])

    def actor(self, name: str | None) -> Actor:
        return SYSTEM if name is None else self.actors[name]

    def uid(self, name: str) -> int:
        return self.actors[name].user_id


def make_world(engine, blueprint) -> World:
    migrate(engine, blueprint)
    clock = Clock(START)
    site = Site.open(blueprint, str(engine.url), engine=engine, clock=clock)
    service = site.records
    actors = {}
    with engine.begin() as connection:
        users.add_team(connection, service.tables, "east", "East")
        users.add_team(connection, service.tables, "south", "South", "east")
        for name, role, team in (("admin", "admin", None), ("manager", "sales_manager", "east"),
                                 ("rep1", "sales_rep", "east"), ("rep2", "sales_rep", "east"),
                                 ("rep3", "sales_rep", "south"), ("finance", "finance", None),
                                 ("marketing", "marketing", None)):
            uid = users.add_user(connection, service.tables, blueprint, name, role, team, locale="en")
            actors[name] = Actor(user_id=uid, name=name, role=role, locale="en",
                                 team_id=users.team_id(connection, service.tables, team))
        users.set_team_manager(connection, service.tables, "east", "manager")
    return World(service, clock, actors, SecuredRecords(site))
