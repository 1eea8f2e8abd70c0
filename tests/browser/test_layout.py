"""Layout a phone user feels (issue 15 item 6), in Chromium:
- at 1280 px the pool page's claim button is on screen without scrolling the table sideways;
- at 390 px a list is a column of cards (title, key columns, the row action) and the header's
  menus (blueprint.yaml `navigation:`) open and reach 订单 and 线索."""
from __future__ import annotations

from urllib.parse import quote

from browser_kit import sign_in, unique, user_id
from playwright.sync_api import expect

from atrium.runtime.records.evaluation import Actor

PHONE = {"width": 390, "height": 844}


def pooled_customers(site, prefix: str, count: int) -> None:
    rep1 = user_id(site, "rep1")
    actor = Actor(user_id=rep1, name="rep1", role="sales_rep")
    for n in range(count):
        made = site.records.create("customer", {"name": f"{prefix} {n}", "owner": rep1}, actor)
        site.records.update("customer", made["id"], {"owner": None}, actor)


def inside_viewport(page, locator, scroll: bool = False) -> bool:
    """Within the window (scroll: after scrolling the page down to it, never sideways)."""
    if scroll:
        locator.scroll_into_view_if_needed()
    box = locator.bounding_box()
    size = page.viewport_size
    return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= size["width"] \
        and box["y"] >= 0 and box["y"] + box["height"] <= size["height"]


def test_the_pool_pages_claim_button_is_on_screen_at_1280(page, server):
    prefix = unique("宽屏公海")
    pooled_customers(server.site, prefix, 2)
    sign_in(page, "rep2")
    page.goto(f"/r/customer?owner=none&q={quote(prefix)}")
    claim = page.locator("table.records tbody tr").first.locator("td.row-action button")
    expect(claim).to_have_text("领取")
    wrap = page.locator(".table-wrap")
    assert wrap.evaluate("w => w.scrollWidth > w.clientWidth"), "the table no longer overflows: test the real case"
    assert wrap.evaluate("w => w.scrollLeft") == 0
    assert inside_viewport(page, claim), "the claim button is off-screen"
    claim.click()
    expect(page.locator("tr.pool-outcome")).to_contain_text("已领取")


def test_on_a_phone_lists_are_cards_and_the_menus_reach_orders_and_leads(browser, server):
    context = browser.new_context(base_url=server.url, viewport=PHONE, locale="zh-CN", is_mobile=True,
                                  has_touch=True)
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        prefix = unique("手机公海")
        pooled_customers(server.site, prefix, 1)
        sign_in(page, "rep1")
        page.goto(f"/r/customer?owner=none&q={quote(prefix)}")
        card = page.locator("table.records tbody tr").first
        expect(page.locator("table.records thead")).to_be_hidden()
        assert card.evaluate("tr => getComputedStyle(tr).display") == "flex"
        expect(card.locator("td").first).to_contain_text(prefix)  # the title leads the card
        expect(card.locator("td[data-label='客户等级']")).to_be_visible()  # a key column, labelled
        assert card.locator("td[data-extra]").count() > 0
        expect(card.locator("td[data-extra]").first).to_be_hidden()  # the rest stays in the table view
        claim = card.locator("td.row-action button")
        expect(claim).to_be_visible()
        page.screenshot(path="/tmp/bulknav-phone-list.png", full_page=True)
        assert inside_viewport(page, claim, scroll=True)
        assert page.evaluate("window.scrollX") == 0
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "the page scrolls sideways"
        page.evaluate("window.scrollTo(0, 0)")

        sales = page.locator("details.nav-group", has=page.locator("summary", has_text="销售"))
        expect(sales.locator("a[href='/r/order']")).to_be_hidden()  # closed until asked
        sales.locator("summary").click()
        orders = sales.locator("a[href='/r/order']")
        expect(orders).to_be_visible()
        page.screenshot(path="/tmp/bulknav-phone-menu.png")
        assert inside_viewport(page, orders)
        expect(sales.locator("a[href='/r/lead']")).to_be_visible()
        orders.click()
        expect(page.locator("h1")).to_have_text("订单")
        expect(page.locator("details.nav-group[data-current] summary")).to_contain_text("销售")
        marketing = page.locator("details.nav-group", has=page.locator("summary", has_text="市场"))
        marketing.locator("summary").click()
        leads = marketing.locator("a[href='/r/lead']")
        expect(leads).to_be_visible()
        assert inside_viewport(page, leads)
        leads.click()
        expect(page.locator("h1")).to_have_text("线索")
    finally:
        context.close()
