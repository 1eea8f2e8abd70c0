"""A new role from the permissions grid: "Add role" (name, label in both languages, optionally the
grants of an existing role copied) reviewed like every grid change (what the role gains, the YAML)
and applied into the site overlay's roles.yaml; a user can then be given it. Removing a role is
refused, naming the users, while users hold it, and goes through once nobody does."""
from __future__ import annotations

import re

import yaml
from studio_kit import applied_version, open_form, submit, visible_text

from atrium.runtime.access import users

NEW = "/studio/permissions/new"


def test_add_a_role_copied_from_another_review_then_apply(studio):
    boss = studio.browser("boss")
    assert 'href="/studio/permissions/new"' in boss.get("/studio/permissions").text
    fields = open_form(boss, NEW)
    fields.update({"name": "key_account_rep", "label_en": "Key account rep", "label_zh": "大客户代表",
                   "copy_from": "sales_rep"})
    review = submit(boss, NEW, fields, intent="review")
    assert review.status_code == 200
    said = visible_text(re.search(r'<div class="role-change" data-role="key_account_rep">(.*?)</div>',
                                  review.text, re.S).group(1))
    assert "Key account rep" in said and "new role" in said and "See Orders: nothing → their own" in said
    assert "roles.yaml" in review.text and "roles.yaml" not in studio.overlay_files()  # reviewed, not written
    version = applied_version(submit(boss, NEW, fields))
    assert version > 0
    role = studio.app.state.site.blueprint.roles["key_account_rep"]
    rep = studio.app.state.site.blueprint.roles["sales_rep"]
    assert role.label.text("zh") == "大客户代表" and role.label.text("en") == "Key account rep"
    assert dict(role.entities) == dict(rep.entities) and dict(role.fields) == dict(rep.fields)
    written = yaml.safe_load(studio.overlay_files()["roles.yaml"])["roles"]["key_account_rep"]
    assert written["label"] == {"en": "Key account rep", "zh": "大客户代表"}
    assert boss.get("/studio/permissions/key_account_rep").status_code == 200  # the grid edits it now


def test_a_new_role_without_a_copy_starts_with_no_access(studio):
    boss = studio.browser("boss")
    fields = open_form(boss, NEW)
    fields.update({"name": "auditor", "label_en": "Auditor", "label_zh": "审计"})
    applied_version(submit(boss, NEW, fields))
    role = studio.app.state.site.blueprint.roles["auditor"]
    assert not role.all and not role.studio and role.grant("order").read == "none" and not dict(role.entities)


def test_a_bad_or_taken_name_is_said_at_the_input_and_nothing_is_written(studio):
    boss = studio.browser("boss")
    fields = open_form(boss, NEW)
    for name, text in (("sales_rep", "That name is already used"), ("new", "That name is already used"),
                       ("Key Rep", "Use lower-case letters")):
        fields.update({"name": name, "label_en": "X"})
        answer = submit(boss, NEW, fields)
        assert answer.status_code == 200 and text in visible_text(answer.text)
    fields.update({"name": "fine_name", "copy_from": "nobody"})
    assert "There is no role 'nobody' to copy" in visible_text(submit(boss, NEW, fields).text)
    assert "roles.yaml" not in studio.overlay_files() and studio.history_rows() == []


def test_the_page_speaks_chinese(studio):
    boss = studio.browser("boss")
    page = boss.get(NEW + "?lang=zh").text
    assert "添加角色" in page and "复制" in page


def test_a_role_users_hold_cannot_be_removed_until_nobody_does(studio):
    boss = studio.browser("boss")
    fields = open_form(boss, NEW)
    fields.update({"name": "auditor", "label_en": "Auditor", "label_zh": "审计", "copy_from": "finance"})
    applied_version(submit(boss, NEW, fields))
    site = studio.app.state.site
    with site.engine.begin() as connection:
        users.add_user(connection, site.tables, site.blueprint, "cashier", "auditor", team="east")
    remove = "/studio/permissions/auditor/remove"
    review = submit(boss, remove, open_form(boss, "/studio/permissions/auditor", remove), intent="review")
    text = visible_text(review.text)
    assert review.status_code == 200 and "Role 'auditor' cannot be removed: 1 user(s) hold it (cashier)" in text
    assert "Give them another role first" in text
    refused = submit(boss, remove, open_form(boss, "/studio/permissions/auditor", remove))
    assert refused.status_code == 200 and "cannot be removed" in visible_text(refused.text)
    assert "auditor" in studio.app.state.site.blueprint.roles
    zh = boss.post(remove + "?lang=zh", data={**open_form(boss, "/studio/permissions/auditor", remove),
                                              "intent": "review"})
    assert "cashier" in zh.text and "Give them" not in zh.text  # the refusal in the admin's language
    table = site.tables.system("atrium_users")
    with site.engine.begin() as connection:  # the cashier gets another role (Studio → Users)
        connection.execute(table.update().where(table.c.name == "cashier").values(role="finance"))
    applied_version(submit(boss, remove, open_form(boss, "/studio/permissions/auditor", remove)))
    assert "auditor" not in studio.app.state.site.blueprint.roles


def test_removing_a_new_role_nobody_holds_goes_through(studio):
    boss = studio.browser("boss")
    fields = open_form(boss, NEW)
    fields.update({"name": "temp_role", "label_en": "Temp"})
    applied_version(submit(boss, NEW, fields))
    remove = "/studio/permissions/temp_role/remove"
    review = submit(boss, remove, open_form(boss, "/studio/permissions/temp_role", remove), intent="review")
    assert "role removed" in visible_text(review.text)
    applied_version(submit(boss, remove, open_form(boss, "/studio/permissions/temp_role", remove)))
    assert "temp_role" not in studio.app.state.site.blueprint.roles
