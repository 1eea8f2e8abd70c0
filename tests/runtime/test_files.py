"""Files on records: stored through the storage, listed and read under the record's access, the
field's limits refused with a message beside the field, and nothing left behind when removed."""
from __future__ import annotations

import datetime as dt
import io

import pytest
import sqlalchemy as sa
from files_kit import files_site

from atrium.runtime.access.secured import AccessDenied, SecuredRecords
from atrium.runtime.automation.scheduler import Scheduler
from atrium.runtime.files.service import remove_files_of
from atrium.runtime.records.service import RecordNotFound, ValidationFailed
from atrium.runtime.schema.database import write_transaction

PDF = b"%PDF-1.4\n" + b"x" * 200


@pytest.fixture
def world(tmp_path, database_url):
    site, people = files_site(tmp_path, database_url)
    deal = SecuredRecords(site).create(people["rep"], "deal", {"name": "Big deal"})
    yield site, people, deal["id"], tmp_path / "files"
    site.engine.dispose()


def stored_objects(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_a_clerk_attaches_a_pdf_the_owner_reads_and_another_rep_cannot_find(world):
    site, people, deal, root = world
    added = site.files.attach(people["clerk"], "deal", deal, "signed", "signed.pdf", "application/pdf",
                              io.BytesIO(PDF))
    assert added["content_type"] == "application/pdf" and added["size"] == len(PDF)
    opened = site.files.open(people["rep"], added["id"])
    assert b"".join(opened.chunks) == PDF and opened.inline
    assert [f["name"] for f in site.files.of_record(people["rep"], "deal", deal)] == ["signed.pdf"]
    # the field's column lists it, so lists and exports show it without reading the files table
    record = SecuredRecords(site).get(people["rep"], "deal", deal)
    assert record["signed"] == [{"id": added["id"], "name": "signed.pdf", "size": len(PDF), "type": "application/pdf"}]
    with pytest.raises(RecordNotFound):
        site.files.open(people["other"], added["id"])
    with pytest.raises(RecordNotFound):
        site.files.of_record(people["other"], "deal", deal)
    # the key is random and the object sits under it, nothing under a temporary key
    assert stored_objects(root) == [added["key"]] and len(added["key"]) > 30


def test_the_fields_limits_are_refused_beside_the_field_in_the_users_language(world):
    site, people, deal, root = world
    with pytest.raises(ValidationFailed) as too_large:
        site.files.attach(people["rep"], "deal", deal, "signed", "big.pdf", "application/pdf",
                          io.BytesIO(b"x" * 2048))
    assert too_large.value.errors == {"signed": ["The file is larger than 1 KB"]}
    zh = people["rep"].__class__(**{**people["rep"].__dict__, "locale": "zh"})
    with pytest.raises(ValidationFailed) as wrong_type:
        site.files.attach(zh, "deal", deal, "signed", "notes.exe", None, io.BytesIO(b"MZ"))
    assert "接受" in wrong_type.value.errors["signed"][0]
    assert site.files.of_record(people["rep"], "deal", deal) == [] and stored_objects(root) == []


def test_a_one_file_field_replaces_its_file_and_a_multiple_one_keeps_adding(world):
    site, people, deal, root = world
    rep = people["rep"]
    first = site.files.attach(rep, "deal", deal, "signed", "a.pdf", None, io.BytesIO(PDF))
    second = site.files.attach(rep, "deal", deal, "signed", "b.png", None, io.BytesIO(b"\x89PNG"))
    site.files.attach(rep, "deal", deal, "photos", "1.jpg", None, io.BytesIO(b"1"))
    site.files.attach(rep, "deal", deal, "photos", "2.jpg", None, io.BytesIO(b"2"))
    site.files.attach(rep, "deal", deal, None, "minutes.txt", None, io.BytesIO(b"notes"))
    names = [f["name"] for f in site.files.of_record(rep, "deal", deal)]
    assert names == ["b.png", "1.jpg", "2.jpg", "minutes.txt"]
    assert first["key"] not in stored_objects(root) and second["key"] in stored_objects(root)
    assert len(stored_objects(root)) == 4


def test_deleting_needs_the_records_update_right_and_removes_the_object(world):
    site, people, deal, root = world
    added = site.files.attach(people["rep"], "deal", deal, "photos", "p.jpg", None, io.BytesIO(b"img"))
    with pytest.raises(AccessDenied):  # reads it, may not change it
        site.files.remove(people["viewer"], added["id"])
    with pytest.raises(RecordNotFound):
        site.files.remove(people["other"], added["id"])
    site.files.remove(people["clerk"], added["id"])
    assert stored_objects(root) == [] and site.files.of_record(people["rep"], "deal", deal) == []
    assert SecuredRecords(site).get(people["rep"], "deal", deal)["photos"] is None


def test_a_hidden_file_field_hides_its_files(world):
    site, people, deal, _ = world
    added = site.files.attach(people["rep"], "deal", deal, "secret_scan", "id.png", None, io.BytesIO(b"x"))
    assert site.files.of_record(people["viewer"], "deal", deal) == []
    with pytest.raises(RecordNotFound):
        site.files.open(people["viewer"], added["id"])


def test_a_purge_removes_the_records_files_and_objects(world):
    site, people, deal, root = world
    for name in ("1.jpg", "2.jpg"):
        site.files.attach(people["rep"], "deal", deal, "photos", name, None, io.BytesIO(b"x"))
    with write_transaction(site.engine) as connection:
        assert remove_files_of(site, connection, "deal", [deal]) == 2
    assert stored_objects(root) == []
    with site.engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(site.files.table)).scalar() == 0


