"""The recycle bin on the b2b_sales blueprint: a delete keeps the record and its cascade whole, a
restore gives back the same rows, links and roll-ups, or refuses with the reason; purge by age."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from atrium.runtime.access.secured import SecuredRecords
from atrium.runtime.access.users import add_user
from atrium.runtime.records.errors import RecordNotFound
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.schema.migrations import migrate
from atrium.runtime.site.site import Site
from atrium.runtime.trash.bin import RestoreForbidden
from atrium.runtime.trash.restore import RestoreRefused

pytestmark = pytest.mark.database
START = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.timezone.utc)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def site(b2b, database_url, clock):
    site = Site.open(b2b, database_url, clock=clock)
    migrate(site.engine, b2b)
    yield site
    site.engine.dispose()


def person(site, name: str, role: str, locale: str = "en") -> Actor:
    with site.engine.begin() as connection:
        user = add_user(connection, site.tables, site.blueprint, name, role, locale=locale)
    return Actor(user_id=user, name=name, role=role, locale=locale)


@pytest.fixture
def people(site):
    return {"admin": person(site, "root", "admin"), "rep": person(site, "wang", "sales_rep"),
            "rep_zh": person(site, "li", "sales_rep", "zh")}


@pytest.fixture
def world(site, people):
    """A rep's customer with a contact, a done visit (the customer's last visit) and a task."""
    rep, records = people["rep"], SecuredRecords(site)
    customer = records.create(rep, "customer", {"name": "沈阳天成建设"})
    contact = records.create(rep, "contact", {"customer": customer["id"], "name": "张伟"})
    visit = records.create(rep, "visit", {"customer": customer["id"], "contact": contact["id"],
                                          "planned_at": "2026-03-09T10:00:00+00:00", "status": "done",
                                          "visited_at": "2026-03-09T10:30:00+00:00", "outcome": "报价"})
    task = records.create(rep, "task", {"title": "回访", "customer": customer["id"]})
    return {"customer": customer["id"], "contact": contact["id"], "visit": visit["id"], "task": task["id"]}


def row(site, entity: str, record_id: int) -> dict | None:
    table = site.tables[entity]
    with site.engine.connect() as connection:
        found = connection.execute(sa.select(table).where(table.c.id == record_id)).first()
    return None if found is None else dict(found._mapping)


def bin_rows(site) -> list[dict]:
    trash = site.tables.system("atrium_trash")
    with site.engine.connect() as connection:
        return [dict(r._mapping) for r in connection.execute(sa.select(trash).order_by(trash.c.id))]


def test_a_deleted_visit_is_in_the_bin_and_comes_back_whole(site, people, world):
    rep = people["rep"]
    before = row(site, "visit", world["visit"])
    assert row(site, "customer", world["customer"])["last_visit_at"] is not None
    entry = SecuredRecords(site).delete(rep, "visit", world["visit"])
    assert row(site, "visit", world["visit"]) is None
    assert row(site, "customer", world["customer"])["last_visit_at"] is None  # the roll-up follows the delete
    listed = site.trash.entries(rep)
    assert [(e["id"], e["entity"], e["record_id"], e["deleted_by_name"]) for e in listed] == [
        (entry, "visit", world["visit"], "wang")]
    assert "沈阳天成建设" in listed[0]["title"]

    assert site.trash.restore(rep, entry) == {"entity": "visit", "record_id": world["visit"]}
    assert row(site, "visit", world["visit"]) == before  # same id, values, links, version
    assert row(site, "customer", world["customer"])["last_visit_at"] == before["visited_at"]
    assert bin_rows(site) == [] and site.trash.entries(rep) == []


def test_a_customer_comes_back_with_its_cascade(site, people, world):
    admin = people["admin"]
    kept = {name: row(site, name, world[name]) for name in ("customer", "contact", "visit", "task")}
    SecuredRecords(site).delete(admin, "customer", world["customer"])
    assert all(row(site, name, world[name]) is None for name in kept)
    entries = bin_rows(site)
    assert len({e["batch"] for e in entries}) == 1 and len(entries) == 4
    assert [e["entity"] for e in entries if e["root"]] == ["customer"]
    assert site.trash.entries(admin)[0]["cascaded"] == 3

    site.trash.restore(admin, record=("customer", world["customer"]))
    bookkeeping = {"version", "updated_at", "updated_by"}  # the cascade unlinked the visit first, then binned it
    for name, before in kept.items():
        after = row(site, name, world[name])
        assert {k: v for k, v in after.items() if k not in bookkeeping} == \
            {k: v for k, v in before.items() if k not in bookkeeping}, name


def test_set_null_links_are_put_back(site, people, world):
    admin = people["admin"]
    SecuredRecords(site).delete(admin, "contact", world["contact"])
    assert row(site, "visit", world["visit"])["contact"] is None
    site.trash.restore(admin, record=("contact", world["contact"]))
    assert row(site, "visit", world["visit"])["contact"] == world["contact"]


def test_restore_is_refused_when_the_parent_is_gone(site, people, world):
    rep, admin = people["rep"], people["admin"]
    visit_entry = SecuredRecords(site).delete(rep, "visit", world["visit"])
    customer_entry = SecuredRecords(site).delete(admin, "customer", world["customer"])
    site.trash.purge(admin, customer_entry)
    with pytest.raises(RestoreRefused) as refused:
        site.trash.restore(rep, visit_entry)
    assert str(refused.value) == "Cannot restore Visit: Customer: The linked record does not exist"
    assert row(site, "visit", world["visit"]) is None and len(bin_rows(site)) == 1  # nothing changed


def test_restore_is_refused_in_chinese_when_a_unique_value_is_taken(site, people):
    admin = people["admin"].__class__(**{**people["admin"].__dict__, "locale": "zh"})
    records = SecuredRecords(site)
    product = records.create(admin, "product", {"name": "钢材", "code": "P-001"})
    entry = records.delete(admin, "product", product["id"])
    records.create(admin, "product", {"name": "钢材二", "code": "P-001"})
    with pytest.raises(RestoreRefused) as refused:
        site.trash.restore(admin, entry)
    assert "无法恢复" in str(refused.value)


def test_a_new_record_never_takes_a_binned_id(site, people, world):
    rep = people["rep"]
    entry = SecuredRecords(site).delete(rep, "task", world["task"])
    again = SecuredRecords(site).create(rep, "task", {"title": "新任务", "customer": world["customer"]})
    assert again["id"] != world["task"]
    site.trash.restore(rep, entry)
    assert row(site, "task", world["task"])["title"] == "回访"


def test_each_user_sees_and_restores_only_their_own_deletions(site, people, world):
    rep, other, admin = people["rep"], people["rep_zh"], people["admin"]
    entry = SecuredRecords(site).delete(rep, "visit", world["visit"])
    assert site.trash.entries(other) == []
    assert [e["id"] for e in site.trash.entries(admin)] == [entry]
    with pytest.raises(RecordNotFound):
        site.trash.restore(other, entry)
    with pytest.raises(RecordNotFound):
        site.trash.purge(other, entry)
    site.trash.restore(admin, entry)  # an administrator may restore anyone's
    assert row(site, "visit", world["visit"]) is not None


def test_restore_needs_the_right_to_create(site, people):
    admin, rep = people["admin"], people["rep"]
    product = SecuredRecords(site).create(admin, "product", {"name": "钢材", "code": "P-9"})
    trash = site.tables.system("atrium_trash")
    entry = SecuredRecords(site).delete(admin, "product", product["id"])
    with site.engine.begin() as connection:  # as if the rep had deleted it
        connection.execute(trash.update().values(deleted_by=rep.user_id))
    with pytest.raises(RestoreForbidden):
        site.trash.restore(rep, entry)


def test_purge_by_age_keeps_the_recent_ones(site, people, world, clock):
    rep = people["rep"]
    SecuredRecords(site).delete(rep, "visit", world["visit"])
    clock.now = START + dt.timedelta(days=20)
    SecuredRecords(site).delete(rep, "task", world["task"])
    clock.now = START + dt.timedelta(days=31)
    assert site.trash.purge_expired() == 1  # the blueprint keeps deletions 30 days
    assert [e["entity"] for e in site.trash.entries(rep)] == ["task"]
    assert site.trash.purge_older(5) == 1
    assert site.trash.entries(rep) == []


def test_the_scheduler_purges_past_the_retention(site, people, world, clock):
    from atrium.runtime.automation.scheduler import Scheduler
    SecuredRecords(site).delete(people["rep"], "visit", world["visit"])
    scheduler = Scheduler(site)
    scheduler.tick()
    assert len(bin_rows(site)) == 1  # within the 30 days
    clock.now = START + dt.timedelta(days=30, minutes=1)
    scheduler.tick()
    assert bin_rows(site) == []
