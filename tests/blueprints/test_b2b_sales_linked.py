"""b2b_sales reading linked records: a quote line takes its product's price when it is made (and
keeps it), a receipt cannot collect more than its instalment has outstanding, a contact shows its
customer's level and follows it, and the plan's outstanding is its instalments' added up."""
from __future__ import annotations

from decimal import Decimal

import pytest

from atrium.runtime.records.service import ValidationFailed


@pytest.fixture
def account(world):
    return world.create("customer", {"name": "嘉禾新材料股份有限公司", "level": "b"}, "rep1")


def test_a_quote_line_copies_its_products_price_when_made(world, account):
    order = world.create("order", {"name": "视觉检测系统", "customer": account["id"], "amount": 600000,
                                   "expected_close": "2026-06-30"}, "rep1")
    quote = world.create("quote", {"name": "报价", "order": order["id"], "customer": account["id"]}, "rep1")
    robot = world.create("product", {"code": "IR-200", "name": "工业机器人 IR-200", "unit_price": 150000})
    line = world.create("quote_line", {"quote": quote["id"], "product": robot["id"], "quantity": 2}, "rep1")
    assert (line["unit_price"], line["amount"]) == (Decimal("150000.00"), Decimal("300000.00"))
    typed = world.create("quote_line", {"quote": quote["id"], "product": robot["id"], "unit_price": 120000}, "rep1")
    world.update("product", robot, {"unit_price": 160000})
    assert world.get("quote_line", line)["unit_price"] == Decimal("150000.00")    # a copy, not followed
    assert world.get("quote_line", typed)["unit_price"] == Decimal("120000.00")
    assert world.get("quote", quote)["total"] == Decimal("420000.00")


def test_a_receipt_cannot_collect_more_than_is_outstanding(world, account):
    plan = world.create("payment_plan", {"name": "分两期", "customer": account["id"]}, "rep1")
    first = world.create("instalment", {"payment_plan": plan["id"], "number": 1, "due_on": "2026-04-01",
                                        "planned_amount": 100000}, "rep1")
    world.create("instalment", {"payment_plan": plan["id"], "number": 2, "due_on": "2026-05-01",
                                "planned_amount": 50000}, "rep1")
    world.create("receipt", {"instalment": first["id"], "amount": 60000}, "finance")
    with pytest.raises(ValidationFailed) as refused:
        world.create("receipt", {"instalment": first["id"], "amount": 40001}, "finance")
    assert refused.value.errors == {"amount": ["The amount is more than the instalment's outstanding amount"]}
    finance_zh = world.actors["finance"].__class__(**{**world.actors["finance"].__dict__, "locale": "zh"})
    with pytest.raises(ValidationFailed) as chinese:
        world.service.create("receipt", {"instalment": first["id"], "amount": 40001}, finance_zh)
    assert chinese.value.errors == {"amount": ["回款金额超过该期待回款金额"]}
    world.create("receipt", {"instalment": first["id"], "amount": 40000}, "finance")   # exactly what is left
    totals = world.get("payment_plan", plan)
    assert (totals["received_total"], totals["outstanding"]) == (Decimal("100000.00"), Decimal("50000.00"))
    assert world.get("customer", account)["outstanding"] == Decimal("50000.00")


def test_editing_a_receipt_cannot_over_collect_its_instalment(world, account):
    """The same rule on an edit: this receipt's stored amount counts back in, so raising it beyond
    what is left, or moving it onto an instalment with less outstanding, is refused (nothing
    changes); lowering it, or editing another field of a receipt that takes exactly what was left, is fine."""
    plan = world.create("payment_plan", {"name": "分两期", "customer": account["id"]}, "rep1")
    first = world.create("instalment", {"payment_plan": plan["id"], "number": 1, "due_on": "2026-04-01",
                                        "planned_amount": 100000}, "rep1")
    second = world.create("instalment", {"payment_plan": plan["id"], "number": 2, "due_on": "2026-05-01",
                                         "planned_amount": 50000}, "rep1")
    world.create("receipt", {"instalment": first["id"], "amount": 30000}, "finance")
    receipt = world.create("receipt", {"instalment": first["id"], "amount": 60000}, "finance")
    with pytest.raises(ValidationFailed) as refused:
        world.update("receipt", receipt, {"amount": 70001}, "finance")    # 30,000 + 70,001 > 100,000
    assert refused.value.errors == {"amount": ["The amount is more than the instalment's outstanding amount"]}
    assert world.get("receipt", receipt)["amount"] == Decimal("60000.00")
    assert world.get("instalment", first)["outstanding"] == Decimal("10000.00")

    receipt = world.update("receipt", receipt, {"amount": 70000}, "finance")   # exactly what the instalment allows
    assert world.get("instalment", first)["outstanding"] == Decimal("0.00")
    receipt = world.update("receipt", receipt, {"note": "对公转账", "reference": "BK-20260401"}, "finance")
    receipt = world.update("receipt", receipt, {"amount": 20000}, "finance")   # down is always fine
    assert world.get("instalment", first)["outstanding"] == Decimal("50000.00")

    with pytest.raises(ValidationFailed) as moved:   # the second instalment has 50,000 outstanding
        world.update("receipt", receipt, {"instalment": second["id"], "amount": 50001}, "finance")
    assert set(moved.value.errors) == {"amount"}
    world.update("receipt", receipt, {"instalment": second["id"], "amount": 50000}, "finance")
    assert (world.get("instalment", first)["outstanding"], world.get("instalment", second)["outstanding"]) == (
        Decimal("70000.00"), Decimal("0.00"))
    assert world.get("payment_plan", plan)["outstanding"] == Decimal("70000.00")


def test_a_contact_shows_its_customers_level_and_follows_it(world, account):
    contact = world.create("contact", {"customer": account["id"], "name": "王经理"}, "rep1")
    assert contact["customer_level"] == "b"
    world.update("customer", account, {"level": "vip"}, "rep1")
    assert world.get("contact", contact)["customer_level"] == "vip"


def test_money_made_from_its_deal_carries_the_customer_and_the_deals_rep(world, account):
    """Finance records the plan, its instalments and the receipts; the rep of the deal owns them
    all (and so sees their own money), and each carries the customer without it being typed."""
    order = world.create("order", {"name": "产线改造", "customer": account["id"], "amount": 300000,
                                   "expected_close": "2026-06-30"}, "rep1")
    quote = world.create("quote", {"name": "报价", "order": order["id"]}, "rep1")
    assert quote["customer"] == account["id"]
    plan = world.create("payment_plan", {"name": "分一期", "order": order["id"]}, "finance")
    rep1 = world.actors["rep1"].user_id
    assert (plan["customer"], plan["owner"]) == (account["id"], rep1)
    instalment = world.create("instalment", {"payment_plan": plan["id"], "number": 1, "due_on": "2026-04-01",
                                             "planned_amount": 300000}, "finance")
    assert (instalment["customer"], instalment["owner"]) == (account["id"], rep1)
    receipt = world.create("receipt", {"instalment": instalment["id"], "amount": 100000}, "finance")
    assert (receipt["customer"], receipt["owner"]) == (account["id"], rep1)
    own = world.create("payment_plan", {"name": "直接建", "customer": account["id"]}, "finance")
    assert own["owner"] == world.actors["finance"].user_id   # nothing to follow: whoever made it
