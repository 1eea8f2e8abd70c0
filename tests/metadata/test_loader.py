"""The loader as a blueprint author meets it: clean loads, and every mistake reported at its line."""
from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from atrium.cli import main
from atrium.metadata import BlueprintError, check_blueprint, load_blueprint

ROOT = Path(__file__).resolve().parents[2]
B2B = ROOT / "blueprints" / "b2b_sales"
DESIGN = ROOT / "tests" / "fixtures" / "design_examples"
LOCATED = re.compile(r"^(?P<file>[^:]+\.yaml):(?P<line>\d+):(?P<col>\d+): ")


def copy_blueprint(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if needle in line)


def problems_of(folder: Path, overlays=()) -> list[str]:
    blueprint, problems = check_blueprint(folder, overlays)
    assert blueprint is None and problems
    return [str(p) for p in problems]


def test_shipped_blueprint_loads_with_bilingual_model():
    blueprint = load_blueprint(B2B)
    assert blueprint.locales[0] == "zh"
    order = blueprint.entities["order"]
    assert order.fields["amount"].type == "money"
    assert order.label.text("zh") == "订单" and order.label.text("en") == "Order"
    assert blueprint.pipeline_for("order").stages[0].name == "initial_contact"
    assert order.formula_order.index("probability") < order.formula_order.index("weighted_amount")


def test_design_examples_load():
    blueprint = load_blueprint(DESIGN)
    customer = blueprint.entities["customer"]
    assert customer.fields["lifetime_value"].rollup.function == "sum"
    assert customer.fields["lifetime_value"].rollup.entity == "order"
    assert blueprint.pipelines["order"].allows("proposal", "lost")
    assert not blueprint.pipelines["order"].allows("proposal", "initial_contact")


def test_model_is_immutable():
    blueprint = load_blueprint(DESIGN)
    with pytest.raises(dataclasses.FrozenInstanceError):
        blueprint.name = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        blueprint.entities["order"].fields["x"] = None  # type: ignore[index]


def test_misspelt_field_type_names_file_line_and_suggestion(tmp_path):
    folder = copy_blueprint(DESIGN, tmp_path / "acme")
    order = folder / "entities" / "order.yaml"
    edit(order, "amount:   {type: money", "amount:   {type: mony")
    [problem] = problems_of(folder)
    match = LOCATED.match(problem)
    assert match and match["file"].endswith("entities/order.yaml")
    assert int(match["line"]) == line_of(order, "type: mony")
    assert "fields.amount.type" in problem and "did you mean 'money'?" in problem


def test_every_problem_is_collected_across_files(tmp_path):
    folder = copy_blueprint(DESIGN, tmp_path / "acme")
    edit(folder / "entities" / "order.yaml", "to: customer", "to: custmer")
    edit(folder / "views" / "order.yaml", "columns: [code, name,", "columns: [code, nme,")
    edit(folder / "entities" / "order.yaml", '"(amount or 0) * probability / 100"',
         '"(amount or 0) * probabilty / 100"')
    problems = problems_of(folder)
    text = "\n".join(problems)
    assert "'custmer' is not an entity (did you mean 'customer'?)" in text
    assert "'nme' is not a field of order (did you mean 'name'?)" in text
    assert "unknown name 'probabilty' (did you mean 'probability'?)" in text
    assert all(LOCATED.match(p) for p in problems)


def test_cross_references_are_checked(tmp_path):
    folder = copy_blueprint(DESIGN, tmp_path / "acme")
    edit(folder / "pipelines" / "order.yaml", "requires: [lost_reason]", "requires: [loss_reason]")
    edit(folder / "reports" / "pipeline_by_stage.yaml", "weighted: {sum: weighted_amount}",
         "weighted: {sum: weighted_amt}")
    edit(folder / "dashboards" / "sales_rep.yaml", "roles: [sales_rep]", "roles: [sales_reps]")
    edit(folder / "views" / "order.yaml", "customer.level]", "customer.levle]")
    text = "\n".join(problems_of(folder))
    assert "'loss_reason' is not a field of order" in text
    assert "'weighted_amt' is not a field of order" in text
    assert "'sales_reps' is not a role (did you mean 'sales_rep'?)" in text
    assert "'levle' is not a field of customer" in text


def test_duplicate_keys_and_syntax_errors_have_lines(tmp_path):
    folder = copy_blueprint(DESIGN, tmp_path / "acme")
    pipeline = folder / "pipelines" / "order.yaml"
    pipeline.write_text(pipeline.read_text(encoding="utf-8") + "stall_after_days: 7\n", encoding="utf-8")
    view = folder / "views" / "order.yaml"
    view.write_text("entity: order\nlist: {columns: [code, name\n", encoding="utf-8")
    text = "\n".join(problems_of(folder))
    duplicate = line_of(pipeline, "stall_after_days: 7")
    assert f"pipelines/order.yaml:{duplicate}:1: stall_after_days: duplicate key 'stall_after_days'" in text
    assert re.search(r"views/order\.yaml:\d+:\d+: YAML syntax error", text)


def test_formula_cycle_is_an_error(tmp_path):
    folder = copy_blueprint(DESIGN, tmp_path / "acme")
    edit(folder / "entities" / "order.yaml", '"stage_probability(stage)"', '"weighted_amount / 10"')
    text = "\n".join(problems_of(folder))
    assert "cycle" in text and "probability" in text


def test_hostile_expression_is_refused_at_load(tmp_path):
    folder = copy_blueprint(DESIGN, tmp_path / "acme")
    edit(folder / "entities" / "order.yaml", '"stage_probability(stage)"', "\"().__class__\"")
    text = "\n".join(problems_of(folder))
    assert "fields.probability.formula: invalid expression" in text


