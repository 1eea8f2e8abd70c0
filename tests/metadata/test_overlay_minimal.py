"""The overlay the studio writes: the smallest one that turns the base into the target, in YAML
that reads back the same; and diff, merge and minimal overlay agreeing with each other."""
from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings, strategies as st

from atrium.metadata.loader import blueprint_layers, merged_documents, read_layer
from atrium.metadata.merge import merge
from atrium.metadata.overlays.diff import Change, compare, same
from atrium.metadata.overlays.documents import NOTHING, render_overlay_yaml, write_overlay_document
from atrium.metadata.overlays.minimal import minimal_overlay, minimal_overlay_documents
from atrium.metadata.overlays.paths import plain
from atrium.metadata.overlays.words import describe
from atrium.metadata.yaml_source import parse_yaml

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "examples" / "overlays" / "hengtai_machinery"

TRICKY = ["08", "1e5", "0x1F", "true", "True", "no", "on", "null", "~", "", " a", "a: b", "#x", "- x",
          "[x]", "{x}", "'q'", '"q"', "中文 标签", "line\nbreak", "@x", "`x`", "%x", "1_000", "10:30", "2026-01-31"]
names = st.sampled_from(["a", "b", "c", "d", "e", "f"])
scalars = st.one_of(st.sampled_from(TRICKY), names, st.integers(-5, 10**12), st.booleans(), st.none(),
                    st.floats(allow_nan=False, allow_infinity=False, width=32))
keys = st.sampled_from(["label", "type", "probability", "fields", "options", "x", "y", "z"])


def named_items(children):
    return st.lists(st.fixed_dictionaries({"name": names}, optional={"p": children, "label": scalars}),
                    max_size=5, unique_by=lambda item: item["name"])


values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.dictionaries(keys, children, max_size=4),
        st.lists(names, max_size=5, unique=True),
        st.lists(scalars, max_size=3).filter(lambda items: not items or items[0] != "+"),
        named_items(children)),
    max_leaves=12)
documents = st.dictionaries(keys, values, max_size=5)


def reread(text: str):
    data, problems = parse_yaml(text, "overlay.yaml")
    assert not problems, problems
    return data


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents, documents)
def test_the_minimal_overlay_turns_the_base_into_the_target(base, target):
    overlay = minimal_overlay(base, target)
    if overlay is NOTHING:
        assert same(base, target)
        return
    assert same(merge(base, overlay), target)
    assert same(merge(base, reread(render_overlay_yaml(overlay))), target)


@settings(max_examples=300, deadline=None)
@given(values)
def test_overlay_yaml_reads_back_as_written(value):
    document = {"x": value}
    assert same(reread(render_overlay_yaml(document, "a comment\nover two lines")), document)


@st.composite
def base_and_overlay(draw):
    """A base and an overlay a person could write on it: key changes and removals, and `+` lists
    that change, remove, add and place named items."""
    base = draw(documents)

    def overlay_for(value):
        if isinstance(value, dict):
            result = {}
            for key in draw(st.lists(st.sampled_from(sorted(value) or ["x"]), max_size=3, unique=True)):
                if key in value and draw(st.booleans()):
                    result[key] = {"remove": True}
                else:
                    result[key] = overlay_for(value[key]) if key in value else draw(values)
            return result
        if isinstance(value, list) and value and all(isinstance(i, dict) and "name" in i for i in value):
            items = ["+"]
            existing = [i["name"] for i in value]
            for name in draw(st.lists(names, max_size=4, unique=True)):
                action = draw(st.sampled_from(["change", "remove", "place"]))
                item = {"name": name}
                if action == "remove" and name in existing:
                    item["remove"] = True
                else:
                    item["p"] = draw(scalars)
                    if action == "place" and existing:
                        item[draw(st.sampled_from(["after", "before"]))] = draw(st.sampled_from(existing))
                items.append(item)
            return items
        return draw(values)

    return base, overlay_for(base)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(base_and_overlay())
