"""The field editor end to end: a select field with coloured options added in the studio is
minimal YAML in the site overlay that loads to the same model, a new column, a field on the
rep's form and a group in a report; expressions are checked as they are typed; a bad formula is
shown at its input with nothing written; hiding keeps the column and its values (after a
confirmation that names them); renaming renames the column."""
from __future__ import annotations

import re

from studio_kit import SEGMENT, add_segment, applied_version, open_form, submit, visible_text

from atrium.metadata.overlays.diff import same
from atrium.metadata.overlays.paths import plain


def test_added_select_field_is_minimal_yaml_that_loads_to_the_same_model(studio, b2b):
    version = add_segment(studio)
    assert version == 1
    files = studio.overlay_files()
    assert set(files) == {"blueprint.yaml", "entities/customer.yaml", "views/customer.yaml"}
    assert "segment:" in files["entities/customer.yaml"]
    assert "name:" not in files["entities/customer.yaml"].split("fields:")[1].split("segment")[0]
    assert "list: {columns: [+, segment], filters: [+, segment]}" in files["views/customer.yaml"]
    loaded = studio.loaded()
    field = loaded.entities["customer"].fields["segment"]
    assert (field.type, field.label.text("zh"), field.option_values) == (
        "select", "客户分层", ("smb", "mid", "enterprise"))
    assert [o.color for o in field.options] == ["blue", "green", "purple"]
    assert set(loaded.entities["customer"].fields) - set(b2b.entities["customer"].fields) == {"segment"}
    assert studio.app.state.site.blueprint.entities["customer"].fields["segment"] == field  # served at once
    assert "segment" in studio.columns("customer")


def test_round_trip_the_document_read_back_equals_the_one_edited(studio):
    """What the editor proposed is what the loader reads back from base + overlay."""
    browser = studio.browser("boss")
    fields = open_form(browser, "/studio/entities/customer/fields/new", "/studio/entities/customer/fields")
    fields.update(SEGMENT, required_when="level == 'vip'", visible_when="level != 'c'")
    applied_version(submit(browser, "/studio/entities/customer/fields", fields))
    entity = studio.app.state.studio.changes.documents()[("entity", "customer")].data
    assert same(plain(entity["fields"]["segment"]), {
        "type": "select", "label": {"en": "Segment", "zh": "客户分层"}, "required_when": "level == 'vip'",
        "visible_when": "level != 'c'",
        "options": [{"value": "smb", "label": {"en": "Small business", "zh": "小企业"}, "color": "blue"},
                    {"value": "mid", "label": {"en": "Mid-market", "zh": "中型企业"}, "color": "green"},
                    {"value": "enterprise", "label": {"en": "Enterprise", "zh": "大型企业"}, "color": "purple"}]})
    # the editor opened again shows what was saved
    again = open_form(browser, "/studio/entities/customer/fields/segment")
    assert (again["option-2-value"], again["option-2-color"], again["required_when"], again["visible_when"]) == (
        "enterprise", "purple", "level == 'vip'", "level != 'c'")


def test_rep_sees_the_new_field_saves_a_value_and_a_report_groups_by_it(studio):
    add_segment(studio)
    rep = studio.browser("rep")
    form = rep.get("/r/customer/new")
    assert 'name="segment"' in form.text and "Mid-market" in form.text
    fields = open_form(rep, "/r/customer/new", "/r/customer")
    fields.update(name="Segmented Co", segment="mid")
    saved = rep.post("/r/customer", data=fields.pairs(), follow_redirects=False)
    assert saved.status_code == 303, visible_text(saved.text)[:2000]
    assert studio.column_values("customer", "segment") == ["mid"]
    boss = studio.browser("boss")
    fields = open_form(boss, "/studio/reports/new")
    fields.update({"name": "customers_by_segment", "label_en": "Customers by segment", "label_zh": "客户分层分布",
                   "source": "customer", "group-0-field": "segment", "measure-0-name": "customers",
                   "measure-0-function": "count", "measure-0-field": "", "chart_type": "bar", "chart_x": "segment",
                   "chart_y": "customers"})
    applied_version(submit(boss, "/studio/reports/new", fields))
    report = visible_text(rep.get("/reports/customers_by_segment").text)
    assert "Mid-market" in report and "Customers by segment" in report


def test_expressions_are_checked_as_they_are_typed(studio):
    boss = studio.browser("boss")
    check = lambda text, **extra: visible_text(boss.post("/studio/check-expression", htmx=True, data={  # noqa: E731
        "which": "formula", "entity": "order", "formula": text, **extra}).text)
    assert "unknown name 'amont'" in check("amont * 2") and "did you mean 'amount'" in check("amont * 2")
    assert "syntax error" in check("amount *")
    assert check("(amount or 0) * 2").startswith("✓") and "amount" in check("(amount or 0) * 2")
    assert check("bonus + 1", name="bonus").startswith("✓")  # the field being added may name itself
    assert "not allowed" in check("amount.__class__") or "✗" in check("amount.__class__")
    assert check("customer.level").startswith("✓")  # a dotted path through a reference
    assert "'levl' in 'customer.levl' is not a field of customer" in check("customer.levl")
    assert "did you mean 'level'" in check("customer.levl")
    metric = visible_text(boss.post("/studio/check-expression", data={
        "which": "metric-0-expr", "scope": "report", "metric-0-expr": "amount / orderz", "measure-0-name": "amount",
        "measure-1-name": "orders", "group-0-field": "stage"}).text)
    assert "unknown name 'orderz'" in metric and "did you mean 'orders'" in metric


