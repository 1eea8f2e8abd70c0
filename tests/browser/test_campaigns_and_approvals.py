"""In a real browser, in Chinese and in English (the words from the blueprint's labels and the
interface's catalog): marketing watches a trade show's ROI move on the campaign ROI
report and the marketing dashboard once a lead it brought converts and its order is won; a rep
who changes a line of an approved quote finds the approval void and the quote refused when sent."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from browser_kit import LOCALES, rows, sign_in, speak, unique, user_id, words
from playwright.sync_api import expect

from atrium.runtime.pool.conversion import Conversions
from atrium.runtime.records.evaluation import Actor
from atrium.translation import translations

FAIR = "2025 上海工博会"


def fixed_parts(msgid: str, locale: str) -> list[str]:
    """The words of a catalog message around its {placeholders}, as every filled-in text shows them."""
    return [part.strip() for part in re.split(r"\{\w+\}", translations(locale).gettext(msgid)) if part.strip()]


def actor(site, name: str, role: str) -> Actor:
    return Actor(user_id=user_id(site, name), name=name, role=role, locale="zh")


def roi_cell(page) -> str:
    row = page.locator("table tbody tr", has_text=FAIR).first
    return row.locator("td").last.inner_text().strip()


@pytest.mark.parametrize("locale", LOCALES)
def test_a_won_trade_show_lead_moves_the_campaign_s_roi(page, server, locale):
    site = server.site
    fair, = rows(site, "campaign", name=FAIR)
    title = site.blueprint.reports["campaign_roi"].label.text(locale)
    sign_in(page, "marketing")
    speak(page, locale)
    page.goto("/reports/campaign_roi")
    expect(page.locator("h1")).to_have_text(title)
    before = roi_cell(page)
    assert before == "-100.0%" or before.endswith("%")

    rep = actor(site, "rep1", "sales_rep")
    lead = site.records.create("lead", {
        "company": unique("苏州精工机械"), "contact_name": {"zh": "周明", "en": "Zhou Ming"}[locale],
        "phone": f"0512-6688{len(rows(site, 'lead')) % 10_000:04d}", "source": "trade_show",
        "campaign": fair["id"], "region": "east", "budget": 3000000, "status": "qualified",
        "expected_purchase": dt.date.today() + dt.timedelta(days=30), "owner": rep.user_id}, rep)
    converted = Conversions(site).convert(rep, "lead", lead["id"], {})
    site.records.update("order", converted.created["order"], {"stage": "won"}, rep)
    won = sum(Decimal(o["amount"]) for o in rows(site, "order", campaign=fair["id"], stage="won"))
    expected = ((won - Decimal(fair["cost"])) * 100 / Decimal(fair["cost"])).quantize(Decimal("0.1"))

    page.reload()
    after = roi_cell(page)
    assert after != before and after == f"{expected:.1f}%"
    page.goto("/dashboards/marketing")
    widget = page.locator("section.widget", has=page.locator("h2", has_text=title))
    expect(widget.locator("table tbody tr", has_text=FAIR).first).to_contain_text(f"{expected:.1f}%")


@pytest.mark.parametrize("locale", LOCALES)
def test_changing_an_approved_quote_s_line_voids_it_and_sending_is_refused(page, server, locale):
    site = server.site
    rep, manager = actor(site, "rep1", "sales_rep"), actor(site, "manager", "sales_manager")
    order = rows(site, "order", owner=rep.user_id)[0]
    product = rows(site, "product")[0]
    quote = site.records.create("quote", {"name": unique("报价"), "order": order["id"], "customer": order["customer"],
                                          "owner": rep.user_id}, rep)
    line = site.records.create("quote_line", {"quote": quote["id"], "product": product["id"], "quantity": 20,
                                              "unit_price": 100000, "discount": 0}, rep)
    asked = site.approvals.request("approve_quote_discount", "quote", quote["id"], rep)
    site.approvals.decide(asked.id, "approve", manager, "同意")
    assert rows(site, "quote", id=quote["id"])[0]["approval_status"] == "approved"

    sign_in(page, "rep1")
    speak(page, locale)
    page.goto(f"/r/quote_line/{line['id']}/edit")
    page.fill("#f-discount", "95")
    page.locator("form.record-form button.primary").click()
    expect(page).to_have_url(re.compile(rf"/r/quote_line/{line['id']}$"))
    assert rows(site, "quote", id=quote["id"])[0]["approval_status"] is None
    assert site.approvals.get(asked.id).status == "voided"

    page.goto(f"/r/quote/{quote['id']}")
    expect(page.locator("#approval-panel")).to_contain_text(words("Void", locale))
    page.goto(f"/r/quote/{quote['id']}/edit")
    page.select_option("#f-status", "sent")
    page.locator("form.record-form button.primary").click()
    before_sent = next(c for c in site.blueprint.entities["quote"].checks if c.name == "approved_before_sent")
    assert before_sent.message is not None
    expect(page.locator("#msg-status .error")).to_contain_text(before_sent.message.text(locale))
    assert rows(site, "quote", id=quote["id"])[0]["status"] == "draft"
    page.goto("/notifications")
    told = page.locator("ul.inbox li").filter(has_text=quote["name"]).first
    for part in fixed_parts("The approval of {text} is void: {fields} changed after it was approved. "
                            "Ask for approval again.", locale):
        expect(told).to_contain_text(part)
