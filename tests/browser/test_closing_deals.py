"""Closing deals as a rep does, in a real browser on the demo data, in Chinese and in English (the
words each page should show come from the blueprint's labels and the interface's catalog):
winning an order today from its page raises this month's won figure on the dashboard, and losing
one from its page asks for the reason inline, then the competitor, and saves both with the move."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from browser_kit import B2B, DEMO_DAY, LOCALES, rows, serve, sign_in, speak, user_id, words
from playwright.sync_api import expect

from atrium.metadata import load_blueprint
from atrium.runtime.automation.messages import message

BLUEPRINT = load_blueprint(B2B)
NOW = dt.datetime.combine(DEMO_DAY, dt.time(10, 30), ZoneInfo(BLUEPRINT.timezone)).astimezone(dt.timezone.utc)
STAGES = BLUEPRINT.pipelines["order"]
ORDER = BLUEPRINT.entities["order"]
WON_WIDGET = next(w for w in BLUEPRINT.dashboards["sales_rep"]["widgets"] if w.get("report") == "won_this_month")


@pytest.fixture(scope="module")
def demo(make_run_database, tmp_path_factory):
    """Its own copy of the demo data as `make run` seeds it (these tests win and lose deals), on the
    demo's day."""
    with serve(make_run_database, tmp_path_factory.mktemp("closing"), clock=lambda: NOW) as running:
        yield running


@pytest.fixture
def page(browser, demo):
    context = browser.new_context(base_url=demo.url, viewport={"width": 1280, "height": 900}, locale="zh-CN")
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def open_order(site, rep: str) -> dict:
    """One of the rep's open orders with what winning needs (an amount and a close date), the
    furthest along first (each language's walk closes another one)."""
    owner = user_id(site, rep)
    order = [s.name for s in STAGES.stages]
    return max((o for o in rows(site, "order", owner=owner)
                if o["stage"] not in ("won", "lost") and o["amount"] and o["expected_close"]),
               key=lambda o: (order.index(o["stage"]), -o["id"]))


def won_figure(page, locale: str) -> Decimal:
    page.goto("/")
    widget = page.locator("section.widget", has=page.locator("h2", has_text=WON_WIDGET["label"][locale]))
    value = widget.locator(".kpi-value")
    expect(value).to_be_visible()
    return Decimal(re.sub(r"[^0-9.]", "", value.inner_text()) or "0")


@pytest.mark.parametrize("locale", LOCALES)
def test_winning_an_order_today_raises_this_months_won_figure(page, demo, locale):
    order = open_order(demo.site, "rep1")
    sign_in(page, "rep1")
    speak(page, locale)
    before = won_figure(page, locale)
    page.goto(f"/r/order/{order['id']}")
    page.locator(".stage-actions button[value=won]").click()
    expect(page.locator("h1 .badge")).to_have_text(STAGES.stage("won").label.text(locale))
    saved = rows(demo.site, "order", id=order["id"])[0]
    assert saved["stage"] == "won" and saved["won_on"] == DEMO_DAY
    expect(page.locator("main")).to_contain_text(ORDER.fields["won_on"].label.text(locale))  # the outcome shows the day
    assert won_figure(page, locale) == before + Decimal(order["amount"]).quantize(Decimal(1))


@pytest.mark.parametrize("locale", LOCALES)
def test_losing_from_the_order_page_asks_for_the_reason_inline(page, demo, locale):
    order = open_order(demo.site, "rep3")  # the demo gives rep3 the most open deals
    lost = STAGES.stage("lost").label.text(locale)
    sign_in(page, "rep3")
    speak(page, locale)
    page.goto(f"/r/order/{order['id']}")
    page.locator(".stage-actions button[value=lost]").click()
    ask = page.locator("#stage-ask form")
    expect(ask.locator("h2")).to_have_text(words("To move {title} to {stage}, fill in:", locale,
                                                 title=f"{order['code']} {order['name']}", stage=lost))
    expect(ask.locator("#msg-lost_reason .error").last).to_have_text(message("required_in_stage", locale, stage=lost))
    assert ask.locator("input[name=_fields]").count() == 1  # exactly the field the stage needs
    ask.locator("#f-lost_reason").select_option("competitor")
    ask.locator("button.primary").click()
    ask = page.locator("#stage-ask form")
    expect(ask.locator("#msg-competitor .error")).to_have_text(message("required", locale))  # beside its field
    expect(ask.locator("#f-lost_reason")).to_have_value("competitor")
    assert rows(demo.site, "order", id=order["id"])[0]["stage"] == order["stage"]  # nothing saved yet
    ask.locator("#f-competitor").fill("Siemens")
    ask.locator("button.primary").click()
    expect(page.locator("h1 .badge")).to_have_text(lost)
    saved = rows(demo.site, "order", id=order["id"])[0]
    assert (saved["stage"], saved["lost_reason"], saved["competitor"], saved["lost_on"]) == (
        "lost", "competitor", "Siemens", DEMO_DAY)
    expect(page.locator("main")).to_contain_text(ORDER.fields["lost_on"].label.text(locale))
