"""A delete killed with SIGKILL leaves each record either in its table or in the recycle bin, never
neither: a process deletes a customer (and its cascade) and is killed mid-transaction, after it has
binned some records and deleted them; another deletes and is killed after its commit."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from atrium.runtime.records.evaluation import SYSTEM
from atrium.runtime.schema.migrations import migrate
from atrium.runtime.site.site import Site

pytestmark = pytest.mark.database

# Deletes the customer; with PAUSE set, stops for good once the cascade has binned and deleted
# the visit (inside the transaction) and says so in the marker file.
DELETER = textwrap.dedent("""
    import os, sys, time
    from atrium.runtime.records.evaluation import SYSTEM
    from atrium.runtime.site.site import Site
    from atrium.runtime.trash import binning

    url, blueprint, customer, marker, pause = sys.argv[1:6]
    site = Site.open(blueprint, url)
    put = binning.TrashBatch.put

    def put_then_wait(self, connection, tables, entity, row, root, now):
        put(self, connection, tables, entity, row, root, now)
        if pause == "yes" and entity == "contact":  # binned, its DELETE not yet sent
            open(marker, "w").write("in the transaction")
            time.sleep(600)

    binning.TrashBatch.put = put_then_wait
    site.records.delete("customer", int(customer), SYSTEM)
    open(marker, "w").write("committed")
    time.sleep(600)
""")


def records_left(site, ids) -> dict[str, bool]:
    with site.engine.connect() as connection:
        return {name: connection.execute(sa.select(site.tables[name].c.id)
                                         .where(site.tables[name].c.id == record_id)).first() is not None
                for name, record_id in ids.items()}


def binned(site) -> set[str]:
    trash = site.tables.system("atrium_trash")
    with site.engine.connect() as connection:
        return set(connection.execute(sa.select(trash.c.entity)).scalars())


def kill_when(url, b2b_path, customer, marker: Path, pause: bool, wanted: str) -> None:
    process = subprocess.Popen([sys.executable, "-c", DELETER, url, str(b2b_path), str(customer), str(marker),
                                "yes" if pause else "no"], env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    try:
        deadline = time.monotonic() + 120
        while not (marker.exists() and marker.read_text() == wanted):
            assert process.poll() is None, "the deleting process ended before it got there"
            assert time.monotonic() < deadline, "the deleting process never got there"
            time.sleep(0.05)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()


@pytest.mark.parametrize("moment", ["in the transaction", "committed"])
def test_a_killed_delete_leaves_records_or_bin_entries_never_neither(b2b, database_url, tmp_path, moment):
    migrate_site = Site.open(b2b, database_url)
    migrate(migrate_site.engine, b2b)
    customer = migrate_site.records.create("customer", {"name": "沈阳天成建设"})
    contact = migrate_site.records.create("contact", {"customer": customer["id"], "name": "张伟"})
    visit = migrate_site.records.create("visit", {"customer": customer["id"], "contact": contact["id"],
                                                  "planned_at": "2026-03-09T10:00:00+00:00"})
    ids = {"customer": customer["id"], "contact": contact["id"], "visit": visit["id"]}
    migrate_site.engine.dispose()

    b2b_path = Path(__file__).resolve().parents[2] / "blueprints" / "b2b_sales"
    kill_when(database_url, b2b_path, customer["id"], tmp_path / "marker", moment == "in the transaction", moment)

    site = Site.open(b2b, database_url)  # a fresh process's view: SQLite's journal or PostgreSQL undoes the rest
    try:
        left, in_bin = records_left(site, ids), binned(site)
        assert all(left[name] or name in in_bin for name in ids)  # never neither
        if moment == "in the transaction":
            assert all(left.values()) and in_bin == set()  # rolled back whole
        else:
            assert not any(left.values()) and in_bin == set(ids)
            site.trash.restore(SYSTEM, site.trash.entries(SYSTEM)[0]["id"])
            assert all(records_left(site, ids).values())
    finally:
        site.engine.dispose()
