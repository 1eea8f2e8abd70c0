"""b2b_sales tickets, campaigns and tasks: the SLA's response due time and result, ratings only
once resolved, the leads a campaign brought and what each cost, task completion."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from atrium.runtime.records.service import ValidationFailed

UTC = dt.timezone.utc


@pytest.fixture
def account(world):
    return world.create("customer", {"name": "远航物流有限公司"}, "rep1")


def ticket(world, account, **values):
    return world.create("ticket", {"subject": "设备异响需上门检修", "customer": account["id"],
                                   "reported_at": "2026-03-16 09:00", **values}, "rep1")


@pytest.mark.parametrize("priority, hours", [("urgent", 4), ("high", 8), ("normal", 24), ("low", 72)])
def test_the_response_is_due_within_the_priority_s_hours(world, account, priority, hours):
    record = ticket(world, account, priority=priority)
    reported = dt.datetime(2026, 3, 16, 1, 0, tzinfo=UTC)         # 09:00 in Shanghai
    assert record["response_due_at"] == reported + dt.timedelta(hours=hours)
    assert record["sla_result"] is None and record["assignee"] == world.uid("rep1")


def test_a_late_first_response_misses_the_sla(world, account):
    record = ticket(world, account, priority="urgent")
    with pytest.raises(ValidationFailed) as failure:            # work started: when was the response?
        world.update("ticket", record, {"status": "in_progress"}, "rep1")
    assert list(failure.value.errors) == ["first_response_at"]
    met = world.update("ticket", record, {"status": "in_progress", "first_response_at": "2026-03-16 12:30"}, "rep1")
    assert met["sla_result"] == "met"
    missed = world.update("ticket", met, {"first_response_at": "2026-03-16 13:30"}, "rep1")
    assert missed["sla_result"] == "missed"


def test_a_cancellation_names_the_order(world, account):
    with pytest.raises(ValidationFailed) as failure:
        ticket(world, account, kind="cancel_order")
    assert list(failure.value.errors) == ["order"]


def test_a_ticket_is_rated_once_resolved(world, account):
    record = ticket(world, account, status="in_progress", first_response_at="2026-03-16 10:00")
    with pytest.raises(ValidationFailed) as failure:
        world.update("ticket", record, {"satisfaction": 5}, "rep1")
    assert list(failure.value.errors) == ["satisfaction"]
    with pytest.raises(ValidationFailed) as failure:
        world.update("ticket", record, {"status": "resolved", "satisfaction": 6}, "rep1")
    assert {"satisfaction", "resolution", "resolved_at"} <= set(failure.value.errors)
    done = world.update("ticket", record, {"status": "resolved", "satisfaction": 4, "resolution": "已更换部件",
                                           "resolved_at": "2026-03-17 15:00"}, "rep1")
    assert done["satisfaction"] == 4
    assert world.get("customer", account)["open_tickets"] == 0


def test_a_campaign_counts_its_leads_and_their_cost(world):
    fair = world.create("campaign", {"name": "2026 上海工博会", "channel": "trade_show",
                                     "starts_on": "2026-03-01", "cost": 90000}, "marketing")
    with pytest.raises(ValidationFailed) as failure:           # a trade-show lead names its campaign
        world.create("lead", {"company": "华东精密", "contact_name": "陈静", "source": "trade_show"}, "marketing")
    assert list(failure.value.errors) == ["campaign"]
    for company in ("华东精密", "中孚仪表", "博远软件"):
        world.create("lead", {"company": company, "contact_name": "陈静", "source": "trade_show",
                              "campaign": fair["id"]}, "marketing")
    counted = world.get("campaign", fair)
    assert counted["leads"] == 3 and counted["converted_leads"] == 0
    assert counted["cost_per_lead"] == Decimal("30000.00") and counted["conversion_rate"] == 0
    with pytest.raises(ValidationFailed):
        world.create("campaign", {"name": "2026 上海工博会", "channel": "trade_show",
                                  "starts_on": "2026-09-01"}, "marketing")   # names are unique


def test_a_task_has_a_due_date_and_a_reminder(world):
    task = world.create("task", {"title": "发送报价单", "due": "2026-03-18", "remind_at": "2026-03-18 09:00"}, "rep1")
    assert task["kind"] == "todo" and task["priority"] == "normal" and not task["done"]
    assert task["remind_at"] == dt.datetime(2026, 3, 18, 1, 0, tzinfo=UTC)      # 09:00 in Shanghai
