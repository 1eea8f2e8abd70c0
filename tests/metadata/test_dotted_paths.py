"""Dotted paths in expressions as a blueprint author meets them: the language accepts plain-name
chains and nothing else that looks like attribute access; the loader checks each path against the
entities at the file:line:col that wrote it, with a hint, refuses more than three links and
formulas that read each other in a cycle across entities."""
from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
import yaml
from hypothesis import given, strategies as st

from atrium.metadata import check_blueprint
from atrium.metadata.expressions import Evaluator, ExpressionError, parse_expression

ROOT = Path(__file__).resolve().parents[2]
B2B = ROOT / "blueprints" / "b2b_sales"

names = st.text(string.ascii_lowercase, min_size=1, max_size=8).filter(
    lambda n: n not in {"and", "or", "not", "in", "is", "if", "else", "for", "def", "del", "as", "pass",
                        "from", "with", "try", "while", "class", "global", "lambda", "return", "yield",
                        "assert", "break", "elif", "async", "await", "import", "except", "raise",
                        "finally", "continue", "nonlocal"})


@given(st.lists(names, min_size=2, max_size=4), st.integers(-1000, 1000))
def test_any_chain_of_up_to_three_links_is_a_path_read_under_its_joined_key(steps, value):
    expression = parse_expression(".".join(steps) + " + 1")
    assert expression.paths == {tuple(steps)}
    assert steps[0] in expression.names
    assert Evaluator().evaluate(expression, {".".join(steps): value}) == value + 1


@given(st.lists(names, min_size=5, max_size=7))
def test_more_than_three_links_is_refused(steps):
    with pytest.raises(ExpressionError, match="at most 3"):
        parse_expression(".".join(steps))


def test_paths_are_the_whole_chains_an_expression_reads():
    expression = parse_expression("a.b.c * 2 + (x.y or 0) if flag else z")
    assert expression.paths == {("a", "b", "c"), ("x", "y")}
    assert expression.names == {"a", "x", "flag", "z"}
    assert Evaluator().evaluate(expression, {"a.b.c": 3, "flag": True}) == 6   # an empty link reads None


@pytest.mark.parametrize("source, message", [
    ("'x'.upper", "attribute access except dotted paths"),
    ("f(x).y", "attribute access except dotted paths"),
    ("a[0].b", "attribute access except dotted paths"),
    ("(a + b).c", "attribute access except dotted paths"),
    ("a.b()", "cannot call methods"),
    ("a._b", "starting with '_'"),
    ("_a.b", "starting with '_'"),
    ("a.__class__", "starting with '_'"),
    ("a.b.c.d.e", "follows 4 links"),
])
def test_attribute_access_other_than_a_path_is_refused(source, message):
    with pytest.raises(ExpressionError, match=re.escape(message)):
        parse_expression(source)


def overlay(tmp_path: Path, entities: dict[str, dict], reports: dict[str, dict] | None = None) -> Path:
    folder = tmp_path / "overlay"
    (folder / "entities").mkdir(parents=True)
    (folder / "blueprint.yaml").write_text(f"name: acme\nextends: {B2B}\n", encoding="utf-8")
    for name, spec in entities.items():
        (folder / "entities" / f"{name}.yaml").write_text(yaml.safe_dump({"name": name, **spec}), encoding="utf-8")
    if reports:
        (folder / "reports").mkdir()
        for name, spec in reports.items():
            (folder / "reports" / f"{name}.yaml").write_text(yaml.safe_dump({"name": name, **spec}),
                                                             encoding="utf-8")
    return folder


def problems(folder: Path) -> list[str]:
    blueprint, found = check_blueprint(folder)
    assert blueprint is None, "expected problems"
    return [str(p) for p in found]


def field(formula: str, kind: str = "formula") -> dict:
    return {"fields": {"probe": {"type": "text", kind: formula}}}


@pytest.mark.parametrize("text, expected", [
    ("customer.levl", "'levl' in 'customer.levl' is not a field of customer (did you mean 'level'?)"),
    ("custmer.level", "uses unknown name 'custmer' (did you mean 'customer'?)"),
    ("amount.value", "'amount' in 'amount.value' is a money field, not a reference or user field"),
    ("customer.owner.nam", "'nam' in 'customer.owner.nam' is not readable of a user (one of name, display_name, "
                           "role, team) (did you mean 'name'?)"),
    ("owner.team.name", "'owner' in 'owner.team.name' is a user field: a path ends there"),
    ("today.year", "'today' in 'today.year' is not a field of order"),
    ("customer.owner.team", None),
    ("created_by.display_name", None),
])
def test_a_path_is_checked_at_the_line_that_wrote_it(tmp_path, text, expected):
    folder = overlay(tmp_path, {"order": field(text)})
    blueprint, found = check_blueprint(folder)
    if expected is None:
        assert found == []
        return
    messages = [str(p) for p in found]
    assert any(expected in m for m in messages), messages
    assert any(re.search(r"entities[/\\]order\.yaml:3:14: fields\.probe\.formula", m) for m in messages), messages


def test_paths_are_checked_in_every_kind_of_expression(tmp_path):
    folder = overlay(tmp_path, {"quote_line": {
        "fields": {"probe": {"type": "money", "default": "product.prise", "required_when": "product.nme"}},
        "checks": [{"name": "c", "assert": "quote.totl > 0", "when": "quote.stag == 'x'",
                    "message": {"en": "x", "zh": "x"}}]}})
    messages = "\n".join(problems(folder))
    for wrong in ("prise", "nme", "totl", "stag"):
        assert f"'{wrong}' in" in messages


def test_more_than_three_links_is_a_load_error_at_its_position(tmp_path):
    folder = overlay(tmp_path, {"quote_line": field("quote.order.customer.owner.name")})
    (message,) = problems(folder)
    assert re.search(r"quote_line\.yaml:3:14: fields\.probe\.formula: invalid expression .*follows 4 links", message)


def test_formulas_reading_each_other_across_entities_in_a_cycle_are_refused(tmp_path):
    folder = overlay(tmp_path, {
        "product": {"fields": {"echo": {"type": "money", "formula": "(twin.echo or 0) + 1"},
                               "twin": {"type": "reference", "to": "product"},
                               "last_line": {"type": "money", "formula": "line.share"},
                               "line": {"type": "reference", "to": "quote_line"}}},
        "quote_line": {"fields": {"share": {"type": "money", "formula": "product.last_line"}}}})
    messages = problems(folder)
    assert any("derived fields read each other in a cycle: product.last_line → quote_line.share → "
               "product.last_line" in m for m in messages), messages
    assert not any("product.echo" in m for m in messages)  # a record reading another of its kind: no cycle


def test_a_report_metric_refuses_a_path_with_a_clear_message(tmp_path):
    folder = overlay(tmp_path, {}, {"broken": {"source": "order", "group_by": ["stage"],
                                               "measures": {"n": "count"}, "metrics": {"x": "n.customer"}}})
    messages = problems(folder)
    assert any("a dotted path reads a linked record, and here there is no record to follow" in m
               for m in messages), messages
