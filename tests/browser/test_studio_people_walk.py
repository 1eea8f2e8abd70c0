"""Users, teams and permissions in the studio, in a real browser and in Chinese: an admin adds a
team under East China and a new rep in it (the password typed in the studio), the rep signs in;
then through the permissions grid the admin makes an order's next step read-only for sales reps,
the review says what the role loses, and after Apply a rep's order form shows the field as text."""
from __future__ import annotations

import re

import pytest
from browser_kit import VIEWPORT, rows, serve, sign_in, user_id, words
from playwright.sync_api import expect


@pytest.fixture(scope="module")
def people_server(seeded_database, tmp_path_factory):
    """A server of its own: the grid changes its metadata, which other browser tests must not see."""
    with serve(seeded_database, tmp_path_factory.mktemp("people")) as running:
        yield running


def person(browser, server, name: str, password: str | None = None):
    context = browser.new_context(base_url=server.url, viewport=VIEWPORT, locale="zh-CN")
    context.set_default_timeout(15_000)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    sign_in(page, name, password)
    return context, page, problems


def test_admin_adds_a_user_to_a_team_who_signs_in_and_makes_a_field_read_only_for_reps(browser, people_server):
    site = people_server.site
    admin_context, admin, admin_problems = person(browser, people_server, "admin")
    try:
        # a new team under East China, managed by the manager
        admin.goto("/studio/teams")
        form = admin.locator("form.add-team")
        form.locator("input[name=name]").fill("north")
        form.locator("input[name=label]").fill("华北团队")
        form.locator("select[name=parent]").select_option(label="华东团队")
        form.locator("select[name=manager]").select_option(value=str(user_id(site, "manager")))
        form.locator("button[type=submit]").click()
        expect(admin.locator("tr[data-team=north]")).to_contain_text("└")
        # a new rep in it, with a password the admin types
        admin.goto("/studio/users")
        form = admin.locator("form.add-user")
        form.locator("input[name=name]").fill("liu")
        form.locator("input[name=display_name]").fill("刘洋")
        form.locator("select[name=role]").select_option("sales_rep")
        form.locator("select[name=team]").select_option(label="华北团队")
        form.locator("input[name=password]").fill("liu-secret-1")
        form.locator("button[type=submit]").click()
        expect(admin.locator("tr[data-user=liu]")).to_contain_text("华北团队")
        admin.goto("/studio/teams")
        expect(admin.locator("tr[data-team=north]")).to_contain_text("刘洋")
        liu_context, liu, liu_problems = person(browser, people_server, "liu", "liu-secret-1")
        expect(liu.locator("header.topbar")).to_contain_text("刘洋")
        liu_context.close()
        assert not liu_problems

        # the grid: next step read-only for sales reps, reviewed, then applied
        admin.goto("/studio/permissions")
        admin.locator("thead a[href='/studio/permissions/sales_rep']").click()
        row = admin.locator("tr[data-entity=order]")
        row.locator("details.field-modes summary").click()
        row.locator("select[name='field:order.next_step']").select_option("readonly")
        admin.locator("button[name=intent][value=review]:not(.danger)").click()
        change = admin.locator(".role-change[data-role=sales_rep]")
        expect(change.locator("ul.losses")).to_contain_text(words(
            "Field {field} of {entity}: {before} → {after}", "zh", field="下一步", entity="订单",
            before=words("editable", "zh"), after=words("read-only", "zh")))
        expect(admin.locator("#review")).to_contain_text("roles.yaml")
        admin.locator("button[name=intent][value=apply]").click()
        expect(admin.locator(".applied")).to_be_visible()
        assert not admin_problems
    finally:
        admin_context.close()

    rep_context, rep, rep_problems = person(browser, people_server, "rep1")
    try:
        order = rows(site, "order", owner=user_id(site, "rep1"))[0]
        rep.goto(f"/r/order/{order['id']}/edit")
        field = rep.locator("#field-next_step")
        expect(field.locator(".readonly")).to_be_visible()
        expect(field.locator("textarea")).to_have_count(0)
        expect(rep.locator("#field-name input").first).to_be_editable()  # the rest of the form as before
        assert not [p for p in rep_problems if not re.search(r"favicon", p)]
    finally:
        rep_context.close()
