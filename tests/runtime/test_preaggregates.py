"""Pre-aggregates (runtime/schema/preaggregates.py): every report they serve gives the numbers the
base tables give, for an admin (all), a manager (team) and a rep (own), after every kind of write:
create, update, stage move, owner change, delete to the recycle bin and restore, bulk create and
bulk update, a person's own SQL, and `atrium recompute`'s rebuild. The base-table answer is the
same report run with the pre-aggregate out of the way."""
from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest
import sqlalchemy as sa
from blueprint_factory import write_blueprint
from report_kit import ENTITIES, NOW, PIPELINES, ROLES, TARGETS, ZONE, build_world, module_database, write_reports

from atrium.cli import main
from atrium.metadata import load_blueprint
from atrium.runtime.records.evaluation import SYSTEM
from atrium.runtime.schema import preaggregates
from atrium.runtime.schema.migrations import migrate, plan_migration
from atrium.runtime.schema.tables import build_tables

REPORTS = {
    "open_by_owner": {"source": "deal", "where": {"stage": {"not_in": ["won", "lost"]}}, "group_by": ["owner"],
                      "measures": {"deals": "count", "amount": {"sum": "amount"}, "size": {"sum": "size"},
                                   "score": {"sum": "score"}},
                      "metrics": {"avg": "amount / deals if deals else 0"}, "sort": "-amount", "totals": True},
    "won_this_quarter": {"source": "deal", "where": {"stage": "won", "close_on": {"within": "this_quarter"}},
                         "measures": {"amount": {"sum": "amount"}, "deals": {"count": "id"}}},
    "hot_matrix": {"type": "matrix", "source": "deal", "where": {"hot": True}, "group_by": ["owner", "region"],
                   "measures": {"deals": "count", "amount": {"sum": "amount"}}},
    "secret_by_stage": {"source": "deal", "group_by": ["stage"],
                        "measures": {"amount": {"sum": "amount"}, "secret": {"sum": "secret"}}, "totals": True},
    "by_month": {"source": "deal", "where": {"close_on": {"within": "last_365_days"}},
                 "group_by": [{"field": "close_on", "bucket": "month"}],
                 "measures": {"deals": "count", "rate": {"sum": "rate"}}, "sort": "close_on"},
    # measures with their own where, and a where that nests any: (a win rate per owner)
    "win_rate": {"source": "deal", "where": {"any": [{"stage": "won"}, {"stage": "lost", "hot": True}]},
                 "group_by": ["owner"], "measures": {"won": {"count": "id", "where": {"stage": "won"}},
                                                     "closed": "count",
                                                     "won_amount": {"sum": "amount", "where": {"stage": "won"}}},
                 "metrics": {"rate": "won * 100 / closed if closed else None"}, "totals": True},
    # not covered (a text filter): answered from the base tables
    "big_notes": {"source": "deal", "where": {"note": {"contains": "big"}}, "measures": {"deals": "count"}},
}
VIEWERS = ("boss", "mgr", "rep1")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    with module_database(tmp_path_factory) as (engine, url):
        folder = tmp_path_factory.mktemp("preagg")
        world = build_world(folder, engine, url, REPORTS, deals=60)
        world.folder, world.url = folder, url  # for the CLI
        yield world


def answer(world, name: str, viewer: str):
    result = world.reports.run(world.actor(viewer), name)
    matrix = result.matrix and (result.matrix.row_keys, result.matrix.column_keys, result.matrix.cells,
                                result.matrix.row_totals, result.matrix.column_totals)
    return result.rows, result.totals, matrix


def assert_same_as_base(world, monkeypatch) -> None:
    for name in REPORTS:
        for viewer in VIEWERS:
            served = world.reports.compile(world.actor(viewer), name).extra.get("preaggregate")
            assert (served is not None) == (name != "big_notes"), name
            from_aggregate = answer(world, name, viewer)
            with monkeypatch.context() as patch:
                patch.setattr(preaggregates, "present", lambda connection, shape: False)
                assert world.reports.compile(world.actor(viewer), name).extra.get("preaggregate") is None
                from_base = answer(world, name, viewer)
            assert from_aggregate == from_base, (name, viewer)


