"""`atrium run-scheduled --now ...` on the demo data as `make run` seeds it (scale 200, seed 1,
dated DEMO_DAY), through the command's own entry point: each morning the shipped rules recycle
exactly the idle customers the recycle rule describes, remind owners of the customers due back in
the pool within three days (once per recycle date), and warn of churn from each customer's
churn-risk day on (once per churn-risk date, so a day the scheduler missed is caught up); a second
run for the same time does nothing more.

What each rule should select is worked out here from the rules as the blueprint states them
(customer.yaml, recycle_idle_customers.yaml, remind_before_recycle.yaml, warn_churn_risk.yaml),
from the customers' own fields and their won orders, not from the stored recycle_on /
churn_risk_on formulas: 30 days (A level: 60) without a follow-up or a done visit, counted from no
earlier than the day the current owner took the customer, or 90 days owned without a deal send an
owned customer back to the pool; won, VIP and locked customers stay. The churn-risk day is the last
won order's won date (won_on) plus 1.5 times the average interval between won orders (none when they
all closed on one day). The guard fields
the reminder rules write (recycle_reminded_for, churn_warned_for) say which dates were told."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from atrium.cli import main
from atrium.runtime.schema.migrations import migrate
from atrium.runtime.schema.tables import build_tables
from atrium.runtime.seed.seeding import seed_demo

B2B = Path(__file__).resolve().parents[2] / "blueprints" / "b2b_sales"
ZONE = ZoneInfo("Asia/Shanghai")  # the blueprint's time zone
DEMO_DAY = dt.date(2026, 5, 20)   # as the browser tests date the demo data
MORNING = dt.time(9, 0)           # after the 06:00 recycle and the 08:00 reminders
RECYCLE, REMIND, CHURN = "recycle_idle_customers", "remind_before_recycle", "warn_churn_risk"


@dataclass
class Customer:
    id: int
    name: str
    owner: int | None
    level: str | None
    locked: bool
    owned_since: dt.date | None
    followed_up: dt.date | None  # the day of the last follow-up, in the blueprint's time zone
    visited: dt.date | None      # the day of the last done visit, in the blueprint's time zone
    won_closes: list[dt.date]    # the days its won orders were won (won_on)
    recycle_reminded_for: dt.date | None
    churn_warned_for: dt.date | None

    def recycle_day(self) -> dt.date | None:
        """The day from which the customer is overdue for the pool (it goes the morning after)."""
        if self.owner is None or self.won_closes or self.level == "vip" or self.locked or not self.owned_since:
            return None
        idle = dt.timedelta(days=60 if self.level == "a" else 30)
        last_touch = max(d for d in (self.owned_since, self.followed_up, self.visited) if d is not None)
        return min(last_touch + idle, self.owned_since + dt.timedelta(days=90))

    def churn_day(self) -> dt.date | None:
        closes = sorted(self.won_closes)
        if len(closes) < 2:
            return None
        interval = (closes[-1] - closes[0]).days / (len(closes) - 1)
        if not interval:  # won orders all closed on one day: no rhythm to miss
            return None
        return closes[-1] + dt.timedelta(days=round(interval * 1.5))


def local_day(moment: dt.datetime | None) -> dt.date | None:
    """The day of a stored date-time in the blueprint's time zone."""
    return moment.astimezone(ZONE).date() if moment is not None else None


