"""The indexes a list view derives (schema/list_indexes.py): the migration planner creates them for
a blueprint it has never seen, an upgrade adds them to a database holding rows, and on SQLite the
filtered and sorted list reads its order from an index instead of sorting the matches."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from blueprint_factory import make_blueprint

from atrium.runtime.query.lists import ListQuery
from atrium.runtime.records.evaluation import SYSTEM
from atrium.runtime.schema.database import refresh_statistics
from atrium.runtime.schema.migrations import migrate, plan_migration
from atrium.runtime.site.site import Site

NOW = dt.datetime(2026, 5, 15, 4, 0, tzinfo=dt.timezone.utc)
ENTITIES = {"depot": {"fields": {"city": {"type": "text"}}},
            "parcel": {"owner": "courier",
                       "fields": {"label": {"type": "text"}, "weight": {"type": "number"},
                                  "status": {"type": "select", "options": ["waiting", "moving", "lost"]},
                                  "courier": {"type": "user"}, "depot": {"type": "reference", "to": "depot"},
                                  "sent_on": {"type": "date"}}}}
VIEW = ("entity: parcel\nlist:\n  columns: [label, weight, status, depot.city]\n  sort: -weight\n"
        "  filters: [status, courier, depot, sent_on, depot.city]\n")


def indexes(engine, table: str) -> dict[str, tuple[str, ...]]:
    return {ix["name"]: tuple(ix["column_names"]) for ix in sa.inspect(engine).get_indexes(table)
            if not ix["name"].startswith("atrium_search_")}


def with_view(folder):
    (folder / "views").mkdir(parents=True, exist_ok=True)
    (folder / "views" / "parcel.yaml").write_text(VIEW)
    return make_blueprint(folder, ENTITIES)


def test_an_upgrade_adds_the_indexes_the_list_view_derives_and_keeps_every_row(engine, tmp_path):
    folder = tmp_path / "bp"
    migrate(engine, make_blueprint(folder, ENTITIES))
    with engine.begin() as c:
        c.execute(sa.text("INSERT INTO parcel (created_at, updated_at, label, weight, status) VALUES "
                          "('2026-01-01', '2026-01-01', 'kept', 2.5, 'moving')"))
    blueprint = with_view(folder)
    with engine.connect() as c:
        planned = {s.name for s in plan_migration(c, blueprint).changes if s.action == "create_index"}
    # the default sort alone and after the owner and each few-valued filter; each sortable column;
    # not a reference filter (its own index finds its few rows) nor a linked record's column
    # ((status) alone is the start of (status, weight): not twice)
    assert planned == {"ix_parcel_weight_desc", "ix_parcel_courier_weight_desc", "ix_parcel_status_weight_desc",
                       "ix_parcel_label"}
    migrate(engine, blueprint)
    found = indexes(engine, "parcel")
    assert found["ix_parcel_status_weight_desc"] == ("status", "weight")
    assert found["ix_parcel_courier_weight_desc"] == ("courier", "weight")
    assert found["ix_parcel_label"] == ("label",)
    with engine.connect() as c:
        assert c.execute(sa.text("SELECT label, status FROM parcel")).all() == [("kept", "moving")]
    assert not migrate(engine, blueprint).steps  # nothing left to do


def test_where_a_role_reads_by_owner_each_list_index_also_comes_after_the_owner(engine, tmp_path):
    roles = {"roles": {"clerk": {"label": {"en": "Clerk", "zh": "职员"},
                                 "entities": {"parcel": {"read": "own", "create": True}}}}}
    folder = tmp_path / "bp"
    (folder / "views").mkdir(parents=True)
    (folder / "views" / "parcel.yaml").write_text(VIEW)
    migrate(engine, make_blueprint(folder, ENTITIES, roles=roles))
    found = indexes(engine, "parcel")
    assert found["ix_parcel_courier_status_weight_desc"] == ("courier", "status", "weight")
    assert found["ix_parcel_courier_label"] == ("courier", "label")
    assert "ix_parcel_courier" not in found  # (courier, weight) starts with it
    assert "ix_parcel_status_label" not in found  # a filter × another sort is the index walk's


@pytest.fixture
def parcels(engine, database_url, tmp_path):
    blueprint = with_view(tmp_path / "bp")
    migrate(engine, blueprint)
    site = Site.open(blueprint, database_url, engine=engine, clock=lambda: NOW)
    table = site.tables["parcel"]
    rows = [{"created_at": NOW, "updated_at": NOW, "label": f"p{i:04d}", "weight": (i * 37) % 101,
             "status": "lost" if i % 50 == 0 else ("waiting", "moving")[i % 2]} for i in range(1, 2001)]
    with engine.begin() as c:
        c.execute(table.insert(), rows)
    refresh_statistics(engine, [table.name])
    return site


def list_plan(site, query: ListQuery) -> list[str]:
    """The plan of every list statement the query runs (EXPLAIN QUERY PLAN's details)."""
    seen: list[tuple[str, tuple]] = []

    def remember(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith("SELECT parcel."):
            seen.append((statement, parameters))
    sa.event.listen(site.engine, "before_cursor_execute", remember)
    try:
        with site.engine.connect() as c:
            page = site.queries.list(c, SYSTEM, query, NOW)
    finally:
        sa.event.remove(site.engine, "before_cursor_execute", remember)
    assert len(page.records) == query.limit
    with site.engine.connect() as c:
        return [row[-1] for statement, parameters in seen
                for row in c.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)]


def test_a_filter_in_the_default_order_is_read_in_order_from_its_index(parcels, database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's")
    plan = list_plan(parcels, ListQuery("parcel", where={"status": "moving"}, limit=20))
    assert any("INDEX ix_parcel_status_weight_desc (status=?)" in step for step in plan), plan
    assert not any("TEMP B-TREE" in step for step in plan), plan


def test_a_filter_with_another_sort_walks_that_sorts_index(parcels, database_url):
    """`status = moving` sorted by label: no index holds both, so a window of the label index is
    read in order (index only) and only that window's matches are sorted, never all 1,000 movers."""
    if not database_url.startswith("sqlite"):
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's")
    plan = list_plan(parcels, ListQuery("parcel", where={"status": "moving"}, sort=("label",), limit=20))
    assert any("walked USING COVERING INDEX ix_parcel_label" in step for step in plan), plan
    assert not any("ix_parcel_status" in step for step in plan), plan


def test_on_postgresql_a_descending_default_sort_is_indexed_with_empty_values_last(parcels, database_url):
    """PostgreSQL reads an index one way per direction of empty values; the list puts them last
    in both directions, so `-weight` needs `weight DESC NULLS LAST` to be read from the index."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite reads either direction of any index")
    with parcels.engine.connect() as c:
        definition = c.execute(sa.text("SELECT indexdef FROM pg_indexes WHERE indexname = :name"),
                               {"name": "ix_parcel_status_weight_desc"}).scalar_one()
        assert definition.endswith("(status, weight DESC NULLS LAST)")
        c.exec_driver_sql("SET enable_seqscan = off")  # a 2,000-row table: make the planner show its index choice
        sql = str(sa.select(parcels.tables["parcel"].c.id).where(parcels.tables["parcel"].c.status == "moving")
                  .order_by(parcels.tables["parcel"].c.weight.desc().nulls_last()).limit(20)
                  .compile(c, compile_kwargs={"literal_binds": True}))
        plan = [row[0] for row in c.exec_driver_sql("EXPLAIN " + sql)]
    assert any("ix_parcel_status_weight_desc" in step for step in plan), plan
    assert not any("Sort" in step for step in plan), plan
