"""The studio's Apply computes a new formula and a new roll-up for every existing record, in the
same transaction as the schema, and its review says how many records that is: the list, a filter
and the API show the values at once."""
from __future__ import annotations

from decimal import Decimal

import yaml
from studio_kit import applied_version, open_form, submit, visible_text

from atrium.metadata.overlays.minimal import render_overlay_yaml


def money(value) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def test_a_new_formula_is_computed_for_existing_orders_on_apply(studio):
    acme = studio.customer("Acme")
    for name, amount in (("Big", "79700"), ("Empty", None), ("Small", "12345.67")):
        studio.order(name, customer=acme, amount=amount)
    boss = studio.browser("boss")
    fields = open_form(boss, "/studio/entities/order/fields/new", "/studio/entities/order/fields")
    fields.update({"name": "amount_wan", "type": "money", "label_en": "Amount (10k)", "label_zh": "金额（万）",
                   "formula": "(amount or 0) / 10000"})
    review = visible_text(submit(boss, "/studio/entities/order/fields", fields, intent="review").text)
    assert "3 records will be computed" in review
    applied_version(submit(boss, "/studio/entities/order/fields", fields))
    assert [money(v) for v in studio.column_values("order", "amount_wan")] == [
        Decimal("7.97"), Decimal("0.00"), Decimal("1.23")]
    # the API lists the stored value and filters on it
    rows = boss.get("/api/v1/order", params={"amount_wan__gte": "1"}).json()
    assert sorted(r["name"] for r in rows["data"]) == ["Big", "Small"]
    # changing the expression computes it again
    fields = open_form(boss, "/studio/entities/order/fields/amount_wan")
    fields.update({"formula": "(amount or 0) / 1000"})
    applied_version(submit(boss, "/studio/entities/order/fields/amount_wan", fields))
    assert [money(v) for v in studio.column_values("order", "amount_wan")] == [
        Decimal("79.70"), Decimal("0.00"), Decimal("12.35")]


def test_a_new_roll_up_is_computed_for_existing_customers_on_apply(studio):
    acme, other = studio.customer("Acme"), studio.customer("Other")
    studio.order("One", customer=acme, amount="100")
    studio.order("Two", customer=acme, amount="250.50")
    boss = studio.browser("boss")
    fields = open_form(boss, "/studio/yaml/entity/customer")
    document = yaml.safe_load(fields["text"])
    document["fields"]["order_total"] = {"type": "money", "label": {"en": "Order total", "zh": "订单合计"},
                                         "rollup": {"from": "order.customer", "sum": "amount"}}
    text = render_overlay_yaml(document)
    review = visible_text(submit(boss, "/studio/yaml/entity/customer", {**fields, "text": text}, intent="review").text)
    assert "2 records will be computed" in review
    applied_version(submit(boss, "/studio/yaml/entity/customer", {**fields, "text": text}))
    totals = dict(zip(["Acme", "Other"], studio.column_values("customer", "order_total"), strict=True))
    assert money(totals["Acme"]) == Decimal("350.50") and money(totals["Other"]) == Decimal("0.00")
    assert other["id"] != acme["id"]
    # the API lists the value and filters on it
    rows = boss.get("/api/v1/customer", params={"order_total__gte": "300"}).json()["data"]
    assert [(r["name"], money(r["order_total"])) for r in rows] == [("Acme", Decimal("350.50"))]