def test_the_sweep_moves_a_committed_file_forward_and_deletes_an_abandoned_upload(world):
    site, people, deal, root = world
    added = site.files.attach(people["rep"], "deal", deal, "photos", "p.jpg", None, io.BytesIO(b"img"))
    # as if killed between the commit and the move: the object still under its temporary key
    site.files.storage.move(added["key"], "tmp/" + added["key"].split("/")[-1])
    assert b"".join(site.files.open(people["rep"], added["id"]).chunks) == b"img"  # still readable
    site.files.storage.put("tmp/abandoned", io.BytesIO(b"half an upload"))
    later = site.now().replace(year=site.now().year + 1)
    assert site.files.sweep(later) == (1, 1)
    assert stored_objects(root) == [added["key"]]


def test_the_servers_scheduler_sweeps_what_an_interrupted_upload_left(world):
    site, people, deal, root = world
    site.files.storage.put("tmp/ab/interrupted", io.BytesIO(b"half"))
    Scheduler(site).tick()  # written just now: an upload that may still be running is left alone
    assert stored_objects(root) == ["tmp/ab/interrupted"]
    site.clock = lambda: dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=2)
    Scheduler(site).tick()
    assert stored_objects(root) == []


def test_a_record_deleted_to_the_bin_keeps_its_files_until_the_bin_is_purged(world):
    site, people, deal, root = world
    site.files.attach(people["rep"], "deal", deal, "photos", "1.jpg", None, io.BytesIO(b"x"))
    SecuredRecords(site).delete(people["rep"], "deal", deal)
    assert len(stored_objects(root)) == 1  # in the bin: restorable with its files
    entry, = site.trash.entries(people["rep"])
    restored = site.trash.restore(people["rep"], entry["id"])
    assert restored["record_id"] == deal and len(stored_objects(root)) == 1
    assert [f["name"] for f in site.files.of_record(people["rep"], "deal", deal)] == ["1.jpg"]
    SecuredRecords(site).delete(people["rep"], "deal", deal)
    entry, = site.trash.entries(people["rep"])
    site.trash.purge(people["rep"], entry["id"])
    assert stored_objects(root) == []
    with site.engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(site.files.table)).scalar() == 0
