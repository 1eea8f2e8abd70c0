"""b2b_sales quotes, contracts and payments: line amounts add up to the quote, big discounts need
approval before sending, contract changes move the amount, receipts decide an instalment's status
and roll up to the plan, the order and the customer."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from atrium.runtime.records.service import ValidationFailed

D = dt.date


@pytest.fixture
def deal(world):
    account = world.create("customer", {"name": "嘉禾新材料股份有限公司"}, "rep1")
    order = world.create("order", {"name": "视觉检测系统", "customer": account["id"], "amount": 600000,
                                   "expected_close": "2026-06-30"}, "rep1")
    return account, order


@pytest.fixture
def robot(world):
    return world.create("product", {"code": "IR-200", "name": "工业机器人 IR-200", "unit_price": 150000})


def quote(world, deal, **values):
    account, order = deal
    return world.create("quote", {"name": "视觉检测系统报价", "order": order["id"], "customer": account["id"],
                                  **values}, "rep1")


def line(world, record, product, quantity, discount=0, price=None):
    return world.create("quote_line", {"quote": record["id"], "product": product["id"], "quantity": quantity,
                                       "unit_price": price or product["unit_price"], "discount": discount}, "rep1")


def test_quote_lines_add_up_to_the_quote(world, deal, robot):
    record = quote(world, deal)
    first = line(world, record, robot, 2, discount=10)
    assert first["list_amount"] == Decimal("300000.00") and first["amount"] == Decimal("270000.00")
    line(world, record, robot, 1, price=50000)
    total = world.get("quote", record)
    assert total["line_count"] == 2 and total["list_amount"] == Decimal("350000.00")
    assert total["total"] == Decimal("320000.00") and total["discount_amount"] == Decimal("30000.00")
    assert total["discount_pct"] == Decimal("8.5700") and not total["needs_approval"]


def test_a_discount_over_15_percent_is_approved_before_the_quote_is_sent(world, deal, robot):
    record = quote(world, deal)
    line(world, record, robot, 1, discount=20)
    record = world.get("quote", record)
    assert record["needs_approval"]
    with pytest.raises(ValidationFailed) as failure:
        world.update("quote", record, {"status": "sent"}, "rep1")
    assert "status" in failure.value.errors
    with pytest.raises(ValidationFailed):  # only the approval approves (approve_quote_discount.yaml)
        world.update("quote", record, {"approval_status": "approved", "approved_by": world.uid("manager"),
                                       "approved_at": "2026-03-16 11:00"}, "manager")
    approvals = world.service.approvals
    asked = approvals.request("approve_quote_discount", "quote", record["id"], world.actor("rep1"))
    approvals.decide(asked.id, "approve", world.actor("manager"))
    assert world.update("quote", record, {"status": "sent"}, "rep1")["status"] == "sent"


def test_an_amount_over_a_million_needs_approval_too(world, deal, robot):
    record = quote(world, deal)
    line(world, record, robot, 7)                       # 1,050,000 at list price
    assert world.get("quote", record)["needs_approval"]


def test_the_accepted_quote_shows_on_the_order(world, deal, robot):
    record = quote(world, deal)
    line(world, record, robot, 2)
    world.update("quote", world.get("quote", record), {"status": "accepted"}, "rep1")
    order = world.get("order", deal[1])
    assert order["quote_count"] == 1 and order["quoted_amount"] == Decimal("300000.00")


def test_approved_contract_changes_move_the_contract_amount(world, deal):
    account, order = deal
    contract = world.create("contract", {"name": "视觉检测系统采购合同", "customer": account["id"],
                                         "order": order["id"], "amount": 600000}, "rep1")
    assert contract["status"] == "pending_review" and contract["current_amount"] == Decimal("600000.00")
    review, = world.service.approvals.of_record("contract", contract["id"])  # its changes wait for the review
    world.service.approvals.decide(review.id, "approve", world.actor("finance"))
    change = world.create("contract_change", {"contract": contract["id"], "kind": "amount",
                                              "description": "增加两台设备", "amount_delta": 80000}, "rep1")
    assert world.get("contract", contract)["current_amount"] == Decimal("600000.00")  # not yet approved
    world.update("contract_change", change, {"status": "approved"}, "manager")
    changed = world.get("contract", contract)
    assert changed["change_count"] == 1 and changed["current_amount"] == Decimal("680000.00")


def test_an_effective_contract_is_reviewed_signed_and_dated(world, deal):
    account, order = deal
    contract = world.create("contract", {"name": "合同", "customer": account["id"], "amount": 600000}, "rep1")
    with pytest.raises(ValidationFailed) as failure:
        world.update("contract", contract, {"status": "effective"}, "manager")
    assert {"reviewed_by", "signed_on", "starts_on", "ends_on"} <= set(failure.value.errors)
    with pytest.raises(ValidationFailed) as failure:
        world.update("contract", contract, {"status": "rejected", "reviewed_by": world.uid("finance")}, "finance")
    assert list(failure.value.errors) == ["rejection_reason"]


def test_receipts_decide_the_instalment_status_and_roll_up(world, deal):
    account, order = deal
    plan = world.create("payment_plan", {"name": "分三期", "customer": account["id"], "order": order["id"]}, "rep1")
    first = world.create("instalment", {"payment_plan": plan["id"], "customer": account["id"], "number": 1,
                                        "due_on": "2026-03-01", "planned_amount": 180000}, "rep1")
    second = world.create("instalment", {"payment_plan": plan["id"], "customer": account["id"], "number": 2,
                                         "due_on": "2026-05-01", "planned_amount": 300000}, "rep1")
    assert first["status"] == "overdue" and first["overdue_days"] == 15   # as of today, 2026-03-16
    assert second["status"] == "pending" and second["checked_on"] == D(2026, 3, 16)
    world.create("receipt", {"instalment": second["id"], "customer": account["id"], "amount": 100000}, "finance")
    assert world.get("instalment", second)["status"] == "partial"
    world.create("receipt", {"instalment": first["id"], "customer": account["id"], "amount": 180000}, "finance")
    assert world.get("instalment", first)["status"] == "done"
    totals = world.get("payment_plan", plan)
    assert (totals["planned_total"], totals["received_total"], totals["outstanding"]) == (
        Decimal("480000.00"), Decimal("280000.00"), Decimal("200000.00"))
    assert totals["next_due_on"] == D(2026, 5, 1) and totals["overdue_count"] == 0
    assert world.get("order", order)["received_amount"] == Decimal("280000.00")
    assert world.get("customer", account)["outstanding"] == Decimal("200000.00")
    # the daily check moves the status on when the due date passes
    late = world.update("instalment", world.get("instalment", second), {"checked_on": "2026-05-04"})
    assert late["status"] == "overdue" and late["overdue_days"] == 3
    assert world.get("customer", account)["overdue_amount"] == Decimal("200000.00")
    void = world.update("instalment", late, {"voided": True}, "finance")
    assert void["status"] == "void" and world.get("payment_plan", plan)["planned_total"] == Decimal("180000.00")


def test_money_arrives_before_it_is_recorded(world, deal):
    account, order = deal
    plan = world.create("payment_plan", {"name": "一次付清", "customer": account["id"]}, "rep1")
    due = world.create("instalment", {"payment_plan": plan["id"], "due_on": "2026-04-01",
                                      "planned_amount": 50000}, "rep1")
    with pytest.raises(ValidationFailed) as failure:
        world.create("receipt", {"instalment": due["id"], "amount": 50000, "received_on": "2026-03-20"}, "finance")
    assert "received_on" in failure.value.errors
