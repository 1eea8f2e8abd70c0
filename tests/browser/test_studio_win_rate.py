"""A win rate built in the studio's report editor in a real browser, with filtered measures
(`won: {count: id, where: {stage: won}}`, `closed: ... where: {stage: {in: [won, lost]}}`) and a
metric `won * 100 / closed`: the report shows the counts of the stored records and their rate."""
from __future__ import annotations

import re

import pytest
from browser_kit import rows, serve, sign_in
from playwright.sync_api import expect


@pytest.fixture(scope="module")
def win_rate_server(seeded_database, tmp_path_factory):
    """A server of its own: the studio changes its metadata, which other browser tests must not see."""
    with serve(seeded_database, tmp_path_factory.mktemp("win_rate")) as running:
        yield running


def test_admin_builds_a_win_rate_from_filtered_measures_and_it_counts_the_stored_records(browser, win_rate_server):
    site = win_rate_server.site
    mine = rows(site, "order")
    won = sum(1 for order in mine if order["stage"] == "won")
    closed = sum(1 for order in mine if order["stage"] in ("won", "lost"))
    assert closed > won > 0  # the demo data has both outcomes
    context = browser.new_context(base_url=win_rate_server.url, locale="en-US")
    context.set_default_timeout(15_000)
    try:
        admin = context.new_page()
        sign_in(admin, "admin")
        admin.goto("/studio/reports/new?lang=en")
        admin.fill("input[name=name]", "my_win_rate")
        admin.fill("input[name=label_en]", "My win rate")
        admin.fill("input[name=label_zh]", "我的赢单率")
        admin.select_option("select[name=source]", "order")
        admin.fill("input[name=measure-0-name]", "won")
        admin.fill("input[name=measure-0-field]", "id")
        admin.fill("input[name=measure-0-where]", "{stage: won}")
        admin.fill("input[name=measure-1-name]", "closed")
        admin.fill("input[name=measure-1-field]", "id")
        admin.fill("input[name=measure-1-where]", "{stage: {in: [won, lost]}}")
        admin.fill("input[name=metric-0-name]", "win_rate")
        admin.fill("input[name=metric-0-expr]", "won * 100 / closed if closed else None")
        admin.select_option("select[name=metric-0-format]", "percent")
        admin.select_option("select[name=chart_type]", "table")
        admin.click("button[name=intent][value=review]")
        expect(admin.locator(".yaml-file").first).to_contain_text("where: {stage: won}")
        admin.click("button[name=intent][value=apply]")
        expect(admin.locator(".applied")).to_contain_text("#1")

        admin.goto("/reports/my_win_rate?lang=en")
        table = admin.locator(".report-table")
        expect(table).to_contain_text("Win rate")
        cells = [text.strip() for text in table.locator("tbody tr").first.locator("td").all_inner_texts()]
        assert cells[:2] == [str(won), str(closed)], cells
        assert re.fullmatch(r"\d+(\.\d+)?%", cells[2]), cells
        assert abs(float(cells[2].rstrip("%")) - 100 * won / closed) < 0.1
    finally:
        context.close()
