"""b2b_sales follow-ups: a done visit (or a call logged as one) moves its customer's last
follow-up and so the date it returns to the pool; a planned visit does not, an older one never
moves it back, and every write path (form, bulk update, import, automation) keeps it so."""
from __future__ import annotations

import datetime as dt

from atrium.runtime.io.importer import Importer, ImportOptions, read_csv
from atrium.runtime.site.site import Site

D = dt.date
UTC = dt.timezone.utc


def customer(world, **values):
    return world.create("customer", {"name": "瑞丰精密机械有限公司", "owned_since": "2026-03-01",
                                     "last_followup_at": "2026-03-02 10:00", **values}, "rep1")


def visit(world, record, at: str, status="done", **values):
    return world.create("visit", {"customer": record["id"], "planned_at": at, "status": status,
                                  "visited_at": at if status == "done" else None, **values}, "rep1")


def test_a_done_visit_moves_the_last_follow_up_and_the_recycle_date(world):
    record = customer(world)
    assert record["recycle_on"] == D(2026, 4, 1)                      # 30 days after 2 March
    visit(world, record, "2026-03-12 09:30")                          # Shanghai time
    after = world.get("customer", record)
    assert after["last_followup_at"] == dt.datetime(2026, 3, 12, 1, 30, tzinfo=UTC)
    assert after["recycle_on"] == D(2026, 4, 11)


def test_a_planned_visit_does_not_count_until_it_is_done(world):
    record = customer(world)
    planned = visit(world, record, "2026-03-14 15:00", status="planned")
    assert world.get("customer", record)["last_followup_at"] == dt.datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    world.update("visit", planned, {"status": "done", "visited_at": "2026-03-14 15:00"}, "rep1")
    after = world.get("customer", record)
    assert after["last_followup_at"] == dt.datetime(2026, 3, 14, 7, 0, tzinfo=UTC)
    assert after["recycle_on"] == D(2026, 4, 13)


def test_an_older_or_deleted_follow_up_never_moves_it_back(world):
    record = customer(world)
    latest = visit(world, record, "2026-03-12 09:30")
    visit(world, record, "2026-03-05 09:30")                          # logged late, happened earlier
    assert world.get("customer", record)["last_followup_at"] == dt.datetime(2026, 3, 12, 1, 30, tzinfo=UTC)
    world.service.delete("visit", latest["id"], world.actor("admin"))
    after = world.get("customer", record)
    assert after["last_followup_at"] == dt.datetime(2026, 3, 12, 1, 30, tzinfo=UTC)
    assert after["recycle_on"] == D(2026, 4, 11)
    # a visit older than what a person typed on the customer leaves the typed value
    typed = customer(world, name="华东建设集团", last_followup_at="2026-03-15 10:00")
    visit(world, typed, "2026-03-10 10:00")
    assert world.get("customer", typed)["last_followup_at"] == dt.datetime(2026, 3, 15, 2, 0, tzinfo=UTC)


def test_a_bulk_update_marking_visits_done_moves_each_customer(world):
    first, second = customer(world), customer(world, name="南方物流有限公司")
    one = visit(world, first, "2026-03-13 10:00", status="planned")
    two = visit(world, second, "2026-03-14 10:00", status="planned")
    world.service.bulk_update("visit", [(one["id"], {"status": "done", "visited_at": "2026-03-13 11:00"}),
                                        (two["id"], {"status": "done", "visited_at": "2026-03-14 11:00"})],
                              world.actor("rep1"))
    assert world.get("customer", first)["recycle_on"] == D(2026, 4, 12)
    assert world.get("customer", second)["recycle_on"] == D(2026, 4, 13)


def test_imported_done_visits_move_their_customers(world, engine, b2b):
    record = customer(world)
    site = Site.open(b2b, str(engine.url), engine=engine, clock=world.clock)
    importer = Importer(site, world.actor("admin"), "visit")
    csv_file = read_csv(("customer,planned_at,status,visited_at\n"
                         f"{record['name']},2026-03-15 16:00,done,2026-03-15 16:00\n"
                         f"{record['name']},2026-03-16 09:00,planned,\n").encode(), "en")
    outcome = importer.run(csv_file, ImportOptions(importer.guess_mapping(csv_file.header)))
    assert not outcome.errors
    after = world.get("customer", record)
    assert after["last_followup_at"] == dt.datetime(2026, 3, 15, 8, 0, tzinfo=UTC)
    assert after["recycle_on"] == D(2026, 4, 14)
