"""`previous(field)` in a check reads the value stored before the change being checked (a receipt's
amount before it is edited), and `field:` names where a check's message is shown. The language
accepts previous() of one plain field only; the loader accepts it in checks only, and a `field:`
that is not a field of the entity, at its file:line with a hint."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from atrium.metadata import check_blueprint
from atrium.metadata.expressions import PREVIOUS, Evaluator, ExpressionError, parse_expression

ROOT = Path(__file__).resolve().parents[2]
B2B = ROOT / "blueprints" / "b2b_sales"


def test_previous_reads_the_stored_value_and_none_for_a_new_record():
    expression = parse_expression("amount <= 100 + (previous(amount) or 0)")
    assert expression.previous == {"amount"} and "amount" in expression.names
    assert Evaluator().evaluate(expression, {"amount": 150, PREVIOUS: {"amount": 60}}) is True
    assert Evaluator().evaluate(expression, {"amount": 150}) is False   # new: nothing stored yet


@pytest.mark.parametrize("source", ["previous()", "previous(a, b)", "previous(a.b)", "previous(1)",
                                    "previous(amount + 1)"])
def test_previous_takes_one_plain_field(source):
    with pytest.raises(ExpressionError, match=r"previous\(\) takes one field of the record"):
        parse_expression(source)


def overlay(tmp_path: Path, entity: str, spec: dict) -> Path:
    folder = tmp_path / "overlay"
    (folder / "entities").mkdir(parents=True)
    (folder / "blueprint.yaml").write_text(f"name: acme\nextends: {B2B}\n", encoding="utf-8")
    (folder / "entities" / f"{entity}.yaml").write_text(yaml.safe_dump({"name": entity, **spec}), encoding="utf-8")
    return folder


def messages(folder: Path) -> list[str]:
    blueprint, found = check_blueprint(folder)
    assert blueprint is None, "expected problems"
    return [str(p) for p in found]


def test_previous_is_for_checks_only(tmp_path):
    folder = overlay(tmp_path, "order", {"fields": {"probe": {"type": "money", "formula": "previous(amount)"}}})
    (problem,) = messages(folder)
    assert "fields.probe.formula" in problem and "only an entity's checks read the values stored" in problem


def test_a_check_may_read_previous_and_name_its_field(tmp_path):
    folder = overlay(tmp_path, "order", {"checks": [
        {"name": "no_cut", "field": "amount", "assert": "amount is None or amount >= (previous(amount) or 0)",
         "message": {"en": "x", "zh": "x"}}]})
    blueprint, found = check_blueprint(folder)
    assert found == []
    check = next(c for c in blueprint.entities["order"].checks if c.name == "no_cut")
    assert check.field == "amount" and check.assertion.previous == {"amount"}


def test_a_check_naming_a_missing_field_is_refused_with_a_hint(tmp_path):
    folder = overlay(tmp_path, "order", {"checks": [
        {"name": "no_cut", "field": "amout", "assert": "amount is None or amount > 0"}]})
    (problem,) = messages(folder)
    assert "checks[0].field" in problem and "'amout' is not a field of order" in problem
    assert "did you mean 'amount'?" in problem
