"""Where the records of a removed stage or option go, as a consultant writes it: `moved_to:` beside
`remove: true` in an overlay, or a `moved:` map on the pipeline or the field; each target checked at
its line (did-you-mean), never a value that stays, nor one removed as well."""
from __future__ import annotations

import shutil

from test_overlay_merge import DESIGN, make_overlay, problems

from atrium.metadata import load_blueprint
from atrium.metadata.merge import merge
from atrium.metadata.overlays.minimal import minimal_overlay
from atrium.metadata.overlays.paths import plain


def test_moved_to_beside_remove_says_where_a_stage_and_an_option_go(tmp_path):
    folder = make_overlay(tmp_path, {
        "pipelines/order.yaml": "stages: [+, {name: needs_confirmed, remove: true, moved_to: proposal}]\n",
        "entities/order.yaml": "fields:\n"
                               "  lost_reason: {options: [+, {value: timing, remove: true, moved_to: other}]}\n"
                               "  tags:\n"
                               "    options: [+, {value: price_sensitive, remove: true, moved_to: key_account}]\n"})
    blueprint = load_blueprint(folder)
    pipeline = blueprint.pipelines["order"]
    assert "needs_confirmed" not in pipeline.stage_names and dict(pipeline.moved) == {"needs_confirmed": "proposal"}
    fields = blueprint.entities["order"].fields
    assert dict(fields["lost_reason"].moved) == {"timing": "other"}
    assert dict(fields["tags"].moved) == {"price_sensitive": "key_account"}
    assert fields["tags"].option_values == ("key_account", "long_decision_chain")


def test_a_blueprint_says_the_same_with_a_moved_map(tmp_path):
    base = tmp_path / "base"
    shutil.copytree(DESIGN, base)
    text = (base / "pipelines" / "order.yaml").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines()
             if "name: needs_confirmed" not in line and "requires: [amount" not in line]
    moved = "\n".join(lines) + "\nmoved: {needs_confirmed: negotiation}\n"
    (base / "pipelines" / "order.yaml").write_text(moved, encoding="utf-8")
    assert dict(load_blueprint(base).pipelines["order"].moved) == {"needs_confirmed": "negotiation"}


def test_a_target_that_is_not_there_is_an_error_at_its_line_with_did_you_mean(tmp_path):
    folder = make_overlay(tmp_path, {
        "pipelines/order.yaml": "stages:\n  - +\n  - {name: needs_confirmed, remove: true, moved_to: proposl}\n",
        "entities/order.yaml": "fields:\n  tags:\n    options:\n      - +\n"
                               "      - {value: price_sensitive, remove: true, moved_to: key_acount}\n"})
    found = problems(folder)
    stage = next(p for p in found if "proposl" in p)
    assert "pipelines/order.yaml:3:" in stage and "did you mean 'proposal'" in stage
    option = next(p for p in found if "key_acount" in p)
    assert "entities/order.yaml:5:" in option and "is not an option here" in option
    assert "did you mean 'key_account'" in option


def test_a_target_removed_as_well_or_a_value_that_stays_is_refused(tmp_path):
    folder = make_overlay(tmp_path, {
        "pipelines/order.yaml": "stages: [+, {name: needs_confirmed, remove: true, moved_to: proposal},\n"
                                "         {name: proposal, remove: true, moved_to: negotiation}]\n"
                                "moved: {won: lost}\n",
        "entities/order.yaml": "fields:\n  amount: {moved: {a: b}}\n"})
    found = problems(folder)
    assert any("'proposal' is removed as well: move the records of 'needs_confirmed' to a stage that stays" in p
               for p in found)
    assert any("'won' is still a stage here: only a removed stage can move its records" in p for p in found)
    assert any("only select and multiselect fields move the records of a removed option" in p for p in found)


def test_the_studio_writes_a_moved_entry_as_moved_to_beside_the_removal():
    stages = [{"name": name, "label": {"en": name.title(), "zh": name}, "probability": n * 10}
              for n, name in enumerate(("first", "second", "third"))]
    base = {"stages": stages, "entity": "x"}
    target = {"stages": [stages[0], stages[2]], "entity": "x", "moved": {"second": "third"}}
    overlay = minimal_overlay(base, target)
    assert overlay == {"stages": ["+", {"name": "second", "remove": True, "moved_to": "third"}]}
    merged = plain(merge(base, overlay))
    assert merged == target


def test_a_later_layer_says_last_where_the_records_go(tmp_path):
    client = make_overlay(tmp_path, {
        "pipelines/order.yaml": "stages: [+, {name: needs_confirmed, remove: true, moved_to: proposal}]\n"})
    site = tmp_path / "site"
    (site / "pipelines").mkdir(parents=True)
    (site / "blueprint.yaml").write_text("name: site\nextends: ../client\n", encoding="utf-8")
    (site / "pipelines" / "order.yaml").write_text("moved: {needs_confirmed: negotiation}\n", encoding="utf-8")
    assert dict(load_blueprint(client).pipelines["order"].moved) == {"needs_confirmed": "proposal"}
    assert dict(load_blueprint(site).pipelines["order"].moved) == {"needs_confirmed": "negotiation"}
