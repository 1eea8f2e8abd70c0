"""Overlay merge rules as a consultant writes them: one property, `+` lists, placement, removal,
and the statements that would silently do nothing reported at their line."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from atrium.metadata import check_blueprint, load_blueprint
from atrium.metadata.merge import merge
from atrium.metadata.yaml_source import parse_yaml

ROOT = Path(__file__).resolve().parents[2]
DESIGN = ROOT / "tests" / "fixtures" / "design_examples"


def make_overlay(tmp_path: Path, files: dict[str, str], extends: Path = DESIGN) -> Path:
    folder = tmp_path / "client"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "blueprint.yaml").write_text(f"name: client\nextends: {extends}\n", encoding="utf-8")
    for relative, text in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder


def problems(folder: Path) -> list[str]:
    blueprint, found = check_blueprint(folder)
    assert blueprint is None and found
    return [str(p) for p in found]


def doc(text: str):
    data, found = parse_yaml(text, "x.yaml")
    assert not found
    return data


def test_changing_one_property_keeps_every_other_property_of_the_base(tmp_path):
    folder = make_overlay(tmp_path, {"entities/order.yaml": "fields:\n  amount: {min: 100}\n"})
    amount = load_blueprint(folder).entities["order"].fields["amount"]
    base = load_blueprint(DESIGN).entities["order"].fields["amount"]
    assert amount.min == 100 and base.min == 0
    assert amount.type == base.type == "money"


def test_plus_list_merges_by_name_and_appends_and_plain_list_replaces(tmp_path):
    folder = make_overlay(tmp_path, {
        "pipelines/order.yaml": "stages:\n  - +\n  - {name: proposal, probability: 45}\n"
                                "  - {name: on_hold, label: {en: On hold, zh: 搁置}, probability: 5}\n",
        "views/order.yaml": "list:\n  columns: [+, probability]\n  filters: [owner]\n"})
    blueprint = load_blueprint(folder)
    stages = blueprint.pipelines["order"].stages
    base_stages = load_blueprint(DESIGN).pipelines["order"].stages
    assert [s.name for s in stages] == [s.name for s in base_stages] + ["on_hold"]
    assert blueprint.pipelines["order"].stage("proposal").probability == 45
    assert blueprint.pipelines["order"].stage("proposal").label.text("en") == "Proposal / quote"
    view = blueprint.views["order"]
    assert view.columns[-1] == "probability"
    assert len(view.columns) == len(load_blueprint(DESIGN).views["order"].columns) + 1
    assert tuple(view.filters) == ("owner",)


def test_after_and_before_place_new_and_existing_items():
    base = doc("stages: [{name: a}, {name: b}, {name: c}]\n")
    merged = merge(base, doc("stages:\n  - +\n  - {name: x, after: a}\n  - {name: c, before: a}\n"
                             "  - {name: y, before: b, p: 1}\n"))
    assert [s["name"] for s in merged["stages"]] == ["c", "a", "x", "y", "b"]
    assert all("after" not in s and "before" not in s for s in merged["stages"])
    assert merged["stages"][3] == {"name": "y", "p": 1}


def test_placement_moves_the_position_marks_with_the_item():
    base = doc("stages: [{name: a}, {name: b}]\n")
    overlay, _ = parse_yaml("stages:\n  - +\n  - {name: x, after: a}\n", "overlay.yaml")
    merged = merge(base, overlay)
    assert merged["stages"].item_marks[1].file == "overlay.yaml" and merged["stages"].item_marks[1].line == 3
    assert merged["stages"].item_marks[2].file == "x.yaml"


def test_remove_takes_fields_options_and_stages_out(tmp_path):
    folder = make_overlay(tmp_path, {
        "entities/order.yaml": "fields:\n  tags: {remove: true}\n"
                               "  lost_reason:\n    options: [+, {value: timing, remove: true}]\n",
        "views/order.yaml": "form:\n  sections:\n    - {label: Basics, fields: [name, customer, amount]}\n"
                            "    - {label: Outcome, fields: [lost_reason]}\n",
        "pipelines/order.yaml": "stages: [+, {name: negotiation, remove: true}]\n"})
    blueprint = load_blueprint(folder)
    order = blueprint.entities["order"]
    assert "tags" not in order.fields
    assert "timing" not in [o.value for o in order.fields["lost_reason"].options]
    assert "negotiation" not in [s.name for s in blueprint.pipelines["order"].stages]


def test_a_document_that_only_says_remove_takes_the_base_document_out(tmp_path):
    folder = make_overlay(tmp_path, {"reports/won_this_month.yaml": "remove: true\n",
                                     "dashboards/sales_rep.yaml": "widgets:\n  - {type: funnel, pipeline: order}\n"})
    blueprint = load_blueprint(folder)
    assert "won_this_month" not in blueprint.reports and "pipeline_by_stage" in blueprint.reports


def test_removing_what_the_base_does_not_have_is_reported_at_its_line(tmp_path):
    folder = make_overlay(tmp_path, {
        "entities/order.yaml": "fields:\n  amount: {min: 1}\n  lost_reson: {remove: true}\n",
        "pipelines/order.yaml": "stages:\n  - +\n  - {name: negotiaton, remove: true}\n",
        "reports/nothing_here.yaml": "remove: true\n"})
    found = problems(folder)
    assert any(re.search(r"client/entities/order\.yaml:3:3: fields\.lost_reson: nothing to remove: the base has no "
                         r"'lost_reson' \(did you mean 'lost_reason'\?\)", p) for p in found), found
    assert any(re.search(r"client/pipelines/order\.yaml:3:5: stages\[1\]: nothing to remove: the base has no "
                         r"'negotiaton' \(did you mean 'negotiation'\?\)", p) for p in found), found
    assert any("client/reports/nothing_here.yaml:1:1" in p and "no such document" in p for p in found), found


def test_placing_after_an_unknown_item_or_in_a_replacing_list_is_reported(tmp_path):
    folder = make_overlay(tmp_path, {
        "pipelines/order.yaml": "stages:\n  - +\n  - {name: on_hold, probability: 5, after: proposel}\n",
        "views/order.yaml": "form:\n  sections:\n    - {label: A, fields: [name], after: b}\n"})
    found = problems(folder)
    assert any(re.search(r"client/pipelines/order\.yaml:3:5: stages\[1\]\.after: no item 'proposel' to put this "
                         r"after \(did you mean 'proposal'\?\)", p) for p in found), found
    assert any(re.search(r"client/views/order\.yaml:3:7: form\.sections\[0\]: 'after:' only places items in a list "
                         r"that starts with '\+'", p) for p in found), found


@pytest.mark.parametrize("text, message", [
    ("fields:\n  amount: {type: mony}\n", "fields.amount.type"),
    ("fields:\n  probability: {formula: \"stage_probabilty(stage)\"}\n", "unknown name 'stage_probabilty'"),
])
def test_errors_in_overlay_values_point_into_the_overlay(tmp_path, text, message):
    folder = make_overlay(tmp_path, {"entities/order.yaml": text})
    [problem] = problems(folder)
    assert "client/entities/order.yaml:2:" in problem and message in problem
