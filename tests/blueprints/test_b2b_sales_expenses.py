"""b2b_sales expense claims: a rep submits a claim, the manager approves it (finance too above
5,000), an approved claim is locked, and only approved claims count in the order's and the
customer's expense totals and margin after expenses (stored values, list filter, reports)."""
from __future__ import annotations

import pytest

from atrium.runtime.query.lists import ListQuery
from atrium.runtime.records.service import ValidationFailed
from atrium.runtime.reports.runner import Reports


@pytest.fixture
def deal(world):
    account = world.create("customer", {"name": "嘉禾新材料股份有限公司", "industry": "manufacturing"}, "rep1")
    order = world.create("order", {"name": "视觉检测系统", "customer": account["id"], "amount": 600000,
                                   "margin": 120000, "expected_close": "2026-06-30"}, "rep1")
    return account, order


def claim(world, order, amount, category="travel", who="rep1"):
    return world.create("expense", {"order": order["id"], "category": category, "amount": amount,
                                    "description": "上海至苏州客户拜访", "spent_on": "2026-03-10"}, who)


def approve(world, record, by="manager"):
    approvals = world.service.approvals
    asked = approvals.request("approve_expense", "expense", record["id"], world.actor(record_owner(world, record)))
    return approvals.decide(asked.id, "approve", world.actor(by), "同意")


def record_owner(world, record):
    return next(name for name, actor in world.actors.items() if actor.user_id == world.get("expense", record)["owner"])


def test_a_claim_made_from_an_order_is_for_its_customer_and_starts_as_a_draft(world, deal):
    account, order = deal
    made = claim(world, order, 800)
    assert (made["customer"], made["owner"], made["status"]) == (account["id"], world.uid("rep1"), "draft")
    assert made["code"].startswith("EXP-2026-")
    with pytest.raises(ValidationFailed) as refused:  # a rep cannot approve their own claim by editing it
        world.secured.update(world.actor("rep1"), "expense", made["id"], {"status": "approved"})
    assert "status" in refused.value.errors


def test_the_manager_approves_and_the_approved_claim_is_locked(world, deal):
    _, order = deal
    approvals = world.service.approvals
    made = claim(world, order, 800)
    rep, manager = world.actor("rep1"), world.actor("manager")
    assert [r.name for r in approvals.requestable("expense", made, rep)] == ["approve_expense"]
    asked = approvals.request("approve_expense", "expense", made["id"], rep)
    assert asked.approvers == (manager.user_id,)
    assert world.get("expense", made)["status"] == "submitted"
    with pytest.raises(ValidationFailed, match="Locked while waiting for approval by manager"):
        world.update("expense", made, {"amount": 900}, "rep1")
    approvals.decide(asked.id, "approve", manager, "同意")
    approved = world.get("expense", made)
    assert (approved["status"], approved["approved_by"], approved["approval_comment"]) == \
        ("approved", manager.user_id, "同意")
    with pytest.raises(ValidationFailed, match="An approved claim cannot be changed"):
        world.update("expense", approved, {"amount": 80}, "rep1")
    with pytest.raises(ValidationFailed, match="An approved claim cannot be changed"):
        world.update("expense", approved, {"description": "改"}, "manager")
    assert world.get("expense", made)["amount"] == 800
    assert approvals.requestable("expense", approved, rep) == []


def test_a_rejected_claim_is_corrected_and_submitted_again(world, deal):
    _, order = deal
    approvals = world.service.approvals
    made = claim(world, order, 800)
    asked = approvals.request("approve_expense", "expense", made["id"], world.actor("rep1"))
    approvals.decide(asked.id, "reject", world.actor("manager"), "缺少发票")
    rejected = world.get("expense", made)
    assert (rejected["status"], rejected["approval_comment"]) == ("rejected", "缺少发票")
    corrected = world.update("expense", rejected, {"amount": 750}, "rep1")
    assert [r.name for r in approvals.requestable("expense", corrected, world.actor("rep1"))] == ["approve_expense"]


