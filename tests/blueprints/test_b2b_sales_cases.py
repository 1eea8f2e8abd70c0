"""b2b_sales case library: a won order is written up as a case (industry from the customer, the
order's products and amount, a draft until published), once; an open order cannot be; reps read
the cases and the order keeps its industry in step with the customer's."""
from __future__ import annotations

import pytest

from atrium.runtime.pool.conversion import Choice, ConversionRefused, Conversions
from atrium.runtime.query.lists import ListQuery
from atrium.runtime.records.service import ValidationFailed


@pytest.fixture
def deal(world):
    account = world.create("customer", {"name": "精工汽车零部件有限公司", "industry": "manufacturing"}, "rep1")
    order = world.create("order", {"name": "工业网关与 MES 看板", "customer": account["id"], "amount": 860000,
                                   "expected_close": "2026-06-30"}, "rep1")
    return account, order


def test_a_won_order_becomes_a_draft_case_of_its_customer_s_industry(world, deal):
    account, order = deal
    conversions = Conversions(world.secured.site)
    won = world.update("order", order, {"stage": "won"}, "rep1")
    assert won["industry"] == "manufacturing"
    made = conversions.convert(world.actor("rep1"), "order", order["id"], {
        "case_study": Choice(values={"problem": "停机原因难以追溯", "solution": "设备联网与生产看板"})})
    case = world.get("order", order)["case_study"]
    assert case is not None and made.source["case_study"] == case
    stored = world.get("case_study", case)
    assert (stored["title"], stored["industry"], stored["products"], stored["amount"], stored["customer"]) == \
        ("工业网关与 MES 看板", "manufacturing", "工业网关与 MES 看板", 860000, account["id"])
    assert (stored["problem"], stored["published"], stored["owner"]) == ("停机原因难以追溯", False, world.uid("rep1"))
    with pytest.raises(ConversionRefused):  # once only
        conversions.convert(world.actor("rep1"), "order", order["id"], {})


def test_an_open_order_cannot_be_written_up(world, deal):
    _, order = deal
    with pytest.raises(ConversionRefused):
        Conversions(world.secured.site).convert(world.actor("rep1"), "order", order["id"], {})
    assert world.get("order", order)["case_study"] is None
    assert world.secured.list(world.actor("admin"), ListQuery("case_study")).records == []


def test_the_order_s_industry_follows_its_customer(world, deal):
    account, order = deal
    world.update("customer", account, {"industry": "energy"}, "rep1")
    assert world.get("order", order)["industry"] == "energy"


def test_reps_read_every_case_but_only_a_manager_publishes(world, deal):
    case = world.create("case_study", {"title": "研发协同平台", "industry": "it_services", "published": True},
                        "manager")
    assert [r["id"] for r in world.secured.list(world.actor("rep3"), ListQuery("case_study")).records] == [case["id"]]
    with pytest.raises(ValidationFailed) as refused:  # a rep's case is a draft until a manager publishes it
        world.secured.create(world.actor("rep1"), "case_study", {"title": "我的案例", "industry": "retail",
                                                                 "published": True})
    assert "published" in refused.value.errors
    mine = world.secured.create(world.actor("rep1"), "case_study", {"title": "我的案例", "industry": "retail"})
    assert world.secured.update(world.actor("manager"), "case_study", mine["id"], {"published": True})["published"]
