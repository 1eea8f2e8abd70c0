"""Property-based tests: the merge obeys its rules for any data, and no input crashes the loader."""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings, strategies as st

from atrium.metadata import check_blueprint
from atrium.metadata.merge import merge, strip_markers

DESIGN = Path(__file__).resolve().parents[1] / "fixtures" / "design_examples"

keys = st.sampled_from(["a", "b", "c", "name", "value", "label", "x"])
scalars = st.one_of(st.none(), st.booleans(), st.integers(-1000, 1000), st.text(max_size=8))
plain = st.recursive(scalars, lambda children: st.one_of(
    st.lists(children, max_size=4).filter(lambda items: not items or items[0] != "+"),
    st.dictionaries(keys, children, max_size=4).filter(lambda d: d.get("remove") is not True)),
    max_leaves=20)
mappings = st.dictionaries(keys, plain, max_size=5)


@settings(deadline=None)
@given(mappings)
def test_merging_nothing_changes_nothing(base):
    assert merge(base, {}) == strip_markers(base) == base


@settings(deadline=None)
@given(mappings, mappings)
def test_overlay_keys_win_and_other_keys_stay(base, overlay):
    merged = merge(base, overlay)
    for key, value in base.items():
        if key not in overlay:
            assert merged[key] == value
    for key, value in overlay.items():
        if not isinstance(value, dict) or not isinstance(base.get(key), dict):
            assert merged[key] == value
    assert set(merged) == set(base) | set(overlay)


@given(mappings, st.sampled_from(["a", "b", "c"]))
def test_remove_takes_a_key_out(base, key):
    merged = merge(base, {key: {"remove": True}})
    assert key not in merged


@given(st.lists(st.sampled_from(["p", "q", "r"]), unique=True, max_size=3),
       st.lists(st.sampled_from(["q", "r", "s"]), unique=True, max_size=3))
def test_append_merges_named_items_and_appends_new_ones(base_names, overlay_names):
    base = [{"name": n, "v": 1} for n in base_names]
    overlay = ["+"] + [{"name": n, "v": 2} for n in overlay_names]
    merged = merge(base, overlay)
    names = [item["name"] for item in merged]
    assert names == base_names + [n for n in overlay_names if n not in base_names]
    assert all(item["v"] == (2 if item["name"] in overlay_names else 1) for item in merged)


field_specs = st.dictionaries(
    st.sampled_from(["type", "to", "options", "min", "max", "formula", "required", "default",
                     "rollup", "max_length", "pipeline", "format", "label"]),
    st.one_of(scalars, st.sampled_from(["money", "reference", "select", "order", "customer", "x + 1",
                                        "today()", "__import__('os')"]),
              st.lists(scalars, max_size=3), st.dictionaries(keys, scalars, max_size=3)),
    max_size=5)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.from_regex(r"[a-z][a-z_]{0,8}", fullmatch=True), field_specs, min_size=1, max_size=3))
def test_any_field_definition_loads_or_is_reported_never_crashes(fields):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "bp"
        shutil.copytree(DESIGN, folder)
        order = folder / "entities" / "order.yaml"
        document = yaml.safe_load(order.read_text(encoding="utf-8"))
        document["fields"].update(fields)
        order.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
        blueprint, problems = check_blueprint(folder)
        assert (blueprint is None) == bool(problems)
        for problem in problems:
            assert problem.mark is not None and problem.mark.line >= 1


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=200))
def test_any_text_as_a_document_is_reported_never_crashes(text):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "bp"
        shutil.copytree(DESIGN, folder)
        (folder / "views" / "order.yaml").write_text(text, encoding="utf-8")
        blueprint, problems = check_blueprint(folder)
        assert (blueprint is None) == bool(problems)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(field_specs)
def test_fast_and_explaining_validators_agree(spec):
    """jsonschema-rs decides validity; the Python validator explains: they must agree."""
    from atrium.metadata.schemas import fast_validator, validator
    document = {"name": "thing", "label": "Thing", "fields": {"x": spec}}
    assert fast_validator("entity").is_valid(document) == validator("entity").is_valid(document)
