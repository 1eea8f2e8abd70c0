"""The studio in a real browser: an admin adds a select field with three coloured options; a rep
reloads the form, sees it and saves a value; a report grouped by the field (made in the studio's
report editor, with its live preview) shows the value; undo takes the field out of the forms
while its column and data stay in the database. Screenshots of the studio go to docs/screenshots/."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from browser_kit import SCREENSHOTS, VIEWPORT, serve, sign_in
from playwright.sync_api import expect

OPTIONS = [("smb", "Small business", "小企业", "blue"), ("mid", "Mid-market", "中型企业", "green"),
           ("enterprise", "Enterprise", "大型企业", "purple")]


@pytest.fixture(scope="module")
def studio_server(seeded_database, tmp_path_factory):
    """A server of its own: the studio changes its metadata, which other browser tests must not see."""
    with serve(seeded_database, tmp_path_factory.mktemp("studio")) as running:
        yield running


def person(browser, server, name: str):
    context = browser.new_context(base_url=server.url, viewport=VIEWPORT, locale="zh-CN")
    context.set_default_timeout(15_000)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    sign_in(page, name)
    return context, page, problems


def save(page, name: str) -> None:
    page.mouse.move(0, 0)
    page.evaluate("window.scrollTo(0, 0)")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True, animations="disabled", caret="hide")


def stored(server, column: str) -> list:
    with server.site.engine.connect() as connection:
        return [row[0] for row in connection.execute(
            sa.text(f'SELECT "{column}" FROM customer WHERE "{column}" IS NOT NULL'))]


def test_admin_adds_a_field_rep_uses_it_report_shows_it_undo_keeps_the_data(browser, studio_server):
    admin_context, admin, admin_problems = person(browser, studio_server, "admin")
    rep_context, rep, rep_problems = person(browser, studio_server, "rep1")
    try:
        # the admin adds customer.segment: a select with three coloured options, in the first form section
        admin.goto("/studio")
        admin.get_by_role("link", name=re.compile("配置中心|Studio")).first.click()
        admin.goto("/studio/entities/customer/fields/new")
        admin.fill("input[name=name]", "segment")
        admin.select_option("select[name=type]", "select")
        expect(admin.locator("fieldset.options")).to_be_visible()
        admin.fill("input[name=label_en]", "Segment")
        admin.fill("input[name=label_zh]", "客户分层")
        for index, (value, english, chinese, colour) in enumerate(OPTIONS):
            admin.fill(f"input[name=option-{index}-value]", value)
            admin.fill(f"input[name=option-{index}-label_en]", english)
            admin.fill(f"input[name=option-{index}-label_zh]", chinese)
            admin.select_option(f"select[name=option-{index}-color]", colour)
        admin.fill("input[name=required_when]", "levle == 'vip'")  # a typo, caught as it is typed
        expect(admin.locator("#check-required_when")).to_contain_text("levle")
        expect(admin.locator("#check-required_when")).to_contain_text("level")
        admin.fill("input[name=required_when]", "level == 'vip'")
        expect(admin.locator("#check-required_when")).to_contain_text("✓")
        admin.check("input[name=add_to_list]")
        admin.click("button[name=intent][value=review]")
        expect(admin.locator(".plan")).to_contain_text("customer.segment")
        expect(admin.locator(".yaml-file").first).to_contain_text("segment:")
        save(admin, "studio-field-zh")
        admin.click("button[name=intent][value=apply]")
        expect(admin.locator(".applied")).to_contain_text("#1")

        # the rep reloads the form: the field is there, with its options; a value is saved
        rep.goto("/r/customer/new")
        segment = rep.locator("select[name=segment]")
        expect(segment).to_be_visible()
        expect(segment.locator("option")).to_have_count(4)  # an empty choice and the three options
        rep.fill("input[name=name]", "Studio Test Co")
        segment.select_option("mid")
        rep.locator("form.record-form button.primary").click()
        expect(rep).to_have_url(re.compile(r"/r/customer/\d+$"))
        expect(rep.locator("main")).to_contain_text("中型企业")
        assert stored(studio_server, "segment") == ["mid"]

        # a report grouped by the field, made in the report editor with a live preview
        admin.goto("/studio/reports/new")
        admin.fill("input[name=name]", "customers_by_segment")
        admin.fill("input[name=label_en]", "Customers by segment")
        admin.fill("input[name=label_zh]", "客户分层分布")
        admin.select_option("select[name=source]", "customer")
        admin.fill("input[name=group-0-field]", "segment")
        admin.fill("input[name=measure-0-name]", "customers")
        admin.select_option("select[name=chart_type]", "bar")
        admin.fill("input[name=chart_x]", "segment")
        admin.fill("input[name=chart_y]", "customers")
        expect(admin.locator("#report-preview .report-table")).to_contain_text("中型企业")
        expect(admin.locator("#report-preview .chart svg")).to_have_count(1)
        save(admin, "studio-report-zh")
        admin.click("button[name=intent][value=apply]")
        expect(admin.locator(".applied")).to_contain_text("#2")
        rep.goto("/reports/customers_by_segment")
        expect(rep.locator(".report-table")).to_contain_text("中型企业")

        # every change is in the history as YAML; undo the field (after confirming what leaves sight)
        admin.goto("/studio/history/1")
        expect(admin.locator("pre.diff").first).to_contain_text("segment")
        admin.goto("/studio/history/2")
        admin.locator("form.studio-form button.primary").click()  # undo the report first (nothing to confirm)
        expect(admin.locator(".applied")).to_contain_text("#3")
        admin.goto("/studio/history/1")
        admin.locator("form.studio-form button.primary").click()
        expect(admin.locator(".impacts")).to_contain_text("customer.segment")
        admin.check("input[name=confirm]")
        admin.locator("form.studio-form button.primary").click()
        expect(admin.locator(".applied")).to_contain_text("#4")
        save(admin, "studio-history-zh")

        rep.goto("/r/customer/new")
        expect(rep.locator("input[name=name]")).to_be_visible()
        expect(rep.locator("select[name=segment]")).to_have_count(0)
        assert stored(studio_server, "segment") == ["mid"]  # the column and its value stay
        assert not admin_problems and not rep_problems, admin_problems + rep_problems
    finally:
        admin_context.close()
        rep_context.close()
