"""In a real browser, in Chinese and in English (the words from the blueprint's labels and the
interface's catalog): rep1 enters a lead met at a trade show (the form asks for its campaign),
qualifies and converts it and wins its order, and marketing watches the trade show's ROI move on
the campaign ROI report and the marketing dashboard; a rep
who changes a line of an approved quote finds the approval void and the quote refused when sent."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from browser_kit import LOCALES, VIEWPORT, pick, rows, serve, sign_in, speak, unique, user_id, words
from playwright.sync_api import expect

from atrium.runtime.records.evaluation import Actor
from atrium.translation import translations

FAIR = "2025 上海工博会"


@pytest.fixture(scope="module")
def server(make_run_database, tmp_path_factory):
    """Its own copy of the demo data as `make run` seeds it (these tests win deals and change quotes);
    the conftest's `page` opens on it."""
    with serve(make_run_database, tmp_path_factory.mktemp("campaigns")) as running:
        yield running


def fixed_parts(msgid: str, locale: str) -> list[str]:
    """The words of a catalog message around its {placeholders}, as every filled-in text shows them."""
    return [part.strip() for part in re.split(r"\{\w+\}", translations(locale).gettext(msgid)) if part.strip()]


def actor(site, name: str, role: str) -> Actor:
    return Actor(user_id=user_id(site, name), name=name, role=role, locale="zh")


def roi_cell(page) -> str:
    row = page.locator("table tbody tr", has_text=FAIR).first
    return row.locator("td").last.inner_text().strip()


def enter_convert_and_win(page, site, fair: dict, locale: str) -> None:
    """rep1 enters a lead met at the trade show (the campaign asked for once the source says so),
    qualifies it, converts it into customer, contact and order, and wins the order."""
    lead_entity = site.blueprint.entities["lead"]
    sign_in(page, "rep1")
    speak(page, locale)
    page.goto("/r/lead/new")
    company = unique({"zh": "苏州精工机械", "en": "Suzhou Precision"}[locale])
    page.fill("#f-company", company)
    page.fill("#f-contact_name", {"zh": "周明", "en": "Zhou Ming"}[locale])
    page.fill("#f-phone", f"0512-6688{len(rows(site, 'lead')) % 10_000:04d}")
    expect(page.locator("#field-campaign")).to_be_hidden()
    page.select_option("#f-source", "trade_show")
    expect(page.locator("#field-campaign")).to_be_visible()  # the source needs it: the form shows it
    pick(page, "campaign", FAIR)
    page.select_option("#f-region", "east")
    page.fill("#f-budget", "3000000")
    page.fill("#f-expected_purchase", (dt.date.today() + dt.timedelta(days=30)).isoformat())
    page.locator("form.record-form button.primary").click()
    expect(page).to_have_url(re.compile(r"/r/lead/\d+$"))
    lead, = rows(site, "lead", company=company)
    assert lead["campaign"] == fair["id"]
    for stage in ("contacted", "qualified"):
        page.locator(f".stage-actions button[value={stage}]").click()
        expect(page.locator("h1 .badge")).to_have_text(
            site.blueprint.pipelines["lead"].stage(stage).label.text(locale))
    assert lead_entity.convert is not None
    page.locator(".page-head a.button", has_text=lead_entity.convert.label.text(locale)).click()
    form = page.locator("form.convert-form")
    for choice in form.locator("input[type=radio][value=new]").all():  # look-alikes: make new ones
        choice.check()
    form.locator("button[type=submit]").click()
    expect(page.locator("h1")).to_have_text(words("Converted", locale))
    order = rows(site, "lead", id=lead["id"])[0]["converted_order"]
    assert rows(site, "order", id=order)[0]["campaign"] == fair["id"]  # the campaign came along
    page.goto(f"/r/order/{order}")
    page.locator(".stage-actions button[value=won]").click()
    expect(page.locator("h1 .badge")).to_have_text(site.blueprint.pipelines["order"].stage("won").label.text(locale))


@pytest.mark.parametrize("locale", LOCALES)
def test_a_won_trade_show_lead_moves_the_campaign_s_roi(page, browser, server, locale):
    site = server.site
    fair, = rows(site, "campaign", name=FAIR)
    title = site.blueprint.reports["campaign_roi"].label.text(locale)
    sign_in(page, "marketing")
    speak(page, locale)
    page.goto("/reports/campaign_roi")
    expect(page.locator("h1")).to_have_text(title)
    before = roi_cell(page)
    assert before == "-100.0%" or before.endswith("%")

    rep = browser.new_context(base_url=server.url, viewport=VIEWPORT, locale="zh-CN")
    rep.set_default_timeout(15_000)
    try:
        enter_convert_and_win(rep.new_page(), site, fair, locale)
    finally:
        rep.close()
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
