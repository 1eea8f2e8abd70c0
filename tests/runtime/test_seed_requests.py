"""`request:` in a seed plan: approvals left waiting in the demo data, asked as each record's owner;
and the b2b_sales demo: the manager's queue of quotes, finance's of contracts, a quote left for a
rep to ask. Runs on SQLite and PostgreSQL."""
from __future__ import annotations

import copy
import datetime as dt

import automation_kit
import pytest
import sqlalchemy as sa
import yaml
from argon2 import PasswordHasher
from automation_kit import Clock, write_automations
from blueprint_factory import write_blueprint

from atrium.metadata import BlueprintError, load_blueprint
from atrium.runtime.access import users
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.schema.migrations import migrate
from atrium.runtime.seed.requests import how_many
from atrium.runtime.seed.seeding import seed_demo
from atrium.runtime.site.site import Site

TODAY = dt.date(2026, 3, 15)
ENTITIES = copy.deepcopy(automation_kit.ENTITIES)
ENTITIES["deal"]["fields"]["approval"] = {"type": "select", "options": ["pending", "approved", "rejected"]}
APPROVE = {"entity": "deal", "on": "request", "when": "amount > 1000",
           "do": [{"require_approval": {"approver": "manager", "pending": {"approval": "'pending'"},
                                        "approved": {"approval": "'approved'"},
                                        "message": {"en": "Approve {title}?", "zh": "批准 {title}？"}}}]}
REVIEW = {"entity": "account", "on": "create",
          "do": [{"require_approval": {"approver": "admin", "lock": ["tier"]}}]}
