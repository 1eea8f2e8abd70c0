"""In a real browser, in Chinese: marketing watches a trade show's ROI move on the campaign ROI
report and the marketing dashboard once a lead it brought converts and its order is won; a rep
who changes a line of an approved quote finds the approval void and the quote refused when sent."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from browser_kit import rows, sign_in, unique, user_id
from playwright.sync_api import expect

from atrium.runtime.pool.conversion import Conversions
from atrium.runtime.records.evaluation import Actor

FAIR = "2025 上海工博会"


def actor(site, name: str, role: str) -> Actor:
    return Actor(user_id=user_id(site, name), name=name, role=role, locale="zh")


def roi_cell(page) -> str:
    row = page.locator("table tbody tr", has_text=FAIR).first
    return row.locator("td").last.inner_text().strip()


def test_a_won_trade_show_lead_moves_the_campaign_s_roi(page, server):
    site = server.site
    fair, = rows(site, "campaign", name=FAIR)
    sign_in(page, "marketing")
    page.goto("/reports/campaign_roi")
    expect(page.locator("h1")).to_have_text("市场活动投入产出")
    before = roi_cell(page)
    assert before == "-100.0%" or before.endswith("%")

    rep = actor(site, "rep1", "sales_rep")
    lead = site.records.create("lead", {
        "company": unique("苏州精工机械"), "contact_name": "周明", "phone": "0512-66881234", "source": "trade_show",
        "campaign": fair["id"], "region": "east", "budget": 3000000, "status": "qualified",
        "expected_purchase": dt.date.today() + dt.timedelta(days=30), "owner": rep.user_id}, rep)
    converted = Conversions(site).convert(rep, "lead", lead["id"], {})
    site.records.update("order", converted.created["order"], {"stage": "won"}, rep)
    won = sum(Decimal(o["amount"]) for o in rows(site, "order", campaign=fair["id"], stage="won"))
    expected = ((won - Decimal(fair["cost"])) * 100 / Decimal(fair["cost"])).quantize(Decimal("0.1"))

    page.reload()
    after = roi_cell(page)
    assert after != before and after == f"{expected:,}%"
    page.goto("/dashboards/marketing")
    widget = page.locator("section.widget", has=page.locator("h2", has_text="市场活动投入产出"))
    expect(widget.locator("table tbody tr", has_text=FAIR).first).to_contain_text(f"{expected:,}%")


def test_changing_an_approved_quote_s_line_voids_it_and_sending_is_refused(page, server):
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
    page.goto(f"/r/quote_line/{line['id']}/edit")
    page.fill("#f-discount", "95")
    page.locator("form.record-form button.primary").click()
    expect(page).to_have_url(re.compile(rf"/r/quote_line/{line['id']}$"))
    assert rows(site, "quote", id=quote["id"])[0]["approval_status"] is None
    assert site.approvals.get(asked.id).status == "voided"

    page.goto(f"/r/quote/{quote['id']}")
    expect(page.locator("#approval-panel")).to_contain_text("已失效")
    page.goto(f"/r/quote/{quote['id']}/edit")
    page.select_option("#f-status", "sent")
    page.locator("form.record-form button.primary").click()
    expect(page.locator("#msg-status .error")).to_contain_text("该报价需经理审批后才能发送")
    assert rows(site, "quote", id=quote["id"])[0]["status"] == "draft"
    page.goto("/notifications")
    expect(page.locator("main")).to_contain_text("的审批已失效")
