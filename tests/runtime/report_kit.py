"""A small world for the report tests: accounts and deals through a deal pipeline, goals (targets),
five users in two teams (one a sub-team), reports written per module, and deterministic records
made through the records service at moving clock times (so the stage history has real dates).

The records are kept in plain Python too (`World.deals`), so a test can compute what a report must
say without SQL: the oracle is independent of the compiler.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import os
import random
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator, Mapping
from urllib.parse import quote
from zoneinfo import ZoneInfo

import yaml
from blueprint_factory import write_blueprint

from atrium.metadata import load_blueprint
from atrium.runtime.access.users import add_team, add_user, find_user
from atrium.runtime.records.evaluation import SYSTEM, Actor
from atrium.runtime.reports.runner import Reports
from atrium.runtime.schema.database import create_engine
from atrium.runtime.schema.migrations import migrate
from atrium.runtime.site.site import Site

UTC = dt.timezone.utc
ZONE = "Asia/Shanghai"
NOW = dt.datetime(2026, 5, 15, 4, 0, tzinfo=UTC)  # noon in Shanghai, Friday 15 May 2026 (Q2)
TODAY = NOW.astimezone(ZoneInfo(ZONE)).date()

ENTITIES: dict[str, Any] = {
    "account": {"owner": "owner", "title": "{name}", "fields": {
        "name": {"type": "text", "required": True},
        "tier": {"type": "select", "options": ["gold", "silver", "bronze"]},
        "owner": {"type": "user"},
    }},
    "deal": {"owner": "owner", "title": "{name}", "fields": {
        "name": {"type": "text", "required": True},
        "account": {"type": "reference", "to": "account", "on_delete": "set_null"},
        "owner": {"type": "user"},
        "amount": {"type": "money", "min": 0},
        "size": {"type": "integer"},
        "score": {"type": "number"},
        "rate": {"type": "percent"},
        "hot": {"type": "boolean"},
        "region": {"type": "select", "options": [{"value": "east", "label": {"en": "East", "zh": "东区"}},
                                                  {"value": "west", "label": {"en": "West", "zh": "西区"}}]},
        "tags": {"type": "multiselect", "options": ["red", "blue"]},
        "stage": {"type": "stage", "pipeline": "deal"},
        "close_on": {"type": "date"},
        "closed_at": {"type": "datetime"},
        "secret": {"type": "money"},
        "note": {"type": "text"},
    }},
    "goal": {"owner": "owner", "fields": {
        "owner": {"type": "user"},
        "metric": {"type": "select", "options": ["revenue", "deals"]},
        "month": {"type": "date"},
        "value": {"type": "money"},
        "state": {"type": "select", "options": ["draft", "approved"]},
    }},
}
STAGES = ["lead", "qualify", "propose", "won", "lost"]
PIPELINES = {"deal": {"entity": "deal", "field": "stage", "transitions": "any", "stall_after_days": 14, "stages": [
    {"name": "lead", "label": {"en": "Lead", "zh": "线索"}, "probability": 10},
    {"name": "qualify", "label": {"en": "Qualify", "zh": "确认"}, "probability": 30},
    {"name": "propose", "label": {"en": "Propose", "zh": "报价"}, "probability": 60},
    {"name": "won", "label": {"en": "Won", "zh": "赢单"}, "probability": 100, "outcome": "won"},
    {"name": "lost", "label": {"en": "Lost", "zh": "输单"}, "probability": 0, "outcome": "lost"}]}}
ROLES = {"roles": {
    "admin": {"label": "Admin", "all": True},
    "manager": {"label": "Manager", "entities": {"deal": {"read": "team"}, "account": {"read": "team"},
                                                 "goal": {"read": "team"}}},
    "rep": {"label": "Rep", "entities": {"deal": {"read": "own"}, "account": {"read": "own"},
                                         "goal": {"read": "own"}},
            "fields": {"deal.secret": "hidden"}},
    "outsider": {"label": "Outsider", "entities": {"account": {"read": "all"}}},
}}
TARGETS = {"entity": "goal", "metric": "metric", "period": "month", "value": "value", "owner": "owner",
           "where": {"state": "approved"}}
USERS = [("boss", "admin", None), ("mgr", "manager", "north"), ("rep1", "rep", "north"),
         ("rep2", "rep", "north_sub"), ("rep3", "rep", "south"), ("guest", "outsider", None)]


@dataclass
class World:
    site: Site
    reports: Reports
    users: dict[str, int]
    accounts: list[dict[str, Any]] = field(default_factory=list)
    deals: list[dict[str, Any]] = field(default_factory=list)
    moves: list[tuple[int, str, dt.datetime]] = field(default_factory=list)  # (deal id, to stage, at)

    def actor(self, name: str | None) -> Actor:
        if name is None:
            return SYSTEM
        with self.site.engine.connect() as connection:
            user = find_user(connection, self.site.tables, name)
        return Actor(user["id"], name, user["role"], user["team_id"], "en")

    def readable(self, name: str | None, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The records `name` may read, by the rules of ROLES (written out here, not asked of Access)."""
        if name in (None, "boss"):
            return list(rows)
        if name == "mgr":
            team = {self.users[n] for n in ("mgr", "rep1", "rep2")}  # north and its sub-team
            return [r for r in rows if r["owner"] in team]
        if name == "guest":
            return []
        return [r for r in rows if r["owner"] == self.users[name]]


