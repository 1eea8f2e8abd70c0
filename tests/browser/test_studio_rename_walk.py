"""Renaming a field in the studio, in a real browser: order.amount, used by the weighted_amount
formula, two stages' `requires` and many reports, becomes deal_value in one reviewed change; the
review lists the uses; afterwards the order page and the pipeline report work with the data."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from browser_kit import VIEWPORT, serve, sign_in
from playwright.sync_api import expect


@pytest.fixture(scope="module")
def rename_server(seeded_database, tmp_path_factory):
    """A server of its own: the rename changes its metadata, which other browser tests must not see."""
    with serve(seeded_database, tmp_path_factory.mktemp("rename")) as running:
        yield running


def test_admin_renames_a_field_used_in_a_formula_a_stage_and_reports(browser, rename_server):
    with rename_server.site.engine.connect() as connection:
        order_id, amount = connection.execute(sa.text(
            "SELECT id, amount FROM \"order\" WHERE amount > 100000 ORDER BY id LIMIT 1")).one()
    context = browser.new_context(base_url=rename_server.url, viewport=VIEWPORT, locale="zh-CN")
    context.set_default_timeout(15_000)
    admin = context.new_page()
    problems: list[str] = []
    admin.on("pageerror", lambda error: problems.append(str(error)))
    try:
        sign_in(admin, "admin")
        admin.goto("/studio/entities/order/fields/amount")
        rename = admin.locator("form[action$='/rename']")
        rename.locator("input[name=new_name]").fill("deal_value")
        rename.locator("button[name=intent][value=review]").click()
        rename = admin.locator("form[action$='/rename']")
        uses = rename.locator("ul.uses")
        expect(uses).to_contain_text("fields.weighted_amount.formula")
        expect(uses).to_contain_text("pipeline order: stages[1].requires[0]: amount → deal_value")
        expect(uses).to_contain_text("report pipeline_by_stage")
        expect(rename.locator(".plan")).to_contain_text("order.amount")
        # the apply migrates the seeded orders (column, indexes, the formula computed again): slow on a busy machine
        rename.locator("button[name=intent][value=apply]").click(no_wait_after=True)
        expect(admin.locator(".applied")).to_contain_text("#1", timeout=180_000)

        admin.goto(f"/r/order/{order_id}")
        expect(admin.locator("main")).to_contain_text(f"{int(amount):,}")
        admin.goto("/reports/pipeline_by_stage")
        expect(admin.locator(".report-table")).to_be_visible()
        expect(admin.locator(".chart svg")).to_have_count(1)
        with rename_server.site.engine.connect() as connection:
            kept = connection.execute(sa.text("SELECT deal_value FROM \"order\" WHERE id = :id"),
                                      {"id": order_id}).scalar_one()
        assert kept == amount
        admin.goto("/r/order?sort=-deal_value")
        expect(admin).to_have_url(re.compile(r"sort=-deal_value"))
        expect(admin.locator("table")).to_be_visible()
        assert not problems, problems
    finally:
        context.close()
