"""The studio's write path without the web: minimal overlay YAML that loads back to what was
proposed (a property test), nothing half done when a step after writing the files fails, what
leaves sight counted in the database, processes picking up new or hand-edited metadata, and
where the site overlay lives by default."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa
from blueprint_factory import write_blueprint
from hypothesis import HealthCheck, given, settings, strategies as st

from atrium.metadata.merge import merge
from atrium.metadata.overlays.diff import same
from atrium.metadata.overlays.paths import plain
from atrium.metadata.yaml_source import parse_yaml
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.schema.migrations import migrate
from atrium.runtime.site import history as metadata_history
from atrium.runtime.site.change import ChangeRefused, MetadataChanges, Proposal, StaleEdit, token
from atrium.runtime.site.overlay import SiteOverlay, default_site_overlay
from atrium.runtime.site.site import Site
from atrium.runtime.site.watch import MetadataWatcher

ADMIN = Actor(user_id=None, name="admin")
ENTITIES = {
    "deal": {"fields": {"name": {"type": "text", "required": True},
                        "amount": {"type": "money"},
                        "kind": {"type": "select", "options": ["new", "renewal"]},
                        "stage": {"type": "stage", "pipeline": "deal"}}},
}
PIPELINES = {"deal": {"entity": "deal", "field": "stage", "stages": [
    {"name": "open", "probability": 10}, {"name": "won", "probability": 100, "outcome": "won"},
    {"name": "lost", "probability": 0, "outcome": "lost"}]}}


def clock() -> dt.datetime:
    return dt.datetime(2026, 5, 1, tzinfo=dt.timezone.utc)


@pytest.fixture
def base(tmp_path) -> Path:
    return write_blueprint(tmp_path / "base", ENTITIES, PIPELINES)


@pytest.fixture
def changes(base, tmp_path, engine):
    migrate(engine, SiteOverlay(base, [], tmp_path / "site").load())
    return MetadataChanges(SiteOverlay(base, [], tmp_path / "site"), engine, clock)


def deal(changes: MetadataChanges) -> dict:
    return plain(changes.documents()[("entity", "deal")].data)


def with_field(changes: MetadataChanges, name: str, spec: dict) -> Proposal:
    target = deal(changes)
    target["fields"][name] = spec
    return Proposal({("entity", "deal"): target}, {"en": f"add {name}", "zh": f"添加 {name}"},
                    token(changes.documents(), [("entity", "deal")]), (("entity", "deal"),))


OPTION = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=12).map(str.strip) \
    .filter(bool)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(OPTION, min_size=1, max_size=5, unique=True),
       labels=st.lists(st.tuples(TEXT, TEXT) | st.none(), min_size=5, max_size=5),
       colours=st.lists(st.sampled_from([None, "red", "green", "#c0392b"]), min_size=5, max_size=5),
       title=TEXT)
def test_written_yaml_loads_back_to_the_proposed_document(base, tmp_path, values, labels, colours, title):
    """Property: for any options with labels and colours, and any label of the entity, the files the
    studio would write merge onto the base into exactly the proposed document, and load."""
    overlay = SiteOverlay(base, [], tmp_path / "prop-site")
    changes = MetadataChanges(overlay, None, clock)
    options = []
    for value, label, colour in zip(values, labels, colours, strict=False):
        option: dict = {"value": value}
        if label:
            option["label"] = {"en": label[0], "zh": label[1]}
        if colour:
            option["color"] = colour
        options.append(option if len(option) > 1 else value)
    target = deal(changes)
    target["label"] = {"en": title, "zh": "交易"}
    target["fields"]["kind"]["options"] = options
    files = changes.files_for(Proposal({("entity", "deal"): target}, {}), overlay.snapshot())
    written, problems = parse_yaml(files["entities/deal.yaml"], "deal.yaml")
    assert not problems
    assert same(merge(changes.below()[("entity", "deal")].data, written), target)
    blueprint, problems = changes.check(files)
    assert problems == [] and blueprint.entities["deal"].fields["kind"].option_values == tuple(values)


def test_apply_writes_migrates_and_records_one_version(changes, engine):
    version = changes.apply(with_field(changes, "region", {"type": "text", "label": {"en": "Region", "zh": "地区"}}),
                            ADMIN)
    assert version == 1
    assert "region" in {c["name"] for c in sa.inspect(engine).get_columns("deal")}
    with engine.connect() as connection:
        entry = metadata_history.entry(connection, 1)
    assert entry.summary_text("zh") == "添加 region" and entry.changed_files == ["entities/deal.yaml"]
    assert "add column deal.region (text)" in entry.details["plan"]
    assert entry.files_after == changes.overlay.snapshot()


def test_a_failure_after_the_files_are_written_puts_them_back(changes, engine, monkeypatch):
    changes.apply(with_field(changes, "region", {"type": "text"}), ADMIN)
    before = changes.overlay.snapshot()

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")
    monkeypatch.setattr(metadata_history, "record", broken)
    with pytest.raises(RuntimeError):
        changes.apply(with_field(changes, "budget", {"type": "money"}), ADMIN)
    assert changes.overlay.snapshot() == before
    assert "budget" not in {c["name"] for c in sa.inspect(engine).get_columns("deal")}
    with engine.connect() as connection:
        assert metadata_history.latest_version(connection) == 1


def test_stale_proposals_and_problems_write_nothing(changes):
    first = with_field(changes, "region", {"type": "text"})
    second = with_field(changes, "budget", {"type": "money"})
    changes.apply(first, ADMIN)
    with pytest.raises(StaleEdit) as stale:
        changes.apply(second, ADMIN)
    assert stale.value.by.id == 1
    snapshot = changes.overlay.snapshot()
    with pytest.raises(ChangeRefused) as refused:
        changes.apply(with_field(changes, "score", {"type": "number", "formula": "amont * 2"}), ADMIN)
    problem = refused.value.preview.problems[0]
    assert problem.mark.file.endswith("site/entities/deal.yaml") and problem.path == "fields.score.formula"
    assert "did you mean 'amount'" in problem.hint
    assert changes.overlay.snapshot() == snapshot


def test_what_leaves_sight_is_counted(changes, engine):
    site = Site.open(changes.overlay.load(), "", engine=engine, clock=clock)
    for kind, stage in (("new", "open"), ("renewal", "won"), ("renewal", "won")):
        site.records.create("deal", {"name": "x", "amount": 5, "kind": kind, "stage": stage}, ADMIN)
    target = deal(changes)
    target["fields"]["kind"]["options"] = ["new"]
    del target["fields"]["amount"]
    pipeline = plain(changes.documents()[("pipeline", "deal")].data)
    pipeline["stages"] = [s for s in pipeline["stages"] if s["name"] != "won"] + [{"name": "closed", "outcome": "won"}]
    preview = changes.preview(Proposal({("entity", "deal"): target, ("pipeline", "deal"): pipeline}, {}))
    assert sorted((i.kind, i.name, i.records) for i in preview.impacts) == [("field", "amount", 3)]
    # a removed option or stage that records hold: refused with the counts until they have somewhere to go
    assert preview.plan is not None and preview.plan.refusals("en") == [
        "deal.kind: 2 record(s) hold option 'renewal', which the field no longer has; say where they go: "
        "`moved: {renewal: OPTION}` on the field (or `moved_to: OPTION` beside `remove: true`)",
        "deal.stage: 2 record(s) hold stage 'won', which the pipeline no longer has; say where they go: "
        "`moved: {won: STAGE}` on pipeline deal (or `moved_to: STAGE` beside `remove: true`)"]
    with pytest.raises(ChangeRefused):
        changes.apply(Proposal(preview_documents(target, pipeline), {}), ADMIN, confirm=True)
    target["fields"]["kind"]["moved"] = {"renewal": "new"}
    pipeline["moved"] = {"won": "closed"}
    with pytest.raises(ChangeRefused):  # the hidden field still needs the confirmation
        changes.apply(Proposal(preview_documents(target, pipeline), {}), ADMIN)
    changes.apply(Proposal(preview_documents(target, pipeline), {}), ADMIN, confirm=True)
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM deal WHERE amount IS NOT NULL")).scalar() == 3
        assert connection.execute(sa.text("SELECT kind, stage, count(*) FROM deal GROUP BY kind, stage "
                                          "ORDER BY stage")).fetchall() == [("new", "closed", 2), ("new", "open", 1)]
    written = (changes.overlay.folder / "pipelines" / "deal.yaml").read_text(encoding="utf-8")
    assert "moved_to: closed" in written, written  # the overlay says it beside the removal


def preview_documents(target: dict, pipeline: dict) -> dict:
    return {("entity", "deal"): target, ("pipeline", "deal"): pipeline}


def test_processes_reload_on_a_new_version_and_on_hand_edits(changes, engine):
    sites = []
    watcher = MetadataWatcher(changes.overlay, engine, "first site", lambda bp: sites.append(bp) or bp)
    assert watcher.current() == "first site"
    changes.apply(with_field(changes, "region", {"type": "text"}), ADMIN)
    assert "region" in watcher.current().entities["deal"].fields and watcher.settled
    assert watcher.current() is sites[-1] and len(sites) == 1
    manual = changes.overlay.folder / "entities" / "deal.yaml"  # a consultant edits the file by hand
    manual.write_text("fields:\n  region: {type: text}\n  note: {type: textarea}\n", encoding="utf-8")
    watcher.settled, watcher._files_checked = False, 0.0  # as after a version whose files differ
    assert "note" in watcher.current().entities["deal"].fields
    manual.write_text("fields: [broken\n", encoding="utf-8")
    watcher._files_checked = 0.0
    kept = watcher.current()
    assert "note" in kept.entities["deal"].fields  # files that do not load leave the last good version


def test_default_site_overlay_is_beside_a_sqlite_file(tmp_path):
    assert default_site_overlay(f"sqlite:///{tmp_path}/db/atrium.db") == tmp_path / "db" / "overlays" / "site"
    assert default_site_overlay("postgresql://u@h/db") == Path("overlays/site")
    assert default_site_overlay("sqlite:///:memory:") == Path("overlays/site")
