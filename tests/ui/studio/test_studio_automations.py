"""Automations, approvals and entity checks as studio forms: a rule built in the form writes the
YAML the YAML editor would, and fires; every shipped rule and check opens in its form and applies
unchanged (nothing written); problems show beside their input; the YAML editor keeps a new
document's name through Review."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from form_kit import form_fields
from studio_kit import applied_version, open_form, submit, visible_text

from atrium.runtime.access import users

BIG_LOSS_YAML = """\
name: notify_big_loss
label: {en: Big loss, zh: 大单输单}
entity: order
on: {stage: {enter: lost}}
where:
  amount: {gt: 1000000}
do:
  - notify:
      to: manager
      message: {en: "{name} was lost", zh: "{name} 已输单"}
"""


def big_loss_form(fields: dict) -> dict:
    """The new-automation form filled in as an admin would: notify the manager of a big loss."""
    return {**fields, "name": "notify_big_loss", "label_en": "Big loss", "label_zh": "大单输单", "entity": "order",
            "on": "stage_enter", "on_stage": "lost", "cond-0-field": "amount", "cond-0-op": "gt",
            "cond-0-value": "1000000", "act-0-kind": "notify", "act-0-to": "manager",
            "act-0-message_en": "{name} was lost", "act-0-message_zh": "{name} 已输单"}


def written(studio) -> dict[str, str]:
    """The overlay's files besides the blueprint.yaml the first review makes."""
    return {path: text for path, text in studio.overlay_files().items() if path != "blueprint.yaml"}


def inbox(studio, name: str) -> list[str]:
    """The English text of what a person was told in the app."""
    table = studio.site.tables.system("atrium_notifications")
    with studio.site.engine.connect() as connection:
        return [row.message["en"] for row in connection.execute(
            sa.select(table).where(table.c.user_id == studio.ids[name]).order_by(table.c.id))]


def test_a_rule_built_in_the_form_writes_what_the_yaml_editor_writes_and_fires(studio):
    with studio.site.engine.begin() as connection:
        users.set_team_manager(connection, studio.site.tables, "east", "manager")
    boss = studio.browser("boss")
    fields = open_form(boss, "/studio/automations/new")
    review = submit(boss, "/studio/automations/new", big_loss_form(fields), intent="review")
    assert review.status_code == 200
    assert "automations/notify_big_loss.yaml" in visible_text(review.text)
    assert 'value="notify_big_loss"' in review.text  # the name stays through Review
    version = applied_version(submit(boss, "/studio/automations/new", big_loss_form(fields)))
    from_form = studio.overlay_files()["automations/notify_big_loss.yaml"]
    undone = boss.post(f"/studio/history/{version}/undo", data={"version": str(version)}, follow_redirects=False)
    assert undone.status_code == 303 and "automations/notify_big_loss.yaml" not in studio.overlay_files()
    fields = open_form(boss, "/studio/yaml/automation/new")
    applied_version(submit(boss, "/studio/yaml/automation/new",
                           {**fields, "name": "notify_big_loss", "text": BIG_LOSS_YAML}))
    assert studio.overlay_files()["automations/notify_big_loss.yaml"] == from_form

    big = studio.order("Hospital tender", amount=2_000_000, expected_close="2031-01-31")
    small = studio.order("Clinic refill", amount=5_000, expected_close="2031-01-31")
    for order in (big, small):
        studio.app.state.site.records.update("order", order["id"], {"stage": "lost", "lost_reason": "price"},
                                             studio.actor("rep"))
    assert inbox(studio, "manager") == ["Hospital tender was lost"]


def test_every_shipped_rule_opens_in_the_form_and_applies_unchanged(studio):
    boss = studio.browser("boss")
    names = sorted(studio.app.state.site.blueprint.automations)
    assert len(names) > 15
    for name in names:
        fields = open_form(boss, f"/studio/automations/{name}")
        response = submit(boss, f"/studio/automations/{name}", fields, intent="review")
        assert "This changes nothing." in visible_text(response.text), name
        submit(boss, f"/studio/automations/{name}", fields)
    assert written(studio) == {} and studio.history_rows() == []


def test_an_approval_opens_with_its_approver_question_and_decision_fields(studio):
    page = visible_text(studio.browser("boss").get("/studio/automations/approve_quote_discount").text)
    fields = open_form(studio.browser("boss"), "/studio/automations/approve_quote_discount")
    assert (fields["on"], fields["act-0-kind"], fields["act-0-approver"]) == ("request", "require_approval", "manager")
    assert fields["act-0-question_zh"] == "是否批准 {name} 的折扣？"
    assert fields["act-0-approved-0-field"] == "approval_status" and fields["act-0-approved-0-expr"] == "'approved'"
    assert fields["act-0-voided_by"] == "customer, valid_until, terms, quote_line"
    assert "YAML (advanced)" in page
    home = visible_text(studio.browser("boss").get("/studio").text)
    assert "Approve large discount approval" in home and "Nudge stalled orders approval" not in home


