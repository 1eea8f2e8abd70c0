"""Two loader checks a blueprint author meets when closing loops: a stamped stage date
(`stamp_on_stage`) must name stages of its entity's pipeline, and a required field must be on a
form section of its entity's view (else nobody can save the record from its form)."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from atrium.cli import main
from atrium.metadata import check_blueprint, load_blueprint

ROOT = Path(__file__).resolve().parents[2]
B2B = ROOT / "blueprints" / "b2b_sales"


def copy_b2b(tmp_path: Path) -> Path:
    return Path(shutil.copytree(B2B, tmp_path / "b2b"))


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if needle in line)


def problems_of(folder: Path) -> list[str]:
    blueprint, problems = check_blueprint(folder)
    assert blueprint is None and problems
    return [str(p) for p in problems]


def test_orders_are_stamped_when_won_or_lost():
    order = load_blueprint(B2B).entities["order"]
    assert order.fields["won_on"].stamp_on_stage == ("won",)
    assert order.fields["lost_on"].stamp_on_stage == ("lost",)
    assert [f.name for f in order.stamped_fields] == ["won_on", "lost_on"]


def test_a_misspelt_stamp_stage_is_reported_at_its_line_with_a_suggestion(tmp_path):
    folder = copy_b2b(tmp_path)
    path = folder / "entities" / "order.yaml"
    edit(path, "stamp_on_stage: [lost]", "stamp_on_stage: [lots]")
    [problem] = problems_of(folder)
    assert problem.startswith(f"{path}:{line_of(path, 'stamp_on_stage: [lots]')}:")
    assert "'lots' is not a stage of pipeline order" in problem and "did you mean 'lost'?" in problem


@pytest.mark.parametrize("old, new, says", [
    ("    type: date\n    stamp_on_stage: [won]", "    type: text\n    stamp_on_stage: [won]",
     "must be a date or datetime field"),
    ("    stamp_on_stage: [won]", "    stamp_on_stage: [won]\n    default: \"today()\"",
     "takes no formula, rollup or default"),
])
def test_a_stamp_on_a_field_the_engine_cannot_stamp_is_refused(tmp_path, old, new, says):
    folder = copy_b2b(tmp_path)
    edit(folder / "entities" / "order.yaml", old, new)
    assert any(says in problem for problem in problems_of(folder))


def test_a_stamp_on_an_entity_without_stages_is_refused(tmp_path):
    folder = copy_b2b(tmp_path)
    edit(folder / "entities" / "customer.yaml", "  is_won:\n",
         "  won_at:\n    type: date\n    stamp_on_stage: [won]\n  is_won:\n")
    assert any("customer has no stage field with a pipeline" in p for p in problems_of(folder))


def test_a_required_when_field_on_no_form_section_is_reported_at_the_field(tmp_path, capsys):
    folder = copy_b2b(tmp_path)
    view = folder / "views" / "lead.yaml"
    edit(view, "      fields: [campaign]\n", "      fields: [channel]\n")
    edit(view, "      fields: [source, channel, region, industry]\n    # shown",
         "      fields: [source, region, industry]\n    # shown")
    entity = folder / "entities" / "lead.yaml"
    [problem] = problems_of(folder)
    assert problem.startswith(f"{entity}:{line_of(entity, '  campaign:')}:3: ")
    assert "'campaign' is required when source in ('campaign', 'trade_show')" in problem
    assert "views/lead.yaml" in problem
    with pytest.raises(SystemExit) as exit_info:  # `atrium check` says the same and fails
        main(["--blueprint", str(folder), "check"])
    assert exit_info.value.code == 1
    assert re.search(r"lead\.yaml:\d+:3: fields\.campaign: 'campaign' is required", capsys.readouterr().err)


def test_a_required_field_missing_from_the_form_is_reported_but_one_with_a_default_is_not(tmp_path):
    folder = copy_b2b(tmp_path)
    view = folder / "views" / "order.yaml"
    edit(view, "      fields: [name, customer, owner, amount,", "      fields: [name, owner, amount,")
    problems = problems_of(folder)
    assert len(problems) == 1 and "'customer' is required but on no form section of views/order.yaml" in problems[0]
    folder2 = copy_b2b(tmp_path / "two")
    # the owner is not required, but a required field with a default is filled by the engine
    edit(folder2 / "entities" / "order.yaml", "    default: \"current_user()\"\n    label: {en: Owner",
         "    default: \"current_user()\"\n    required: true\n    label: {en: Owner")
    edit(folder2 / "views" / "order.yaml", "fields: [name, customer, owner, amount,",
         "fields: [name, customer, amount,")
    blueprint, problems = check_blueprint(folder2)
    assert problems == [] and blueprint is not None
