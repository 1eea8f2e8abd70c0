"""`any:` / `all:` in a `where`, and a measure's own `where`, as `atrium check` sees them: a wrong
field or stage inside a nested condition is reported at its own file:line:col, a wrong shape by
the schema."""
from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from atrium.cli import main
from atrium.metadata import BlueprintError, load_blueprint

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "runtime"))
from automation_kit import blueprint_with  # noqa: E402

B2B = Path(__file__).resolve().parents[2] / "blueprints" / "b2b_sales"


def overlay(tmp_path: Path, kind: str, name: str, text: str) -> Path:
    folder = tmp_path / "overlay"
    (folder / kind).mkdir(parents=True)
    (folder / "blueprint.yaml").write_text(f"name: acme\nextends: {B2B}\n", encoding="utf-8")
    (folder / kind / f"{name}.yaml").write_text(f"name: {name}\n{text}", encoding="utf-8")
    return folder


def check_errors(folder: Path, capsys) -> str:
    with pytest.raises(SystemExit) as exit:
        main(["--blueprint", str(folder), "check"])
    assert exit.value.code == 1
    return capsys.readouterr().err


def test_a_wrong_field_deep_inside_any_and_all_is_reported_at_its_name(tmp_path, capsys):
    folder = overlay(tmp_path, "reports", "r", "source: order\nwhere:\n  any:\n    - {stage: won}\n"
                     "    - all:\n        - {amout: {gt: 1}}\nmeasures: {n: count}\n")
    err = check_errors(folder, capsys)
    file = re.escape(str(Path("reports") / "r.yaml"))
    assert re.search(rf"{file}:7:12: where.any\[1\].all\[0\].amout: 'amout' is not a field of order "
                     r"\(did you mean 'amount'\?\)", err), err


def test_a_wrong_stage_inside_any_and_in_a_measure_where_names_the_valid_ones(tmp_path, capsys):
    folder = overlay(tmp_path, "reports", "r", "source: order\nwhere: {any: [{stage: wn}, {stage: lost}]}\n"
                     "measures:\n  won: {count: id, where: {stage: {in: [won, lsot]}}}\n")
    err = check_errors(folder, capsys)
    assert "where.any[0].stage: 'wn' is not a stage of stage (did you mean 'won'?" in err, err
    assert re.search(r"r\.yaml:5:\d+: measures.won.where.stage.in\[1\]: 'lsot' is not a stage of stage "
                     r"\(did you mean 'lost'\?", err), err


def test_a_measure_where_naming_a_missing_field_fails_at_its_line(tmp_path, capsys):
    folder = overlay(tmp_path, "reports", "r", "source: order\nmeasures:\n  won: {count: id, where: {stge: won}}\n")
    err = check_errors(folder, capsys)
    assert re.search(r"r\.yaml:4:\d+: measures.won.where.stge: 'stge' is not a field of order", err), err


@pytest.mark.parametrize("where, expected", [
    ("{any: {stage: won}}", "is a mapping; a list is expected here"),
    ("{any: []}", "should be non-empty"),
    ("{any: [{stage: {neq: won}}]}", "neq"),
])
def test_a_wrongly_shaped_any_is_refused_by_the_schema(tmp_path, capsys, where, expected):
    folder = overlay(tmp_path, "dashboards", "d", f"widgets:\n  - {{type: list, entity: order, where: {where}, "
                     "columns: [name]}\n")
    err = check_errors(folder, capsys)
    assert "dashboards" in err and expected in err, err


def test_an_automation_where_with_any_loads_and_its_nested_fields_are_checked(tmp_path):
    rule = {"entity": "account", "on": "schedule", "every": "day", "at": "06:00",
            "where": {"any": [{"owner": {"is_set": False}}, {"all": [{"name": "x"}, {"nme": "y"}]}]},
            "do": [{"set": {"name": "'y'"}}]}
    with pytest.raises(BlueprintError) as failure:
        blueprint_with(tmp_path / "bad", {"rule": rule})
    assert "where.any[1].all[1].nme: 'nme' is not a field of account" in str(failure.value)
    rule["where"]["any"][1]["all"][1] = {"name": {"ne": "z"}}
    assert blueprint_with(tmp_path / "good", {"rule": rule}).automations["rule"]


def test_the_shipped_win_rate_report_loads_with_its_filtered_measures():
    blueprint = load_blueprint(B2B)
    measures = blueprint.reports["win_rate_this_quarter"]["measures"]
    assert dict(measures["won"]["where"]) == {"stage": "won"}
    assert blueprint.reports["win_rate_this_quarter"].expressions["win_rate"].names == {"won", "closed"}


def test_a_field_cannot_be_named_any_or_all(tmp_path):
    with pytest.raises(BlueprintError) as failure:
        blueprint_with(tmp_path, entities={"account": {"fields": {"name": {"type": "text"}, "any": {"type": "text"}}}})
    assert "'any' cannot name a field: in a condition (where) `any:` combines conditions" in str(failure.value)
