"""Switching the language from the top bar: every label changes, and the choice is remembered
after a reload and after signing out and in again."""
from __future__ import annotations

from browser_kit import sign_in
from playwright.sync_api import expect


def test_language_switch_is_remembered_across_reload_and_sign_in(page, server):
    sign_in(page, "rep3")
    page.goto("/r/order")
    menu = page.locator("nav.menu")
    expect(page.locator("html")).to_have_attribute("lang", "zh")
    expect(menu).to_contain_text("订单")
    expect(page.locator("h1")).to_have_text("订单")

    page.locator("button[name=locale][value=en]").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page).to_have_url(f"{server.url}/r/order")  # back on the same page
    expect(page.locator("h1")).to_have_text("Orders")
    expect(menu).to_contain_text("Customers")
    expect(menu).not_to_contain_text("订单")
    expect(page.locator("table.records thead")).to_contain_text("Expected close")

    page.reload()
    expect(page.locator("h1")).to_have_text("Orders")
    page.locator("form[action='/logout'] button").click()
    expect(page).to_have_url(f"{server.url}/login")
    page.context.clear_cookies()  # a new browser session: only the account remembers
    sign_in(page, "rep3")
    page.goto("/r/order")
    expect(page.locator("h1")).to_have_text("Orders")

    page.locator("button[name=locale][value=zh]").click()
    expect(page.locator("h1")).to_have_text("订单")
    expect(menu).to_contain_text("客户")
    expect(page.locator("table.records thead")).to_contain_text("预计成交日期")