def test_overlay_changes_one_property_appends_and_removes(tmp_path):
    overlay = tmp_path / "client"
    (overlay / "entities").mkdir(parents=True)
    (overlay / "pipelines").mkdir()
    (overlay / "blueprint.yaml").write_text(f"name: client\nextends: {DESIGN}\n", encoding="utf-8")
    (overlay / "entities" / "order.yaml").write_text(
        "fields:\n"
        "  name: {label: {en: Deal, zh: 交易}}\n"
        "  tags: {remove: true}\n"
        "  industry: {type: select, options: [energy, retail]}\n", encoding="utf-8")
    (overlay / "views").mkdir()
    (overlay / "views" / "order.yaml").write_text(  # a list in an overlay replaces the base list
        # a required_when field stays on some section: a form that cannot show it cannot save a lost deal
        "form:\n  sections:\n    - {label: Basics, fields: [name, customer, amount, industry]}\n"
        "    - {label: Outcome, fields: [lost_reason], visible_when: \"stage == 'lost'\"}\n",
        encoding="utf-8")
    (overlay / "pipelines" / "order.yaml").write_text(
        "stages:\n  - +\n  - {name: proposal, probability: 40}\n  - {name: on_hold, probability: 5}\n",
        encoding="utf-8")
    blueprint = load_blueprint(overlay)
    order = blueprint.entities["order"]
    assert order.fields["name"].label.text("zh") == "交易"
    assert order.fields["name"].max_length == 200  # the base's other properties stay
    assert "tags" not in order.fields and "industry" in order.fields
    stages = blueprint.pipelines["order"].stages
    assert [s.name for s in stages][-1] == "on_hold"
    assert blueprint.pipelines["order"].stage("proposal").probability == 40
    assert blueprint.name == "client"
    assert [s.fields for s in blueprint.views["order"].sections] == [("name", "customer", "amount", "industry"),
                                                                     ("lost_reason",)]
    assert blueprint.views["order"].columns[0] == "code"  # the rest of the base view stays


def test_overlay_errors_point_into_the_overlay(tmp_path):
    overlay = tmp_path / "client"
    (overlay / "entities").mkdir(parents=True)
    (overlay / "blueprint.yaml").write_text("name: client\n", encoding="utf-8")
    (overlay / "entities" / "order.yaml").write_text("fields:\n  amount: {min: low}\n", encoding="utf-8")
    [problem] = problems_of(DESIGN, [overlay])
    assert LOCATED.match(problem)["file"].endswith("client/entities/order.yaml")
    assert ":2:" in problem and "fields.amount.min" in problem


def test_removing_a_field_still_referenced_is_reported(tmp_path):
    overlay = tmp_path / "client"
    (overlay / "entities").mkdir(parents=True)
    (overlay / "blueprint.yaml").write_text("name: client\n", encoding="utf-8")
    (overlay / "entities" / "order.yaml").write_text("fields:\n  lost_reason: {remove: true}\n",
                                                     encoding="utf-8")
    # the pipeline and the view still use it: one problem, at the removal, naming each use
    [problem] = problems_of(DESIGN, [overlay])
    assert problem.startswith(f"{overlay / 'entities' / 'order.yaml'}:2:3: fields.lost_reason: "
                              "'lost_reason' is removed here, but 2 place(s) still use it: ")
    pipeline, view = DESIGN / "pipelines" / "order.yaml", DESIGN / "views" / "order.yaml"
    assert f"pipelines/order.yaml:{line_of(pipeline, 'requires: [lost_reason]')}:" in problem
    assert f"views/order.yaml:{line_of(view, '[lost_reason]')}:" in problem


def test_cli_check_exit_codes(tmp_path, capsys):
    assert main(["--blueprint", str(B2B), "check"]) == 0
    assert "OK" in capsys.readouterr().out
    folder = copy_blueprint(DESIGN, tmp_path / "acme")
    edit(folder / "entities" / "order.yaml", "type: money, min: 0", "type: money, min: zero")
    with pytest.raises(SystemExit) as exit_info:
        main(["--blueprint", str(folder), "check"])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and LOCATED.match(err.splitlines()[0])


def test_load_blueprint_raises_every_problem(tmp_path):
    folder = copy_blueprint(DESIGN, tmp_path / "acme")
    edit(folder / "entities" / "order.yaml", "to: customer", "to: nobody")
    with pytest.raises(BlueprintError) as error:
        load_blueprint(folder)
    assert error.value.problems and "nobody" in str(error.value)


def test_stdlib_platform_module_is_not_shadowed():
    code = "import platform; platform.system(); import atrium.metadata; print('ok')"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.stdout.strip() == "ok", result.stderr


def test_a_boards_quick_edit_names_fields_a_card_can_edit(tmp_path):
    folder = copy_blueprint(B2B, tmp_path / "acme")
    view = folder / "views" / "order.yaml"
    edit(view, "quick_edit: [amount, expected_close]", "quick_edit: [amount, amont, weighted_amount, stage, tags]")
    problems = problems_of(folder)
    assert all(p.startswith(f"{view}:{line_of(view, 'quick_edit')}:") for p in problems), problems
    text = "\n".join(problems)
    assert "kanban.quick_edit[1]: 'amont' is not a field of order (did you mean 'amount'?)" in text
    assert "'weighted_amount' is computed or read-only: a card cannot edit it" in text
    assert "'stage' makes the columns: a card changes it by moving" in text
    assert "a multiselect field cannot be edited on a card" in text
    assert len(problems) == 4
