"""A new base version under an overlay written for the old one: each conflict with file:line of
the overlay's statement and of the new base, from base.lock or from the old base folder."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from atrium.metadata.loader import blueprint_layers, check_layers
from atrium.metadata.overlays.lock import LOCK_FILE, read_lock
from atrium.metadata.overlays.upgrade import relock, upgrade

ROOT = Path(__file__).resolve().parents[2]
DESIGN = ROOT / "tests" / "fixtures" / "design_examples"

REPORT = """\
name: deals_by_industry
source: order
group_by: [industry]
measures:
  orders: count
"""

CONFLICTING = {
    "entities/order.yaml": """\
fields:
  lost_reason: {label: {en: Why lost, zh: 输单原因}}
  tags:
    options: [+, strategic]
  industry: {type: select, options: [energy, retail]}
checks:
  - +
  - {name: close_date_not_past, remove: true}
""",
    "pipelines/order.yaml": """\
stages:
  - +
  - {name: proposal, probability: 40}
""",
    "reports/deals_by_industry.yaml": REPORT,
}

CLEAN = {
    "entities/order.yaml": "fields:\n  name: {label: {en: Deal, zh: 交易}}\n",
    "pipelines/order.yaml": "stages:\n  - +\n  - {name: on_hold, probability: 5, after: proposal}\n",
}


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (old, path)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if needle in line)


def make_v2(folder: Path) -> Path:
    """The next base version: tags gone, lost_reason renamed, an industry field and report of its
    own, the proposal probability and the date check's message changed, the won label changed."""
    order = folder / "entities" / "order.yaml"
    edit(order, "  tags: {type: multiselect, options: [key_account, price_sensitive, long_decision_chain]}\n", "")
    edit(order, "  lost_reason:\n", "  loss_reason:\n    renamed_from: lost_reason\n")
    edit(order, "  margin: {type: money}", "  industry: {type: text}\n  margin: {type: money}")
    edit(order, "message: {en: Expected close date is in the past,", "message: {en: The close date has passed,")
    edit(folder / "views" / "order.yaml", ", tags]", "]")
    edit(folder / "views" / "order.yaml", "[lost_reason]", "[loss_reason]")
    pipeline = folder / "pipelines" / "order.yaml"
    edit(pipeline, "requires: [lost_reason]", "requires: [loss_reason]")
    edit(pipeline, "probability: 50}", "probability: 45}")
    edit(pipeline, "{en: Won, zh: 赢单}", "{en: Won (signed), zh: 赢单}")
    (folder / "reports" / "deals_by_industry.yaml").write_text(REPORT.replace("count", "count\ntotals: true"),
                                                               encoding="utf-8")
    return folder


@pytest.fixture
def bases(tmp_path):
    v1 = Path(shutil.copytree(DESIGN, tmp_path / "base_v1"))
    v2 = make_v2(Path(shutil.copytree(DESIGN, tmp_path / "base_v2")))
    assert check_layers([v2])[1] == []  # the new base loads on its own
    return v1, v2


def make_overlay(tmp_path: Path, files: dict[str, str], base: Path) -> Path:
    folder = tmp_path / "client"
    folder.mkdir()
    (folder / "blueprint.yaml").write_text(f"name: client\nextends: ../{base.name}\n", encoding="utf-8")
    for relative, text in files.items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_text(text, encoding="utf-8")
    return folder


def conflicts_by_path(result) -> dict[str, object]:
    return {(c.document, c.path): c for c in result.conflicts}


def test_each_conflict_is_reported_with_the_overlay_and_the_new_base_position(tmp_path, bases):
    v1, v2 = bases
    overlay = make_overlay(tmp_path, CONFLICTING, v1)
    assert check_layers([v1, overlay])[1] == []  # fine on the base it was written for
    relock(overlay, [v1], "../base_v1")
    result = upgrade(overlay, [v1], [v2])
    assert result.compared_with == "base.lock" and not result.clean
    found = conflicts_by_path(result)
    order, pipeline = overlay / "entities" / "order.yaml", overlay / "pipelines" / "order.yaml"
    new_order, new_pipeline = v2 / "entities" / "order.yaml", v2 / "pipelines" / "order.yaml"

    gone = found[("entities/order.yaml", "fields.lost_reason")]
    assert gone.kind == "gone" and gone.at.line == line_of(order, "lost_reason:")
    assert "renamed 'lost_reason' to 'loss_reason'" in gone.hint
    assert gone.base_at.file.endswith("base_v2/entities/order.yaml")

    tags = found[("entities/order.yaml", "fields.tags")]
    assert tags.kind == "gone" and tags.at.line == line_of(order, "tags:")

    added = found[("entities/order.yaml", "fields.industry")]
    assert added.kind == "both added" and added.at.line == line_of(order, "industry:")
    assert (added.base_at.file.endswith("base_v2/entities/order.yaml")
            and added.base_at.line == line_of(new_order, "industry:"))

    removed = found[("entities/order.yaml", "checks[name=close_date_not_past]")]
    assert removed.kind == "changed, removed here" and removed.at.line == line_of(order, "remove: true")
    assert removed.base_at.line == line_of(new_order, "- name: close_date_not_past")

    both = found[("pipelines/order.yaml", "stages[name=proposal].probability")]
    assert both.kind == "both changed" and both.at.line == line_of(pipeline, "proposal")
    assert both.base_at.line == line_of(new_pipeline, "name: proposal")

    report = found[("reports/deals_by_industry.yaml", "")]
    assert report.kind == "both added" and report.at.line == 1
    assert len(result.conflicts) == 6, [str(c) for c in result.conflicts]
    text = str(gone)
    assert text.startswith(f"{gone.at}: fields.lost_reason: gone: ") and f"[base: {gone.base_at}]" in text


