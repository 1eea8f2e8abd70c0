"""List queries and access scopes as users meet them: a rep sees their own records, a manager the
team's (sub-teams included), filters follow references, and paging never skips or repeats."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from atrium.runtime.access import users
from atrium.runtime.access.secured import AccessDenied, SecuredRecords
from atrium.runtime.query.conditions import ConditionError
from atrium.runtime.query.lists import ListQuery
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.records.service import RecordNotFound, ValidationFailed
from atrium.runtime.schema.migrations import migrate
from atrium.runtime.site.site import Site

NOW = dt.datetime(2026, 5, 15, 4, 0, tzinfo=dt.timezone.utc)  # noon in Asia/Shanghai


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
    team_of = {"ann": 1, "bo": 2, "cy": 3, "max": 1, "root": None}
    roles = {"ann": "sales_rep", "bo": "sales_rep", "cy": "sales_rep", "max": "sales_manager", "root": "admin"}
    actors = {n: Actor(ids[n], n, roles[n], team_of[n]) for n in ids}
    records = SecuredRecords(site)
    customers = {}
    for name in ("ann", "bo", "cy"):
        customers[name] = records.create(actors[name], "customer",
                                         {"name": f"{name} Ltd", "level": "vip" if name == "ann" else "normal"})
    for i in range(30):
        owner = ("ann", "bo", "cy")[i % 3]
        records.create(actors[owner], "order", {
            "name": f"deal {i:02d}", "customer": customers[owner]["id"],
            "amount": None if i % 7 == 0 else 1000 + (i % 5) * 250,
            "expected_close": (dt.date(2026, 5, 16) + dt.timedelta(days=i * 3)).isoformat()})
    return site, records, actors, customers


def all_pages(records, actor, **query) -> list[dict]:
    seen, after = [], None
    while True:
        page = records.list(actor, ListQuery("order", limit=4, after=after, **query))
        seen += page.records
        after = page.next_cursor
        if after is None:
            return seen


@pytest.mark.parametrize("name, expected", [("ann", 10), ("bo", 10), ("max", 20), ("root", 30)])
def test_scopes_own_team_with_subteams_all(world, name, expected):
    _, records, actors, _ = world
    assert records.list(actors[name], ListQuery("order")).count == expected


@pytest.mark.parametrize("sort", [["-amount"], ["amount"], ["expected_close"], ["-expected_close", "name"]])
def test_paging_walks_every_row_once_in_order(world, sort):
    _, records, actors, _ = world
    rows = all_pages(records, actors["root"], sort=sort)
    assert len(rows) == 30 and len({r["id"] for r in rows}) == 30
    key, descending = sort[0].lstrip("-"), sort[0].startswith("-")
    present = [r[key] for r in rows if r[key] is not None]
    assert present == sorted(present, reverse=descending)
    assert all(r[key] is None for r in rows[len(present):])  # empty values last


def test_filters_follow_references_and_periods(world):
    _, records, actors, _ = world
    root = actors["root"]
    vip = records.list(root, ListQuery("order", where={"customer.level": "vip"}))
    assert vip.count == 10
    may = records.list(root, ListQuery("order", where={"expected_close": {"within": "this_month"}}))
    assert may.count == 6 and all(r["expected_close"].month == 5 for r in may.records)
    big = records.list(root, ListQuery("order", where={"amount": {"gte": 1750}}))
    assert all(r["amount"] >= Decimal("1750") for r in big.records) and big.count == 10
    unset = records.list(root, ListQuery("order", where={"amount": {"is_set": False}}))
    assert unset.count == 5
    found = records.list(root, ListQuery("order", search="deal 1"))
    assert {r["name"] for r in found.records} == {f"deal {i}" for i in range(10, 20)}


def test_bad_filters_are_refused(world):
    _, records, actors, _ = world
    with pytest.raises(ConditionError):
        records.list(actors["root"], ListQuery("order", where={"customer.nope": 1}))
    with pytest.raises(ConditionError):
        records.list(actors["root"], ListQuery("order", sort=["tags"]))


def test_invisible_records_are_not_found_and_cannot_be_changed(world):
    site, records, actors, customers = world
    theirs = customers["bo"]["id"]
    with pytest.raises(RecordNotFound):
        records.get(actors["ann"], "customer", theirs)
    with pytest.raises(RecordNotFound):
        records.update(actors["ann"], "customer", theirs, {"name": "mine now"})
    with pytest.raises(RecordNotFound):
        records.delete(actors["ann"], "customer", theirs)
    with pytest.raises(ValidationFailed) as error:  # linking to it would reveal it exists
        records.create(actors["ann"], "order", {"name": "x", "customer": theirs})
    assert "customer" in error.value.errors
    assert site.records.get("customer", theirs)["name"] == "bo Ltd"


def test_manager_may_read_team_but_role_forbids_delete(world):
    _, records, actors, _ = world
    bo_order = records.list(actors["bo"], ListQuery("order")).records[0]
    assert records.get(actors["max"], "order", bo_order["id"])["id"] == bo_order["id"]
    with pytest.raises(AccessDenied):
        records.delete(actors["max"], "order", bo_order["id"])


def test_hidden_field_is_absent_and_cannot_be_written(world):
    _, records, actors, customers = world
    order = records.list(actors["ann"], ListQuery("order")).records[0]
    assert "margin" not in order  # roles.yaml hides order.margin from reps
    with pytest.raises(ValidationFailed) as error:
        records.update(actors["ann"], "order", order["id"], {"margin": 5})
    assert "margin" in error.value.errors
    assert "margin" in records.get(actors["root"], "order", order["id"])


def test_rep_cannot_give_a_record_away(world):
    _, records, actors, _ = world
    with pytest.raises(ValidationFailed) as error:
        records.create(actors["ann"], "customer", {"name": "gift", "owner": actors["cy"].user_id})
    assert "owner" in error.value.errors


def test_titles_show_linked_records_and_local_times(engine, database_url, b2b):
    migrate(engine, b2b)
    site = Site.open(b2b, database_url, engine=engine, clock=lambda: NOW)
    customer = site.records.create("customer", {"name": "华东精密机械有限公司", "level": "a"})
    visit = site.records.create("visit", {
        "customer": customer["id"], "planned_at": "2026-05-20T06:30:00Z",
        "purpose": site.blueprint.entities["visit"].fields["purpose"].options[0].value})
    with engine.connect() as connection:
        title = site.queries.titles(connection, "visit", [visit["id"]])[visit["id"]]
    assert title == "华东精密机械有限公司 2026-05-20 14:30"  # Asia/Shanghai


SORTABLE = ["amount", "-amount", "expected_close", "-expected_close", "name", "-name", "customer", "-customer"]


def expected_order(rows: list[dict], sort: list[str]) -> list[int]:
    """The order a user expects: each key in its direction, empty values last, then by id."""
    keyed = sorted(rows, key=lambda r: r["id"], reverse=sort[-1].startswith("-"))
    for key in reversed(sort):  # a stable sort per key, least significant first
        name, descending = key.lstrip("-"), key.startswith("-")
        present = sorted((r for r in keyed if r[name] is not None), key=lambda r: r[name], reverse=descending)
        keyed = present + [r for r in keyed if r[name] is None]
    return [r["id"] for r in keyed]


def test_any_sort_pages_through_every_row_once_in_the_expected_order(world):
    """Whatever the sort (ties, empty values, mixed directions) and page size, following the
    cursors gives every record once, in the order the sort promises."""
    from hypothesis import HealthCheck, given, settings, strategies as st

    _, records, actors, _ = world
    everything = all_pages(records, actors["root"])

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(sort=st.lists(st.sampled_from(SORTABLE), min_size=1, max_size=3,
                         unique_by=lambda k: k.lstrip("-")),
           limit=st.integers(1, 7))
    def walk(sort, limit):
        seen, after = [], None
        while True:
            page = records.list(actors["root"], ListQuery("order", sort=sort, limit=limit, after=after))
            seen += [r["id"] for r in page.records]
            after = page.next_cursor
            if after is None:
                break
        assert seen == expected_order(everything, sort)

    walk()


def test_team_scope_survives_a_loop_in_the_team_tree(world):
    """Teams edited into a loop (east → south → east) still give the manager the team's records,
    and the reading ends."""
    site, records, actors, _ = world
    teams = site.tables.system("atrium_teams")
    import sqlalchemy as sa
    with site.engine.begin() as c:
        east = c.execute(sa.select(teams.c.id).where(teams.c.name == "east")).scalar()
        c.execute(teams.update().where(teams.c.name == "east").values(parent_id=east + 1))
    assert records.list(actors["max"], ListQuery("order")).count == 20


def test_update_and_delete_reach_follows_the_scope_of_each_action(world):
    """A manager reads the team's records but may delete none: the record is found (not a 404)
    and deleting it is refused, for a team member's record and the manager's own alike."""
    site, records, actors, customers = world
    bo_order = records.list(actors["bo"], ListQuery("order", limit=1)).records[0]
    with site.engine.connect() as c:
        assert site.access.permits(c, actors["max"], "order", bo_order, "update")
        assert not site.access.permits(c, actors["max"], "order", bo_order, "delete")
        assert not site.access.permits(c, actors["cy"], "order", bo_order, "update")
    with pytest.raises(AccessDenied):
        records.get(actors["max"], "order", bo_order["id"], action="delete")
    with pytest.raises(RecordNotFound):
        records.get(actors["cy"], "order", bo_order["id"], action="update")
