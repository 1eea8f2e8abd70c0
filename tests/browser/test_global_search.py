"""The header's global search in a real browser, in Chinese: a rep presses `/`, types part of a
customer's Chinese name, a lead's phone digits (saved with spaces) and an order's code, walks the
results with the arrow keys and opens one with Enter; a customer of another rep never shows."""
from __future__ import annotations

import random
import re

from browser_kit import sign_in, unique, user_id
from playwright.sync_api import expect

from atrium.runtime.records.evaluation import Actor


def test_global_search_finds_by_chinese_substring_phone_digits_and_code_and_hides_the_rest(page, server, tmp_path):
    site = server.site
    rep1, rep2 = user_id(site, "rep1"), user_id(site, "rep2")
    me = Actor(user_id=rep1, name="rep1", role="sales_rep")
    other = Actor(user_id=rep2, name="rep2", role="sales_rep")
    tag = unique("").strip()  # six digits, unique per run
    mine = site.records.create("customer", {"name": f"华夏星辰精工{tag}有限公司", "owner": rep1}, me)
    theirs = site.records.create("customer", {"name": f"远东星辰精工{tag}集团", "owner": rep2}, other)
    digits = f"139{random.randrange(10**8):08d}"
    lead = site.records.create("lead", {"company": f"云帆科技{tag}", "contact_name": "王小明", "owner": rep1,
                                        "phone": f"{digits[:3]} {digits[3:7]} {digits[7:]}"}, me)
    order = site.records.create("order", {"name": f"数控机床{tag}", "customer": mine["id"], "owner": rep1}, me)

    sign_in(page, "rep1")
    page.locator("button[name=locale][value=zh]").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh")
    box = page.locator("form[data-global-search] input[name=q]")
    results = page.locator("#global-search-results")

    # a Chinese substring: only the rep's own customer, under 客户
    page.locator("body").press("/")
    expect(box).to_be_focused()
    box.type(f"星辰精工{tag}")
    expect(results.locator("[data-search-result]").first).to_be_visible()
    expect(results.locator("section[data-entity=customer] h2")).to_have_text("客户")
    expect(results.locator(f"a[href='/r/customer/{mine['id']}']")).to_contain_text(f"华夏星辰精工{tag}有限公司")
    expect(results.locator(f"a[href='/r/customer/{theirs['id']}']")).to_have_count(0)
    page.screenshot(path=str(tmp_path / "global-search-zh.png"))  # to look at: CJK renders in the dropdown
    box.press("ArrowDown")
    expect(results.locator(f"a[href='/r/customer/{mine['id']}']")).to_have_class(re.compile("active"))
    box.press("Enter")
    page.wait_for_url(f"**/r/customer/{mine['id']}")

    # a lead by its phone digits, typed without the spaces it was saved with
    page.locator("body").press("/")
    box.fill(digits)
    lead_link = results.locator(f"a[href='/r/lead/{lead['id']}']")
    expect(lead_link).to_be_visible()
    expect(lead_link).to_contain_text(f"{digits[:3]} {digits[3:7]} {digits[7:]}")
    expect(results.locator("section[data-entity=lead] h2")).to_have_text("线索")

    # an order by its code, on the full results page (Enter with nothing picked)
    box.fill(order["code"])
    expect(results.locator(f"a[href='/r/order/{order['id']}']")).to_be_visible()
    box.press("Enter")
    page.wait_for_url(re.compile(r"/search\?q="))
    expect(page.locator(f".search-page a[href='/r/order/{order['id']}']")).to_contain_text(order["code"])
    expect(page.locator(".search-page section[data-entity=order] h2")).to_have_text("订单")

    # what the rep may not read is not found at all
    page.goto(f"/search?q={'远东星辰精工' + tag}")
    expect(page.locator(".search-empty")).to_be_visible()
    expect(page.locator(f"a[href='/r/customer/{theirs['id']}']")).to_have_count(0)
