"""The stage engine: history with time spent, stalled records, learned probabilities in formulas."""
from __future__ import annotations

import datetime as dt

import pytest
import yaml
from automation_kit import ENTITIES, PIPELINES, Clock, automation_site, rows
from blueprint_factory import make_blueprint, write_blueprint

from atrium.metadata import BlueprintError, load_blueprint
from atrium.runtime.query.lists import ListQuery
from atrium.runtime.records.service import ValidationFailed
from atrium.runtime.records.stage_analytics import learned_probabilities, stage_durations

DAY = 86400


@pytest.fixture
def clock():
    return Clock()


def walk(site, clock, title: str, steps: list[tuple[float, str]], **values) -> dict:
    """Create a deal, then move it: each step waits `days` and enters `stage`."""
    deal = site.records.create("deal", {"title": title, **values})
    for days, stage in steps:
        clock.advance(days=days)
        extra = {"lost_reason": "price"} if stage == "lost" else {}
        site.records.update("deal", deal["id"], {"stage": stage, **extra})
    return deal


def test_stage_history_records_moves_with_time_spent(tmp_path, database_url, clock):
    site, people = automation_site(tmp_path, database_url, clock)
    deal = walk(site, clock, "A", [(2, "qualified"), (0.5, "proposal"), (3, "won")])
    history = [(h["from_stage"], h["to_stage"], h["seconds_in_from"], h["changed_by"])
               for h in rows(site, "atrium_stage_history")]
    assert history == [(None, "new", None, None), ("new", "qualified", 2 * DAY, None),
                       ("qualified", "proposal", 0.5 * DAY, None), ("proposal", "won", 3 * DAY, None)]
    walk(site, clock, "B", [(4, "qualified"), (1, "lost")])
    with site.engine.connect() as connection:
        durations = {d.stage: (d.records, d.average_days, d.longest_days)
                     for d in stage_durations(connection, site.tables, site.blueprint.pipelines["deal"])}
    assert durations == {"new": (2, 3.0, 4.0), "qualified": (2, 0.75, 1.0), "proposal": (1, 3.0, 3.0),
                         "won": (0, None, None), "lost": (0, None, None)}
    assert deal["stage"] == "new"


def test_requires_and_transitions_hold_on_entering(tmp_path, database_url, clock):
    site, people = automation_site(tmp_path, database_url, clock)
    deal = site.records.create("deal", {"title": "A"})
    with pytest.raises(ValidationFailed) as failure:
        site.records.update("deal", deal["id"], {"stage": "lost"})
    assert "lost_reason" in failure.value.errors
    assert [h["to_stage"] for h in rows(site, "atrium_stage_history")] == ["new"]


def stalled_titles(site, actor, **condition) -> list[str]:
    with site.engine.connect() as connection:
        page = site.queries.list(connection, actor, ListQuery("deal", where={"stage": condition}, sort=["title"]),
                                 site.now())
    return [record["title"] for record in page.records]


def test_stalled_and_time_in_stage_are_conditions_for_any_query(tmp_path, database_url, clock):
    site, people = automation_site(tmp_path, database_url, clock)
    waiting = site.records.create("deal", {"title": "Waiting"})
    moved = site.records.create("deal", {"title": "Moved"})
    closed = site.records.create("deal", {"title": "Closed"})
    clock.advance(days=4)
    site.records.update("deal", moved["id"], {"stage": "proposal"})
    site.records.update("deal", closed["id"], {"stage": "won"})
    clock.advance(days=3, hours=1)  # stall_after_days is 7
    admin = people.admin
    assert stalled_titles(site, admin, stalled=True) == ["Waiting"]
    assert stalled_titles(site, admin, stalled=False) == ["Closed", "Moved"]
    assert stalled_titles(site, admin, in_stage_longer_than_days=3) == ["Closed", "Moved", "Waiting"]
    assert stalled_titles(site, admin, in_stage_longer_than_days=5) == ["Waiting"]
    site.records.update("deal", waiting["id"], {"title": "Waiting"})  # an edit is not a move
    assert stalled_titles(site, admin, stalled=True) == ["Waiting"]


