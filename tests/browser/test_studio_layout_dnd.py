"""The studio's layout editor in a real browser: an admin drags the amount field to the top of the
order form's first section and the follow-up section above the basics, reviews, applies, and the
order form shows the fields and sections in the new order; a list column moved with its arrow
button (the keyboard's way) moves in the list."""
from __future__ import annotations

import pytest
from browser_kit import VIEWPORT, serve, sign_in
from playwright.sync_api import expect


@pytest.fixture(scope="module")
def layout_server(seeded_database, tmp_path_factory):
    """A server of its own: the layout change alters its metadata, which other browser tests must not see."""
    with serve(seeded_database, tmp_path_factory.mktemp("layout_dnd")) as running:
        yield running


def test_admin_arranges_the_order_form_by_drag_and_drop(browser, layout_server):
    context = browser.new_context(base_url=layout_server.url, viewport=VIEWPORT, locale="zh-CN")
    context.set_default_timeout(15_000)
    admin = context.new_page()
    problems: list[str] = []
    admin.on("pageerror", lambda error: problems.append(str(error)))
    try:
        sign_in(admin, "admin")
        admin.goto("/studio/views/order")
        basics = admin.locator("ul.chips[data-input='section-0-fields']")
        basics.locator("li[data-value=amount]").drag_to(basics.locator("li[data-value=name]"))
        expect(admin.locator("input[name='section-0-fields']")).to_have_value(
            "amount, name, customer, owner, expected_close, opened_on, tags")
        rows = admin.locator("tbody.sortable-rows > tr")
        rows.nth(2).locator(".row-grip").drag_to(rows.nth(0).locator(".row-grip"))
        expect(admin.locator("input[name='section-2-position']")).to_have_value("10")
        expect(admin.locator("input[name='section-0-position']")).to_have_value("20")
        # the keyboard's way: the owner column one place up with its button
        admin.locator("ul.chips[data-input=columns] li[data-value=owner] button[data-move='-1']").click()
        expect(admin.locator("input[name=columns]")).to_have_value(
            "code, name, owner, customer, stage, amount, expected_close")
        admin.locator("button[name=intent][value=review]").click()
        expect(admin.locator(".review")).to_be_visible()
        admin.locator("button[name=intent][value=apply]").click()
        expect(admin.locator(".applied")).to_be_visible()

        admin.goto("/r/order/new")
        sections = admin.locator("fieldset.section")
        expect(sections.first.locator("legend")).to_have_text("跟进")
        names = sections.nth(1).evaluate(
            "set => Array.from(set.querySelectorAll('[name]'), e => e.getAttribute('name'))")
        assert names.index("amount") < names.index("name"), names
        admin.goto("/r/order")
        headers = admin.locator("table thead th").all_inner_texts()
        assert headers.index("负责人") < headers.index("客户"), headers
        assert not problems, problems
    finally:
        context.close()
