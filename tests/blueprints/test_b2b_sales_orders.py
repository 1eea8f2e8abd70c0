"""b2b_sales orders and visits: risk dates (no visit in 14 days, close date), loss reasons, the
check-in of a visit."""
from __future__ import annotations

import datetime as dt

import pytest

from atrium.runtime.records.service import ValidationFailed

D = dt.date


@pytest.fixture
def account(world):
    return world.create("customer", {"name": "华信自动化有限公司"}, "rep1")


def order(world, account, **values):
    return world.create("order", {"name": "MES 制造执行系统", "customer": account["id"], "amount": 380000,
                                  "expected_close": "2026-05-31", **values}, "rep1")


def visit(world, account, deal, **values):
    return world.create("visit", {"customer": account["id"], "order": deal["id"],
                                  "planned_at": "2026-03-20 10:00", **values}, "rep1")


def test_an_order_needs_a_visit_every_14_days(world, account):
    deal = order(world, account, opened_on="2026-03-02")
    assert deal["visit_due_on"] == D(2026, 3, 16) and deal["attention_on"] == D(2026, 3, 16)
    visit(world, account, deal)                                   # planned only: no check-in yet
    assert world.get("order", deal)["visit_due_on"] == D(2026, 3, 16)
    visit(world, account, deal, status="done", visited_at="2026-03-10 15:00")
    visited = world.get("order", deal)
    assert visited["visits_done"] == 1 and visited["visit_due_on"] == D(2026, 3, 24)
    # the customer sees the visit too
    assert world.get("customer", account)["last_visit_at"] == visited["last_visit_at"]


def test_the_close_date_is_a_warning_when_it_comes_first(world, account):
    deal = order(world, account, opened_on="2026-03-10", expected_close="2026-03-20")
    assert deal["visit_due_on"] == D(2026, 3, 24) and deal["attention_on"] == D(2026, 3, 20)


def test_closed_orders_carry_no_warning(world, account):
    deal = order(world, account, stage="won", expected_close="2026-03-12")
    assert deal["visit_due_on"] is None and deal["attention_on"] is None


def test_a_lost_order_needs_its_reason(world, account):
    deal = order(world, account)
    with pytest.raises(ValidationFailed) as failure:
        world.update("order", deal, {"stage": "lost"}, "rep1")
    assert "lost_reason" in failure.value.errors
    lost = world.update("order", deal, {"stage": "lost", "lost_reason": "competitor",
                                        "competitor": "西门子"}, "rep1")
    assert lost["stage"] == "lost"


def test_a_won_order_needs_its_amount_and_close_date(world, account):
    deal = world.create("order", {"name": "伺服电机", "customer": account["id"]}, "rep1")
    with pytest.raises(ValidationFailed) as failure:
        world.update("order", deal, {"stage": "won"}, "rep1")
    assert {"amount", "expected_close"} <= set(failure.value.errors)


def test_a_done_visit_needs_its_check_in_time_but_never_a_location(world, account):
    deal = order(world, account)
    planned = visit(world, account, deal)
    assert planned["status"] == "planned" and planned["location"] is None
    with pytest.raises(ValidationFailed) as failure:
        world.update("visit", planned, {"status": "done"}, "rep1")
    assert list(failure.value.errors) == ["visited_at"]
    done = world.update("visit", planned, {"status": "done", "visited_at": "2026-03-16 09:40",
                                           "outcome": "确认需求"}, "rep1")
    assert done["status"] == "done" and done["location"] is None