def test_a_large_claim_goes_on_to_finance_after_the_manager(world, deal):
    _, order = deal
    approvals = world.service.approvals
    made = claim(world, order, 6800, "entertainment")
    assert made["needs_finance"] is True
    approve(world, made)
    waiting = world.get("expense", made)
    assert waiting["status"] == "manager_approved"
    assert world.get("order", order)["expense_total"] in (None, 0)  # not approved yet
    finance = world.actor("finance")
    pending = approvals.pending_for(finance.user_id)
    assert len(pending) == 1
    with pytest.raises(ValidationFailed, match="Locked while waiting for approval"):
        world.update("expense", waiting, {"amount": 100}, "rep1")
    approvals.decide(pending[0].id, "approve", finance, "已核对发票")
    assert world.get("expense", made)["status"] == "approved"
    assert world.get("order", order)["expense_total"] == 6800


def test_the_order_and_customer_count_approved_claims_only(world, deal):
    account, order = deal
    first = claim(world, order, 800)
    second = claim(world, order, 1200, "hotel")
    claim(world, order, 500, "meals")  # a draft: not counted
    approve(world, first)
    approve(world, second)
    stored = world.get("order", order)
    assert (stored["expense_total"], stored["margin_after_expenses"]) == (2000, 118000)
    assert world.get("customer", account)["expense_total"] == 2000
    # an administrator corrects an approved claim: the totals follow
    world.update("expense", first, {"amount": 1000}, "admin")
    stored = world.get("order", order)
    assert (stored["expense_total"], stored["margin_after_expenses"]) == (2200, 117800)
    # a claim deleted: the totals follow
    world.service.delete("expense", second["id"], world.actor("admin"))
    stored = world.get("order", order)
    assert (stored["expense_total"], stored["margin_after_expenses"]) == (1000, 119000)
    assert world.get("customer", account)["expense_total"] == 1000
    # the order won: the customer's margin after expenses is its won orders' margin less the claims
    world.update("order", stored, {"stage": "won"}, "rep1")
    assert world.get("customer", account)["margin_after_expenses"] == 119000


def test_the_order_list_filters_by_expenses_and_reps_do_not_see_the_margin(world, deal):
    account, order = deal
    other = world.create("order", {"name": "备件采购", "customer": account["id"], "amount": 50000,
                                   "expected_close": "2026-06-30"}, "rep1")
    approve(world, claim(world, order, 800))
    manager = world.actor("manager")
    listed = world.secured.list(manager, ListQuery("order", where={"expense_total": {"gt": 0}}))
    assert [r["id"] for r in listed.records] == [order["id"]]
    assert other["id"] not in [r["id"] for r in listed.records]
    seen = world.secured.get(world.actor("rep1"), "order", order["id"])
    assert seen["expense_total"] == 800 and "margin_after_expenses" not in seen and "margin" not in seen


def test_expense_reports_by_category_and_by_owner_this_month(world, deal):
    _, order = deal
    approve(world, claim(world, order, 800, "travel"))
    approve(world, claim(world, order, 300, "travel"))
    approve(world, claim(world, order, 1200, "hotel"))
    claim(world, order, 999, "gifts")  # a draft
    last_month = world.create("expense", {"order": order["id"], "category": "meals", "amount": 50,
                                          "description": "工作餐", "spent_on": "2026-02-20"}, "rep1")
    approve(world, last_month)
    reports = Reports(world.secured.site)
    finance = world.actor("finance")
    rows = reports.run(finance, "expenses_by_category").rows
    assert {(r["category"], r["amount"], r["claims"]) for r in rows} == {("travel", 1100, 2), ("hotel", 1200, 1)}
    rows = reports.run(finance, "expenses_by_owner").rows
    assert [(r["owner"], r["amount"]) for r in rows] == [(world.uid("rep1"), 2300)]
    assert reports.run(world.actor("rep2"), "expenses_by_owner").rows == []  # a rep sees their own only


def test_who_sees_which_claims(world, deal):
    _, order = deal
    mine = claim(world, order, 800)
    listed = world.secured.list
    assert [r["id"] for r in listed(world.actor("rep1"), ListQuery("expense")).records] == [mine["id"]]
    assert listed(world.actor("rep2"), ListQuery("expense")).records == []
    assert [r["id"] for r in listed(world.actor("finance"), ListQuery("expense")).records] == [mine["id"]]
    assert [r["id"] for r in listed(world.actor("manager"), ListQuery("expense")).records] == [mine["id"]]
