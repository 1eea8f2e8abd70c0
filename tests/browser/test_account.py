"""The user's own account page in Chromium: the name in the top bar opens it, it lists where the
user is signed in, and "sign out everywhere" signs out the other browser too."""
from __future__ import annotations

from browser_kit import VIEWPORT, sign_in
from playwright.sync_api import expect


def test_sign_out_everywhere_from_the_account_page(page, browser, server):
    sign_in(page, "rep2")
    other = browser.new_context(base_url=server.url, viewport=VIEWPORT, locale="zh-CN")
    try:
        phone = other.new_page()
        sign_in(phone, "rep2")
        page.locator("a.who").click()
        expect(page.locator("h1")).to_have_text("我的账号")
        expect(page.locator("tr.session-row")).to_have_count(2)
        expect(page.locator("tr.session-row.current")).to_contain_text("当前浏览器")
        page.get_by_role("button", name="退出所有设备").click()
        expect(page).to_have_url(f"{server.url}/login")
        phone.goto("/r/order")
        expect(phone).to_have_url(f"{server.url}/login?next=%2Fr%2Forder")  # the other browser is signed out too
    finally:
        other.close()
