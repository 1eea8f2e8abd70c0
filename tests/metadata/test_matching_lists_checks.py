"""`detail.matching` in a view: lists of another entity's records whose fields equal the record's.
The loader reads each list (entity, field pairs, condition, `when`, label) and refuses, at the
line that wrote it, an unknown entity or field, fields whose values can never be equal, a bad
condition or expression."""
from __future__ import annotations

from test_overlay_merge import make_overlay, problems

from atrium.metadata import load_blueprint
from atrium.metadata.renames import rename_field

VIEW = ("entity: order\n"
        "detail:\n"
        "  matching:\n"
        "    - entity: contact\n"
        "      match: {customer: customer}\n"
        "      where: {name: {is_set: true}}\n"
        "      when: \"is_open(stage)\"\n"
        "      label: {en: Same customer's people, zh: 同客户联系人}\n"
        "      columns: [name]\n"
        "      limit: 3\n")


def test_a_matching_list_loads_with_its_pairs_condition_and_label(tmp_path):
    view = load_blueprint(make_overlay(tmp_path, {"views/order.yaml": VIEW})).view("order")
    (listed,) = view.matching
    assert (listed.entity, listed.match, dict(listed.where)) == ("contact", (("customer", "customer"),),
                                                                 {"name": {"is_set": True}})
    assert listed.when is not None and listed.label.text("zh") == "同客户联系人"
    assert (listed.columns, listed.limit) == (("name",), 3)


def test_unknown_names_are_refused_at_their_line(tmp_path):
    broken = (VIEW.replace("entity: contact", "entity: contakt"))
    found = problems(make_overlay(tmp_path, {"views/order.yaml": broken}))
    assert any("views/order.yaml:4:" in p and "'contakt' is not an entity" in p for p in found)
    broken = VIEW.replace("{customer: customer}", "{custumer: customer, name: nam}")
    found = problems(make_overlay(tmp_path, {"views/order.yaml": broken}))
    assert any("views/order.yaml:5:" in p and "'custumer' is not a field of contact" in p for p in found)
    assert any("'nam' is not a field of order" in p for p in found)
    broken = VIEW.replace("{name: {is_set: true}}", "{nome: {is_set: true}}").replace("is_open(stage)", "is_open(stag)")
    found = problems(make_overlay(tmp_path, {"views/order.yaml": broken}))
    assert any("detail.matching[0].where" in p and "nome" in p for p in found)
    assert any("views/order.yaml:7:" in p and "unknown name 'stag'" in p for p in found)


def test_fields_that_can_never_be_equal_are_refused(tmp_path):
    cases = {
        "entity: product\n      match: {name: customer}": "'product.name' is a text field and 'order.customer' a "
                                                         "reference field: they cannot be equal",
        "entity: contract\n      match: {order: customer}": "'contract.order' and 'order.customer' point to "
                                                          "different entities (order and customer)",
        "entity: order\n      match: {tags: tags}": "'order.tags' and 'order.tags' are multiselect fields",
        "entity: customer\n      match: {level: lost_reason}": "'customer.level' and 'order.lost_reason' share no "
                                                             "option",
    }
    for written, expected in cases.items():
        view = VIEW.replace("entity: contact\n      match: {customer: customer}", written)
        view = view.replace("      where: {name: {is_set: true}}\n", "").replace("      columns: [name]\n", "")
        found = problems(make_overlay(tmp_path, {"views/order.yaml": view}))
        assert any("views/order.yaml:5:" in p and expected in p for p in found), (expected, found)


def test_a_field_rename_follows_into_a_matching_list():
    documents = {("views", "order"): {"entity": "order", "detail": {"matching": [
        {"entity": "case_study", "match": {"industry": "industry"}, "where": {"published": True},
         "when": "is_open(stage) and industry", "columns": ["title"]}]}}}
    theirs, _ = rename_field({**documents, ("entity", "case_study"): {"fields": {"industry": {}, "title": {}}}},
                             "case_study", "industry", "sector")
    assert theirs[("views", "order")]["detail"]["matching"][0]["match"] == {"sector": "industry"}
    assert theirs[("views", "order")]["detail"]["matching"][0]["when"] == "is_open(stage) and industry"
    mine, _ = rename_field({**documents, ("entity", "order"): {"fields": {"industry": {}, "stage": {}}}},
                           "order", "industry", "sector")
    listed = mine[("views", "order")]["detail"]["matching"][0]
    assert listed["match"] == {"industry": "sector"} and listed["when"] == "is_open(stage) and sector"
