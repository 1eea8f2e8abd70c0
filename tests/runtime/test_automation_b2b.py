"""The shipped b2b_sales automations, run as `atrium run-scheduled --now ...` would run them."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from automation_kit import Clock, inbox

from atrium.runtime.access.users import add_team, add_user
from atrium.runtime.automation.scheduler import ScheduledRules
from atrium.runtime.pool.service import PublicPool
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.schema.migrations import migrate
from atrium.runtime.site.site import Site

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
DAY_ONE = dt.datetime(2026, 4, 1, 9, 0, tzinfo=SHANGHAI)


@pytest.fixture
def shop(b2b, database_url):
    clock = Clock(DAY_ONE)
    site = Site.open(b2b, database_url, clock=clock)
    migrate(site.engine, b2b)
    with site.engine.begin() as connection:
        team = add_team(connection, site.tables, "east")
        ids = {name: add_user(connection, site.tables, b2b, name, role, "east", locale="en")
               for name, role in (("manager", "sales_manager"), ("li", "sales_rep"), ("wang", "sales_rep"))}
        teams = site.tables.system("atrium_teams")
        connection.execute(teams.update().where(teams.c.id == team).values(manager_id=ids["manager"]))
    people = {name: Actor(user_id=i, name=name, role="sales_rep", team_id=team, locale="en")
              for name, i in ids.items()}
    yield site, clock, people
    site.engine.dispose()


def run(site, clock, when: dt.datetime, *rules: str) -> dict[str, int]:
    clock.now = when
    return {r.rule: r.records for r in ScheduledRules(site).run_due(list(rules)) if r.status == "done"}


def customers(site) -> dict[str, dict]:
    table = site.tables["customer"]
    with site.engine.connect() as connection:
        return {row.name: dict(row._mapping) for row in connection.execute(sa.select(table))}


def test_recycle_follows_the_customer_recycle_date_with_a_reminder_first(shop):
    site, clock, people = shop
    li = people["li"]
    site.records.create("customer", {"name": "Quiet C", "last_followup_at": DAY_ONE}, li)
    site.records.create("customer", {"name": "Quiet A", "level": "a", "last_followup_at": DAY_ONE}, li)
    site.records.create("customer", {"name": "VIP", "level": "vip", "last_followup_at": DAY_ONE}, li)
    # 30 days without a follow-up from 1 April: due back on 1 May; reminded from 28 April
    assert run(site, clock, dt.datetime(2026, 4, 27, 9, 0, tzinfo=SHANGHAI), "remind_before_recycle") == \
        {"remind_before_recycle": 0}
    assert run(site, clock, dt.datetime(2026, 4, 28, 9, 0, tzinfo=SHANGHAI), "remind_before_recycle") == \
        {"remind_before_recycle": 1}
    assert inbox(site, li) == ["Quiet C returns to the public pool on 2026-05-01 unless you follow up"]
    assert run(site, clock, dt.datetime(2026, 5, 1, 9, 0, tzinfo=SHANGHAI), "recycle_idle_customers") == \
        {"recycle_idle_customers": 0}  # due on the day: it goes the next morning
    assert run(site, clock, dt.datetime(2026, 5, 2, 9, 0, tzinfo=SHANGHAI), "recycle_idle_customers") == \
        {"recycle_idle_customers": 1}
    found = customers(site)
    assert found["Quiet C"]["owner"] is None and found["Quiet C"]["recycle_on"] is None
    assert found["Quiet A"]["owner"] == li.user_id and found["VIP"]["owner"] == li.user_id  # A: 60 days
    assert inbox(site, li)[-1] == "Quiet C returned to the public pool"
    assert run(site, clock, dt.datetime(2026, 6, 1, 9, 0, tzinfo=SHANGHAI), "recycle_idle_customers") == \
        {"recycle_idle_customers": 1}  # Quiet A after 60 days
    assert customers(site)["VIP"]["owner"] == li.user_id


def test_a_new_owner_restarts_the_recycle_clock(shop):
    site, clock, people = shop
    customer = site.records.create("customer", {"name": "Moved", "last_followup_at": DAY_ONE}, people["li"])
    assert customer["recycle_on"] == dt.date(2026, 5, 1)
    clock.now = dt.datetime(2026, 4, 20, 9, 0, tzinfo=SHANGHAI)
    moved = site.records.update("customer", customer["id"], {"owner": people["wang"].user_id})
    assert moved["owned_since"] == dt.date(2026, 4, 20)
    # the new owner gets the full 30 days, not what was left of the previous owner's
    assert moved["recycle_on"] == dt.date(2026, 5, 20)
    assert run(site, clock, dt.datetime(2026, 5, 2, 9, 0, tzinfo=SHANGHAI), "recycle_idle_customers") == \
        {"recycle_idle_customers": 0}


def test_a_customer_claimed_from_the_pool_stays_with_its_new_owner_for_the_full_period(shop):
    site, clock, people = shop
    li, wang = people["li"], people["wang"]
    site.records.create("customer", {"name": "Idle", "last_followup_at": DAY_ONE}, li)
    assert run(site, clock, dt.datetime(2026, 5, 2, 6, 30, tzinfo=SHANGHAI), "recycle_idle_customers") == \
        {"recycle_idle_customers": 1}
    idle = customers(site)["Idle"]
    assert idle["owner"] is None
    clock.now = dt.datetime(2026, 5, 2, 10, 0, tzinfo=SHANGHAI)
    claimed = PublicPool(site).claim(wang, "customer", idle["id"])
    assert claimed["owner"] == wang.user_id and claimed["owned_since"] == dt.date(2026, 5, 2)
    assert claimed["recycle_on"] == dt.date(2026, 6, 1)  # 30 days from the claim, not from 1 April
    for day in (3, 4, 31):  # the next mornings: it stays with wang
        assert run(site, clock, dt.datetime(2026, 5, day, 6, 30, tzinfo=SHANGHAI), "recycle_idle_customers") == \
            {"recycle_idle_customers": 0}
    assert run(site, clock, dt.datetime(2026, 6, 2, 6, 30, tzinfo=SHANGHAI), "recycle_idle_customers") == \
        {"recycle_idle_customers": 1}
    assert inbox(site, wang) == ["Idle returned to the public pool"]


def test_a_done_visit_counts_as_a_follow_up(shop):
    site, clock, people = shop
    li = people["li"]
    customer = site.records.create("customer", {"name": "Visited", "last_followup_at": DAY_ONE}, li)
    clock.now = dt.datetime(2026, 4, 20, 9, 0, tzinfo=SHANGHAI)
    visit = site.records.create("visit", {"customer": customer["id"], "planned_at": "2026-04-21T10:00:00+08:00"}, li)
    assert customers(site)["Visited"]["recycle_on"] == dt.date(2026, 5, 1)  # planned: not a follow-up yet
    clock.now = dt.datetime(2026, 4, 21, 12, 0, tzinfo=SHANGHAI)
    site.records.update("visit", visit["id"], {"status": "done", "visited_at": "2026-04-21T10:05:00+08:00"}, li)
    found = customers(site)["Visited"]
    assert found["last_visit_at"] is not None
    assert found["recycle_on"] == dt.date(2026, 5, 21)  # 30 days from the visit
    assert run(site, clock, dt.datetime(2026, 5, 2, 9, 0, tzinfo=SHANGHAI),
               "recycle_idle_customers", "remind_before_recycle") == \
        {"recycle_idle_customers": 0, "remind_before_recycle": 0}
    assert customers(site)["Visited"]["owner"] == li.user_id
    # the follow-up it gave stays when the visit is cancelled afterwards: the last follow-up only moves forward
    site.records.update("visit", visit["id"], {"status": "cancelled"}, li)
    assert customers(site)["Visited"]["recycle_on"] == dt.date(2026, 5, 21)
    # a cancelled visit is not a follow-up
    other = site.records.create("customer", {"name": "Cancelled", "last_followup_at": DAY_ONE}, li)
    site.records.create("visit", {"customer": other["id"], "planned_at": "2026-04-21T10:00:00+08:00",
                                  "status": "cancelled", "visited_at": "2026-04-21T10:05:00+08:00"}, li)
    assert customers(site)["Cancelled"]["last_followup_at"] == other["last_followup_at"]
    assert customers(site)["Cancelled"]["recycle_on"] == other["recycle_on"]


def test_the_recycle_warning_is_sent_once_per_recycle_date(shop):
    site, clock, people = shop
    li = people["li"]
    customer = site.records.create("customer", {"name": "Quiet", "last_followup_at": DAY_ONE}, li)
    told = "Quiet returns to the public pool on 2026-05-01 unless you follow up"
    assert run(site, clock, dt.datetime(2026, 4, 28, 8, 30, tzinfo=SHANGHAI), "remind_before_recycle") == \
        {"remind_before_recycle": 1}
    for day in (29, 30):  # still within the window: already warned
        assert run(site, clock, dt.datetime(2026, 4, day, 8, 30, tzinfo=SHANGHAI), "remind_before_recycle") == \
            {"remind_before_recycle": 0}
    assert inbox(site, li) == [told]
    # a follow-up on the last day moves the date: the new date gets its own warning
    clock.now = dt.datetime(2026, 4, 30, 16, 0, tzinfo=SHANGHAI)
    site.records.update("customer", customer["id"], {"last_followup_at": clock.now}, li)
    assert run(site, clock, dt.datetime(2026, 5, 1, 8, 30, tzinfo=SHANGHAI), "remind_before_recycle") == \
        {"remind_before_recycle": 0}
    assert run(site, clock, dt.datetime(2026, 5, 27, 8, 30, tzinfo=SHANGHAI), "remind_before_recycle") == \
        {"remind_before_recycle": 1}
    assert run(site, clock, dt.datetime(2026, 5, 28, 8, 30, tzinfo=SHANGHAI), "remind_before_recycle") == \
        {"remind_before_recycle": 0}
    assert inbox(site, li) == [told, "Quiet returns to the public pool on 2026-05-30 unless you follow up"]


def won_twice(site, person, name: str) -> dict:
    """A customer with won orders closed on 1 February and 2 March: a 29-day rhythm, so due
    again on 31 March and a churn risk from 15 April (2 March + 29 × 1.5 = 43.5, rounded to 44 days)."""
    customer = site.records.create("customer", {"name": name}, person)
    for closed in ("2026-02-01", "2026-03-02"):
        site.records.create("order", {"name": f"{name} {closed}", "customer": customer["id"], "stage": "won",
                                      "amount": 50000, "expected_close": closed,
                                      "won_on": closed}, person)
    return customer


def test_repurchase_and_churn_warnings_come_once_even_after_a_day_the_scheduler_missed(shop):
    site, clock, people = shop
    li, manager = people["li"], people["manager"]
    won_twice(site, li, "Rhythm")
    found = customers(site)["Rhythm"]
    assert (found["repurchase_on"], found["churn_risk_on"]) == (dt.date(2026, 3, 31), dt.date(2026, 4, 15))
    rules = ("remind_repurchase", "warn_churn_risk")
    # the repurchase day (31 March) passed before DAY_ONE with nothing running: told on the next morning
    assert run(site, clock, dt.datetime(2026, 4, 2, 8, 30, tzinfo=SHANGHAI), *rules) == \
        {"remind_repurchase": 1, "warn_churn_risk": 0}
    assert run(site, clock, dt.datetime(2026, 4, 3, 8, 30, tzinfo=SHANGHAI), *rules) == \
        {"remind_repurchase": 0, "warn_churn_risk": 0}
    assert inbox(site, li) == ["Rhythm usually orders again by 2026-03-31: time to get in touch"]
    # the scheduler does not run on the churn-risk day (15 April): the warning comes on the 16th, once
    assert run(site, clock, dt.datetime(2026, 4, 13, 8, 30, tzinfo=SHANGHAI), *rules) == \
        {"remind_repurchase": 0, "warn_churn_risk": 0}
    assert run(site, clock, dt.datetime(2026, 4, 16, 8, 30, tzinfo=SHANGHAI), *rules) == \
        {"remind_repurchase": 0, "warn_churn_risk": 1}
    for day in (17, 20):
        assert run(site, clock, dt.datetime(2026, 4, day, 8, 30, tzinfo=SHANGHAI), *rules) == \
            {"remind_repurchase": 0, "warn_churn_risk": 0}
    churn = "Rhythm has not ordered for 1.5 times its usual interval: churn risk"
    assert inbox(site, li)[-1] == churn and inbox(site, manager) == [churn]
    assert len(inbox(site, li)) == 2


def test_nightly_scores_and_weekly_stalled_order_nudges(shop):
    site, clock, people = shop
    li = people["li"]
    account = site.records.create("customer", {"name": "Buyer"}, li)
    site.records.create("order", {"name": "Stuck", "customer": account["id"]}, li)
    assert run(site, clock, dt.datetime(2026, 4, 2, 3, 0, tzinfo=SHANGHAI), "refresh_customer_scores") == \
        {"refresh_customer_scores": 1}
    assert customers(site)["Buyer"]["scored_on"] == dt.date(2026, 4, 2)
    assert run(site, clock, dt.datetime(2026, 4, 13, 10, 0, tzinfo=SHANGHAI), "nudge_stalled_orders") == \
        {"nudge_stalled_orders": 0}  # 12 days in its first stage
    assert run(site, clock, dt.datetime(2026, 4, 20, 10, 0, tzinfo=SHANGHAI), "nudge_stalled_orders") == \
        {"nudge_stalled_orders": 1}
    assert inbox(site, li) == ["Stuck has stayed in its stage for more than 14 days"]
    assert inbox(site, people["manager"]) == ["Stuck has stayed in its stage for more than 14 days"]


def test_task_reminders_on_the_day_once_and_after_a_missed_morning(shop):
    site, clock, people = shop
    li = people["li"]
    call = site.records.create("task", {"title": "Call back", "remind_at": "2026-04-03T15:00:00+08:00"}, li)
    site.records.create("task", {"title": "Done already", "remind_at": "2026-04-03T15:00:00+08:00",
                                 "done": True, "done_at": DAY_ONE}, li)
    site.records.create("task", {"title": "Send the offer", "remind_at": "2026-04-05T09:00:00+08:00"}, li)
    assert run(site, clock, dt.datetime(2026, 4, 2, 8, 30, tzinfo=SHANGHAI), "remind_tasks") == {"remind_tasks": 0}
    assert run(site, clock, dt.datetime(2026, 4, 3, 8, 30, tzinfo=SHANGHAI), "remind_tasks") == {"remind_tasks": 1}
    assert run(site, clock, dt.datetime(2026, 4, 4, 8, 30, tzinfo=SHANGHAI), "remind_tasks") == {"remind_tasks": 0}
    assert inbox(site, li) == ["Reminder: Call back"]
    # nothing runs on the 5th: the offer is reminded on the 6th, once
    assert run(site, clock, dt.datetime(2026, 4, 6, 8, 30, tzinfo=SHANGHAI), "remind_tasks") == {"remind_tasks": 1}
    assert run(site, clock, dt.datetime(2026, 4, 7, 8, 30, tzinfo=SHANGHAI), "remind_tasks") == {"remind_tasks": 0}
    assert inbox(site, li) == ["Reminder: Call back", "Reminder: Send the offer"]
    # a reminder moved to a later day is a reminder of its own
    site.records.update("task", call["id"], {"remind_at": "2026-04-09T10:00:00+08:00"}, li)
    assert run(site, clock, dt.datetime(2026, 4, 8, 8, 30, tzinfo=SHANGHAI), "remind_tasks") == {"remind_tasks": 0}
    assert run(site, clock, dt.datetime(2026, 4, 9, 8, 30, tzinfo=SHANGHAI), "remind_tasks") == {"remind_tasks": 1}
    assert inbox(site, li)[-1] == "Reminder: Call back"