def test_a_bad_formula_is_shown_at_its_input_and_nothing_is_written(studio):
    boss = studio.browser("boss")
    fields = open_form(boss, "/studio/entities/order/fields/new", "/studio/entities/order/fields")
    fields.update({"name": "double_amount", "type": "money", "formula": "amont * 2"})
    response = submit(boss, "/studio/entities/order/fields", fields)
    assert response.status_code == 200
    at_input = response.text.split('name="formula"')[1].split("</label>")[0]
    assert "unknown name &#39;amont&#39;" in at_input and "did you mean &#39;amount&#39;" in at_input
    assert "Problems (nothing was applied)" in response.text
    assert studio.history_rows() == [] and "double_amount" not in studio.columns("order")
    assert not any("double_amount" in text for text in studio.overlay_files().values())


def test_hiding_a_field_with_values_needs_a_confirmation_and_keeps_the_column(studio):
    add_segment(studio)
    studio.customer("Kept Co", segment="smb")
    boss = studio.browser("boss")
    page = "/studio/entities/customer/fields/segment"
    fields = open_form(boss, page, page + "/hide")
    refused = submit(boss, page + "/hide", fields)
    assert refused.status_code == 200 and len(studio.history_rows()) == 1
    text = visible_text(refused.text)
    assert "Field customer.segment is hidden: 1 record(s) have a value" in text
    assert "Tick the confirmation below" in text
    applied_version(submit(boss, page + "/hide", fields, confirm="yes"))
    assert "segment" not in studio.app.state.site.blueprint.entities["customer"].fields
    assert 'name="segment"' not in studio.browser("rep").get("/r/customer/new").text
    assert studio.column_values("customer", "segment") == ["smb"]  # the column and its value stay
    assert "keep column customer.segment" in visible_text(boss.get("/studio/history/2").text)


def test_renaming_a_field_renames_its_column_and_keeps_the_values(studio):
    add_segment(studio)
    studio.customer("Renamed Co", segment="enterprise")
    boss = studio.browser("boss")
    page = "/studio/entities/customer/fields/segment"
    fields = open_form(boss, page, page + "/rename")
    response = submit(boss, page + "/rename", {**fields, "new_name": "tier"}, intent="review")
    assert "rename column customer.segment to tier (data kept)" in visible_text(response.text)
    applied_version(submit(boss, page + "/rename", {**fields, "new_name": "tier"}))
    customer = studio.app.state.site.blueprint.entities["customer"]
    assert "tier" in customer.fields and "segment" not in customer.fields
    assert customer.fields["tier"].renamed_from == "segment"
    assert "segment" not in studio.columns("customer") and studio.column_values("customer", "tier") == ["enterprise"]
    assert re.search(r"fields: \[[^\]]*\btier\]", studio.overlay_files()["views/customer.yaml"])


def test_editing_a_field_keeps_what_the_form_does_not_show(studio):
    boss = studio.browser("boss")
    for entity, name in (("order", "stage"), ("customer", "lifetime_value")):
        page = f"/studio/entities/{entity}/fields/{name}"
        fields = open_form(boss, page)
        applied_version(submit(boss, page, {**fields, "label_en": f"Renamed {name}"}))
    blueprint = studio.app.state.site.blueprint
    stage = blueprint.entities["order"].fields["stage"]
    assert (stage.type, stage.pipeline, stage.label.text("en")) == ("stage", "order", "Renamed stage")
    rollup = blueprint.entities["customer"].fields["lifetime_value"]
    assert rollup.rollup is not None and rollup.label.text("en") == "Renamed lifetime_value"
    written = studio.overlay_files()
    assert "type" not in written["entities/order.yaml"] and "rollup" not in written["entities/customer.yaml"]


def test_removing_an_option_records_hold_moves_them_to_the_option_picked(studio):
    orders = [studio.order("Tagged", tags=["price_sensitive", "key_account"]), studio.order("Sensitive",
                                                                                          tags=["price_sensitive"])]
    boss = studio.browser("boss")
    page = "/studio/entities/order/fields/tags"
    fields = open_form(boss, page)
    row = next(k.split("-")[1] for k, v in fields.items() if k.startswith("option-") and k.endswith("-value")
               and v == "price_sensitive")
    fields[f"option-{row}-remove"] = "yes"
    refused = visible_text(submit(boss, page, fields).text)
    assert "order.tags: 2 record(s) hold option 'price_sensitive'" in refused
    assert studio.history_rows() == []
    fields[f"option-{row}-moved_to"] = "long_decision_chain"
    review = visible_text(submit(boss, page, fields, intent="review").text)
    assert "2 record(s) move from price_sensitive to long_decision_chain (order.tags)" in review
    applied_version(submit(boss, page, fields))
    written = studio.overlay_files()["entities/order.yaml"]
    assert "{value: price_sensitive, remove: true, moved_to: long_decision_chain}" in written, written
    site = studio.app.state.site
    assert [site.records.get("order", o["id"])["tags"] for o in orders] == [
        ["key_account", "long_decision_chain"], ["long_decision_chain"]]
    assert site.blueprint.entities["order"].fields["tags"].option_values == ("key_account", "long_decision_chain")
    site.records.update("order", orders[1]["id"], {"name": "Saved again"}, studio.actor("rep"))
