"""The shipped b2b_sales automations, run as `atrium run-scheduled --now ...` would run them."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from atrium.runtime.evaluation import Actor
from atrium.runtime.migrations import migrate
from atrium.runtime.scheduler import ScheduledRules
from atrium.runtime.site import Site
from atrium.runtime.users import add_team, add_user
from automation_kit import Clock, inbox

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
    clock.now = dt.datetime(2026, 4, 20, 9, 0, tzinfo=SHANGHAI)
    moved = site.records.update("customer", customer["id"], {"owner": people["wang"].user_id})
    assert moved["owned_since"] == dt.date(2026, 4, 20)
    assert moved["recycle_on"] == dt.date(2026, 5, 1)  # still 30 days after the last follow-up


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


def test_task_reminders_on_the_day(shop):
    site, clock, people = shop
    li = people["li"]
    site.records.create("task", {"title": "Call back", "remind_at": "2026-04-03T15:00:00+08:00"}, li)
    site.records.create("task", {"title": "Done already", "remind_at": "2026-04-03T15:00:00+08:00",
                                 "done": True, "done_at": DAY_ONE}, li)
    assert run(site, clock, dt.datetime(2026, 4, 3, 8, 30, tzinfo=SHANGHAI), "remind_tasks") == {"remind_tasks": 1}
    assert inbox(site, li) == ["Reminder: Call back"]
