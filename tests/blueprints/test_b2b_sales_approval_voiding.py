"""b2b_sales approvals stay true to what was approved: a change to an approved quote's lines or
terms voids the approval (the quote must be approved again before it is sent, the timeline and
the rep say so), a rejection needs a reason, the cards show the approver the customer, amount and
discount, and approving a contract leaves its rejection reason empty."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from atrium.runtime.records.service import ValidationFailed
from atrium.ui.approvals.view import present


@pytest.fixture
def deal(world):
    account = world.create("customer", {"name": "嘉禾新材料股份有限公司"}, "rep1")
    order = world.create("order", {"name": "视觉检测系统", "customer": account["id"], "amount": 600000,
                                   "expected_close": "2026-06-30"}, "rep1")
    return account, order


@pytest.fixture
def approved(world, deal):
    """A quote of two robots at 20% off, asked for by rep1 and approved by the manager; and its line."""
    account, order = deal
    product = world.create("product", {"code": "IR-200", "name": "工业机器人 IR-200", "unit_price": 150000})
    quote = world.create("quote", {"name": "视觉检测系统报价", "order": order["id"], "customer": account["id"]},
                         "rep1")
    line = world.create("quote_line", {"quote": quote["id"], "product": product["id"], "quantity": 2,
                                       "unit_price": 150000, "discount": 20}, "rep1")
    approvals = world.service.approvals
    asked = approvals.request("approve_quote_discount", "quote", quote["id"], world.actor("rep1"))
    approvals.decide(asked.id, "approve", world.actor("manager"), "同意")
    assert world.get("quote", quote)["approval_status"] == "approved"
    return world.get("quote", quote), line, asked


def notes_of(world, name):
    table = world.service.tables.system("atrium_notifications")
    with world.service.engine.connect() as connection:
        return [row.message for row in connection.execute(
            sa.select(table.c.message).where(table.c.user_id == world.uid(name)).order_by(table.c.id))]


def test_changing_an_approved_quote_s_line_voids_the_approval_and_sending_is_refused(world, approved):
    quote, line, asked = approved
    approvals = world.service.approvals
    world.clock.advance(hours=2)
    world.update("quote_line", line, {"discount": 95}, "rep1")                 # after approval: 95% off
    changed = world.get("quote", quote)
    assert (changed["approval_status"], changed["approved_by"], changed["approved_at"]) == (None, None, None)
    assert changed["needs_approval"] and changed["total"] == 15000
    voided = approvals.get(asked.id)
    assert (voided.status, voided.voided_by, voided.voided_at) == ("voided", world.uid("rep1"), world.clock.now)
    assert notes_of(world, "rep1")[-1]["zh"] == ("大额折扣审批：QT-2026-00001 视觉检测系统报价 的审批已失效："
                                                 "批准后报价明细有改动，请重新提交审批。")
    with pytest.raises(ValidationFailed) as refused:                          # not sent without approval
        world.update("quote", changed, {"status": "sent"}, "rep1")
    assert "status" in refused.value.errors
    assert [r.name for r in approvals.requestable("quote", changed, world.actor("rep1"))] == \
        ["approve_quote_discount"]
    again = approvals.request("approve_quote_discount", "quote", quote["id"], world.actor("rep1"))
    approvals.decide(again.id, "approve", world.actor("manager"), "特批")
    assert world.update("quote", world.get("quote", quote), {"status": "sent"}, "rep1")["status"] == "sent"
    assert [a.status for a in approvals.of_record("quote", quote["id"])] == ["approved", "voided"]


def test_a_new_or_removed_line_or_changed_terms_void_it_and_other_changes_do_not(world, approved):
    quote, line, asked = approved
    approvals = world.service.approvals
    world.update("quote", quote, {"name": "视觉检测系统报价（终版）"}, "rep1")   # not what was approved
    assert approvals.get(asked.id).status == "approved"
    world.update("quote", world.get("quote", quote), {"terms": "预付 10%"}, "rep1")
    assert approvals.get(asked.id).status == "voided"
    assert world.get("quote", quote)["approval_status"] is None
    for change in ("create", "delete"):
        again = approvals.request("approve_quote_discount", "quote", quote["id"], world.actor("rep1"))
        approvals.decide(again.id, "approve", world.actor("manager"), "同意")
        if change == "create":
            world.create("quote_line", {"quote": quote["id"], "product": line["product"], "quantity": 1,
                                        "unit_price": 150000, "discount": 20}, "rep1")
        else:
            world.service.delete("quote_line", line["id"], world.actor("rep1"))
        assert approvals.get(again.id).status == "voided", change
        assert world.get("quote", quote)["approval_status"] is None, change


def test_a_rejection_needs_a_reason_beside_the_comment_field(world, deal):
    account, order = deal
    quote = world.create("quote", {"name": "报价", "order": order["id"], "customer": account["id"]}, "rep1")
    product = world.create("product", {"code": "P-1", "name": "P", "unit_price": 600000})
    world.create("quote_line", {"quote": quote["id"], "product": product["id"], "quantity": 2,
                                "unit_price": 600000, "discount": 0}, "rep1")
    approvals = world.service.approvals
    asked = approvals.request("approve_quote_discount", "quote", quote["id"], world.actor("rep1"))
    with pytest.raises(ValidationFailed) as refused:
        approvals.decide(asked.id, "reject", world.actor("manager"), "  ")
    assert refused.value.errors == {"approval_comment": ["A rejection needs a reason: say in the comment what "
                                                         "must change"]}
    assert approvals.get(asked.id).status == "pending"
    assert approvals.decide(asked.id, "reject", world.actor("manager"), "总价过高").status == "rejected"


def test_approving_a_contract_keeps_the_comment_out_of_the_rejection_reason(world, deal):
    account, order = deal
    approvals = world.service.approvals
    contract = world.create("contract", {"name": "采购合同", "customer": account["id"], "order": order["id"],
                                         "amount": 600000}, "rep1")
    asked, = approvals.of_record("contract", contract["id"])
    decided = approvals.decide(asked.id, "approve", world.actor("finance"), "条款无误，同意")
    reviewed = world.get("contract", contract)
    assert (reviewed["status"], reviewed["rejection_reason"]) == ("awaiting_signature", None)
    assert decided.comment == "条款无误，同意"                                   # kept in the approval's history


def test_the_approver_s_card_shows_the_customer_amount_and_discount(world, deal):
    account, order = deal
    product = world.create("product", {"code": "IR-200", "name": "工业机器人 IR-200", "unit_price": 150000})
    quote = world.create("quote", {"name": "视觉检测系统报价", "order": order["id"], "customer": account["id"]},
                         "rep1")
    world.create("quote_line", {"quote": quote["id"], "product": product["id"], "quantity": 2,
                                "unit_price": 150000, "discount": 20}, "rep1")
    asked = world.service.approvals.request("approve_quote_discount", "quote", quote["id"], world.actor("rep1"))
    site = world.secured.site
    with site.engine.connect() as connection:
        card, = present(site, connection, world.actor("manager"), "zh", [asked])
    assert card.facts == [("客户", "嘉禾新材料股份有限公司"), ("报价金额", "¥240,000.00"), ("折扣率", "20%"),
                          ("标价合计", "¥300,000.00"), ("明细行数", "1")]
