"""b2b_sales public pools: reps claim customers and leads within the configured limits, a claim
restarts the ownership clock, owners are reminded three days before a customer's recycle date,
idle customers are recycled (locked ones stay), and all of it shows in the pool history."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from atrium.runtime.automation.notifications import Notifications
from atrium.runtime.automation.scheduler import ScheduledRules
from atrium.runtime.pool.service import PoolRefused, PublicPool
from atrium.runtime.site.site import Site

D = dt.date


@pytest.fixture
def site(world, engine, b2b):
    return Site.open(b2b, str(engine.url), engine=engine, clock=world.clock)


def inbox(site, user_id):
    with site.engine.connect() as connection:
        return [n.text("en") for n in Notifications(site.tables).list_for(connection, user_id, limit=100)]


def history(site):
    table = site.tables.system("atrium_pool_history")
    with site.engine.connect() as connection:
        return [(r.entity, r.action, r.previous_owner, r.rule)
                for r in connection.execute(sa.select(table).order_by(table.c.id))]


def test_a_claimed_customer_is_owned_from_today_and_its_recycle_date_moves(world, site):
    pooled = world.create("customer", {"name": "无主客户有限公司", "owned_since": "2025-12-01"})
    assert pooled["owner"] is None and pooled["recycle_on"] is None
    claimed = PublicPool(site).claim(world.actor("rep1"), "customer", pooled["id"])
    assert claimed["owner"] == world.uid("rep1")
    after = world.get("customer", pooled)
    assert after["owned_since"] == D(2026, 3, 16)  # the claim restarted the clock
    assert after["recycle_on"] == D(2026, 4, 15)  # 30 days without a follow-up from then


def test_reps_claim_leads_too_up_to_thirty_a_day(world, site):
    pool = PublicPool(site)
    leads = [world.create("lead", {"company": f"线索{i}", "contact_name": "联系人", "owner": None})
             for i in range(31)]
    for record in leads[:30]:
        pool.claim(world.actor("rep2"), "lead", record["id"])
    with pytest.raises(PoolRefused) as refused:
        pool.claim(world.actor("rep2"), "lead", leads[30]["id"])
    assert refused.value.reason == "daily_cap"
    pool.claim(world.actor("rep1"), "lead", leads[30]["id"])
    assert [h[:2] for h in history(site)][-1] == ("lead", "claim")


def test_owners_are_reminded_three_days_before_recycling(world, site):
    soon = world.create("customer", {"name": "将到期客户", "owned_since": "2026-02-15"}, "rep1")
    later = world.create("customer", {"name": "远期客户", "owned_since": "2026-03-10"}, "rep1")
    assert (soon["recycle_on"], later["recycle_on"]) == (D(2026, 3, 17), D(2026, 4, 9))
    world.clock.now = dt.datetime(2026, 3, 16, 0, 30, tzinfo=dt.timezone.utc)  # 08:30 in Shanghai
    results = {r.rule: r for r in ScheduledRules(site).run_due(["remind_before_recycle"])}
    assert results["remind_before_recycle"].records == 1
    assert inbox(site, world.uid("rep1")) == [
        "将到期客户 returns to the public pool on 2026-03-17 unless you follow up"]


def test_idle_customers_are_recycled_locked_ones_stay_and_the_history_says_so(world, site):
    old = {"owned_since": "2026-01-10", "last_followup_at": "2026-01-20 10:00"}  # rep1's since January
    idle = world.create("customer", {"name": "闲置客户", **old}, "rep1")
    kept = world.create("customer", {"name": "锁定客户", **old, "locked": True}, "rep1")
    assert kept["recycle_on"] is None  # a locked customer has no recycle date
    ScheduledRules(site).run_due(["recycle_idle_customers"])
    assert world.get("customer", idle)["owner"] is None
    assert world.get("customer", kept)["owner"] == world.uid("rep1")
    assert history(site) == [("customer", "recycle", world.uid("rep1"), "recycle_idle_customers")]
    told = inbox(site, world.uid("rep1"))
    assert len(told) == 1 and "public pool" in told[0] and "锁定客户" not in told[0]
    with pytest.raises(PoolRefused) as refused:  # seven days before rep1 may take it back
        PublicPool(site).claim(world.actor("rep1"), "customer", idle["id"])
    assert refused.value.reason == "cooldown"
    PublicPool(site).claim(world.actor("rep2"), "customer", idle["id"])


def test_a_rep_may_not_lock_a_customer_but_a_manager_may(world):
    record = world.create("customer", {"name": "重点客户"}, "rep1")
    from atrium.runtime.records.service import ValidationFailed
    with pytest.raises(ValidationFailed):
        world.secured.update(world.actor("rep1"), "customer", record["id"], {"locked": True})
    assert world.secured.update(world.actor("manager"), "customer", record["id"], {"locked": True})["locked"]


def test_a_rep_sees_the_pool_in_lists_but_reports_count_only_their_own(world, site):
    from atrium.runtime.query.lists import ListQuery
    from atrium.runtime.reports.runner import Reports
    world.create("customer", {"name": "我的客户", "level": "a"}, "rep1")
    world.create("customer", {"name": "公海客户", "level": "a"})
    rep = world.actor("rep1")
    listed = world.secured.list(rep, ListQuery("customer", sort=("name",)))
    assert sorted(r["name"] for r in listed.records) == sorted(["我的客户", "公海客户"])
    counted = Reports(site).run(rep, "customers_by_level")
    assert [(row["level"], row["customers"]) for row in counted.rows] == [("a", 1)]
    everything = Reports(site).run(world.actor("admin"), "customers_by_level")
    assert [(row["level"], row["customers"]) for row in everything.rows] == [("a", 2)]
