"""Stage tracking (runtime/schema/stage_tracking.py): the entered-stage time and furthest stage per
record that `stalled`, `in_stage_longer_than_days` and funnels read. After every kind of write
(create, stage moves forward and back, bulk create and update, an import, delete to the recycle bin
and restore, a correction of the history by hand, a record and a move inserted by SQL, `atrium
recompute`, `atrium migrate` on a database whose entered-stage column is empty, a pipeline changed in
the metadata with its records moved) the funnels, the stalled list, a filtered list and a summary
report give, for an admin (all), a manager (team) and a rep (own), what the stage history itself
gives: the same queries run with the tracking table out of the way. The entity's own
`stage_entered_at` column equals the history's answer for every record, and a list report that
walks its sort's index (query/index_walk.py) gives the rows of its plain statement."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa
from blueprint_factory import write_blueprint
from report_kit import ENTITIES, NOW, PIPELINES, ROLES, TARGETS, ZONE, build_world, module_database, write_reports

from atrium.cli import main
from atrium.metadata import load_blueprint
from atrium.metadata.problems import BlueprintError
from atrium.runtime.access.secured import SecuredRecords
from atrium.runtime.io.importer import Importer, ImportOptions, read_csv
from atrium.runtime.query.lists import ListQuery
from atrium.runtime.records.evaluation import SYSTEM
from atrium.runtime.reports.runner import Reports
from atrium.runtime.schema import stage_tracking
from atrium.runtime.schema.migrations import migrate, plan_migration
from atrium.runtime.schema.tables import UTCDateTime
from atrium.runtime.site.site import Site

pytestmark = pytest.mark.database

REPORTS = {
    "funnel": {"type": "funnel", "pipeline": "deal", "measures": {"deals": "count", "amount": {"sum": "amount"}}},
    "funnel_east": {"type": "funnel", "pipeline": "deal", "where": {"region": "east"}},
    # counts of the scope's records only: from the aggregate by owner × furthest stage
    "funnel_counts": {"type": "funnel", "pipeline": "deal", "measures": {"deals": "count"}},
    "funnel_plain": {"type": "funnel", "pipeline": "deal"},
    "stalled": {"type": "list", "source": "deal", "where": {"stage": {"stalled": True}},
                "columns": ["name", "owner", "stage", "amount"], "sort": "name"},
    "long_by_stage": {"source": "deal", "where": {"stage": {"in_stage_longer_than_days": 30}},
                      "group_by": ["stage"], "measures": {"deals": "count", "amount": {"sum": "amount"}}},
    "not_stalled_by_owner": {"source": "deal", "where": {"stage": {"stalled": False}}, "group_by": ["owner"],
                             "measures": {"deals": "count"}},
    # sorted by an indexed column of the deal with a condition on it: walks that index first
    "stalled_by_account": {"type": "list", "source": "deal",
                           "where": {"stage": {"stalled": True}, "account": {"is_set": True}},
                           "columns": ["name", "account", "stage"], "sort": "-account", "limit": 2},
}
VIEWERS = ("boss", "mgr", "rep1")
LISTS = ({"stage": {"stalled": True}}, {"stage": {"in_stage_longer_than_days": 60}, "region": "east"})


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    with module_database(tmp_path_factory) as (engine, url):
        folder = tmp_path_factory.mktemp("tracking")
        world = build_world(folder, engine, url, REPORTS, deals=50)
        world.folder, world.url = folder, url  # for the CLI
        yield world


def answers(site: Site, world, viewer: str) -> dict:
    reports, actor = Reports(site), world.actor(viewer)
    found: dict = {name: (result.rows, result.totals)
                   for name in REPORTS for result in [reports.run(actor, name)]}
    secured = SecuredRecords(site)
    for i, where in enumerate(LISTS):
        page = secured.list(actor, ListQuery("deal", where=where, sort=("name",), limit=500))
        found[f"list{i}"] = [record["id"] for record in page.records]
    return found


def rows_of(site: Site, table: sa.Table) -> list[tuple]:
    with site.engine.connect() as connection:  # the aggregate's rows counting 0 are left out
        return sorted((tuple(row) for row in connection.execute(sa.select(table)) if row[-1] != 0), key=repr)


def assert_entered_column_is_the_history(site: Site) -> None:
    """Every deal's `stage_entered_at` is its newest move, else its creation."""
    deal, history = site.tables["deal"], site.tables.system("atrium_stage_history")
    newest = (sa.select(sa.func.max(history.c.changed_at)).where(history.c.entity == "deal",
                                                                 history.c.record_id == deal.c.id)
              .scalar_subquery())
    with site.engine.connect() as connection:
        rows = connection.execute(sa.select(deal.c.id, deal.c.stage_entered_at,
                                            sa.func.coalesce(newest, deal.c.created_at, type_=UTCDateTime()))).all()
    assert rows and [(i, kept) for i, kept, _ in rows] == [(i, wanted) for i, _, wanted in rows]


