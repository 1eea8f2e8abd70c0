"""A rep starts a customer whose company name is already taken (typed with a space before 有限公司):
leaving the name shows the existing customer as a link before saving, saving asks again, the link
opens the existing customer, and "Save anyway" saves the new one. In both of the blueprint's
languages."""
from __future__ import annotations

import re

import pytest
from browser_kit import LOCALES, rows, sign_in, speak, unique, user_id, words
from playwright.sync_api import expect

from atrium.runtime.records.evaluation import Actor

SLOW = 15_000  # ms: each answer is a server round trip, and the test machine may be busy


@pytest.mark.parametrize("locale", LOCALES)
def test_a_rep_creating_a_customer_with_an_existing_name_is_warned_with_a_link(page, server, locale):
    site = server.site
    rep1 = user_id(site, "rep1")
    base = unique("沈阳天成建设工程").replace(" ", "")
    existing = site.records.create("customer", {"name": f"{base}有限公司", "owner": rep1},
                                   Actor(user_id=rep1, name="rep1", role="sales_rep"))
    sign_in(page, "rep1")
    speak(page, locale)
    page.goto("/r/customer/new")
    page.fill("input[name=name]", f"{base} 有限公司")
    page.locator("input[name=name]").blur()

    # before saving: beside the name, the existing customer as a link
    warning = page.locator("#msg-name .duplicate-warning")
    expect(warning).to_be_visible(timeout=SLOW)
    entity = site.blueprint.entities["customer"].label.text(locale)
    expect(warning).to_contain_text(words("A similar {entity} already exists:", locale, entity=entity))
    link = warning.locator(f"a[href='/r/customer/{existing['id']}']")
    expect(link).to_have_text(f"{base}有限公司")

    # saving asks again; nothing is written until the rep confirms
    page.locator(".form-actions button.primary").click()
    panel = page.locator(".conflict.duplicates")
    expect(panel).to_be_visible(timeout=SLOW)
    expect(panel).to_be_in_viewport()  # brought into view: the Save button is far below it
    expect(panel.get_by_role("button", name=words("Save anyway", locale))).to_be_focused()
    assert len([r for r in rows(site, "customer") if r["name"].startswith(base)]) == 1
    expect(panel.locator(f"a[href='/r/customer/{existing['id']}']")).to_be_visible()

    # the link opens the existing customer (in a tab of its own: the form keeps what was typed)
    with page.context.expect_page() as opened:
        panel.locator(f"a[href='/r/customer/{existing['id']}']").click()
    other = opened.value
    other.wait_for_load_state()
    assert other.url.endswith(f"/r/customer/{existing['id']}")
    expect(other.locator("h1")).to_contain_text(f"{base}有限公司", timeout=SLOW)
    other.close()

    # "Save anyway" saves the new one
    panel.get_by_role("button", name=words("Save anyway", locale)).click()
    page.wait_for_url(re.compile(r"/r/customer/\d+$"), timeout=SLOW)
    made = [r for r in rows(site, "customer") if r["name"].startswith(base)]
    assert len(made) == 2 and {r["name"] for r in made} == {f"{base}有限公司", f"{base} 有限公司"}