PLAN = {
    "base": "deal",
    "entities": {
        "account": {"count": 4, "fields": {"name": "company_name", "owner": {"choice": ["rep1"]}},
                    "request": {"rule": "review"}},
        "deal": {"fields": {"title": "product_name", "account": {"ref": "account"},
                            "owner": {"choice": ["rep1", "rep3"]}, "amount": {"range": [500, 9000]},
                            "stage": {"value": "new"}, "approval": {"value": None}},
                 "request": [{"rule": "approve", "where": {"stage": "new"}, "share": 0.5}]},
        "chore": {"count": 0},
    },
    "users": [{"name": "admin", "role": "admin"}, {"name": "manager", "role": "manager", "team": "east"},
              {"name": "rep1", "role": "rep", "team": "east"}, {"name": "rep3", "role": "rep", "team": "west"}],
    "teams": [{"name": "east", "manager": "manager"}, {"name": "west"}],
}


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch):
    monkeypatch.setattr(users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


def plan_blueprint(folder, plan=PLAN, automations=None):
    write_blueprint(folder, ENTITIES, automation_kit.PIPELINES, automation_kit.ROLES, timezone="Asia/Shanghai")
    write_automations(folder, automations or {"approve": APPROVE, "review": REVIEW})
    (folder / "seed.yaml").write_text(yaml.safe_dump(plan, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return load_blueprint(folder)


def records(site, entity):
    table = site.tables[entity]
    with site.engine.connect() as connection:
        return {row.id: dict(row._mapping) for row in connection.execute(sa.select(table))}


def who(site):
    table = site.tables.system("atrium_users")
    with site.engine.connect() as connection:
        return {row.name: Actor(user_id=row.id, name=row.name, role=row.role, team_id=row.team_id)
                for row in connection.execute(sa.select(table))}


@pytest.mark.parametrize("share, matching, asked", [(1, 7, 7), (0.5, 7, 4), (0.01, 7, 1), (0.99, 7, 6),
                                                    (0.6, 1, 1), (0.4, 1, 0), (0.5, 0, 0)])
def test_how_many_of_the_matching_records_are_asked(share, matching, asked):
    assert how_many(share, matching) == asked


def test_the_seed_leaves_approvals_waiting_as_the_owners_asked(tmp_path, database_url):
    blueprint = plan_blueprint(tmp_path / "bp")
    site = Site.open(blueprint, database_url, clock=Clock(dt.datetime(2026, 3, 15, 2, tzinfo=dt.timezone.utc)))
    migrate(site.engine, blueprint)
    summary = seed_demo(blueprint, site.engine, scale=16, seed=3, today=TODAY)
    people, deals = who(site), records(site, "deal")
    asked = site.approvals.pending_for(people["manager"].user_id)
    assert f"{len(asked)} approve approval(s) waiting" in summary and asked
    mine = [deal for deal in deals.values() if deal["owner"] == people["rep1"].user_id and deal["amount"] > 1000]
    assert 1 <= len(asked) <= len(mine) - 1  # a share: at least one is left for rep1 to ask
    for approval in asked:
        deal = deals[approval.record_id]
        assert (approval.rule, approval.requested_by, approval.approvers) == \
            ("approve", people["rep1"].user_id, (people["manager"].user_id,))
        assert deal["approval"] == "pending" and approval.message["en"] == f"Approve {deal['title']}?"
        assert deal["created_at"] <= approval.requested_at <= dt.datetime(2026, 3, 15, tzinfo=dt.timezone.utc)
        assert site.approvals.may_decide(approval, people["manager"])
    assert {deals[a.record_id]["owner"] for a in asked} == {people["rep1"].user_id}  # rep3 has no manager
    left = [d for d in deals.values() if d["approval"] is None and d["amount"] > 1000
            and d["owner"] == people["rep1"].user_id]
    assert [r.name for r in site.approvals.requestable("deal", left[0], people["rep1"])] == ["approve"]
    # a rule fired by writes is asked as well: every account waits for the admin, tier locked
    accounts = site.approvals.pending_for(people["admin"].user_id)
    reviews = [a for a in accounts if a.rule == "review"]
    assert len(reviews) == 4 and all(a.lock == ("tier",) for a in reviews)
    # seeding again asks nobody twice
    seed_demo(blueprint, site.engine, scale=16, seed=4, today=TODAY)
    with site.engine.connect() as connection:
        table = site.tables.system("atrium_approvals")
        twice = connection.execute(sa.select(table.c.record_id, table.c.rule).where(table.c.status == "pending")
                                   .group_by(table.c.record_id, table.c.rule)
                                   .having(sa.func.count() > 1)).all()
    assert twice == []


def test_a_request_names_an_approval_rule_of_its_entity(tmp_path):
    plan = copy.deepcopy(PLAN)
    plan["entities"]["deal"]["request"] = [{"rule": "review", "where": {"stge": "new"}}]
    with pytest.raises(BlueprintError) as failure:
        plan_blueprint(tmp_path / "bp", plan)
    text = str(failure.value)
    assert "seed.yaml:" in text and "entities.deal.request[0].rule: 'review' is not an approval rule of deal" in text
    assert "'stge' is not a field of deal" in text


def test_the_b2b_demo_has_approvals_waiting_and_one_left_to_ask(b2b, database_url):
    site = Site.open(b2b, database_url)
    migrate(site.engine, b2b)
    seed_demo(b2b, site.engine, seed=1, today=TODAY)  # the default scale
    people = who(site)
    waiting = site.approvals.pending_for(people["manager"].user_id)
    assert {a.rule for a in waiting} == {"approve_quote_discount", "approve_expense"}
    claims = [a for a in waiting if a.rule == "approve_expense"]  # expense claims their reps submitted
    assert all(records(site, "expense")[a.record_id]["status"] == "submitted" for a in claims)
    waiting = [a for a in waiting if a.rule == "approve_quote_discount"]
    assert len(waiting) >= 3
    quotes = records(site, "quote")
    assert all(quotes[a.record_id]["approval_status"] == "pending" for a in waiting)
    reviews = site.approvals.pending_for(people["finance"].user_id)
    contracts = records(site, "contract")
    assert {a.record_id for a in reviews} == {c["id"] for c in contracts.values() if c["status"] == "pending_review"}
    reps = [people[name] for name in ("rep1", "rep2", "rep3")]
    askable = [(rep.name, q["id"]) for q in quotes.values() for rep in reps
               if q["owner"] == rep.user_id and q["status"] == "draft"
               and site.approvals.requestable("quote", q, Actor(rep.user_id, rep.name, "sales_rep", rep.team_id))]
    assert askable  # a rep can still send a draft quote for approval in the demo
