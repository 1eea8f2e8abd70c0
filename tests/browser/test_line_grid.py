"""A quote's lines typed into its form with the keyboard, in Chromium: "New quote" from an order's
page comes prefilled with the order and its customer, Tab moves from cell to cell, a line's amount
follows its input before saving, and so do the quote's total and discount (the approval section
showing while a line's discount is over the threshold), Enter adds a line, one Save writes the quote and its lines and
returns to the order; the quote's page shows the lines read-only, and a line removed on the edit
form is gone with the total moved."""
from __future__ import annotations

import re
from decimal import Decimal

from browser_kit import rows, sign_in, unique, user_id
from playwright.sync_api import expect


def type_cells(page, *texts: str) -> None:
    """Tab to each next cell and type over what it holds."""
    for text in texts:
        page.keyboard.press("Tab")
        page.keyboard.press("Control+A")
        page.keyboard.type(text)


def test_quote_lines_typed_with_the_keyboard(page, server):
    site = server.site
    sign_in(page, "rep1")
    order = rows(site, "order", owner=user_id(site, "rep1"))[0]
    page.goto(f"/r/order/{order['id']}")
    page.locator("#related-quote a.button").first.click()
    expect(page).to_have_url(re.compile(rf"/r/quote/new\?order={order['id']}&customer={order['customer']}&from=order"))
    expect(page.locator("#field-customer .picker-value")).to_have_value(str(order["customer"]))
    name = unique("Grid quote")
    page.fill("#f-name", name)

    page.locator(".line-add").click()
    expect(page.locator("#g0-0-product")).to_be_focused()
    type_cells(page, "Controller", "2", "60000", "10")
    page.keyboard.press("Tab")  # the change travels: the row's amount is computed before saving
    expect(page.locator("#g0-0 td[data-field=amount]")).to_contain_text("108,000")
    # the quote's own figures follow the unsaved line; a discount over the threshold shows the
    # approval section at once, and taking it back hides it again
    expect(page.locator("#f-total")).to_contain_text("108,000")
    expect(page.locator("#f-line_count")).to_have_text("1")
    expect(page.locator("#field-needs_approval")).to_be_hidden()
    page.fill("#g0-0-discount", "20")
    page.keyboard.press("Tab")
    expect(page.locator("#f-discount_pct")).to_contain_text("20")
    expect(page.locator("#f-total")).to_contain_text("96,000")
    expect(page.locator("#field-needs_approval")).to_be_visible()
    page.fill("#g0-0-discount", "10")
    page.keyboard.press("Tab")
    expect(page.locator("#f-total")).to_contain_text("108,000")
    expect(page.locator("#field-needs_approval")).to_be_hidden()
    page.locator("#g0-0-discount").focus()
    page.keyboard.press("Enter")  # a new line, and the focus in its first cell
    expect(page.locator("#g0-1-product")).to_be_focused()
    type_cells(page, "Cabling", "3", "500")
    page.locator("form.record-form button.primary").click()

    expect(page).to_have_url(re.compile(rf"/r/order/{order['id']}$"))
    quote = rows(site, "quote", name=name)[0]
    assert quote["customer"] == order["customer"] and quote["line_count"] == 2
    assert quote["total"] == Decimal("109500.00")
    lines = rows(site, "quote_line", quote=quote["id"])
    assert [(line["description"], line["quantity"]) for line in lines] == [("Controller", 2), ("Cabling", 3)]

    page.goto(f"/r/quote/{quote['id']}")
    grid = page.locator("#grid-g0")
    expect(grid).to_contain_text("Controller")
    expect(grid).to_contain_text("1,500")  # the second line's amount
    expect(grid.locator("input")).to_have_count(0)

    page.goto(f"/r/quote/{quote['id']}/edit")
    page.locator("#g0-1 .line-remove").click()
    expect(page.locator("#g0-1")).to_have_count(0)
    page.locator("form.record-form button.primary").click()
    expect(page).to_have_url(re.compile(rf"/r/quote/{quote['id']}$"))
    assert [line["description"] for line in rows(site, "quote_line", quote=quote["id"])] == ["Controller"]
    assert rows(site, "quote", id=quote["id"])[0]["total"] == Decimal("108000.00")
