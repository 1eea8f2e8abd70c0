"""Removed stages and options never strand records: a migration that takes out a stage or an option
some record holds refuses, naming the count per value, until the metadata says where the records go;
then it moves them in its transaction, with field history and stage history (marked, so learned
probabilities ignore the move), and the records can be saved again. SQLite and PostgreSQL."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from automation_kit import Clock
from blueprint_factory import make_blueprint

from atrium.runtime.query.lists import ListQuery
from atrium.runtime.records.evaluation import SYSTEM
from atrium.runtime.records.moved_records import computed_follow
from atrium.runtime.records.stage_analytics import learned_probabilities
from atrium.runtime.schema.migrations import MigrationRefused, migrate, plan_migration
from atrium.runtime.site.site import Site

STAGES = [{"name": "new", "probability": 10}, {"name": "qualified", "probability": 30},
          {"name": "proposal", "probability": 60}, {"name": "won", "probability": 100, "outcome": "won"},
          {"name": "lost", "probability": 0, "outcome": "lost"}]
ENTITIES = {"account": {"fields": {
    "name": {"type": "text"},
    "open_deals": {"type": "integer", "rollup": {"from": "deal.account", "count": "id", "where": "is_open(stage)"}},
}}, "deal": {"fields": {
    "title": {"type": "text", "required": True},
    "account": {"type": "reference", "to": "account"},
    "stage": {"type": "stage", "pipeline": "deal"},
    "probability": {"type": "percent", "formula": "stage_probability(stage)"},
    "kind": {"type": "select", "options": ["a", "b", "c"]},
    "tags": {"type": "multiselect", "options": ["x", "y", "z"]},
}}}


def pipeline(stages=STAGES, **extra) -> dict:
    return {"deal": {"entity": "deal", "field": "stage", "stages": stages, "transitions": "any",
                     "learned_probability": {"min_samples": 1}, **extra}}


def without(name: str) -> list[dict]:
    return [stage for stage in STAGES if stage["name"] != name]


@pytest.fixture
def clock():
    return Clock()


def open_site(tmp_path, database_url, clock, entities=ENTITIES, pipelines=None) -> Site:
    blueprint = make_blueprint(tmp_path / "bp", entities, pipelines or pipeline())
    site = Site.open(blueprint, database_url, clock=clock)
    migrate(site.engine, blueprint)
    return site


def walk(site: Site, clock: Clock, title: str, stages: list[str], **values) -> dict:
    record = site.records.create("deal", {"title": title, **values})
    for stage in stages:
        clock.advance(days=1)
        record = site.records.update("deal", record["id"], {"stage": stage})
    return record


def history(site: Site, table: str, **where) -> list[dict]:
    system = site.tables.system(table)
    query = sa.select(system).where(*(system.c[k] == v for k, v in where.items())).order_by(system.c.id)
    with site.engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(query)]


def listed(site: Site, clock: Clock, where: dict | None = None) -> list[dict]:
    with site.engine.connect() as connection:
        return site.queries.list(connection, SYSTEM, ListQuery("deal", where=where or {}), clock.now).records


def stages_of(site: Site) -> dict[str, str]:
    with site.engine.connect() as connection:
        return dict(connection.execute(sa.text("SELECT title, stage FROM deal")).fetchall())


def test_a_held_stage_is_refused_with_counts_then_moved_with_history(tmp_path, database_url, clock):
    site = open_site(tmp_path, database_url, clock)
    account = site.records.create("account", {"name": "Acme"})
    for title, stages in (("w1", ["qualified", "won"]), ("w2", ["qualified", "proposal", "won"]),
                          ("l1", ["lost"]), ("q1", ["qualified"]), ("q2", ["qualified"]), ("q3", ["qualified"])):
        walk(site, clock, title, stages, account=account["id"])
    assert site.records.get("account", account["id"])["open_deals"] == 3
    with site.engine.connect() as connection:
        before = learned_probabilities(connection, site.blueprint, site.tables, site.blueprint.pipelines["deal"],
                                       clock.now)

    removed = make_blueprint(tmp_path / "bp", ENTITIES, pipeline(without("qualified")))
    with pytest.raises(MigrationRefused) as refused:
        migrate(site.engine, removed)
    assert "deal.stage: 3 record(s) hold stage 'qualified'" in str(refused.value)
    assert "moved: {qualified: STAGE}" in str(refused.value)
    with site.engine.connect() as connection:
        plan = plan_migration(connection, removed)
    assert plan.refusals("zh") == [
        "deal.stage：3 条记录仍处于阶段“qualified”，而流程中已没有该阶段；请指明它们的去处：在流程 deal 上写 "
        "`moved: {qualified: STAGE}`（或在 `remove: true` 旁写 `moved_to: STAGE`）"]
    assert stages_of(site)["q1"] == "qualified"  # nothing changed

    moved = make_blueprint(tmp_path / "bp", ENTITIES, pipeline(without("qualified"), moved={"qualified": "lost"}))
    plan = migrate(site.engine, moved, after_moves=computed_follow(moved, site.engine))
    assert [step.description for step in plan.steps if step.action == "move_values"] == [
        "3 record(s) move from qualified to lost (deal.stage)"]
    assert {title: stage for title, stage in stages_of(site).items() if title.startswith("q")} == \
        {"q1": "lost", "q2": "lost", "q3": "lost"}
    site = Site.open(moved, database_url, clock=clock, engine=site.engine)
    q1 = next(r for r in listed(site, clock, {"stage": "lost"}) if r["title"] == "q1")
    assert q1["version"] == 3  # created, moved to qualified, moved by the migration
    assert q1["probability"] == 0  # what is computed from the stage follows it: lost's probability
    assert site.records.get("account", account["id"])["open_deals"] == 0  # and the parent's roll-up
    field_rows = [(r["field"], r["old_value"], r["new_value"], r["changed_by"])
                  for r in history(site, "atrium_history", record_id=q1["id"], action="update")]
    assert field_rows[-1] == ("stage", "qualified", "lost", None)
    stage_rows = [(r["from_stage"], r["to_stage"], r["changed_by"], r["migrated"])
                  for r in history(site, "atrium_stage_history", record_id=q1["id"])]
    assert stage_rows == [(None, "new", None, None), ("new", "qualified", None, None),
                          ("qualified", "lost", None, True)]
    with site.engine.connect() as connection:
        after = learned_probabilities(connection, site.blueprint, site.tables, site.blueprint.pipelines["deal"],
                                      clock.now)
    # the three records the migration closed do not count as lost from "new"
    assert {s: (after[s].samples, after[s].won) for s in ("new", "proposal")} == \
        {s: (before[s].samples, before[s].won) for s in ("new", "proposal")}
    assert after["new"].samples == 3
    saved = site.records.update("deal", q1["id"], {"title": "q1 again"})  # saveable again
    assert saved["stage"] == "lost"
    assert migrate(site.engine, moved).steps == ()  # nothing left to move


def test_a_held_option_moves_in_a_select_and_a_multiselect(tmp_path, database_url, clock):
    site = open_site(tmp_path, database_url, clock)
    for title, kind, tags in (("r1", "b", ["x", "y"]), ("r2", "b", ["y", "z"]), ("r3", "a", ["x"]),
                              ("r4", "c", None)):
        site.records.create("deal", {"title": title, "kind": kind, "tags": tags})
    fields = {**ENTITIES["deal"]["fields"], "kind": {"type": "select", "options": ["a", "c"]},
              "tags": {"type": "multiselect", "options": ["x", "z"]}}
    removed = make_blueprint(tmp_path / "bp", {**ENTITIES, "deal": {"fields": fields}}, pipeline())
    with pytest.raises(MigrationRefused) as refused:
        migrate(site.engine, removed)
    assert "deal.kind: 2 record(s) hold option 'b'" in str(refused.value)
    assert "deal.tags: 2 record(s) hold option 'y'" in str(refused.value)

    fields["kind"]["moved"] = {"b": "c"}
    fields["tags"]["moved"] = {"y": "z"}
    moved = make_blueprint(tmp_path / "bp", {**ENTITIES, "deal": {"fields": fields}}, pipeline())
    migrate(site.engine, moved)
    site = Site.open(moved, database_url, clock=clock, engine=site.engine)
    found = {r["title"]: (r["kind"], r["tags"], r["version"])
             for r in listed(site, clock)}
    assert found == {"r1": ("c", ["x", "z"], 3), "r2": ("c", ["z"], 3), "r3": ("a", ["x"], 1),  # two moves each
                     "r4": ("c", None, 1)}
    r2 = next(r for r in listed(site, clock, {"tags": {"contains": "z"}}) if r["title"] == "r2")
    changes = {r["field"]: (r["old_value"], r["new_value"])
               for r in history(site, "atrium_history", record_id=r2["id"], action="update")}
    assert changes == {"kind": ("b", "c"), "tags": (["y", "z"], ["z"])}
    site.records.update("deal", r2["id"], {"title": "saved"})