def assert_walk_gives_the_plain_rows(site: Site, world, viewer: str) -> None:
    """The list report that walks its sort's index gives what its plain statement gives."""
    compiled = Reports(site).compile(world.actor(viewer), "stalled_by_account")
    assert "walk" in compiled.extra, viewer
    with site.engine.connect() as connection:
        walked = connection.execute(compiled.extra["walk"]).all()
        plain = connection.execute(compiled.statement).all()
    if len(walked) > compiled.limit:  # a full page: the walk's answer is used (else the plain statement)
        assert walked == plain, viewer
    else:
        assert viewer != "boss"  # the comparison is not only between fallbacks


def assert_same_as_history(world, monkeypatch, site: Site | None = None) -> None:
    site = site or world.site
    assert_entered_column_is_the_history(site)
    (tracking,) = stage_tracking.trackings(site.blueprint)
    assert tracking.aggregate is not None
    kept, counted = rows_of(site, tracking.table), rows_of(site, tracking.aggregate)
    with site.engine.begin() as connection:  # what the history and the records say, computed afresh
        stage_tracking.rebuild(connection, site.blueprint, site.tables)
    assert rows_of(site, tracking.table) == kept
    assert rows_of(site, tracking.aggregate) == counted
    for viewer in VIEWERS:
        with site.engine.connect() as connection:
            assert stage_tracking.tracked(connection, site.blueprint.pipelines["deal"],
                                          site.blueprint.entities["deal"]) is not None
        from_tracking = answers(site, world, viewer)
        for name in ("funnel_plain", "funnel_counts", "funnel"):
            served = Reports(site).compile(world.actor(viewer), name).extra["aggregate"]
            assert served == (name != "funnel"), name
        with monkeypatch.context() as patch:
            patch.setattr(stage_tracking, "tracked", lambda *_: None)
            from_history = answers(site, world, viewer)
        assert from_tracking == from_history, viewer
        assert_walk_gives_the_plain_rows(site, world, viewer)
    boss = answers(site, world, "boss")  # the comparison is not between empty answers
    assert boss["stalled"][0] and boss["list0"] and boss["funnel"][0][0]["deals"] > 0


def test_the_stage_widgets_equal_the_history_after_each_kind_of_write(world, monkeypatch):
    site, users = world.site, world.users
    deals = [d["id"] for d in world.deals]
    assert_same_as_history(world, monkeypatch)

    created = site.records.create("deal", {"name": "New", "owner": users["rep1"], "amount": Decimal(12),
                                           "stage": "qualify", "region": "east"})
    site.records.update("deal", deals[0], {"stage": "won"})  # forward
    site.records.update("deal", deals[4], {"stage": "lead"})  # back
    site.records.update("deal", deals[6], {"stage": "lost"})
    assert_same_as_history(world, monkeypatch)
    site.records.update("deal", deals[3], {"owner": users["rep3"]})  # out of the manager's team
    site.records.update("deal", deals[8], {"owner": users["rep1"], "stage": "won"})
    site.records.update("deal", created["id"], {"owner": None})
    assert_same_as_history(world, monkeypatch)

    made = site.records.bulk_create("deal", [{"name": f"Bulk {i}", "owner": users["rep1" if i % 2 else "mgr"],
                                              "stage": "propose", "region": "east"} for i in range(6)])
    site.records.bulk_update("deal", [(i, {"stage": "propose"}) for i in deals[10:20]]
                             + [(made[0]["id"], {"stage": "lead", "owner": users["rep2"]})]
                             + [(i, {"owner": users["mgr"]}) for i in deals[20:24]])
    assert_same_as_history(world, monkeypatch)

    importer = Importer(site, world.actor("boss"), "deal")
    csv_file = read_csv(b"name,stage,region\nImported one,qualify,east\nImported two,won,west\n", "en")
    assert importer.run(csv_file, ImportOptions(importer.guess_mapping(csv_file.header))).created == 2
    assert_same_as_history(world, monkeypatch)

    site.records.delete("deal", deals[1])
    site.records.delete("deal", created["id"])
    assert_same_as_history(world, monkeypatch)  # to the recycle bin
    site.trash.restore(SYSTEM, record=("deal", deals[1]))
    assert_same_as_history(world, monkeypatch)  # back from it
    history = site.tables.system("atrium_stage_history")
    site.records.delete("deal", deals[2])
    with site.engine.begin() as connection:  # its newest move taken out while it is in the bin
        newest = connection.execute(sa.select(sa.func.max(history.c.id)).where(
            history.c.entity == "deal", history.c.record_id == deals[2])).scalar_one()
        connection.execute(sa.delete(history).where(history.c.id == newest))
    site.trash.restore(SYSTEM, record=("deal", deals[2]))
    assert_same_as_history(world, monkeypatch)

    # SQL by hand: a record inserted without history (it counts from its creation), a move inserted
    deal = site.tables["deal"]
    with site.engine.begin() as connection:
        connection.execute(deal.insert().values(name="By hand", owner=users["rep1"], stage="qualify",
                                                created_at=NOW - dt.timedelta(days=40),
                                                updated_at=NOW - dt.timedelta(days=40), version=1))
        connection.execute(history.insert().values(entity="deal", record_id=deals[5], pipeline="deal",
                                                   from_stage=None, to_stage="propose",
                                                   changed_at=NOW - dt.timedelta(days=1)))
    assert_same_as_history(world, monkeypatch)

    # the history corrected by hand: its newest move of a record taken out, one of another dated back
    with site.engine.begin() as connection:
        newest = connection.execute(sa.select(sa.func.max(history.c.id)).where(
            history.c.entity == "deal", history.c.record_id == deals[0])).scalar_one()
        connection.execute(sa.delete(history).where(history.c.id == newest))
        connection.execute(sa.update(history).where(history.c.record_id == deals[4], history.c.entity == "deal")
                           .values(changed_at=NOW - dt.timedelta(days=90)))
    assert_same_as_history(world, monkeypatch)


