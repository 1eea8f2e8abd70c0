"""A rep edits an order's amount inline on the list, with the keyboard only (Enter opens the cell,
Enter saves, Esc puts the value back, a bad value keeps its message in the cell); then a manager
saves the same order first, and the rep's inline save is refused with the manager's value and
name in the cell. A manager's quick edit on a kanban card moves the column's total."""
from __future__ import annotations

import re
from decimal import Decimal
from urllib.parse import quote

import sqlalchemy as sa
from browser_kit import rows, sign_in, unique, user_id
from playwright.sync_api import expect

from atrium.runtime.records.evaluation import Actor

SLOW = 15_000  # ms: each answer is a server round trip, and the test machine may be busy


def display_name(site, name: str) -> str:
    users = site.tables.system("atrium_users")
    with site.engine.connect() as connection:
        row = connection.execute(sa.select(users.c.display_name, users.c.name).where(users.c.name == name)).one()
    return row.display_name or row.name


def an_order(site, prefix: str, amount: int) -> dict:
    rep1 = user_id(site, "rep1")
    actor = Actor(user_id=rep1, name="rep1", role="sales_rep")
    customer = site.records.create("customer", {"name": f"{prefix} customer", "owner": rep1}, actor)
    return site.records.create("order", {"name": f"{prefix} order", "customer": customer["id"], "amount": amount},
                               actor)


def open_cell(page, cell: str):
    """Enter on the focused cell; the input arrives focused (typing before it would be lost)."""
    page.locator(cell).focus()
    page.keyboard.press("Enter")
    field = page.locator(f"{cell} input[name=_cell_value]")
    expect(field).to_be_focused(timeout=SLOW)
    return field