def test_without_a_lock_the_old_base_folder_tells_the_same(tmp_path, bases):
    v1, v2 = bases
    overlay = make_overlay(tmp_path, CONFLICTING, v1)
    assert read_lock(overlay) is None
    result = upgrade(overlay, [v1], [v2])
    assert result.compared_with.endswith("base_v1")
    assert sorted((c.document, c.path, c.kind) for c in result.conflicts) == sorted(
        (c.document, c.path, c.kind) for c in upgrade(overlay, [v1], [v2]).conflicts)
    assert {c.kind for c in result.conflicts} == {"gone", "both added", "changed, removed here", "both changed"}


def test_an_overlay_that_touches_nothing_the_base_changed_merges_cleanly(tmp_path, bases):
    v1, v2 = bases
    overlay = make_overlay(tmp_path, CLEAN, v1)
    relock(overlay, [v1], "../base_v1")
    result = upgrade(overlay, [v1], [v2])
    assert result.clean, [str(c) for c in result.conflicts] + [str(p) for p in result.problems]
    assert "pipelines/order.yaml" in result.changed and "entities/order.yaml" in result.changed
    blueprint, problems = check_layers([v2, overlay])
    stages = blueprint.pipelines["order"]
    assert not problems and [s.name for s in stages.stages][2:4] == ["proposal", "on_hold"]
    assert stages.stage("won").label.text("en") == "Won (signed)"  # the base's change comes through
    assert blueprint.entities["order"].fields["name"].label.text("en") == "Deal"


def test_the_lock_records_only_where_the_overlay_touches_the_base(tmp_path, bases):
    v1, _ = bases
    overlay = make_overlay(tmp_path, CLEAN, v1)
    relock(overlay, [v1], "../base_v1")
    lock = read_lock(overlay)
    text = (overlay / LOCK_FILE).read_text(encoding="utf-8")
    assert text.startswith("# What the base blueprint looked like")
    assert lock.base == "../base_v1" and lock.base_version == 1
    assert set(lock.entries) == {"blueprint.yaml", "entities/order.yaml", "pipelines/order.yaml"}
    assert set(lock.entries["entities/order.yaml"]) == {"", "fields", "fields.name", "fields.name.label",
                                                       "fields.name.label.en", "fields.name.label.zh"}
    assert lock.entries["entities/order.yaml"]["fields.name.label"] == "absent"
    assert lock.entries["pipelines/order.yaml"]["stages[name=on_hold]"] == "absent"
    assert len(lock.documents) == len(list(v1.rglob("*.yaml")))


def test_statements_written_after_the_lock_are_judged_by_the_base_as_it_is(tmp_path, bases):
    v1, v2 = bases
    overlay = make_overlay(tmp_path, CLEAN, v1)
    relock(overlay, [v1], "../base_v1")
    (overlay / "pipelines" / "order.yaml").write_text(  # added after the lock: not recorded
        CLEAN["pipelines/order.yaml"] + "  - {name: proposal, probability: 40}\n", encoding="utf-8")
    result = upgrade(overlay, [v1], [v2])
    assert not result.conflicts


def test_a_broken_lock_is_a_clear_error(tmp_path, bases):
    from atrium.metadata.overlays.lock import LockError
    v1, v2 = bases
    overlay = make_overlay(tmp_path, CLEAN, v1)
    (overlay / LOCK_FILE).write_text("just: [text\n", encoding="utf-8")
    with pytest.raises(LockError, match="base.lock: cannot be read"):
        upgrade(overlay, [v1], [v2])


def test_layers_follow_extends_to_the_base(tmp_path, bases):
    v1, _ = bases
    overlay = make_overlay(tmp_path, CLEAN, v1)
    layers, problems = blueprint_layers(overlay)
    assert not problems and layers == [v1.resolve(), overlay.resolve()]