def test_recompute_rebuilds_it_and_a_changed_pipeline_gets_a_new_table(world, monkeypatch, tmp_path, capsys):
    site = world.site
    (tracking,) = stage_tracking.trackings(site.blueprint)
    with site.engine.begin() as connection:  # out of step on purpose: recompute puts it right
        connection.execute(sa.update(tracking.table).values(furthest=0, entered_at=NOW))
        connection.execute(sa.update(site.tables["deal"]).values(stage_entered_at=NOW))
    with pytest.raises(AssertionError):
        assert_same_as_history(world, monkeypatch)
    assert main(["--blueprint", str(world.folder), "--db", world.url, "recompute"]) == 0
    assert "1 stage tracking table(s) rebuilt from the stage history." in capsys.readouterr().out
    assert_same_as_history(world, monkeypatch)

    # a database from before the entered-stage column: empty column, no tracking; migrate builds and fills both
    with site.engine.begin() as connection:
        stage_tracking.drop(connection, tracking.name)
        connection.execute(sa.update(site.tables["deal"]).values(stage_entered_at=None))
    with site.engine.connect() as connection:
        steps = {(s.action, s.name) for s in plan_migration(connection, site.blueprint).steps}
    assert ("tracking_build", tracking.name) in steps
    migrate(site.engine, site.blueprint)
    assert_same_as_history(world, monkeypatch)

    # a stage added after qualify, propose removed with its records moved back to qualify
    stages = [s for s in PIPELINES["deal"]["stages"] if s["name"] != "propose"]
    stages.insert(2, {"name": "demo", "label": {"en": "Demo", "zh": "演示"}, "probability": 45})
    pipelines = {"deal": {**PIPELINES["deal"], "stages": stages, "moved": {"propose": "qualify"}}}
    write_blueprint(tmp_path, ENTITIES, pipelines, ROLES, timezone=ZONE, targets=TARGETS)
    write_reports(tmp_path, REPORTS)
    blueprint = load_blueprint(tmp_path)
    (changed,) = stage_tracking.trackings(blueprint)
    assert changed.name != tracking.name
    with site.engine.connect() as connection:
        steps = {(s.action, s.name) for s in plan_migration(connection, blueprint).steps}
    assert {("tracking_build", changed.name), ("tracking_drop", tracking.name)} <= steps
    migrate(site.engine, blueprint)
    with site.engine.connect() as connection:
        assert stage_tracking.plan(connection, blueprint) == []
        assert not sa.inspect(connection).has_table(tracking.name)
    moved = Site.open(blueprint, world.url, engine=site.engine, clock=lambda: NOW)
    assert_same_as_history(world, monkeypatch, moved)
    funnel = Reports(moved).run(world.actor("boss"), "funnel").rows
    assert [row["stage"] for row in funnel] == ["lead", "qualify", "demo", "won", "lost"]
    deal = [d["id"] for d in world.deals][12]  # lead, propose (moved to qualify): never reached won
    reached = funnel[2]["deals"]
    moved.records.update("deal", deal, {"stage": "demo"})  # the new stage, tracked by the new table's triggers
    assert_same_as_history(world, monkeypatch, moved)
    assert Reports(moved).run(world.actor("boss"), "funnel").rows[2]["deals"] == reached + 1


def test_a_field_cannot_take_the_entered_stage_column(tmp_path):
    deal = ENTITIES["deal"]
    entities = {**ENTITIES, "deal": {**deal, "fields": {**deal["fields"], "stage_entered_at": {"type": "datetime"}}}}
    write_blueprint(tmp_path, entities, PIPELINES, ROLES, timezone=ZONE, targets=TARGETS)
    with pytest.raises(BlueprintError) as refused:
        load_blueprint(tmp_path)
    assert "keeps when a record entered its stage in the column stage_entered_at" in str(refused.value)
