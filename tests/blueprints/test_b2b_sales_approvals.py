"""b2b_sales approvals: a rep asks the manager to approve a big discount before the quote is sent,
finance reviews every contract (a rejection needs a reason and gives the owner a task to revise it,
a revised contract is reviewed again), targets go to the manager."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from atrium.runtime.access.policy import Access
from atrium.runtime.approvals.service import ApprovalRefused
from atrium.runtime.records.service import ValidationFailed
from atrium.runtime.reports.targets import TargetReader


@pytest.fixture
def deal(world):
    account = world.create("customer", {"name": "嘉禾新材料股份有限公司"}, "rep1")
    order = world.create("order", {"name": "视觉检测系统", "customer": account["id"], "amount": 600000,
                                   "expected_close": "2026-06-30"}, "rep1")
    return account, order


def discounted_quote(world, deal, discount=20):
    account, order = deal
    product = world.create("product", {"code": "IR-200", "name": "工业机器人 IR-200", "unit_price": 150000})
    quote = world.create("quote", {"name": "视觉检测系统报价", "order": order["id"], "customer": account["id"]},
                         "rep1")
    world.create("quote_line", {"quote": quote["id"], "product": product["id"], "quantity": 2,
                                "unit_price": 150000, "discount": discount}, "rep1")
    return world.get("quote", quote)


def test_the_approval_rules_load(b2b):
    assert {"approve_quote_discount", "approve_sales_target", "review_contract", "review_revised_contract",
            "revise_rejected_contract"} <= set(b2b.automations)


def test_a_rep_asks_the_manager_and_sends_the_approved_quote(world, deal):
    approvals = world.service.approvals
    quote = discounted_quote(world, deal)
    rep, manager = world.actor("rep1"), world.actor("manager")
    assert [r.name for r in approvals.requestable("quote", quote, rep)] == ["approve_quote_discount"]
    with pytest.raises(ValidationFailed) as refused:  # the rep cannot approve it by editing the field
        world.secured.update(rep, "quote", quote["id"], {"approval_status": "approved"})
    assert "approval_status" in refused.value.errors
    with pytest.raises(ValidationFailed) as refused:  # nor can the manager, outside the approval
        world.secured.update(manager, "quote", quote["id"], {"approval_status": "approved",
                                                             "approved_by": manager.user_id,
                                                             "approved_at": "2026-03-16 11:00"})
    assert refused.value.errors["approval_status"] == ["Only an approval decision sets Approval to Approved"]
    asked = approvals.request("approve_quote_discount", "quote", quote["id"], rep)
    assert asked.message["zh"] == "是否批准 视觉检测系统报价 的折扣？" and asked.approvers == (manager.user_id,)
    assert world.get("quote", quote)["approval_status"] == "pending"
    with pytest.raises(ValidationFailed, match="Locked while waiting for approval by manager"):
        world.update("quote", quote, {"terms": "30 天付款"}, "rep1")
    with pytest.raises(ValidationFailed, match="Locked while waiting for approval by manager"):
        world.create("quote_line", {"quote": quote["id"], "product": world.create(  # nor its lines
            "product", {"code": "IR-300", "name": "IR-300", "unit_price": 1})["id"], "quantity": 1,
            "unit_price": 1, "discount": 0}, "rep1")
    assert [a.id for a in approvals.pending_for(manager.user_id)] == [asked.id]
    world.clock.advance(hours=1)
    approvals.decide(asked.id, "approve", manager, "战略客户，同意")
    approved = world.get("quote", quote)
    assert (approved["approval_status"], approved["approved_by"], approved["approval_comment"]) == \
        ("approved", manager.user_id, "战略客户，同意")
    assert approved["approved_at"] == world.clock.now
    assert approvals.requestable("quote", approved, rep) == []  # approved: nothing left to ask
    assert world.update("quote", approved, {"status": "sent"}, "rep1")["status"] == "sent"


def test_a_quote_without_a_big_discount_needs_no_approval(world, deal):
    quote = discounted_quote(world, deal, discount=5)
    assert world.service.approvals.requestable("quote", quote, world.actor("rep1")) == []
    with pytest.raises(ApprovalRefused, match="cannot be requested"):
        world.service.approvals.request("approve_quote_discount", "quote", quote["id"], world.actor("rep1"))


def test_finance_reviews_every_new_contract(world, deal):
    account, order = deal
    approvals = world.service.approvals
    contract = world.create("contract", {"name": "视觉检测系统采购合同", "customer": account["id"],
                                         "order": order["id"], "amount": 600000}, "rep1")
    asked, = approvals.of_record("contract", contract["id"])
    assert asked.rule == "review_contract" and asked.approvers == (world.uid("finance"),)
    assert asked.requested_by == world.uid("rep1")
    with pytest.raises(ValidationFailed, match="Locked while waiting for approval by finance"):
        world.update("contract", contract, {"amount": 500000}, "rep1")
    with pytest.raises(ApprovalRefused):  # the manager is not the reviewer
        approvals.decide(asked.id, "approve", world.actor("manager"))
    approvals.decide(asked.id, "approve", world.actor("finance"))
    reviewed = world.get("contract", contract)
    assert (reviewed["status"], reviewed["reviewed_by"]) == ("awaiting_signature", world.uid("finance"))


def test_a_rejected_contract_needs_a_reason_gets_a_task_and_is_reviewed_again(world, deal):
    account, order = deal
    approvals, finance = world.service.approvals, world.actor("finance")
    contract = world.create("contract", {"name": "采购合同", "customer": account["id"], "order": order["id"],
                                         "amount": 600000}, "rep1")
    asked, = approvals.of_record("contract", contract["id"])
    with pytest.raises(ValidationFailed) as refused:
        approvals.decide(asked.id, "reject", finance)
    assert list(refused.value.errors) == ["rejection_reason"]
    approvals.decide(asked.id, "reject", finance, "付款条款不符合公司政策。")
    rejected = world.get("contract", contract)
    assert (rejected["status"], rejected["rejection_reason"]) == ("rejected", "付款条款不符合公司政策。")
    task, = _tasks(world)
    assert (task["title"], task["owner"], task["priority"], task["notes"]) == \
        (f"按审核意见修改合同 {contract['code']}", world.uid("rep1"), "high", "付款条款不符合公司政策。")
    revised = world.update("contract", rejected, {"payment_terms": "验收后 30 天付款", "status": "pending_review"},
                           "rep1")
    again = approvals.of_record("contract", contract["id"])[0]
    assert (revised["status"], again.rule, again.status) == ("pending_review", "review_revised_contract", "pending")
    approvals.decide(again.id, "approve", finance)
    assert world.get("contract", contract)["status"] == "awaiting_signature"
    assert len(_tasks(world)) == 1


def _tasks(world):
    table = world.service.tables["task"]
    with world.service.engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(sa.select(table).order_by(table.c.id))]


def test_an_approved_target_counts_toward_target(world):
    approvals = world.service.approvals
    target = world.create("sales_target", {"metric": "revenue", "amount": 800000, "period": "2026-03-05"}, "rep1")
    asked = approvals.request("approve_sales_target", "sales_target", target["id"], world.actor("rep1"))
    assert world.get("sales_target", target)["status"] == "submitted"
    reader = TargetReader(world.service.blueprint, world.service.tables,
                          Access(world.service.blueprint, world.service.tables))

    def goal(name):
        with world.service.engine.connect() as connection:
            return reader.value(connection, world.actor(name), "revenue", "month", world.clock.now)

    assert goal("rep1") is None  # submitted is not approved yet
    approvals.decide(asked.id, "approve", world.actor("manager"))
    approved = world.get("sales_target", target)
    assert (approved["status"], approved["approved_by"]) == ("approved", world.uid("manager"))
    assert goal("rep1") == goal("manager") == 800000  # the rep's own goal, and the team's