def write_reports(folder: Path, reports: Mapping[str, Mapping[str, Any]]) -> None:
    (folder / "reports").mkdir(exist_ok=True)
    for name, spec in reports.items():
        (folder / "reports" / f"{name}.yaml").write_text(
            yaml.safe_dump({"name": name, **spec}, allow_unicode=True, sort_keys=False), encoding="utf-8")


@contextlib.contextmanager
def module_database(tmp_path_factory) -> Iterator[tuple[Any, str]]:
    """(engine, url) for one test module: SQLite, or a PostgreSQL schema of its own when
    ATRIUM_TEST_DB=postgresql (as tests/conftest.py does per test)."""
    if os.environ.get("ATRIUM_TEST_DB", "sqlite") != "postgresql":
        url = f"sqlite:///{tmp_path_factory.mktemp('reports') / 'test.db'}"
        engine = create_engine(url)
        yield engine, url
        engine.dispose()
        return
    base = os.environ["ATRIUM_TEST_PG_URL"]
    schema = "t_" + uuid.uuid4().hex[:16]
    admin = create_engine(base)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = f"{base}{'&' if '?' in base else '?'}options={quote(f'-csearch_path={schema}')}"
    engine = create_engine(url)
    try:
        yield engine, url
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


def build_world(folder: Path, engine: Any, url: str, reports: Mapping[str, Mapping[str, Any]],
                deals: int = 48, seed: int = 7) -> World:
    write_blueprint(folder, ENTITIES, PIPELINES, ROLES, timezone=ZONE, targets=TARGETS)
    write_reports(folder, reports)
    blueprint = load_blueprint(folder)
    migrate(engine, blueprint)
    clock = {"now": NOW - dt.timedelta(days=200)}
    site = Site.open(blueprint, url, engine=engine, clock=lambda: clock["now"])
    world = World(site, Reports(site), {})
    with engine.begin() as connection:
        add_team(connection, site.tables, "north")
        add_team(connection, site.tables, "north_sub", parent="north")
        add_team(connection, site.tables, "south")
        for name, role, team in USERS:
            world.users[name] = add_user(connection, site.tables, blueprint, name, role, team,
                                         display_name=name.upper())
    rng = random.Random(seed)
    owners = [world.users[n] for n in ("mgr", "rep1", "rep2", "rep3")] + [None]
    for i in range(8):
        values = {"name": f"Account {i}", "tier": ["gold", "silver", "bronze", None][i % 4], "owner": owners[i % 5]}
        world.accounts.append(site.records.create("account", values))
    starts = sorted(NOW - dt.timedelta(days=rng.randint(20, 190), hours=rng.randint(0, 23)) for _ in range(deals))
    paths = [["lead"], ["lead", "qualify"], ["lead", "propose"], ["lead", "qualify", "propose"],
             ["lead", "qualify", "propose", "won"], ["lead", "won"], ["lead", "qualify", "lost"], ["lead", "lost"],
             ["qualify"], ["lead", "qualify", "propose", "lost", "lead"]]
    for i, start in enumerate(starts):
        close_on = TODAY + dt.timedelta(days=rng.randint(-160, 120))
        # evening UTC times: the local (Shanghai) date is the next day for some of them
        closed_at = dt.datetime.combine(close_on, dt.time(rng.choice([1, 15, 16, 23]), 30), UTC)
        values = {"name": f"Deal {i:02}", "account": world.accounts[i % 8]["id"] if i % 9 else None,
                  "owner": owners[i % 5], "amount": Decimal(rng.randint(1, 500) * 100) + Decimal("0.25") * (i % 3),
                  "size": rng.choice([None, 1, 2, 5, 10]), "score": round(rng.uniform(0, 10), 3),
                  "rate": Decimal(rng.randint(0, 100)), "hot": rng.choice([True, False, None]),
                  "region": rng.choice(["east", "west", None]),
                  "tags": rng.choice([[], ["red"], ["blue"], ["red", "blue"]]),
                  "close_on": close_on if i % 7 else None, "closed_at": closed_at if i % 5 else None,
                  "secret": Decimal(rng.randint(1, 99)), "note": rng.choice(["Big deal", "small one", None, "BIG win"])}
        path = paths[i % len(paths)]
        clock["now"] = start
        record = site.records.create("deal", {**values, "stage": path[0]})
        world.moves.append((record["id"], path[0], start))
        for stage in path[1:]:
            clock["now"] += dt.timedelta(days=rng.randint(1, 15), hours=rng.randint(0, 12))
            record = site.records.update("deal", record["id"], {"stage": stage})
            world.moves.append((record["id"], stage, clock["now"]))
        world.deals.append(record)
    clock["now"] = NOW
    for name, month, value, state in (("rep1", TODAY.replace(day=1), 1000, "approved"),
                                      ("rep2", TODAY.replace(day=1), 500, "approved"),
                                      ("rep3", TODAY.replace(day=1), 700, "approved"),
                                      ("rep1", TODAY.replace(day=1), 9999, "draft"),
                                      ("rep1", TODAY.replace(day=1, month=TODAY.month - 1), 333, "approved")):
        site.records.create("goal", {"owner": world.users[name], "metric": "revenue", "month": month,
                                     "value": Decimal(value), "state": state})
    return world