class Demo:
    """The seeded database, read straight from its tables."""

    def __init__(self, url: str, blueprint):
        self.url = url
        self.engine = sa.create_engine(url)
        self.tables = build_tables(blueprint)

    def customers(self) -> dict[int, Customer]:
        customer, order, visit = self.tables["customer"], self.tables["order"], self.tables["visit"]
        with self.engine.connect() as connection:
            won: dict[int, list[dt.date]] = {}
            for row in connection.execute(sa.select(order.c.customer, order.c.won_on)
                                          .where(order.c.stage == "won")):
                won.setdefault(row.customer, []).append(row.won_on)
            visited: dict[int, dt.date] = {}
            for row in connection.execute(sa.select(visit.c.customer, visit.c.visited_at)
                                          .where(visit.c.status == "done", visit.c.visited_at.is_not(None))):
                day = local_day(row.visited_at)
                visited[row.customer] = max(visited.get(row.customer, day), day)
            rows = connection.execute(sa.select(customer)).all()
        return {r.id: Customer(r.id, r.name, r.owner, r.level, bool(r.locked), r.owned_since,
                               local_day(r.last_followup_at), visited.get(r.id), won.get(r.id, []),
                               r.recycle_reminded_for, r.churn_warned_for) for r in rows}

    def told(self, rule: str) -> set[tuple[int, int]]:
        """(user, customer) of every notification the rule sent (a grouped one names its customers
        in its link, `?id=..&id=..`)."""
        table = self.tables.system("atrium_notifications")
        with self.engine.connect() as connection:
            found = connection.execute(sa.select(table.c.user_id, table.c.record_id, table.c.link)
                                       .where(table.c.rule == rule)).all()
        return {(r.user_id, r.record_id) for r in found if r.record_id is not None} | {
            (r.user_id, int(i)) for r in found if r.record_id is None and r.link
            for i in parse_qs(urlsplit(r.link).query).get("id", ())}

    def texts(self, rule: str) -> list[str]:
        table = self.tables.system("atrium_notifications")
        with self.engine.connect() as connection:
            return [r.message["en"] for r in connection.execute(sa.select(table.c.message).where(table.c.rule == rule))]

    def recycles(self) -> set[tuple[int, int, str]]:
        """(customer, previous owner, rule) of every recycle in the pool history."""
        table = self.tables.system("atrium_pool_history")
        with self.engine.connect() as connection:
            return {(r.record_id, r.previous_owner, r.rule) for r in connection.execute(
                sa.select(table).where(table.c.entity == "customer", table.c.action == "recycle"))}

    def user(self, name: str) -> int:
        users = self.tables.system("atrium_users")
        with self.engine.connect() as connection:
            return connection.execute(sa.select(users.c.id).where(users.c.name == name)).scalar_one()

    def count(self, name: str) -> int:
        with self.engine.connect() as connection:
            return connection.execute(sa.select(sa.func.count()).select_from(self.tables.system(name))).scalar_one()


@pytest.fixture
def demo(database_url, b2b):
    engine = sa.create_engine(database_url)
    migrate(engine, b2b)
    seed_demo(b2b, engine, scale=200, seed=1, today=DEMO_DAY)  # `atrium seed`'s defaults
    engine.dispose()
    found = Demo(database_url, b2b)
    yield found
    found.engine.dispose()


def run_scheduled(capsys, demo: Demo, day: dt.date) -> list[str]:
    when = dt.datetime.combine(day, MORNING).isoformat()  # no zone: the blueprint's
    assert main(["--blueprint", str(B2B), "--db", demo.url, "run-scheduled", "--now", when]) == 0
    return capsys.readouterr().out.splitlines()


