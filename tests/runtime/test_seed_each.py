"""`each:` in a seed plan: one record per combination (users of a role × periods × values), with
overrides; the b2b_sales plan's monthly sales targets at the default scale, read back by the
targets report and target(). Runs on SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from argon2 import PasswordHasher
from automation_kit import Clock
from blueprint_factory import write_blueprint

from atrium.metadata import BlueprintError, load_blueprint
from atrium.runtime.access import users
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.reports.runner import Reports
from atrium.runtime.schema.migrations import migrate
from atrium.runtime.seed.context import SeedPlanError
from atrium.runtime.seed.seeding import seed_demo
from atrium.runtime.site.site import Site

TODAY = dt.date(2026, 3, 15)  # a Sunday
SHANGHAI = dt.timezone(dt.timedelta(hours=8))
MONTHS = [dt.date(2025, 9, 1), dt.date(2025, 10, 1), dt.date(2025, 11, 1), dt.date(2025, 12, 1),
          dt.date(2026, 1, 1), dt.date(2026, 2, 1), dt.date(2026, 3, 1)]


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch):
    monkeypatch.setattr(users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


def table_rows(site: Site, entity: str) -> list[dict]:
    table = site.tables[entity]
    with site.engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(sa.select(table).order_by(table.c.id))]


def people(site: Site) -> dict[str, Actor]:
    table = site.tables.system("atrium_users")
    with site.engine.connect() as connection:
        return {row.name: Actor(user_id=row.id, name=row.name, role=row.role, team_id=row.team_id)
                for row in connection.execute(sa.select(table))}


# --- the shipped plan --------------------------------------------------------------------------

def test_the_default_seed_gives_each_rep_a_money_and_an_activity_target_of_each_metric_a_month(b2b, database_url):
    clock = Clock(dt.datetime(2026, 3, 15, 10, 0, tzinfo=SHANGHAI))
    site = Site.open(b2b, database_url, clock=clock)
    try:
        migrate(site.engine, b2b)
        summary = seed_demo(b2b, site.engine, seed=5, today=TODAY)  # the default scale
        assert "84 Sales targets" in summary
        who = people(site)
        name_of = {actor.user_id: name for name, actor in who.items()}
        reps = [u["name"] for u in b2b.seed.data["users"] if u["role"] == "sales_rep"]
        targets = table_rows(site, "sales_target")
        assert Counter((name_of[t["owner"]], t["month"], t["metric"]) for t in targets) == \
            Counter((rep, month, metric) for rep in reps for month in MONTHS
                    for metric in ("revenue", "collection", "visits", "opportunities"))  # exactly one each
        for target in targets:
            current = target["month"] == dt.date(2026, 3, 1)
            if current and name_of[target["owner"]] == "rep3":
                assert (target["status"], target["approved_by"]) == ("draft", None)
            else:
                assert (target["status"], target["approved_by"]) == ("approved", who["manager"].user_id)
            assert target["amount"] > 0
            created = target["created_at"].astimezone(SHANGHAI)
            assert created.date() < target["month"] or current  # declared before its month began
            assert created <= clock.now
        # what reports and dashboards read: this month's approved targets, under each viewer's scope
        amount = {(name_of[t["owner"]], t["month"]): t["amount"] for t in targets if t["metric"] == "revenue"}
        reports = Reports(site)
        march = dt.date(2026, 3, 1)
        assert reports.target(who["rep1"], "revenue", "month") == amount["rep1", march]
        assert reports.target(who["rep3"], "revenue", "month") is None  # a draft is no target yet
        assert reports.target(who["rep3"], "revenue", "last_month") == amount["rep3", dt.date(2026, 2, 1)]
        # activity targets are counts, summed the same way: the manager's team's is the reps' sum
        assert reports.target(who["rep1"], "visits", "month") == 20
        assert reports.target(who["rep1"], "opportunities", "month") == 8
        assert reports.target(who["manager"], "visits", "last_month") == 60
        assert reports.target(who["manager"], "revenue", "month") == amount["rep1", march] + amount["rep2", march]
        rows = reports.run(who["manager"], "targets_by_owner").rows
        assert {name_of[row["owner"]]: row["target"] for row in rows} == \
            {"rep1": amount["rep1", march], "rep2": amount["rep2", march]}
        # seeding again adds records, never a second target for a month
        seed_demo(b2b, site.engine, scale=5, seed=6, today=TODAY)
        assert len(table_rows(site, "sales_target")) == 84
    finally:
        site.engine.dispose()


# --- the feature on a blueprint of its own -----------------------------------------------------

ENTITIES = {
    "shift": {"owner": "worker", "fields": {
        "worker": {"type": "user", "required": True},
        "week": {"type": "date", "required": True},
        "kind": {"type": "select", "options": ["day", "night"], "required": True},
        "starts_at": {"type": "datetime"},
        "status": {"type": "select", "options": ["planned", "open", "closed"], "required": True},
        "lead": {"type": "user"},
        "note": {"type": "text"},
    }},
}
ROLES = {"roles": {"admin": {"label": "Admin", "all": True},
                   "worker": {"label": "Worker", "entities": {"shift": {"read": "own", "create": True,
                                                                        "update": "own", "delete": "none"}}},
                   "chief": {"label": "Chief", "entities": {"shift": {"read": "all", "create": True,
                                                                      "update": "all", "delete": "all"}}}}}
PLAN = {"base": "shift",
        "entities": {"shift": {
            "each": {"worker": {"role": "worker"}, "week": {"every": "week", "from": -2, "to": 1},
                     "kind": ["day", "night"]},
            "fields": {"status": {"value": "planned"}, "lead": {"value": "cho"}, "note": "sentence"},
            "overrides": [{"where": {"kind": {"in": ["night"]}, "week": {"within": "next_week"}},
                           "values": {"status": "open", "lead": None}},
                          {"where": {"worker": "ann", "week": {"within": "last_week"}},
                           "values": {"status": "closed"}}]}},
        "users": [{"name": "ann", "role": "worker"}, {"name": "cho", "role": "chief"},
                  {"name": "bo", "role": "worker"}]}


def shifts_blueprint(folder: Path, plan=None):
    write_blueprint(folder, ENTITIES, roles=ROLES, timezone="Asia/Shanghai")
    (folder / "seed.yaml").write_text(yaml.safe_dump(plan or PLAN, sort_keys=False), encoding="utf-8")
    return load_blueprint(folder)


def test_each_makes_every_combination_once_with_its_overrides(tmp_path, database_url):
    blueprint = shifts_blueprint(tmp_path / "bp")
    site = Site.open(blueprint, database_url)
    try:
        migrate(site.engine, blueprint)
        summary = seed_demo(blueprint, site.engine, scale=500, seed=3, today=TODAY)  # the scale does not count
        assert "16 " in summary
        who = {actor.user_id: name for name, actor in people(site).items()}
        shifts = table_rows(site, "shift")
        mondays = [dt.date(2026, 2, 23), dt.date(2026, 3, 2), dt.date(2026, 3, 9), dt.date(2026, 3, 16)]
        assert sorted((who[s["worker"]], s["week"], s["kind"]) for s in shifts) == \
            sorted((w, m, k) for w in ("ann", "bo") for m in mondays for k in ("day", "night"))
        status = {(who[s["worker"]], s["week"], s["kind"]): (s["status"], s["lead"] and who[s["lead"]])
                  for s in shifts}
        assert status["bo", dt.date(2026, 3, 16), "night"] == ("open", None)  # first override
        assert status["ann", dt.date(2026, 3, 2), "day"] == ("closed", "cho")  # second override (last week)
        assert status["ann", dt.date(2026, 3, 2), "night"] == ("closed", "cho")
        assert status["bo", dt.date(2026, 3, 16), "day"] == ("planned", "cho")  # the plan's fields
        assert Counter(s["status"] for s in shifts) == {"planned": 12, "open": 2, "closed": 2}
        assert all(s["note"] for s in shifts)
        seed_demo(blueprint, site.engine, scale=500, seed=4, today=TODAY)
        assert len(table_rows(site, "shift")) == 16  # nothing new to make
        seed_demo(blueprint, site.engine, scale=500, seed=4, today=TODAY + dt.timedelta(days=7))
        assert len(table_rows(site, "shift")) == 20  # a week later: next week's four
    finally:
        site.engine.dispose()


@pytest.mark.parametrize("change, message", [
    (lambda p: p["entities"]["shift"]["each"].update(wrker={"role": "worker"}), "'wrker' is not a stored field"),
    (lambda p: p["entities"]["shift"]["each"].update(kind={"role": "worker"}),
     "role: gives users, but 'kind' is a select field"),
    (lambda p: p["entities"]["shift"]["each"].update(worker={"role": "boss"}), "'boss' is not a role"),
    (lambda p: p["entities"]["shift"]["each"].update(kind={"every": "month"}),
     "every: gives dates, but 'kind' is a select field"),
    (lambda p: p["entities"]["shift"]["overrides"][0]["where"].update(status="open"),
     "'status' is not a field of each"),
    (lambda p: p["entities"]["shift"].update(count=3), "`each` gives the number of records: no count"),
    (lambda p: p["entities"]["shift"].pop("each"), "entities.shift: 'each' is a required key"),  # overrides
])
def test_each_plan_problems_are_load_errors(tmp_path, change, message):
    plan = yaml.safe_load(yaml.safe_dump(PLAN))
    change(plan)
    with pytest.raises(BlueprintError) as failure:
        shifts_blueprint(tmp_path / "bp", plan)
    assert message in str(failure.value) and "seed.yaml:" in str(failure.value)


def test_each_values_that_do_not_fit_are_seed_plan_errors(tmp_path, engine):
    plan = yaml.safe_load(yaml.safe_dump(PLAN))
    plan["entities"]["shift"]["each"]["kind"] = ["day", "dusk"]
    blueprint = shifts_blueprint(tmp_path / "bp", plan)
    migrate(engine, blueprint)
    with pytest.raises(SeedPlanError, match=r"shift.each.kind: 'dusk' is not an option"):
        seed_demo(blueprint, engine, seed=1, today=TODAY)