def test_every_served_report_equals_the_base_tables_after_each_kind_of_write(world, monkeypatch):
    site, users, rng = world.site, world.users, random.Random(3)
    owners = [users[n] for n in ("mgr", "rep1", "rep2", "rep3")]
    deals = [d["id"] for d in world.deals]
    assert_same_as_base(world, monkeypatch)

    created = site.records.create("deal", {"name": "New", "owner": users["rep1"], "amount": Decimal("123.45"),
                                           "stage": "won", "close_on": NOW.date(), "hot": True, "region": "east"})
    assert_same_as_base(world, monkeypatch)  # insert

    site.records.update("deal", deals[0], {"amount": Decimal("999.99"), "size": 7, "rate": Decimal(55)})
    assert_same_as_base(world, monkeypatch)  # a summed value

    site.records.update("deal", deals[1], {"stage": "won", "close_on": NOW.date() - dt.timedelta(days=3)})
    site.records.update("deal", deals[2], {"stage": "lost"})
    assert_same_as_base(world, monkeypatch)  # stage moves

    site.records.update("deal", deals[3], {"owner": users["rep3"]})
    site.records.update("deal", created["id"], {"owner": users["mgr"], "region": None})
    assert_same_as_base(world, monkeypatch)  # owner changes (in and out of the manager's team)

    site.records.delete("deal", deals[4])
    site.records.delete("deal", created["id"])
    assert_same_as_base(world, monkeypatch)  # to the recycle bin
    site.trash.restore(SYSTEM, record=("deal", deals[4]))
    assert_same_as_base(world, monkeypatch)  # back from it

    site.records.bulk_create("deal", [{"name": f"Bulk {i}", "owner": rng.choice(owners), "stage": "lead",
                                       "amount": Decimal(rng.randint(1, 900)), "hot": rng.choice([True, None]),
                                       "close_on": NOW.date() + dt.timedelta(days=rng.randint(-200, 30))}
                                      for i in range(25)])
    assert_same_as_base(world, monkeypatch)
    site.records.bulk_update("deal", [(i, {"stage": rng.choice(["qualify", "won", "lost"]),
                                           "owner": rng.choice(owners), "amount": Decimal(rng.randint(1, 50))})
                                      for i in deals[5:25]])
    assert_same_as_base(world, monkeypatch)

    # a person's own SQL: the triggers see it too (and sums beyond what one value's column holds)
    with site.engine.begin() as connection:
        deal = site.tables["deal"]
        connection.execute(sa.update(deal).where(deal.c.id.in_(deals[25:35])).values(amount=deal.c.amount * 2,
                                                                                      hot=True, rate=99000))
        connection.execute(sa.delete(deal).where(deal.c.id == deals[35]))
    assert_same_as_base(world, monkeypatch)


def test_recompute_rebuilds_them_and_a_changed_shape_gets_a_new_table(world, monkeypatch, tmp_path, capsys):
    site = world.site
    shapes = preaggregates.shapes(site.blueprint, site.tables)
    with site.engine.begin() as connection:  # out of step on purpose: recompute puts it right
        connection.execute(sa.update(shapes[0].table).values({preaggregates.COUNT: 12345}))
    with pytest.raises(AssertionError):
        assert_same_as_base(world, monkeypatch)
    assert main(["--blueprint", str(world.folder), "--db", world.url, "recompute"]) == 0
    assert f"{len(shapes)} pre-aggregate(s) rebuilt from the records." in capsys.readouterr().out
    assert_same_as_base(world, monkeypatch)

    # one report less and one measure more: the old shapes no longer asked for are dropped, the new built
    changed = {**REPORTS, "open_by_owner": {**REPORTS["open_by_owner"],
                                            "measures": {"deals": "count", "amount": {"sum": "amount"},
                                                         "secret": {"sum": "secret"}}}}
    changed.pop("hot_matrix")
    write_blueprint(tmp_path, ENTITIES, PIPELINES, ROLES, timezone=ZONE, targets=TARGETS)
    write_reports(tmp_path, changed)
    blueprint = load_blueprint(tmp_path)
    with site.engine.connect() as connection:
        steps = plan_migration(connection, blueprint).steps
    actions = {(s.action, s.name) for s in steps if s.action.startswith("preaggregate_")}
    old = {s.name for s in shapes}
    new = {s.name for s in preaggregates.shapes(blueprint, build_tables(blueprint))}
    assert {name for action, name in actions if action == "preaggregate_drop"} == old - new
    assert {name for action, name in actions if action == "preaggregate_build"} == new - old
    migrate(site.engine, blueprint)
    with site.engine.connect() as connection:
        assert preaggregates.plan(connection, blueprint, build_tables(blueprint)) == []


def test_a_report_of_few_valued_keys_is_not_folded_into_a_table_keyed_by_a_date(world, tmp_path):
    """A table keyed by the owner and select/stage/boolean fields has a few rows per owner; folded into one
    keyed by a date too, its reports would read about a row per record. Folding still happens where it
    costs nothing: into a table of few-valued keys, or a date-keyed need into a wider date-keyed table."""
    def keys_of(blueprint):
        tables = build_tables(blueprint)
        return {name: preaggregates.shape_for(blueprint, tables, preaggregates.need_of(blueprint, document)).keys
                for name, document in blueprint.reports.items() if name != "big_notes"}

    keys = keys_of(load_blueprint(world.folder))
    assert keys["open_by_owner"] == keys["secret_by_stage"] == keys["win_rate"] == ("owner", "hot", "stage")
    assert keys["won_this_quarter"] == keys["by_month"] == ("owner", "close_on", "stage")

    write_blueprint(tmp_path, ENTITIES, PIPELINES, ROLES, timezone=ZONE, targets=TARGETS)
    write_reports(tmp_path, {name: REPORTS[name] for name in ("open_by_owner", "won_this_quarter", "by_month")})
    keys = keys_of(load_blueprint(tmp_path))
    assert keys == {"open_by_owner": ("owner", "stage"), "won_this_quarter": ("owner", "close_on", "stage"),
                    "by_month": ("owner", "close_on", "stage")}
