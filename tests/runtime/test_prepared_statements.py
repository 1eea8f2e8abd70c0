"""Statements built once per shape (runtime/query/prepared.py) and run with the reader's ids as
parameters: a statement warmed by one user never shows another user that user's records, a team
is read as it is when the statement runs, and a metadata reload builds statements anew."""
from __future__ import annotations

import datetime as dt
import shutil

import pytest
import sqlalchemy as sa

from atrium.metadata import load_blueprint
from atrium.runtime.access import users
from atrium.runtime.access.secured import SecuredRecords
from atrium.runtime.query.lists import ListQuery
from atrium.runtime.query.prepared import equalities
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.records.service import RecordNotFound
from atrium.runtime.schema.migrations import migrate
from atrium.runtime.site.site import Site
from tests.conftest import DESIGN_EXAMPLES

NOW = dt.datetime(2026, 5, 15, 4, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def world(engine, database_url, design_blueprint):
    migrate(engine, design_blueprint)
    site = Site.open(design_blueprint, database_url, engine=engine, clock=lambda: NOW)
    with engine.begin() as c:
        users.add_team(c, site.tables, "east")
        users.add_team(c, site.tables, "south", parent="east")
        users.add_team(c, site.tables, "west")
        ids = {name: users.add_user(c, site.tables, design_blueprint, name, role, team)
               for name, role, team in [("ann", "sales_rep", "east"), ("bo", "sales_rep", "south"),
                                        ("cy", "sales_rep", "west"), ("max", "sales_manager", "east"),
                                        ("root", "admin", None)]}
    teams = {"ann": 1, "bo": 2, "cy": 3, "max": 1, "root": None}
    roles = {"ann": "sales_rep", "bo": "sales_rep", "cy": "sales_rep", "max": "sales_manager", "root": "admin"}
    actors = {n: Actor(ids[n], n, roles[n], teams[n]) for n in ids}
    records = SecuredRecords(site)
    shared = records.create(actors["root"], "customer", {"name": "Shared Ltd"})
    orders = {name: [site.records.create("order", {"name": f"{name} {i}", "customer": shared["id"],  # one customer
                                                   "expected_close": "2026-06-01"}, actors[name])["id"]
                     for i in range(3)] for name in ("ann", "bo", "cy")}
    return site, records, actors, shared, orders


def names(page) -> set[str]:
    return {record["name"] for record in page.records}


def test_a_statement_warmed_by_one_reader_shows_the_next_only_their_own(world):
    site, records, actors, shared, orders = world
    related = ListQuery("order", where={"customer": shared["id"]}, sort=("-created_at",), limit=10)
    assert len(records.list(actors["root"], related).records) == 9  # the admin sees all three reps'
    assert names(records.list(actors["ann"], related)) == {"ann 0", "ann 1", "ann 2"}
    kept = len(site.queries.statements)
    assert names(records.list(actors["bo"], related)) == {"bo 0", "bo 1", "bo 2"}  # ann's statement, bo's ids
    assert names(records.list(actors["cy"], related)) == {"cy 0", "cy 1", "cy 2"}
    assert len(site.queries.statements) == kept  # one statement for every rep: the ids are parameters
    # the manager of east sees east and its sub-team south, not west
    assert names(records.list(actors["max"], related)) == {f"{n} {i}" for n in ("ann", "bo") for i in range(3)}
    for reader, other in (("ann", "bo"), ("bo", "ann"), ("cy", "ann")):
        assert records.get(actors[reader], "order", orders[reader][0])["name"] == f"{reader} 0"
        with pytest.raises(RecordNotFound):
            records.get(actors[reader], "order", orders[other][0])
    assert records.get(actors["max"], "order", orders["bo"][0])["name"] == "bo 0"
    with pytest.raises(RecordNotFound):
        records.get(actors["max"], "order", orders["cy"][0])


def test_a_team_is_read_when_the_statement_runs(world):
    site, records, actors, shared, orders = world
    related = ListQuery("order", where={"customer": shared["id"]}, limit=10)
    assert "cy 0" not in names(records.list(actors["max"], related))
    with site.engine.begin() as c:  # cy joins the manager's team
        c.execute(site.tables.system("atrium_users").update()
                  .where(site.tables.system("atrium_users").c.id == actors["cy"].user_id).values(team_id=1))
    assert "cy 0" in names(records.list(actors["max"], related))
    assert records.get(actors["max"], "order", orders["cy"][0])["name"] == "cy 0"


def test_a_metadata_reload_builds_its_statements_anew(world, engine, database_url, tmp_path):
    site, records, actors, shared, orders = world
    related = ListQuery("order", where={"customer": shared["id"]}, limit=10)
    assert "region" not in records.list(actors["ann"], related).records[0]
    folder = tmp_path / "changed"
    shutil.copytree(DESIGN_EXAMPLES, folder)
    entity = folder / "entities" / "order.yaml"
    entity.write_text(entity.read_text().replace("fields:\n", "fields:\n  region: {type: text}\n", 1))
    changed = load_blueprint(folder)
    migrate(engine, changed)
    reloaded = Site.open(changed, database_url, engine=engine, clock=lambda: NOW)
    assert reloaded.queries.statements is not site.queries.statements and len(reloaded.queries.statements) == 0
    again = SecuredRecords(reloaded)
    page = again.list(actors["ann"], related)
    assert names(page) == {"ann 0", "ann 1", "ann 2"} and all("region" in record for record in page.records)
    assert "region" in again.get(actors["ann"], "order", orders["ann"][0])


def test_true_or_false_is_a_prepared_equality_on_a_boolean_field_only(b2b):
    entity = b2b.entities["case_study"]  # published: boolean, title: text
    table = sa.Table("case_study", sa.MetaData(), sa.Column("published", sa.Boolean), sa.Column("title", sa.String))
    assert equalities(entity, table, {"published": True, "title": "x"}) == ("published", "title")
    assert equalities(entity, table, {"published": False}) == ("published",)
    assert equalities(entity, table, {"title": True}) is None  # a bool on a text field: the general compiler's
    assert equalities(entity, table, {"published": None}) is None
