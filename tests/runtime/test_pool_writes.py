"""Owner changes that reach the public pool by ordinary writes: an owner emptied in a form, the
API, a bulk write or an import is a release (history row, cooldown) exactly like the Release
action; an automation's recycle is recorded once, as the recycle; a manager moving a record
straight to another owner is a transfer, which the pool neither records nor limits."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from pool_kit import RECYCLE, clock_at, pool_rows, pool_site

from atrium.runtime.access.secured import SecuredRecords
from atrium.runtime.io.importer import Importer, ImportOptions, read_csv
from atrium.runtime.pool.service import PoolRefused, PublicPool
from atrium.runtime.records.service import ValidationFailed


@pytest.fixture
def world(tmp_path, database_url):
    site, people = pool_site(tmp_path, database_url, clock_at())
    yield site, people
    site.engine.dispose()


def account(site, name="Acme", owner=None, **values):
    return site.records.create("account", {"name": name, "owner": owner, **values})


def claim_refusal(site, actor, record_id) -> str | None:
    try:
        PublicPool(site).claim(actor, "account", record_id)
    except PoolRefused as refused:
        return refused.reason
    return None


def test_an_owner_emptied_in_an_edit_is_a_release_that_starts_the_cooldown(world):
    site, people = world
    record = account(site, owner=people.rep1.user_id)
    # the form and the API both save through SecuredRecords.update
    saved = SecuredRecords(site).update(people.rep1, "account", record["id"], {"owner": None}, version=1)
    assert saved["owner"] is None
    assert pool_rows(site) == [("release", people.rep1.user_id, people.rep1.user_id, None)]
    assert claim_refusal(site, people.rep1, record["id"]) == "cooldown"
    assert claim_refusal(site, people.rep2, record["id"]) is None  # the cooldown binds the previous owner only


def test_a_manager_emptying_owners_in_bulk_records_each_release_in_one_insert(world):
    site, people = world
    mine = account(site, "Mine", people.rep1.user_id)
    theirs = account(site, "Theirs", people.rep2.user_id)
    pooled = account(site, "Pooled")
    inserts = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith("INSERT INTO atrium_pool_history"):
            inserts.append(executemany)

    sa.event.listen(site.engine, "before_cursor_execute", count)
    try:
        site.records.bulk_update("account", [(r["id"], {"owner": None}) for r in (mine, theirs, pooled)],
                                 people.manager)
    finally:
        sa.event.remove(site.engine, "before_cursor_execute", count)
    assert pool_rows(site) == [("release", people.manager.user_id, people.rep1.user_id, None),
                               ("release", people.manager.user_id, people.rep2.user_id, None)]
    assert inserts == [True]  # both rows in one executemany
    assert claim_refusal(site, people.rep2, theirs["id"]) == "cooldown"


def test_a_write_that_fails_leaves_no_release(world):
    site, people = world
    record = account(site, owner=people.rep1.user_id)
    with pytest.raises(ValidationFailed):
        SecuredRecords(site).update(people.rep1, "account", record["id"], {"owner": None, "name": ""})
    assert pool_rows(site) == []
    assert site.records.get("account", record["id"])["owner"] == people.rep1.user_id


def test_the_release_action_is_recorded_once(world):
    site, people = world
    record = account(site, owner=people.rep1.user_id)
    PublicPool(site).release(people.rep1, "account", record["id"])
    assert pool_rows(site) == [("release", people.rep1.user_id, people.rep1.user_id, None)]


def test_an_automation_emptying_the_owner_after_a_persons_edit_is_one_recycle(tmp_path, database_url):
    drop = {"entity": "account", "on": "update", "when": "phone == '10000'", "do": [{"set": {"owner": None}}]}
    site, people = pool_site(tmp_path, database_url, clock_at(), automations={"drop": drop, "recycle": RECYCLE})
    record = account(site, owner=people.rep1.user_id)
    SecuredRecords(site).update(people.rep1, "account", record["id"], {"phone": "10000"})
    assert site.records.get("account", record["id"])["owner"] is None
    assert pool_rows(site) == [("recycle", None, people.rep1.user_id, "drop")]
    assert claim_refusal(site, people.rep1, record["id"]) == "cooldown"
    site.engine.dispose()


def test_a_manager_may_hand_a_record_to_someone_at_the_most_they_may_own(world):
    site, people = world
    for i in range(5):  # rep2 holds the most a person may own (5)
        account(site, f"Held {i}", people.rep2.user_id)
    record = account(site, "Moved", people.rep1.user_id)
    secured = SecuredRecords(site)
    with pytest.raises(ValidationFailed):  # a rep cannot give a record away (out of their reach)
        secured.update(people.rep1, "account", record["id"], {"owner": people.rep2.user_id})
    moved = secured.update(people.manager, "account", record["id"], {"owner": people.rep2.user_id})
    assert moved["owner"] == people.rep2.user_id
    assert pool_rows(site) == []  # a transfer never passes through the pool
    assert claim_refusal(site, people.rep2, account(site, "Another")["id"]) == "max_owned"  # claims still stop


def import_file(site, actor, text: str):
    importer = Importer(site, actor, "account")
    csv_file = read_csv(text.encode("utf-8"), actor.locale)
    return importer.run(csv_file, ImportOptions({"name": "name", "owner": "owner"}, key="name",
                                                on_duplicate="update"))


def test_an_import_moves_owners_as_a_transfer_and_an_empty_cell_keeps_the_owner(world):
    site, people = world
    for i in range(5):
        account(site, f"Held {i}", people.rep2.user_id)
    moved = account(site, "Moved", people.rep1.user_id)
    kept = account(site, "Kept", people.rep1.user_id)
    report = import_file(site, people.manager, "name,owner\nMoved,rep2\nKept,\n")
    assert report.ok and report.updated == 2, report.errors
    assert site.records.get("account", moved["id"])["owner"] == people.rep2.user_id  # past rep2's most owned
    assert site.records.get("account", kept["id"])["owner"] == people.rep1.user_id  # empty cell: unchanged
    assert pool_rows(site) == []
