"""The shipped b2b_sales rules for money, contracts, tasks, leads and tickets, run as
`atrium run-scheduled --now ...` would run them: each fires when it should, not when it should
not, and a reminder is sent once."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from automation_kit import Clock, inbox, rows

from atrium.runtime.access.users import add_team, add_user, set_team_manager
from atrium.runtime.automation.scheduler import ScheduledRules
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.schema.migrations import migrate
from atrium.runtime.site.site import Site

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
DAY_ONE = dt.datetime(2026, 4, 1, 9, 0, tzinfo=SHANGHAI)  # a Wednesday
PEOPLE = (("manager", "sales_manager", "east"), ("li", "sales_rep", "east"), ("wang", "sales_rep", "east"),
          ("zhou", "sales_rep", "south"), ("finance", "finance", None), ("marketing", "marketing", None),
          ("boss", "admin", None))


@pytest.fixture
def shop(b2b, database_url):
    clock = Clock(DAY_ONE)
    site = Site.open(b2b, database_url, clock=clock)
    migrate(site.engine, b2b)
    with site.engine.begin() as connection:
        teams = {"east": add_team(connection, site.tables, "east")}
        teams["south"] = add_team(connection, site.tables, "south", parent="east")
        ids = {name: add_user(connection, site.tables, b2b, name, role, team, locale="en")
               for name, role, team in PEOPLE}
        set_team_manager(connection, site.tables, "east", "manager")
    people = {name: Actor(user_id=ids[name], name=name, role=role, team_id=teams.get(team), locale="en")
              for name, role, team in PEOPLE}
    yield site, clock, people
    site.engine.dispose()


def at(day: int, hour: int = 9, minute: int = 0, month: int = 4) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


def run(site, clock, when: dt.datetime, *rules: str) -> dict[str, int]:
    clock.now = when
    results = ScheduledRules(site).run_due(list(rules))
    print([r.describe() for r in results])
    return {r.rule: r.records for r in results if r.status == "done"}


def by(site, entity: str, key: str) -> dict:
    return {row[key]: row for row in rows(site, entity)}


# --- instalments -------------------------------------------------------------------------------

@pytest.fixture
def plan(shop):
    site, clock, people = shop
    li = people["li"]
    customer = site.records.create("customer", {"name": "Hengtong"}, li)
    plan = site.records.create("payment_plan", {"name": "Line 2", "customer": customer["id"]}, li)

    def instalment(number: int, due: str, amount: int = 100000, **values):
        return site.records.create("instalment", {"payment_plan": plan["id"], "customer": customer["id"],
                                                  "number": number, "due_on": due,
                                                  "planned_amount": amount, **values}, li)
    return instalment, customer


def test_instalments_turn_overdue_the_night_after_their_due_date_and_people_are_told_once(shop, plan):
    site, clock, people = shop
    instalment, customer = plan
    instalment(1, "2026-04-05")
    partial = instalment(2, "2026-04-05")
    paid = instalment(3, "2026-04-05")
    instalment(4, "2026-04-05", voided=True)
    instalment(5, "2026-04-20")
    for record, amount in ((partial, 30000), (paid, 100000)):
        site.records.create("receipt", {"instalment": record["id"], "customer": customer["id"], "amount": amount,
                                        "received_on": "2026-04-01"}, people["finance"])
    rules = ("mark_overdue_instalments", "count_overdue_days")
    assert run(site, clock, at(5, 1, 30), *rules) == {"mark_overdue_instalments": 0, "count_overdue_days": 0}
    assert run(site, clock, at(6, 1, 30), *rules)["mark_overdue_instalments"] == 2
    found = by(site, "instalment", "number")
    assert {n: found[n]["status"] for n in found} == {1: "overdue", 2: "overdue", 3: "done", 4: "void", 5: "pending"}
    assert found[1]["overdue_days"] == 1 and found[2]["outstanding"] == Decimal("70000.00")
    told = ["2 records for you: Mark overdue instalments"]  # one message for the night's run, linking to both
    assert sorted(inbox(site, people["li"])) == told
    assert sorted(inbox(site, people["finance"])) == told
    # the next nights: the days overdue count on, nobody is told again
    assert run(site, clock, at(7, 1, 30), *rules) == {"mark_overdue_instalments": 0, "count_overdue_days": 2}
    assert run(site, clock, at(9, 1, 30), *rules) == {"mark_overdue_instalments": 0, "count_overdue_days": 2}
    assert [by(site, "instalment", "number")[n]["overdue_days"] for n in (1, 2)] == [4, 4]
    assert len(inbox(site, people["li"])) == 1 and len(inbox(site, people["finance"])) == 1
    # the overdue report reads the stored status
    assert sorted(r["number"] for r in rows(site, "instalment") if r["status"] == "overdue") == [1, 2]


def test_an_instalment_falling_due_is_reminded_once_a_week_ahead(shop, plan):
    site, clock, people = shop
    instalment, customer = plan
    soon = instalment(1, "2026-04-10")
    instalment(2, "2026-04-10", voided=True)
    paid = instalment(3, "2026-04-10")
    site.records.create("receipt", {"instalment": paid["id"], "customer": customer["id"], "amount": 100000,
                                    "received_on": "2026-04-01"}, people["finance"])
    rule = "remind_instalments_due"
    assert run(site, clock, at(2, 8, 30), rule) == {rule: 0}  # eight days ahead
    assert run(site, clock, at(3, 8, 30), rule) == {rule: 1}  # seven days ahead
    assert inbox(site, people["li"]) == ["Instalment #1 is due on 2026-04-10: 100,000.00 to collect"]
    for day in (4, 5, 9, 10):  # still in the window, already reminded
        assert run(site, clock, at(day, 8, 30), rule) == {rule: 0}
    assert len(inbox(site, people["li"])) == 1
    # the customer asks for ten more days: the new due date gets its own reminder
    clock.now = at(10, 11)
    site.records.update("instalment", soon["id"], {"due_on": "2026-04-20"}, people["li"])
    assert run(site, clock, at(12, 8, 30), rule) == {rule: 0}
    assert run(site, clock, at(13, 8, 30), rule) == {rule: 1}
    assert inbox(site, people["li"])[-1] == "Instalment #1 is due on 2026-04-20: 100,000.00 to collect"
    assert run(site, clock, at(14, 8, 30), rule) == {rule: 0}


def test_an_instalment_entered_inside_the_window_is_reminded_the_next_morning(shop, plan):
    site, clock, people = shop
    instalment, _ = plan
    instalment(1, "2026-04-03")
    assert run(site, clock, at(2, 8, 30), "remind_instalments_due") == {"remind_instalments_due": 1}
    assert inbox(site, people["li"]) == ["Instalment #1 is due on 2026-04-03: 100,000.00 to collect"]


# --- contracts ---------------------------------------------------------------------------------

def test_effective_contracts_expire_the_day_after_they_end(shop):
    site, clock, people = shop
    li, manager = people["li"], people["manager"]
    customer = site.records.create("customer", {"name": "Ruifeng"}, li)
    signed = {"customer": customer["id"], "amount": 500000, "status": "effective", "reviewed_by": manager.user_id,
              "signed_on": "2026-01-05", "starts_on": "2026-01-10"}
    ending = site.records.create("contract", {**signed, "name": "Service 2026", "ends_on": "2026-04-30"}, li)
    site.records.create("contract", {**signed, "name": "Longer", "ends_on": "2026-06-30"}, li)
    site.records.create("contract", {"customer": customer["id"], "amount": 1, "name": "Draft",
                                     "ends_on": "2026-04-01"}, li)  # pending review: not effective
    assert run(site, clock, at(30, 7), "expire_contracts") == {"expire_contracts": 0}
    assert run(site, clock, at(1, 7, month=5), "expire_contracts") == {"expire_contracts": 1}
    assert {c["name"]: c["status"] for c in rows(site, "contract")} == {
        "Service 2026": "expired", "Longer": "effective", "Draft": "pending_review"}
    assert inbox(site, li) == [f"Contract {ending['code']} Service 2026 ended on 2026-04-30 and is now expired"]
    assert run(site, clock, at(2, 7, month=5), "expire_contracts") == {"expire_contracts": 0}
    assert len(inbox(site, li)) == 1


# --- tasks -------------------------------------------------------------------------------------

def test_ticking_a_task_off_records_when_and_taking_it_back_clears_it(shop):
    site, clock, people = shop
    li = people["li"]
    task = site.records.create("task", {"title": "Call back"}, li)
    assert task["done_at"] is None
    clock.now = at(2, 15, 20)
    done = site.records.update("task", task["id"], {"done": True}, li)
    assert done["done_at"] == at(2, 15, 20)
    clock.now = at(3, 10)
    assert site.records.update("task", task["id"], {"title": "Call back (done)"}, li)["done_at"] == at(2, 15, 20)
    assert site.records.update("task", task["id"], {"done": False}, li)["done_at"] is None
    told = site.records.update("task", task["id"], {"done": True, "done_at": at(2, 18)}, li)
    assert told["done_at"] == at(2, 18)  # a time entered with the tick is kept
    logged = site.records.create("task", {"title": "Logged call", "done": True}, li)
    assert logged["done_at"] == at(3, 10)  # created done: done when it was entered


# --- leads -------------------------------------------------------------------------------------

def test_leads_without_an_owner_go_in_turns_to_the_reps_of_their_regions_team(shop):
    site, clock, people = shop
    marketing = people["marketing"]
    ids = {name: person.user_id for name, person in people.items()}
    made = [site.records.create("lead", {"company": f"East {i}", "contact_name": "Zhang", "region": region}, marketing)
            for i, region in enumerate(("east", "east", "central", "north"))]
    assert [lead["owner"] for lead in made] == [ids["li"], ids["wang"], ids["li"], ids["wang"]]  # not the manager
    south = site.records.create("lead", {"company": "South", "contact_name": "Chen", "region": "west"}, marketing)
    assert south["owner"] == ids["zhou"]
    nowhere = site.records.create("lead", {"company": "Unknown", "contact_name": "Wu"}, marketing)
    assert nowhere["owner"] is None  # no region: it waits in the lead pool
    own = site.records.create("lead", {"company": "Own", "contact_name": "Xu", "region": "south"}, people["wang"])
    assert own["owner"] == ids["wang"]  # a rep's own lead stays theirs
    imported = site.records.create("lead", {"company": "Imported", "contact_name": "He", "region": "south"},
                                   people["boss"])
    assert imported["owner"] == ids["zhou"]
    assert inbox(site, people["li"]) == ["New lead assigned to you: East 0 (Zhang)",
                                         "New lead assigned to you: East 2 (Zhang)"]
    assert inbox(site, people["manager"]) == []


def test_every_region_maps_to_a_team_the_blueprint_and_its_demo_data_have(b2b):
    rule = b2b.automations["assign_leads_by_region"]
    assign = next(step["assign"] for step in rule["do"] if "assign" in step)
    regions = {option.value for option in b2b.entities["lead"].fields["region"].options}
    assert set(assign["map"]) == regions
    assert set(assign["map"].values()) <= {team["name"] for team in b2b.teams}
    assert set(assign["map"].values()) <= {team["name"] for team in b2b.seed.data["teams"]}
    seeded_reps = {user["team"] for user in b2b.seed.data["users"] if user["role"] == assign["role"]}
    assert set(assign["map"].values()) <= seeded_reps  # every mapped team has a rep to take turns


# --- tickets -----------------------------------------------------------------------------------

def test_tickets_past_their_response_time_are_flagged_and_the_manager_told_once(shop):
    site, clock, people = shop
    li = people["li"]
    customer = site.records.create("customer", {"name": "Boyuan"}, li)

    def ticket(subject: str, priority: str, **values):
        return site.records.create("ticket", {"subject": subject, "customer": customer["id"],
                                              "priority": priority, **values}, li)
    urgent = ticket("Line down", "urgent")  # 4 hours: due 13:00
    ticket("Invoice", "normal")  # 24 hours: due tomorrow 09:00
    ticket("Answered", "urgent", status="in_progress", first_response_at=at(1, 10))
    rule = "flag_tickets_past_sla"
    assert run(site, clock, at(1, 12, 59), rule) == {rule: 0}
    assert run(site, clock, at(1, 13, 5), rule) == {rule: 1}
    flagged = by(site, "ticket", "subject")
    assert flagged["Line down"]["sla_breached_at"] == at(1, 13, 5)
    assert flagged["Line down"]["sla_result"] == "missed" and flagged["Invoice"]["sla_result"] is None
    message = f"Ticket {urgent['code']} Line down has waited past its response time (4 h) without a response"
    assert inbox(site, li) == [message] and inbox(site, people["manager"]) == [message]
    assert run(site, clock, at(1, 14, 5), rule) == {rule: 0}  # flagged already: not told again
    assert run(site, clock, at(2, 8, 59), rule) == {rule: 0}
    assert run(site, clock, at(2, 9, 0), rule) == {rule: 0}  # due at 09:00 exactly: not past yet
    assert run(site, clock, at(2, 10, 0), rule) == {rule: 1}
    assert len(inbox(site, people["manager"])) == 2
