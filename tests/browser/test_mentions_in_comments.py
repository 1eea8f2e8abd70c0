"""Comments with @mentions in a real browser, in Chinese: a rep comments on a customer, first
naming another rep who cannot see it (refused beside the box, nothing saved), then picks the
manager from the @ completion; the manager finds the mention in the inbox and opens the record."""
from __future__ import annotations

import re

from browser_kit import sign_in, unique, user_id
from playwright.sync_api import expect

from atrium.runtime.records.evaluation import Actor


def test_a_rep_mentions_the_manager_who_is_told_and_opens_the_record(page, server, tmp_path):
    site = server.site
    rep1 = user_id(site, "rep1")
    name = f"沈阳天成建设工程{unique('').strip()}有限公司"
    customer = site.records.create("customer", {"name": name, "owner": rep1},
                                   Actor(user_id=rep1, name="rep1", role="sales_rep"))

    sign_in(page, "rep1")
    page.locator("button[name=locale][value=zh]").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh")
    page.goto(f"/r/customer/{customer['id']}")
    box = page.locator("#comment-text")

    # another rep cannot see this customer: the mention is refused beside the box, the text kept
    box.fill("@rep2 请看一下")
    page.get_by_role("button", name="发表评论").click()
    expect(page.locator("#comment-error")).to_contain_text("@rep2 看不到此记录，不能在这里提及")
    expect(page.locator("#comment-text")).to_have_value("@rep2 请看一下")
    expect(page.locator(".timeline .entry-comment")).to_have_count(0)

    # the completion offers the manager, who can; choosing puts the name in the box
    box = page.locator("#comment-text")
    box.fill("")
    box.press_sequentially("合同已盖章 @man")
    option = page.locator("#comments .mention-option[data-name=manager]")
    expect(option).to_be_visible()
    expect(page.locator("#comments .mention-option[data-name=rep2]")).to_have_count(0)
    option.click()
    expect(box).to_have_value("合同已盖章 @manager ")
    box.press_sequentially("请今天回电")
    page.get_by_role("button", name="发表评论").click()
    comment = page.locator(".timeline .entry-comment .comment-body")
    expect(comment).to_have_text("合同已盖章 @manager 请今天回电")
    page.screenshot(path=str(tmp_path / "comment-zh.png"))  # to look at: the comment in the timeline

    # the manager is told in the inbox and opens the record from it
    page.context.clear_cookies()
    sign_in(page, "manager")
    page.goto("/notifications")
    told = page.locator("a", has_text=re.compile(f"在 {name} 中提到了你"))
    expect(told).to_contain_text("合同已盖章 @manager 请今天回电")
    told.click()
    page.wait_for_url(f"**/r/customer/{customer['id']}")
    expect(page.locator(".timeline .entry-comment .comment-body")).to_have_text("合同已盖章 @manager 请今天回电")
