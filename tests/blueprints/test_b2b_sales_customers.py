"""b2b_sales customers: contact health, order rhythm (repurchase and churn dates), the date a
customer returns to the pool, and RFM scores and segments - all computed from the customer's
own records."""
from __future__ import annotations

import datetime as dt

import pytest

D = dt.date


def customer(world, **values):
    return world.create("customer", {"name": "瑞丰精密机械有限公司", **values}, "rep1")


def won(world, record, close: str, amount=100000):
    """An order of the customer won on `close` (its close date and the day it was won)."""
    return world.create("order", {"name": "数控机床", "customer": record["id"], "stage": "won",
                                  "amount": amount, "expected_close": close, "won_on": close}, "rep1")


def test_fewer_than_two_contacts_is_a_health_warning(world):
    record = customer(world)
    assert world.get("customer", record)["contacts_health"] == "too_few"
    world.create("contact", {"customer": record["id"], "name": "王强"}, "rep1")
    assert world.get("customer", record)["contacts_health"] == "too_few"
    second = world.create("contact", {"customer": record["id"], "name": "李娜"}, "rep1")
    assert world.get("customer", record)["contact_count"] == 2
    assert world.get("customer", record)["contacts_health"] == "ok"
    world.service.delete("contact", second["id"], world.actor("rep1"))
    assert world.get("customer", record)["contacts_health"] == "too_few"


def test_repurchase_and_churn_dates_follow_the_customers_own_rhythm(world):
    record = customer(world)
    won(world, record, "2025-09-01")
    one = world.get("customer", record)
    assert one["is_won"] and one["won_orders"] == 1 and one["first_won_at"] == D(2025, 9, 1)
    assert one["avg_order_interval"] is None and one["churn_risk_on"] is None  # no rhythm yet
    won(world, record, "2025-11-01")
    won(world, record, "2026-01-01")   # every 61 days on average
    three = world.get("customer", record)
    assert three["last_order_at"] == D(2026, 1, 1) and three["avg_order_interval"] == 61.0
    assert three["repurchase_on"] == D(2026, 3, 3)          # 61 days after the last order
    assert three["churn_risk_on"] == D(2026, 4, 3)          # 92 days (1.5 x 61) after it
    # an open or lost order is not an order placed
    world.create("order", {"name": "备件", "customer": record["id"], "amount": 5000,
                           "expected_close": "2026-04-30"}, "rep1")
    assert world.get("customer", record)["churn_risk_on"] == D(2026, 4, 3)


def test_an_idle_customer_returns_to_the_pool_after_30_days_or_60_for_a_level(world):
    record = customer(world, owned_since="2026-03-01", last_followup_at="2026-03-10 15:00")
    assert record["recycle_on"] == D(2026, 4, 9)              # 30 days after the follow-up
    record = world.update("customer", record, {"level": "a"}, "admin")
    assert record["recycle_on"] == D(2026, 5, 9)              # A-level: 60 days
    record = world.update("customer", record, {"last_followup_at": "2026-05-20 10:00"}, "admin")
    assert record["recycle_on"] == D(2026, 5, 30)             # 90 days owned without a deal
    won(world, record, "2026-03-12")
    assert world.get("customer", record)["recycle_on"] is None   # won customers stay
    pooled = world.create("customer", {"name": "无主客户有限公司"})   # the system leaves it unowned
    assert pooled["recycle_on"] is None                           # already in the pool


@pytest.mark.parametrize("closes, amount, segment", [
    (["2026-02-20", "2025-12-01"], 400000, "important_value"),        # recent, repeat, big
    (["2026-02-20"], 800000, "important_development"),                 # recent, once, big
    (["2025-03-01", "2025-05-01"], 400000, "important_retention"),    # long ago, repeat, big
    (["2025-03-01"], 800000, "important_winback"),                     # long ago, once, big
    (["2026-02-20", "2025-12-01"], 50000, "general_value"),
    (["2026-02-20"], 50000, "general_development"),
    (["2025-03-01", "2025-05-01"], 50000, "general_retention"),
    (["2025-03-01"], 50000, "general_winback"),
])
def test_the_eight_rfm_segments(world, closes, amount, segment):
    record = customer(world, scored_on="2026-03-16")
    for close in closes:
        won(world, record, close, amount)
    assert world.get("customer", record)["rfm_segment"] == segment


def test_rfm_scores_count_to_the_scoring_day(world):
    record = customer(world, scored_on="2026-03-16")
    assert record["rfm_segment"] is None                       # never ordered: no segment
    for close in ("2025-01-10", "2025-04-10", "2025-07-10", "2025-10-10"):
        won(world, record, close, 1200000)
    scored = world.get("customer", record)
    assert scored["days_since_order"] == 157
    assert (scored["recency_score"], scored["frequency_score"], scored["monetary_score"]) == (3, 4, 5)
    later = world.update("customer", scored, {"scored_on": "2026-10-16"}, "admin")
    assert later["days_since_order"] == 371 and later["recency_score"] == 1
    assert later["rfm_segment"] == "important_retention"