def check_the_morning(capsys, demo: Demo, day: dt.date) -> dict[str, set[int]]:
    """Run the rules of `day` and check what they did against the rules as stated."""
    manager = demo.user("manager")
    before = demo.customers()
    owned = [c for c in before.values() if c.owner is not None]
    recycled = {c.id for c in owned if c.recycle_day() is not None and c.recycle_day() < day}
    reminded = {c.id for c in owned if c.id not in recycled and c.recycle_day() is not None
                and day <= c.recycle_day() <= day + dt.timedelta(days=3)
                and c.recycle_reminded_for != c.recycle_day()}
    at_risk = {c.id for c in owned if c.id not in recycled and c.churn_day() is not None
               and c.churn_day() <= day and c.churn_warned_for != c.churn_day()}
    told_before = {rule: demo.told(rule) for rule in (RECYCLE, REMIND, CHURN)}
    history_before = demo.recycles()

    out = run_scheduled(capsys, demo, day)
    assert f"{RECYCLE}: day:{day}: {len(recycled)} record(s)" in out
    assert f"{REMIND}: day:{day}: {len(reminded)} record(s)" in out
    assert f"{CHURN}: day:{day}: {len(at_risk)} record(s)" in out

    after = demo.customers()
    assert {i for i, c in after.items() if c.owner is None and before[i].owner is not None} == recycled
    assert all(after[i].owner == before[i].owner for i in before if i not in recycled)
    assert demo.recycles() - history_before == {(i, before[i].owner, RECYCLE) for i in recycled}
    assert demo.told(RECYCLE) - told_before[RECYCLE] == {(before[i].owner, i) for i in recycled}
    assert demo.told(REMIND) - told_before[REMIND] == {(before[i].owner, i) for i in reminded}
    # the owner and the owner's manager (the demo's one manager, over both teams; nobody above them)
    assert demo.told(CHURN) - told_before[CHURN] == \
        {(before[i].owner, i) for i in at_risk} | {(manager, i) for i in at_risk if before[i].owner != manager}
    return {"recycled": recycled, "reminded": reminded, "at_risk": at_risk}


def test_the_morning_rules_recycle_remind_and_warn_as_configured_and_only_once(capsys, demo):
    morning = DEMO_DAY + dt.timedelta(days=1)
    done = check_the_morning(capsys, demo, morning)
    assert done["recycled"] and done["reminded"], "the demo data has customers due back and overdue"
    customers = demo.customers()
    reminder = next(c for c in customers.values() if c.id in done["reminded"])
    assert f"{reminder.name} returns to the public pool on {reminder.recycle_day()} unless you follow up" \
        in demo.texts(REMIND)

    # the exemptions are what keep some idle customers: without them the clock alone would take them
    idle = {c.id for c in customers.values() if c.owner is not None and c.owned_since
            and min((c.followed_up or c.owned_since) + dt.timedelta(days=30),
                    c.owned_since + dt.timedelta(days=90)) < morning}
    kept = idle - done["recycled"]
    assert any(customers[i].won_closes for i in kept) and any(customers[i].level in ("a", "vip") for i in kept)
    assert any(customers[i].locked for i in kept)

    # the same time again: every rule has run for the day, nothing changes and nobody is told twice
    notes, owners = demo.count("atrium_notifications"), {i: c.owner for i, c in demo.customers().items()}
    out = run_scheduled(capsys, demo, morning)
    assert f"{RECYCLE}: day:{morning} already run" in out and all(line.endswith("already run") for line in out)
    assert demo.count("atrium_notifications") == notes
    assert {i: c.owner for i, c in demo.customers().items()} == owners

    # the first churn-risk day of a customer someone still owns: the owner and the manager are warned
    risky = min(d for c in demo.customers().values() if c.owner is not None
                and (d := c.churn_day()) is not None and d > morning)
    done = check_the_morning(capsys, demo, risky)
    assert done["at_risk"]
    warned = customers[min(done["at_risk"])]
    assert f"{warned.name} has not ordered for 1.5 times its usual interval: churn risk" in demo.texts(CHURN)
    notes = demo.count("atrium_notifications")
    assert all(line.endswith("already run") for line in run_scheduled(capsys, demo, risky))
    assert demo.count("atrium_notifications") == notes


def test_a_follow_up_early_in_the_morning_counts_on_its_own_day(world):
    """Followed up at 07:30 in Shanghai on 16 March (23:30 UTC on the 15th): 30 days from the 16th."""
    customer = world.create("customer", {"name": "Early call", "last_followup_at": "2026-03-16T07:30:00+08:00"},
                            "rep1")
    assert customer["recycle_on"] == dt.date(2026, 4, 15)
