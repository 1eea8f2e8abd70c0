"""A default that copies a linked record's value (`unit_price: {default: "product.unit_price"}`) on
the new-record form: picking the link fills it live, picking another refills it, until the user has
typed the field; opening the form from a link (`?product=`) fills it at once."""
from __future__ import annotations

import re

import pytest
from test_form_page import field_html

pytestmark = pytest.mark.database  # runs on SQLite and again on PostgreSQL


def price_input(page: str) -> str:
    match = re.search(r'<input type="number" id="f-unit_price" name="unit_price" value="([^"]*)"',
                      field_html(page, "unit_price"))
    assert match, field_html(page, "unit_price")
    return match.group(1)


def test_picking_a_product_fills_the_unit_price_until_the_user_types_it(world):
    robot = world.create("product", by="boss", code="IR-200", name="Robot", unit_price=150000)
    arm = world.create("product", by="boss", code="AR-1", name="Arm", unit_price=8000)
    order = world.order()
    quote = world.create("quote", name="Q", order=order["id"], customer=order["customer"])
    rep = world.browser("rep")
    form = [("_fields", n) for n in ("quote", "product", "quantity", "unit_price")]
    base = form + [("quote", quote["id"]), ("quantity", "1")]
    new = rep.get("/r/quote_line/new").text
    assert price_input(new) == ""
    assert 'hx-post="/r/quote_line/form-state"' in field_html(new, "product")   # the link drives the form
    picked = rep.post("/r/quote_line/form-state", base + [("product", robot["id"]), ("unit_price", ""),
                                                           ("_touched_now", "product")])
    assert price_input(picked.text) == "150000.00"
    again = rep.post("/r/quote_line/form-state", base + [("product", arm["id"]), ("unit_price", "150000.00"),
                                                          ("_touched", "product"), ("_touched_now", "product")])
    assert price_input(again.text) == "8000.00"
    typed = rep.post("/r/quote_line/form-state", base + [("product", robot["id"]), ("unit_price", "7000"),
                                                          ("_touched", "unit_price"), ("_touched_now", "product")])
    assert price_input(typed.text) == "7000"
    prefilled = rep.get(f"/r/quote_line/new?product={arm['id']}").text
    assert price_input(prefilled) == "8000.00"