def known_history(site, clock):
    """From qualified: 3 won, 1 lost; from proposal: 2 won, 1 lost; one still open in proposal."""
    for title, steps in (("w1", [(1, "qualified"), (1, "proposal"), (1, "won")]),
                         ("w2", [(1, "qualified"), (1, "proposal"), (1, "won")]),
                         ("w3", [(1, "qualified"), (1, "won")]),
                         ("l1", [(1, "qualified"), (1, "proposal"), (1, "lost")]),
                         ("open", [(1, "qualified"), (1, "proposal")]),
                         ("l2", [(1, "lost")])):
        walk(site, clock, title, steps)


def test_learned_probabilities_from_a_known_history(tmp_path, database_url, clock):
    site, people = automation_site(tmp_path, database_url, clock)
    known_history(site, clock)
    pipeline = site.blueprint.pipelines["deal"]
    with site.engine.connect() as connection:
        learned = learned_probabilities(connection, site.blueprint, site.tables, pipeline, clock.now)
    summary = {stage: (s.samples, s.won, s.learned, s.probability) for stage, s in learned.items()}
    assert summary == {"new": (5, 3, 60.0, 60.0),  # w1 w2 w3 l1 l2 left new and closed; 3 won
                       "qualified": (4, 3, 75.0, 75.0),
                       "proposal": (3, 2, 66.67, 66.67),
                       "won": (0, 0, 100.0, 100.0), "lost": (0, 0, 0.0, 0.0)}
    # a year and a bit later the closings fall out of the window: back to the configured numbers
    with site.engine.connect() as connection:
        later = learned_probabilities(connection, site.blueprint, site.tables, pipeline,
                                      clock.now + dt.timedelta(days=370))
    assert {stage: (s.samples, s.probability) for stage, s in later.items() if stage != "won" and stage != "lost"} == \
        {"new": (0, 10), "qualified": (0, 30), "proposal": (0, 60)}


def test_formulas_read_learned_probabilities(tmp_path, database_url, clock):
    site, people = automation_site(tmp_path, database_url, clock)
    known_history(site, clock)
    site.records.learned.clear()
    fresh = site.records.create("deal", {"title": "fresh"})
    assert (fresh["probability"], fresh["learned"]) == (10, 60)  # configured, learned
    moved = site.records.update("deal", fresh["id"], {"stage": "proposal"})
    assert (moved["probability"], float(moved["learned"])) == (60, 66.67)


def test_below_the_minimum_of_samples_the_configured_number_holds(tmp_path, database_url, clock):
    site, people = automation_site(tmp_path, database_url, clock)
    walk(site, clock, "only", [(1, "qualified"), (1, "won")])  # one sample per stage; minimum is 2
    fresh = site.records.create("deal", {"title": "fresh"})
    assert fresh["learned"] == 10


def test_by_default_makes_stage_probability_learned(tmp_path, database_url, clock):
    pipelines = {"deal": {**PIPELINES["deal"], "learned_probability": {"min_samples": 1, "by_default": True}}}
    blueprint = make_blueprint(tmp_path / "bp", ENTITIES, pipelines)
    from atrium.runtime.schema.migrations import migrate
    from atrium.runtime.site.site import Site
    site = Site.open(blueprint, database_url, clock=clock)
    migrate(site.engine, blueprint)
    walk(site, clock, "won", [(1, "won")])
    walk(site, clock, "lost", [(1, "lost")])
    site.records.learned.clear()
    assert site.records.create("deal", {"title": "x"})["probability"] == 50  # one of two won from new


def test_stage_operators_are_checked_when_the_blueprint_loads(tmp_path):
    report = {"name": "r", "source": "deal", "where": {"title": {"stalled": True}}, "measures": {"n": "count"}}
    folder = tmp_path / "bp"
    make_blueprint(folder, ENTITIES, PIPELINES)
    (folder / "reports").mkdir()
    (folder / "reports" / "r.yaml").write_text(yaml.safe_dump(report))
    with pytest.raises(BlueprintError) as failure:
        load_blueprint(folder)
    assert "'stalled' applies to stage fields only" in str(failure.value)
    no_stall = {"deal": {k: v for k, v in PIPELINES["deal"].items() if k != "stall_after_days"}}
    report["where"] = {"stage": {"stalled": True}}
    write_blueprint(folder, ENTITIES, no_stall)
    (folder / "reports" / "r.yaml").write_text(yaml.safe_dump(report))
    with pytest.raises(BlueprintError) as failure:
        load_blueprint(folder)
    assert "has no stall_after_days" in str(failure.value)