def test_a_rep_edits_an_amount_inline_and_a_stale_edit_is_refused(browser, server, tmp_path):
    site = server.site
    prefix = unique("Inline")
    order = an_order(site, prefix, 1000)
    cell = f"#cell-{order['id']}-amount"
    rep_context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 800}, locale="zh-CN")
    rep_context.set_default_timeout(10_000)
    page = rep_context.new_page()
    sign_in(page, "rep1")
    page.goto(f"/r/order?q={quote(prefix)}")
    expect(page.locator("table.records tbody tr")).to_have_count(1, timeout=SLOW)

    # keyboard only: focus the cell, Enter opens its input with the amount in the locale's writing
    field = open_cell(page, cell)
    expect(field).to_have_value("1,000.00", timeout=SLOW)
    page.keyboard.type("1500")  # the text was selected: typing replaces it
    page.keyboard.press("Enter")
    expect(page.locator(cell)).to_have_text("¥1,500.00", timeout=SLOW)
    expect(page.locator(cell)).to_be_focused(timeout=SLOW)  # the focus stays where the keyboard left it
    assert rows(site, "order", id=order["id"])[0]["amount"] == Decimal("1500.00")
    assert page.url.endswith(f"/r/order?q={quote(prefix)}")  # the list's own form was not submitted
    # the row's quick stage actions now carry the record's new version
    won = page.locator("table.records tbody tr button.outcome-won")
    expect(won).to_have_attribute("hx-vals", re.compile(r'"version":\s*"2"'), timeout=SLOW)

    # Esc puts the value back, nothing saved
    open_cell(page, cell)
    page.keyboard.type("999")
    page.keyboard.press("Escape")
    expect(page.locator(cell)).to_have_text("¥1,500.00", timeout=SLOW)
    assert rows(site, "order", id=order["id"])[0]["amount"] == Decimal("1500.00")

    # a bad value: the message in the cell, the typed value kept, nothing written
    open_cell(page, cell)
    page.keyboard.type("-5")
    page.keyboard.press("Enter")
    expect(page.locator(f"{cell} .error")).to_be_visible(timeout=SLOW)
    expect(page.locator(f"{cell} input[name=_cell_value]")).to_have_value("-5", timeout=SLOW)
    assert rows(site, "order", id=order["id"])[0]["amount"] == Decimal("1500.00")
    page.keyboard.press("Escape")
    expect(page.locator(cell)).to_have_text("¥1,500.00", timeout=SLOW)

    # the rep opens the cell again and types; meanwhile a manager saves the same amount first
    open_cell(page, cell)
    page.keyboard.type("2000")
    manager_context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 800},
                                          locale="zh-CN")
    manager_context.set_default_timeout(10_000)
    manager = manager_context.new_page()
    sign_in(manager, "manager")
    manager.goto(f"/r/order?q={quote(prefix)}")
    manager.locator(cell).click()
    manager.locator(f"{cell} input[name=_cell_value]").fill("3000")
    manager.keyboard.press("Enter")
    expect(manager.locator(cell)).to_have_text("¥3,000.00", timeout=SLOW)
    manager_context.close()

    page.keyboard.press("Enter")  # the rep's save comes second: refused
    alert = page.locator(f"{cell} .cell-alert")
    expect(alert).to_be_visible(timeout=SLOW)
    expect(alert).to_contain_text(display_name(site, "manager"), timeout=SLOW)
    expect(page.locator(cell)).to_contain_text("¥3,000.00", timeout=SLOW)
    assert rows(site, "order", id=order["id"])[0]["amount"] == Decimal("3000.00")
    page.screenshot(path=str(tmp_path / "order-inline-stale-zh.png"))

    # the cell now carries the manager's version: the rep's next save goes through
    open_cell(page, cell)
    page.keyboard.type("2500")
    page.keyboard.press("Enter")
    expect(page.locator(cell)).to_have_text("¥2,500.00", timeout=SLOW)
    assert rows(site, "order", id=order["id"])[0]["amount"] == Decimal("2500.00")

    # leaving the cell saves it too: Tab goes on to the next cell
    open_cell(page, cell)
    page.keyboard.type("2600")
    page.keyboard.press("Tab")
    expect(page.locator(cell)).to_have_text("¥2,600.00", timeout=SLOW)
    expect(page.locator(f"#cell-{order['id']}-expected_close")).to_be_focused(timeout=SLOW)
    assert rows(site, "order", id=order["id"])[0]["amount"] == Decimal("2600.00")
    rep_context.close()



def test_a_manager_quick_edits_a_card_and_the_columns_total_moves(page, server):
    site = server.site
    prefix = unique("Quick")
    order = an_order(site, prefix, 1000)
    sign_in(page, "manager")
    page.goto(f"/r/order/kanban?q={quote(prefix)}")
    card = page.locator(f"#card-{order['id']}")
    lane = page.locator("section.kanban-col[data-value=initial_contact]")
    expect(lane.locator(".lane-total")).to_have_text("¥1,000.00", timeout=SLOW)
    card.locator(".card-quick").focus()
    page.keyboard.press("Enter")  # the keyboard opens the quick edit…
    amount = card.locator("input[name=amount]")
    expect(amount).to_be_focused(timeout=SLOW)
    expect(card.locator("input[name=expected_close]")).to_be_visible(timeout=SLOW)
    page.keyboard.press("Escape")  # …Esc closes it, nothing saved
    expect(card.locator("input[name=amount]")).to_have_count(0, timeout=SLOW)
    expect(card.locator(".card-quick")).to_be_focused(timeout=SLOW)
    page.keyboard.press("Enter")
    expect(amount).to_be_focused(timeout=SLOW)
    page.keyboard.type("4200")
    page.keyboard.press("Enter")  # saves: the card and its column's total show the new amount
    expect(lane.locator(".lane-total")).to_have_text("¥4,200.00", timeout=SLOW)
    expect(card).to_contain_text("¥4,200.00", timeout=SLOW)
    expect(page.locator("#board-message")).to_contain_text(prefix, timeout=SLOW)
    assert rows(site, "order", id=order["id"])[0]["amount"] == Decimal("4200.00")