def test_changing_one_action_writes_only_that_change(studio):
    boss = studio.browser("boss")
    fields = open_form(boss, "/studio/automations/nudge_stalled_orders")
    applied_version(submit(boss, "/studio/automations/nudge_stalled_orders",
                           {**fields, "act-0-to": "owner", "every": "day"}))
    written = studio.overlay_files()["automations/nudge_stalled_orders.yaml"]
    assert "every: day" in written and "to: owner" in written and "stalled" not in written
    rule = studio.app.state.site.blueprint.automations["nudge_stalled_orders"]
    assert rule.get("do")[0]["notify"]["to"] == "owner" and rule.get("at") == "09:00"


def test_problems_show_beside_the_input_that_holds_them(studio):
    boss = studio.browser("boss")
    fields = open_form(boss, "/studio/automations/new")
    response = submit(boss, "/studio/automations/new",
                      {**big_loss_form(fields), "cond-0-field": "amout", "act-0-kind": "set",
                       "act-0-set-0-field": "probability", "act-0-set-0-expr": "amount +"}, intent="apply")
    text = response.text
    assert "amout" in text.split('name="cond-0-field"')[1].split("</td>")[0]
    assert "amount" in visible_text(text.split('name="cond-0-field"')[1].split("</td>")[0])
    assert studio.history_rows() == [] and written(studio) == {}


def test_the_expression_check_names_the_unknown_field(studio):
    boss = studio.browser("boss")
    response = boss.post("/studio/check-expression", data={"which": "when", "when": "amout > 1000000",
                                                          "entity": "order", "name": ""}, htmx=True)
    assert "amout" in visible_text(response.text) and "amount" in visible_text(response.text)
    response = boss.post("/studio/check-expression", data={"which": "when", "when": "amount > 1000000",
                                                          "entity": "order", "name": ""}, htmx=True)
    assert "✓" in response.text


def test_the_trigger_and_operators_show_in_the_admins_language(studio):
    boss = studio.browser("boss")
    boss.post("/language", data={"locale": "zh"})
    page = boss.get("/studio/automations/nudge_stalled_orders").text
    assert "记录进入某阶段" in page and "大于" in page and "通知相关人员" in page


def test_the_yaml_editor_keeps_a_new_documents_name_through_review(studio):
    boss = studio.browser("boss")
    fields = open_form(boss, "/studio/yaml/automation/new")
    fields = {**fields, "name": "notify_big_loss"}
    review = submit(boss, "/studio/yaml/automation/new", fields, intent="review")
    after = open_form_text(review.text)
    assert after["name"] == "notify_big_loss"
    assert "differs from the file name" not in visible_text(review.text)
    applied_version(submit(boss, "/studio/yaml/automation/new", after))
    assert "automations/notify_big_loss.yaml" in studio.overlay_files()
    check = boss.post("/studio/yaml/automation/new/check",
                      data={"name": "", "text": BIG_LOSS_YAML}, htmx=True)
    assert "differs from the file name" not in visible_text(check.text)


def open_form_text(page: str) -> dict:
    return form_fields(page, "/studio/yaml/automation/new")


def test_a_check_added_in_the_form_refuses_a_record_that_breaks_it(studio):
    boss = studio.browser("boss")
    fields = open_form(boss, "/studio/entities/order/checks")
    new = max(int(k.split("-")[1]) for k in fields if k.startswith("check-"))
    fields.update({f"check-{new}-name": "amount_within_limit", f"check-{new}-when": "is_open(stage)",
                   f"check-{new}-assert": "amount is None or amount <= 50000000", f"check-{new}-field": "amount",
                   f"check-{new}-message_en": "Over the limit", f"check-{new}-message_zh": "超过限额"})
    applied_version(submit(boss, "/studio/entities/order/checks", fields))
    assert "amount_within_limit" in studio.overlay_files()["entities/order.yaml"]
    checks = [check.name for check in studio.loaded().entities["order"].checks]
    assert checks == ["close_date_not_past", "amount_within_limit"]
    with pytest.raises(Exception) as refused:
        studio.order("Too big", amount=60_000_000, expected_close="2031-01-31")
    assert "Over the limit" in str(getattr(refused.value, "errors", refused.value))


def test_every_entitys_checks_open_and_apply_unchanged(studio):
    boss = studio.browser("boss")
    for entity in studio.app.state.site.blueprint.entities:
        fields = open_form(boss, f"/studio/entities/{entity}/checks")
        response = submit(boss, f"/studio/entities/{entity}/checks", fields, intent="review")
        assert "This changes nothing." in visible_text(response.text), entity
    assert written(studio) == {}
