"""Change counters per table (atrium_data_versions): raised with the commit of any write through
SQLAlchemy, by the records service or not; not raised by a rollback or a read."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from atrium.runtime.records.evaluation import Actor
from atrium.runtime.records.service import ValidationFailed
from atrium.runtime.schema import data_versions
from atrium.runtime.schema.database import connect, create_engine, write_transaction
from atrium.runtime.schema.migrations import migrate
from atrium.runtime.site.site import Site

pytestmark = pytest.mark.database


@pytest.fixture
def site(database_url, b2b):
    engine = create_engine(database_url)
    migrate(engine, b2b)
    yield Site.open(b2b, database_url, engine=engine)
    engine.dispose()


def counters(site, *names):
    with connect(site.engine) as connection:
        return data_versions.read(connection, names)


def test_a_committed_write_raises_its_tables_counters_and_a_read_does_not(site):
    before = counters(site, "customer", "order", "visit")
    customer = site.records.create("customer", {"name": "Acme"})
    after = counters(site, "customer", "order", "visit")
    assert after["customer"] != before["customer"]
    assert after["order"] == before["order"] and after["visit"] == before["visit"]
    site.records.get("customer", customer["id"])
    assert counters(site, "customer") == {"customer": after["customer"]}
    site.records.update("customer", customer["id"], {"name": "Acme Ltd"})
    assert counters(site, "customer")["customer"] == after["customer"] + 1


def test_a_child_write_raises_the_parent_it_rolls_up_into(site):
    customer = site.records.create("customer", {"name": "Acme"})
    before = counters(site, "customer", "order")
    site.records.create("order", {"name": "Deal", "customer": customer["id"], "amount": 100})
    after = counters(site, "customer", "order")
    assert after["order"] != before["order"]
    assert after["customer"] != before["customer"]  # the rollups on the customer were refreshed


def test_a_rolled_back_write_raises_nothing(site):
    before = counters(site, "customer")
    with pytest.raises(ValidationFailed):
        site.records.create("customer", {})  # the name is required
    with pytest.raises(RuntimeError):
        with write_transaction(site.engine) as connection:
            connection.execute(site.tables["customer"].delete())
            raise RuntimeError("changed my mind")
    assert counters(site, "customer") == before


def test_writes_outside_the_records_service_count_too(site):
    before = counters(site, "customer")
    with connect(site.engine, write=True) as connection, connection.begin():
        connection.execute(site.tables["customer"].delete().where(site.tables["customer"].c.id == -1))
    assert counters(site, "customer")["customer"] != before["customer"]


def test_a_table_emptied_and_filled_again_never_repeats_a_counter(site):
    site.records.create("customer", {"name": "Acme"})
    first = counters(site, "customer")["customer"]
    with site.engine.begin() as connection:
        connection.execute(data_versions.versions.delete())
    site.records.create("customer", {"name": "Beta"})
    assert counters(site, "customer")["customer"] > first


def test_a_database_without_the_counters_still_takes_writes(database_url):
    engine = create_engine(database_url)
    table = sa.Table("plain", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True))
    try:
        with engine.begin() as connection:
            table.create(connection)
            connection.execute(table.insert().values(id=1))
        with engine.connect() as connection:
            assert connection.execute(sa.select(sa.func.count()).select_from(table)).scalar() == 1
    finally:
        with engine.begin() as connection:
            table.drop(connection)
        engine.dispose()


def test_writers_of_two_tables_bump_both_in_one_commit(site):
    rep = Actor(user_id=None)
    before = counters(site, "customer", "contact")
    with write_transaction(site.engine) as connection:
        customer = site.records.create("customer", {"name": "Acme"}, rep, connection=connection)
        site.records.create("contact", {"name": "Li", "customer": customer["id"]}, rep, connection=connection)
        inside = data_versions.read(connection, ["customer", "contact"])
        assert inside == before  # raised only as the transaction commits
    after = counters(site, "customer", "contact")
    assert after["customer"] != before["customer"] and after["contact"] != before["contact"]
