"""An automation built as a form in a real browser: the admin makes "notify the manager when an
order over 1,000,000 is lost" (trigger, condition, action; a typo in the expression caught as it
is typed; the YAML shown at Review with the name kept), applies it; a rep loses such an order on
its page, and the manager finds the notification in the inbox."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from browser_kit import rows, serve, sign_in, unique, user_id
from playwright.sync_api import expect

from atrium.runtime.records.evaluation import Actor


@pytest.fixture(scope="module")
def automation_server(seeded_database, tmp_path_factory):
    """A server of its own: the studio changes its metadata, which other browser tests must not see."""
    with serve(seeded_database, tmp_path_factory.mktemp("automation_form")) as running:
        yield running


def test_admin_builds_a_notification_as_a_form_and_it_fires_when_a_rep_loses_a_big_order(browser, automation_server):
    site = automation_server.site
    rep1 = user_id(site, "rep1")
    customer = rows(site, "customer", owner=rep1)[0]
    name = unique("Hospital tender")
    order = site.records.create("order", {"name": name, "customer": customer["id"], "amount": 2_500_000,
                                          "expected_close": dt.date.today() + dt.timedelta(days=30)},
                                Actor(user_id=rep1, name="rep1", role="sales_rep"))
    context = browser.new_context(base_url=automation_server.url, locale="zh-CN")
    context.set_default_timeout(15_000)
    try:
        admin = context.new_page()
        sign_in(admin, "admin")
        admin.goto("/studio")
        admin.locator("a[href='/studio/automations/new']").click()
        admin.fill("input[name=name]", "notify_big_loss")
        admin.fill("input[name=label_en]", "Big order lost")
        admin.fill("input[name=label_zh]", "大单输单提醒")
        admin.select_option("select[name=entity]", "order")
        admin.select_option("select[name=on]", "stage_enter")
        expect(admin.locator("select[name=on_stage]")).to_be_visible()  # the trigger's own input shows
        expect(admin.locator("input[name=on_fields]")).to_be_hidden()
        admin.select_option("select[name=on_stage]", "lost")
        admin.fill("input[name=cond-0-field]", "amount")
        admin.select_option("select[name=cond-0-op]", "gt")
        expect(admin.locator("select[name=cond-0-op] option:checked")).to_have_text("大于")
        admin.fill("input[name=cond-0-value]", "1000000")
        admin.fill("input[name=when]", "amout > 0")  # a typo, caught as it is typed
        expect(admin.locator("#check-when")).to_contain_text("amount")
        admin.fill("input[name=when]", "")
        admin.select_option("select[name=act-0-kind]", "notify")
        expect(admin.locator("input[name=act-0-to]")).to_be_visible()
        expect(admin.locator("input[name=act-0-url]")).to_be_hidden()  # a webhook's inputs stay out of sight
        admin.fill("input[name=act-0-to]", "manager")
        admin.fill("input[name=act-0-message_en]", "Big order lost: {name}")
        admin.fill("input[name=act-0-message_zh]", "大单输单：{name}")
        admin.click("button[name=intent][value=review]")
        expect(admin.locator(".yaml-file").first).to_contain_text("automations/notify_big_loss.yaml")
        expect(admin.locator(".yaml-file").first).to_contain_text("to: manager")
        expect(admin.locator("input[name=name]")).to_have_value("notify_big_loss")  # kept through Review
        admin.click("button[name=intent][value=apply]")
        expect(admin.locator(".applied")).to_be_visible()
        expect(admin).to_have_url(re.compile(r"/studio/automations/notify_big_loss\?applied="))
        admin.close()

        rep = context.new_page()
        context.clear_cookies()
        sign_in(rep, "rep1")
        rep.goto(f"/r/order/{order['id']}")
        rep.locator(".stage-actions button[value=lost]").click()
        ask = rep.locator("#stage-ask form")
        ask.locator("#f-lost_reason").select_option("price")
        ask.locator("button.primary").click()
        expect(rep.locator("h1 .badge")).to_have_text("输单")
        rep.close()

        manager = context.new_page()
        context.clear_cookies()
        sign_in(manager, "manager")
        manager.goto("/notifications")
        expect(manager.locator("main")).to_contain_text(f"大单输单：{name}")
    finally:
        context.close()