def test_diff_then_minimal_overlay_gives_back_the_same_merged_document(pair):
    base, overlay = pair
    merged = merge(base, overlay)
    changes = compare(base, merged)
    assert (not changes) == same(base, merged)
    for action, path, old, new, after in changes:
        describe(Change("entity", "thing", action, path, old, new, after))  # every change can be said
    minimal = minimal_overlay(base, merged)
    assert minimal is NOTHING if not changes else same(merge(base, minimal), merged)
    if minimal is not NOTHING:
        assert len(render_overlay_yaml(minimal)) <= len(render_overlay_yaml(overlay)) + 10  # before: vs after:


def test_the_worked_example_rewritten_as_minimal_overlays_loads_to_the_same_documents(tmp_path):
    """The studio's round trip on real documents: merged example → minimal overlay per document →
    written as YAML → merged again gives the same documents."""
    layers, problems = blueprint_layers(EXAMPLE)
    assert not problems
    base, _ = merged_documents(layers[:-1])
    merged, _ = merged_documents(layers)
    differences = minimal_overlay_documents({k: s.data for k, s in base.items()},
                                            {k: s.data for k, s in merged.items()})
    assert {kind for kind, _ in differences} >= {"entity", "pipeline", "views", "report", "dashboard", "roles"}
    folder = tmp_path / "site"
    (folder).mkdir()
    (folder / "blueprint.yaml").write_text(f"extends: {layers[0]}\n", encoding="utf-8")
    for (kind, name), data in differences.items():
        if kind == "blueprint":
            data = {**data, "extends": str(layers[0])}
        write_overlay_document(folder, kind, name, data, comment="written by the test")
    again, problems = merged_documents(blueprint_layers(folder)[0])
    assert not problems
    for key, source in merged.items():
        expected = dict(source.data, extends=str(layers[0])) if key == ("blueprint", "blueprint") else source.data
        assert same(again[key].data, expected), key
    stage_file = (folder / "pipelines" / "order.yaml").read_text(encoding="utf-8")
    assert stage_file.startswith("# written by the test\n") and "- +" in stage_file
    assert "after: needs_confirmed" in stage_file
    assert read_layer(folder)[1] == []


def test_an_unchanged_document_needs_no_overlay_file(tmp_path):
    path = write_overlay_document(tmp_path, "report", "r", {"name": "r"})
    assert path.is_file()
    assert write_overlay_document(tmp_path, "report", "r", minimal_overlay({"a": 1}, {"a": 1})) is None
    assert not path.exists()


def test_the_studio_writes_an_edit_into_the_site_overlay_and_reverting_it_deletes_the_file(tmp_path):
    from atrium.metadata import load_blueprint
    from atrium.metadata.overlays.minimal import update_overlay_document
    layers, _ = blueprint_layers(EXAMPLE)
    site = tmp_path / "site"
    site.mkdir()
    below, _ = merged_documents(layers)
    pipeline = plain(below[("pipeline", "order")].data)
    stages = pipeline["stages"]
    stages.insert(1, {"name": "qualified", "label": {"en": "Qualified", "zh": "已确认"}, "probability": 15})
    next(s for s in stages if s["name"] == "won")["probability"] = 99
    path = update_overlay_document(site, below, "pipeline", "order", pipeline, comment="studio: admin")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# studio: admin\n") and "- +" in text and "after: initial_contact" in text
    assert "needs_confirmed" not in text  # the stages it does not touch are not repeated
    blueprint = load_blueprint(EXAMPLE, [site])
    names = [s.name for s in blueprint.pipelines["order"].stages]
    assert names[:3] == ["initial_contact", "qualified", "needs_confirmed"] and "site_survey" in names
    assert blueprint.pipelines["order"].stage("won").probability == 99
    assert update_overlay_document(site, below, "pipeline", "order", below[("pipeline", "order")].data) is None
    assert not path.exists()
    removed = update_overlay_document(site, below, "report", "machine_mix", None)
    assert removed.read_text(encoding="utf-8") == "remove: true\n"
    from atrium.metadata import check_blueprint
    _, problems = check_blueprint(EXAMPLE, [site])  # the engineer's dashboard still shows it: said at the removal
    [problem] = problems
    assert problem.mark.file.endswith("reports/machine_mix.yaml") and problem.mark.line == 1
    assert "'machine_mix' is removed here, but " in str(problem)
    assert "dashboards/application_engineer.yaml:" in str(problem)
    assert (site / "blueprint.yaml").read_text(encoding="utf-8").endswith("{}\n")
