"""Expressions reading linked records through dotted paths: formulas, defaults, checks and
required_when see the linked values, and a stored formula follows the records it reads (in the
same transaction), so the list, a filter and a report move with them. SQLite and PostgreSQL."""
from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa
from linked_kit import build

from atrium.runtime.access.secured import SecuredRecords
from atrium.runtime.query.lists import ListQuery
from atrium.runtime.records.service import ValidationFailed
from atrium.runtime.reports.runner import Reports


@pytest.fixture
def world(tmp_path, engine, database_url):
    site, ann = build(tmp_path / "bp", engine, database_url)
    records = site.records
    north = records.create("region", {"name": "North", "discount": 10})
    south = records.create("region", {"name": "South", "discount": 0})
    acme = records.create("customer", {"name": "Acme", "level": "vip", "region": north["id"], "owner": ann.user_id})
    bolt = records.create("customer", {"name": "Bolt", "level": "normal", "region": south["id"]})
    widget = records.create("product", {"name": "Widget", "price": 25, "stock": 10})
    return site, ann, {"north": north, "south": south, "acme": acme, "bolt": bolt, "widget": widget}


def stored(site, entity, record_id):
    return site.records.get(entity, record_id)


def test_formulas_read_linked_values_when_a_record_is_made(world):
    site, _, w = world
    order = site.records.create("order", {"title": "o1", "customer": w["acme"]["id"], "amount": 200})
    assert (order["level"], order["net"], order["owner_team"]) == ("vip", Decimal("180.00"), "north")
    loose = site.records.create("order", {"title": "o2", "amount": 200})   # an empty link reads None
    assert (loose["level"], loose["net"], loose["owner_team"]) == (None, Decimal("200.00"), None)
    line = site.records.create("line", {"order": order["id"], "product": w["widget"]["id"], "quantity": 2})
    assert (line["unit_price"], line["total"], line["region_name"]) == (Decimal("25.00"), Decimal("50.00"), "North")


def test_a_default_reading_a_link_is_a_copy_taken_when_the_record_is_made(world):
    site, _, w = world
    line = site.records.create("line", {"product": w["widget"]["id"]})
    typed = site.records.create("line", {"product": w["widget"]["id"], "unit_price": 20})
    site.records.update("product", w["widget"]["id"], {"price": 30})
    assert stored(site, "line", line["id"])["unit_price"] == Decimal("25.00")   # not followed
    assert stored(site, "line", typed["id"])["unit_price"] == Decimal("20.00")
    assert site.records.create("line", {"product": w["widget"]["id"]})["unit_price"] == Decimal("30.00")


def test_checks_and_required_when_read_linked_values(world):
    site, _, w = world
    with pytest.raises(ValidationFailed) as refused:
        site.records.create("line", {"product": w["widget"]["id"], "quantity": 11})
    assert refused.value.errors == {"product": ["Not that many in stock"]}
    vip = site.records.create("order", {"title": "vip", "customer": w["acme"]["id"]})
    with pytest.raises(ValidationFailed) as missing:
        site.records.create("line", {"order": vip["id"], "rush": True})
    assert list(missing.value.errors) == ["reason"]
    plain = site.records.create("order", {"title": "plain", "customer": w["bolt"]["id"]})
    site.records.create("line", {"order": plain["id"], "rush": True})
    line = site.records.create("line", {"product": w["widget"]["id"], "quantity": 10})
    site.records.update("product", w["widget"]["id"], {"stock": 3})
    with pytest.raises(ValidationFailed):   # an update checks against the product as it is now
        site.records.update("line", line["id"], {"quantity": 9})


def test_bulk_create_reads_each_link_once_per_batch(world, engine):
    site, _, w = world
    statements: list[str] = []
    listen = lambda *args: statements.append(args[2])  # noqa: E731
    sa.event.listen(engine, "before_cursor_execute", listen)
    try:
        created = site.records.bulk_create("line", [{"product": w["widget"]["id"], "quantity": 1}
                                                    for _ in range(300)], batch_size=100)
    finally:
        sa.event.remove(engine, "before_cursor_execute", listen)
    assert len([s for s in statements if "product.price" in s]) == 3   # one per batch of 100
    assert {line["unit_price"] for line in created} == {Decimal("25.00")}


