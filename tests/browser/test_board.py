"""The kanban board and the calendar in a real browser: drag a card into a stage that requires
fields, answer the small form, see the card in its new column; a move the pipeline forbids is
refused; log a visit from the "+" of a calendar day."""
from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from browser_kit import pick, rows, sign_in, unique, user_id
from playwright.sync_api import expect

from atrium.runtime.records.evaluation import Actor


def lane(page, stage: str):
    return page.locator(f"section.kanban-col[data-value={stage}]")


def drag(card, column) -> None:
    """Drag a card by its top edge and drop it on the column's header (both in view)."""
    card.scroll_into_view_if_needed()
    card.drag_to(column.locator("header"), source_position={"x": 8, "y": 8})


def test_drag_a_card_into_a_stage_that_asks_for_fields(page, server):
    site = server.site
    rep1 = user_id(site, "rep1")
    rep = Actor(user_id=rep1, name="rep1", role="sales_rep")
    customer = rows(site, "customer", owner=rep1)[0]
    name = unique("Board order")
    order = site.records.create("order", {"name": name, "customer": customer["id"]}, rep)
    assert order["stage"] == "initial_contact" and order["amount"] is None
    close = dt.datetime.now(ZoneInfo(site.blueprint.timezone)).date() + dt.timedelta(days=40)

    sign_in(page, "rep1")
    page.goto("/r/order/kanban")
    card = page.locator(f"#card-{order['id']}")
    expect(lane(page, "initial_contact").locator(f"#card-{order['id']}")).to_be_visible()
    drag(card, lane(page, "needs_confirmed"))

    ask = page.locator("#board-dialog form.kanban-ask")  # needs_confirmed requires amount and close date
    expect(ask).to_be_visible()
    expect(ask.locator("#f-amount")).to_be_visible()
    expect(ask.locator("#f-expected_close")).to_be_visible()
    assert rows(site, "order", id=order["id"])[0]["stage"] == "initial_contact"  # not moved yet
    ask.locator("#f-amount").fill("86000")
    ask.locator("#f-expected_close").fill(close.isoformat())
    ask.locator("button[type=submit]").click()

    moved = lane(page, "needs_confirmed").locator(f"#card-{order['id']}")
    expect(moved).to_be_visible()
    expect(moved).to_contain_text("86,000")
    expect(lane(page, "initial_contact").locator(f"#card-{order['id']}")).to_have_count(0)
    expect(page.locator("#board-dialog form")).to_have_count(0)
    stored = rows(site, "order", id=order["id"])[0]
    assert stored["stage"] == "needs_confirmed" and stored["amount"] == 86000
    assert stored["expected_close"] == close

    # moving back is a transition the pipeline forbids: refused with a message, the card stays
    drag(moved, lane(page, "initial_contact"))
    expect(page.locator("#board-message .form-errors")).to_be_visible()
    expect(lane(page, "needs_confirmed").locator(f"#card-{order['id']}")).to_be_visible()
    assert rows(site, "order", id=order["id"])[0]["stage"] == "needs_confirmed"


def test_the_cards_move_to_select_asks_for_what_the_stage_requires(page, server):
    site = server.site
    rep1 = user_id(site, "rep1")
    customer = rows(site, "customer", owner=rep1)[0]
    order = site.records.create("order", {"name": unique("Select order"), "customer": customer["id"]},
                                Actor(user_id=rep1, name="rep1", role="sales_rep"))
    sign_in(page, "rep1")
    page.goto("/r/order/kanban")
    lane(page, "initial_contact").locator(f"#card-{order['id']} select[name=to]").select_option("lost")
    ask = page.locator("#board-dialog form.kanban-ask")  # lost requires the reason
    expect(ask.locator("#f-lost_reason")).to_be_visible(timeout=3000)
    ask.locator("#f-lost_reason").select_option("competitor")
    ask.locator("button[type=submit]").click()
    # losing to a competitor also needs the competitor's name: asked in the same dialog, nothing saved yet
    expect(ask.locator("#f-competitor")).to_be_visible()
    expect(ask.locator("#f-lost_reason")).to_have_value("competitor")
    assert rows(site, "order", id=order["id"])[0]["stage"] == "initial_contact"
    ask.locator("#f-competitor").fill("Siemens")
    ask.locator("button[type=submit]").click()
    expect(page.locator("#board-dialog form")).to_have_count(0)
    lost = lane(page, "lost")
    lost.locator("summary").click()  # closed outcomes are folded
    expect(lost.locator(f"#card-{order['id']}")).to_be_visible()
    stored = rows(site, "order", id=order["id"])[0]
    assert (stored["stage"], stored["lost_reason"], stored["competitor"]) == ("lost", "competitor", "Siemens")


def test_log_a_visit_from_a_calendar_day(page, server):
    site = server.site
    rep1 = user_id(site, "rep1")
    customer = rows(site, "customer", owner=rep1)[0]
    sign_in(page, "rep1")
    page.goto("/r/visit")
    page.locator(".page-head a", has_text="日历").click()
    expect(page).to_have_url(re.compile(r"/r/visit/calendar"))
    free = page.locator("table.calendar td.day:not(.outside):not(:has(li.entry))").nth(1)
    day = free.get_attribute("data-date")
    free.hover()  # "+" shows on the day under the pointer
    free.locator("a.day-new").click()

    expect(page).to_have_url(re.compile(r"/r/visit/new\?planned_at="))
    expect(page.locator("#f-planned_at")).to_have_value(f"{day}T09:00")  # the day is filled in
    pick(page, "customer", customer["name"])
    page.locator("#f-purpose").select_option("demo")
    page.locator("form.record-form button.primary").click()
    expect(page).to_have_url(re.compile(r"/r/visit/\d+$"))
    visit_id = int(page.url.rsplit("/", 1)[1])
    stored = rows(site, "visit", id=visit_id)[0]
    assert stored["customer"] == customer["id"] and stored["owner"] == rep1 and stored["purpose"] == "demo"

    page.goto(f"/r/visit/calendar?date={day}")
    cell = page.locator(f"table.calendar td.day[data-date='{day}']")
    entry = cell.locator(f"li.entry a[href='/r/visit/{visit_id}']")
    expect(entry).to_be_visible()
    expect(entry).to_contain_text(customer["name"])
    expect(entry).to_contain_text("产品演示")
    expect(entry).to_contain_text("09:00")
