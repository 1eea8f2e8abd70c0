"""Closing deals as a rep does, in a real browser on the demo data: winning an order today from its
page raises this month's won figure on the dashboard (zh), and losing one from its page asks for
the reason inline, then the competitor, and saves both with the move (en)."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from browser_kit import B2B, DEMO_DAY, rows, serve, sign_in, user_id
from playwright.sync_api import expect

from atrium.metadata import load_blueprint

NOW = dt.datetime.combine(DEMO_DAY, dt.time(10, 30), ZoneInfo(load_blueprint(B2B).timezone)).astimezone(dt.timezone.utc)


@pytest.fixture(scope="module")
def demo(seeded_database, tmp_path_factory):
    """Its own copy of the demo data (these tests win and lose deals), on the demo's day."""
    with serve(seeded_database, tmp_path_factory.mktemp("closing"), clock=lambda: NOW) as running:
        yield running


@pytest.fixture
def page(browser, demo):
    context = browser.new_context(base_url=demo.url, viewport={"width": 1280, "height": 900}, locale="zh-CN")
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def open_order(site, rep: str) -> dict:
    """One of the rep's open orders with what winning needs (an amount and a close date)."""
    owner = user_id(site, rep)
    return next(o for o in rows(site, "order", owner=owner)
                if o["stage"] in ("proposal", "negotiation") and o["amount"] and o["expected_close"])


def won_figure(page) -> Decimal:
    page.goto("/")
    widget = page.locator("section.widget", has=page.locator("h2", has_text="本月赢单与目标"))
    value = widget.locator(".kpi-value")
    expect(value).to_be_visible()
    return Decimal(re.sub(r"[^0-9.]", "", value.inner_text()) or "0")


def test_winning_an_order_today_raises_this_months_won_figure(page, demo):
    order = open_order(demo.site, "rep1")
    sign_in(page, "rep1")
    before = won_figure(page)
    page.goto(f"/r/order/{order['id']}")
    page.locator(".stage-actions button[value=won]").click()
    expect(page.locator("h1 .badge")).to_have_text("赢单")
    saved = rows(demo.site, "order", id=order["id"])[0]
    assert saved["stage"] == "won" and saved["won_on"] == DEMO_DAY
    expect(page.locator("main")).to_contain_text("赢单日期")  # the outcome section shows the day
    assert won_figure(page) == before + Decimal(order["amount"]).quantize(Decimal(1))


def test_losing_from_the_order_page_asks_for_the_reason_inline(page, demo):
    order = open_order(demo.site, "rep3")  # the demo gives rep3 the most open deals (rep2 has none)
    sign_in(page, "rep3")
    page.goto(f"/r/order/{order['id']}")
    page.locator("button[name=locale][value=en]").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.locator(".stage-actions button[value=lost]").click()
    ask = page.locator("#stage-ask form")
    expect(ask.locator("h2")).to_contain_text("to Lost, fill in:")
    expect(ask.locator("#msg-lost_reason .error").last).to_have_text("Required to enter stage Lost")
    assert ask.locator("input[name=_fields]").count() == 1  # exactly the field the stage needs
    ask.locator("#f-lost_reason").select_option("competitor")
    ask.locator("button.primary").click()
    ask = page.locator("#stage-ask form")
    expect(ask.locator("#msg-competitor .error")).to_have_text("This field is required")  # beside its field
    expect(ask.locator("#f-lost_reason")).to_have_value("competitor")
    assert rows(demo.site, "order", id=order["id"])[0]["stage"] == order["stage"]  # nothing saved yet
    ask.locator("#f-competitor").fill("Siemens")
    ask.locator("button.primary").click()
    expect(page.locator("h1 .badge")).to_have_text("Lost")
    saved = rows(demo.site, "order", id=order["id"])[0]
    assert (saved["stage"], saved["lost_reason"], saved["competitor"], saved["lost_on"]) == (
        "lost", "competitor", "Siemens", DEMO_DAY)
    expect(page.locator("main")).to_contain_text("Lost on")
