"""b2b_sales owners that follow the customer: a claim from the pool or a manager's reassignment
moves the customer's contacts, open orders, their quotes and planned visits to the new owner (won
and lost orders, their quotes and visits done stay), with history and one notification."""
from __future__ import annotations

import pytest

from atrium.runtime.automation.notifications import Notifications
from atrium.runtime.pool.service import PublicPool
from atrium.runtime.query.lists import ListQuery
from atrium.runtime.records.service import ValidationFailed
from atrium.runtime.site.site import Site


@pytest.fixture
def site(world, engine, b2b):
    return Site.open(b2b, str(engine.url), engine=engine, clock=world.clock)


def inbox(site, user_id):
    with site.engine.connect() as connection:
        return [n.text("en") for n in Notifications(site.tables).list_for(connection, user_id, limit=100)]


def book(world, owner: str):
    """A customer of `owner` with a contact, an open and a lost order (each with a quote), a
    planned and a done visit."""
    customer = world.create("customer", {"name": "华东精密机械有限公司"}, owner)
    made = {"customer": customer,
            "contact": world.create("contact", {"customer": customer["id"], "name": "王经理"}, owner),
            "open": world.create("order", {"name": "PLC 控制器", "customer": customer["id"]}, owner),
            "lost": world.create("order", {"name": "伺服电机", "customer": customer["id"]}, owner),
            "planned": world.create("visit", {"customer": customer["id"], "planned_at": "2026-03-20 10:00"}, owner),
            "done": world.create("visit", {"customer": customer["id"], "planned_at": "2026-03-12 10:00"}, owner)}
    world.update("order", made["lost"], {"stage": "lost", "lost_reason": "competitor", "competitor": "华测"}, owner)
    world.update("visit", made["done"], {"status": "done", "visited_at": "2026-03-12 10:30"}, owner)
    for key in ("open", "lost"):
        made[f"{key}_quote"] = world.create("quote", {"name": "报价", "order": made[key]["id"],
                                                      "customer": customer["id"]}, owner)
    return made


def owners(world, made):
    entity = {"customer": "customer", "contact": "contact", "open": "order", "lost": "order",
              "planned": "visit", "done": "visit", "open_quote": "quote", "lost_quote": "quote"}
    return {key: world.get(entity[key], made[key])["owner"] for key in entity}


def test_a_claimed_customer_brings_its_contacts_open_orders_quotes_and_planned_visits(world, site):
    made = book(world, "rep2")
    PublicPool(site).release(world.actor("rep2"), "customer", made["customer"]["id"])
    rep1, rep2 = world.uid("rep1"), world.uid("rep2")
    assert set(owners(world, made).values()) == {None, rep2}  # released: the customer alone, its records kept
    PublicPool(site).claim(world.actor("rep1"), "customer", made["customer"]["id"])
    assert owners(world, made) == {"customer": rep1, "contact": rep1, "open": rep1, "open_quote": rep1,
                                   "planned": rep1, "lost": rep2, "lost_quote": rep2, "done": rep2}
    assert inbox(site, rep1) == ["4 record(s) of 华东精密机械有限公司 now yours"]
    related = ListQuery("contact", where={"customer": made["customer"]["id"]})
    assert [r["name"] for r in world.secured.list(world.actor("rep1"), related).records] == ["王经理"]
    assert world.secured.list(world.actor("rep2"), related).records == []


def test_a_managers_reassignment_moves_them_too(world, site):
    made = book(world, "rep1")
    world.secured.update(world.actor("manager"), "customer", made["customer"]["id"], {"owner": world.uid("rep3")})
    rep1, rep3 = world.uid("rep1"), world.uid("rep3")
    assert owners(world, made) == {"customer": rep3, "contact": rep3, "open": rep3, "open_quote": rep3,
                                   "planned": rep3, "lost": rep1, "lost_quote": rep1, "done": rep1}
    assert inbox(site, rep3) == ["4 record(s) of 华东精密机械有限公司 now yours"]


def test_a_quote_waiting_for_approval_moves_with_its_order_and_stays_locked(world, site):
    customer = world.create("customer", {"name": "嘉禾新材料股份有限公司"}, "rep1")
    order = world.create("order", {"name": "视觉检测系统", "customer": customer["id"], "amount": 600000}, "rep1")
    product = world.create("product", {"code": "IR-200", "name": "工业机器人 IR-200", "unit_price": 150000})
    quote = world.create("quote", {"name": "报价", "order": order["id"], "customer": customer["id"]}, "rep1")
    world.create("quote_line", {"quote": quote["id"], "product": product["id"], "quantity": 2,
                                "unit_price": 150000, "discount": 20}, "rep1")
    world.service.approvals.request("approve_quote_discount", "quote", quote["id"], world.actor("rep1"))
    world.secured.update(world.actor("manager"), "customer", customer["id"], {"owner": world.uid("rep2")})
    moved = world.get("quote", quote)
    assert moved["owner"] == world.uid("rep2") and moved["approval_status"] == "pending"
    with pytest.raises(ValidationFailed, match="Locked while waiting for approval"):  # still locked for people
        world.update("quote", quote, {"terms": "30 天付款"}, "rep2")