def test_changing_a_parent_moves_the_childrens_stored_formulas_list_filter_and_report(world, engine):
    site, ann, w = world
    orders = [site.records.create("order", {"title": f"o{i}", "customer": w["acme"]["id"], "amount": 100})
              for i in range(3)]
    other = site.records.create("order", {"title": "other", "customer": w["bolt"]["id"], "amount": 100})
    with engine.begin() as connection:   # the same transaction: the parent's write and its followers
        site.records.update("customer", w["acme"]["id"], {"level": "normal"}, connection=connection)
        inside = connection.execute(sa.text("SELECT level FROM \"order\" WHERE id = :id"),
                                    {"id": orders[0]["id"]}).scalar()
        assert inside == "normal"
    assert [stored(site, "order", o["id"])["level"] for o in orders] == ["normal"] * 3
    records = SecuredRecords(site)
    assert {r["id"] for r in records.list(ann, ListQuery("order", where={"level": "vip"})).records} == set()
    site.records.update("customer", w["bolt"]["id"], {"level": "vip"})
    listed = records.list(ann, ListQuery("order", where={"level": "vip"})).records
    assert [r["id"] for r in listed] == [other["id"]]
    result = Reports(site).run(ann, "net_by_level")
    assert {row["level"]: row["net"] for row in result.rows} == {"normal": Decimal("270.00"),
                                                               "vip": Decimal("100.00")}


def test_a_change_two_and_three_links_away_follows_and_rollups_update_along(world):
    site, _, w = world
    order = site.records.create("order", {"title": "o", "customer": w["acme"]["id"], "amount": 1000})
    line = site.records.create("line", {"order": order["id"], "product": w["widget"]["id"]})
    assert stored(site, "customer", w["acme"]["id"])["net_total"] == Decimal("900.00")
    site.records.update("region", w["north"]["id"], {"discount": 50, "name": "Far North"})
    assert stored(site, "order", order["id"])["net"] == Decimal("500.00")              # two links
    assert stored(site, "line", line["id"])["region_name"] == "Far North"               # three links
    assert stored(site, "customer", w["acme"]["id"])["net_total"] == Decimal("500.00")  # roll-up over it
    site.records.update("customer", w["acme"]["id"], {"region": w["south"]["id"]})      # a link moves
    assert stored(site, "order", order["id"])["net"] == Decimal("1000.00")
    assert stored(site, "line", line["id"])["region_name"] == "South"


def test_a_change_that_alters_nothing_writes_nothing(world, engine):
    site, _, w = world
    site.records.create("order", {"title": "o", "customer": w["acme"]["id"], "amount": 1000})
    statements: list[str] = []
    listen = lambda *args: statements.append(args[2])  # noqa: E731
    sa.event.listen(engine, "before_cursor_execute", listen)
    try:
        site.records.update("region", w["north"]["id"], {"name": "Nord"})   # order reads discount, not name
    finally:
        sa.event.remove(engine, "before_cursor_execute", listen)
    assert not [s for s in statements if s.startswith('UPDATE "order"') or s.startswith("UPDATE order")]


def test_automations_read_paths_in_when_set_and_create(world):
    site, _, w = world
    vip = site.records.create("order", {"title": "vip", "customer": w["acme"]["id"]})
    plain = site.records.create("order", {"title": "plain", "customer": w["bolt"]["id"]})
    assert stored(site, "order", vip["id"])["note"] == "VIP of North"
    assert stored(site, "order", plain["id"])["note"] is None
    with site.engine.connect() as connection:
        lines = site.records.read_where(connection, "line", "order", [vip["id"], plain["id"]])
    assert [(line["order"], line["unit_price"]) for line in lines] == [(vip["id"], Decimal("10.00"))]
