"""A list filtered through a reference (`customer.level: vip`) reads its matches first (query/lists.py,
query/through.py): the pages, their order and the count are those of the plain join, and a reader
never sees or counts an order through a customer they may not read."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from atrium.runtime.access import users
from atrium.runtime.query import lists
from atrium.runtime.query.conditions import Joins
from atrium.runtime.query.lists import ListQuery
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.schema.migrations import migrate
from atrium.runtime.site.site import Site

NOW = dt.datetime(2026, 5, 15, 4, 0, tzinfo=dt.timezone.utc)
FILTERS = [{"customer.level": "vip"}, {"customer.level": {"in": ["vip", "normal"]}},
           {"customer.name": {"contains": "Ltd"}, "customer.level": "vip"},
           {"customer.level": {"is_set": False}}, {"customer.level": {"ne": "vip"}},
           {"customer.level": "vip", "amount": {"gte": 1500}}]


@pytest.fixture
def world(engine, database_url, design_blueprint):
    migrate(engine, design_blueprint)
    site = Site.open(design_blueprint, database_url, engine=engine, clock=lambda: NOW)
    with engine.begin() as c:
        users.add_team(c, site.tables, "east")
        ids = {name: users.add_user(c, site.tables, design_blueprint, name, role, "east")
               for name, role in [("ann", "sales_rep"), ("bo", "sales_rep"), ("max", "sales_manager"),
                                  ("root", "admin")]}
    actors = {n: Actor(ids[n], n, role, None if n == "root" else 1)
              for n, role in [("ann", "sales_rep"), ("bo", "sales_rep"), ("max", "sales_manager"), ("root", "admin")]}
    customers = [site.records.create("customer", {"name": f"c{i} {'Ltd' if i % 2 else 'Inc'}",
                                                  "level": (None, "vip", "normal")[i % 3],
                                                  "owner": (ids["ann"], ids["bo"])[i % 2]}) for i in range(12)]
    # ann's orders also link bo's customers: filtering through them must not reveal them to ann
    for i in range(90):
        site.records.create("order", {"name": f"deal {i:02d}", "owner": (ids["ann"], ids["bo"])[i % 2],
                                      "customer": customers[(i // 2) % 12]["id"],
                                      "amount": None if i % 7 == 0 else 1000 + (i % 5) * 250,
                                      "expected_close": (dt.date(2026, 5, 16) + dt.timedelta(days=i % 17)).isoformat()})
    orders = site.tables["order"]
    with engine.begin() as c:  # a required link left empty (data from before the field was required)
        c.execute(orders.update().where(orders.c.id % 11 == 0).values(customer=None))
    return site, actors, ids


def joined(site, actor, where, sort) -> list[int]:
    """The matches in the list's order, read with the plain join (the shape before the change)."""
    queries = site.queries
    with site.engine.connect() as c:
        joins = Joins(site.blueprint, site.tables, "order", connection=c)
        condition = queries.where(c, actor, joins, ListQuery("order", where=where), NOW)
        keys = queries.sort_keys(site.blueprint.entities["order"], sort)
        return list(c.execute(sa.select(joins.base.c.id).select_from(joins.from_clause).where(*condition)
                              .order_by(*queries.ordering(joins.base, keys))).scalars())


def paged(site, actor, where, sort, limit) -> tuple[list[int], list[tuple[int, bool]]]:
    ids, counts, after = [], [], None
    while True:
        with site.engine.connect() as c:
            query = ListQuery("order", where=where, sort=sort, limit=limit, after=after)
            page = site.queries.list(c, actor, query, NOW)
        ids += [r["id"] for r in page.records]
        counts.append((page.count, page.count_capped))
        after = page.next_cursor
        if after is None:
            return ids, counts


@pytest.mark.parametrize("cap", [1000, 6])  # the matches under the cap (sorted from the ids) and over it
@pytest.mark.parametrize("where", FILTERS)
@pytest.mark.parametrize("who", ["ann", "max", "root"])
def test_a_filter_through_a_reference_gives_the_joins_pages_and_count(world, monkeypatch, who, where, cap):
    site, actors, _ = world
    monkeypatch.setattr(lists, "COUNT_CAP", cap)
    for sort in (("-expected_close",), ("amount",), ("name",)):
        expected = joined(site, actors[who], where, sort)
        ids, counts = paged(site, actors[who], where, sort, limit=4)
        assert ids == expected
        assert counts[0] == (min(len(expected), cap), len(expected) > cap)


def test_a_rep_never_sees_or_counts_an_order_through_a_customer_they_may_not_read(world):
    site, actors, ids = world
    with site.engine.connect() as c:
        page = site.queries.list(c, actors["ann"], ListQuery("order", where={"customer.level": "vip"}, limit=500), NOW)
        customers = {row.id: row._mapping for row in c.execute(sa.select(site.tables["customer"]))}
    assert page.records and page.count == len(page.records)
    assert all(r["owner"] == ids["ann"] and customers[r["customer"]]["owner"] == ids["ann"]
               and customers[r["customer"]]["level"] == "vip" for r in page.records)
    with site.engine.connect() as c:
        theirs = c.execute(sa.select(sa.func.count()).select_from(site.tables["order"]).join(
            site.tables["customer"], site.tables["order"].c.customer == site.tables["customer"].c.id).where(
            site.tables["order"].c.owner == ids["ann"], site.tables["customer"].c.owner == ids["bo"],
            site.tables["customer"].c.level == "vip")).scalar_one()
    assert theirs > 0  # ann has orders of bo's VIP customers, and the list left them out
