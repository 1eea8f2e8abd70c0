"""A default that copies a linked record's value (`unit_price: {default: "product.unit_price"}`) on
the new-record form: picking the link fills it live, picking another refills it, until the user has
typed the field; opening the form from a link (`?product=`) fills it at once."""
from __future__ import annotations

import re

import pytest
from record_pages_kit import B2B, World, module_database
from test_form_page import field_html

from atrium.metadata import load_blueprint

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


VIEW = """entity: quote_line
form:
  sections:
    - label: {en: Line, zh: 明细}
      fields: [quote, product, description, quantity, unit_price]
    - label: {en: Big ticket, zh: 大额}
      fields: [discount]
      visible_when: "product.unit_price is not None and product.unit_price >= 100000"
"""


@pytest.fixture(scope="module")
def overlaid(tmp_path_factory):
    folder = tmp_path_factory.mktemp("overlay")
    (folder / "blueprint.yaml").write_text(f"name: acme\nextends: {B2B}\n", encoding="utf-8")
    (folder / "views").mkdir()
    (folder / "views" / "quote_line.yaml").write_text(VIEW, encoding="utf-8")
    with module_database(tmp_path_factory) as (engine, url):
        world = World(engine, url, load_blueprint(folder), folder)
        yield world
        world.close()


def test_a_section_shown_by_a_linked_records_value_follows_the_picked_link(overlaid):
    robot = overlaid.create("product", by="boss", code="IR-200", name="Robot", unit_price=150000)
    arm = overlaid.create("product", by="boss", code="AR-1", name="Arm", unit_price=8000)
    rep = overlaid.browser("rep")
    form = [("_fields", n) for n in ("quote", "product", "quantity", "unit_price")]
    hidden = r'<fieldset class="section cols-2" hidden disabled>\s*<legend>Big ticket</legend>'
    big = rep.post("/r/quote_line/form-state", form + [("product", robot["id"]), ("_touched_now", "product")])
    assert not re.search(hidden, big.text) and "<legend>Big ticket</legend>" in big.text
    small = rep.post("/r/quote_line/form-state", form + [("product", arm["id"]), ("_touched_now", "product")])
    assert re.search(hidden, small.text)
