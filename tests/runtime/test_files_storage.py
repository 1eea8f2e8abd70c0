"""The storages behind attached files: an S3-compatible bucket (moto's server, a real HTTP
endpoint) works as the local folder does, and a process killed mid-upload leaves no orphan."""
from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from files_kit import files_site

from atrium.runtime.access.secured import SecuredRecords
from atrium.runtime.files.storage import S3Storage

PDF = b"%PDF-1.4\n" + os.urandom(600)


@pytest.fixture(scope="module")
def s3_endpoint():
    boto3 = pytest.importorskip("boto3")
    moto_server = pytest.importorskip("moto.server")
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
                          aws_secret_access_key="test")
    client.create_bucket(Bucket="atrium")
    yield client
    server.stop()


def bucket_keys(client) -> list[str]:
    return sorted(item["Key"] for item in client.list_objects_v2(Bucket="atrium").get("Contents", ()))


def test_files_in_an_s3_bucket_upload_read_replace_and_delete(tmp_path, database_url, s3_endpoint):
    storage = S3Storage("atrium", "site-a", client=s3_endpoint)
    site, people = files_site(tmp_path, database_url, storage)
    deal = SecuredRecords(site).create(people["rep"], "deal", {"name": "In the bucket"})["id"]
    big = os.urandom(6 * 1024 * 1024)  # past one 5 MB part: a multipart upload
    added = site.files.attach(people["clerk"], "deal", deal, "photos", "scan.jpg", "image/jpeg", io.BytesIO(big))
    assert b"".join(site.files.open(people["rep"], added["id"]).chunks) == big
    assert bucket_keys(s3_endpoint) == ["site-a/" + added["key"]]
    site.files.remove(people["rep"], added["id"])
    assert bucket_keys(s3_endpoint) == []
    # what a crash leaves in a bucket is settled as in a folder: a committed file moved forward,
    # an abandoned upload deleted
    kept = site.files.attach(people["rep"], "deal", deal, "photos", "kept.jpg", None, io.BytesIO(b"kept"))
    storage.move(kept["key"], "tmp/" + kept["key"].split("/")[-1])
    assert b"".join(site.files.open(people["rep"], kept["id"]).chunks) == b"kept"
    storage.put("tmp/abandoned", io.BytesIO(b"half"))
    with pytest.raises(FileNotFoundError):
        storage.move("no/such-key", "tmp/such-key")
    assert site.files.sweep(site.now().replace(year=site.now().year + 1)) == (1, 1)
    assert bucket_keys(s3_endpoint) == ["site-a/" + kept["key"]]
    site.engine.dispose()


CHILD = textwrap.dedent("""
    import sys, time
    from atrium.metadata import load_blueprint
    from atrium.runtime.files.service import Files
    from atrium.runtime.files.storage import LocalStorage
    from atrium.runtime.records.evaluation import Actor
    from atrium.runtime.site.site import Site

    class Slow:
        # what a client sends: 100 KB at a time, then nothing more
        sent = 0
        def read(self, size=-1):
            if self.sent >= 300_000:
                time.sleep(60)  # the rest of the upload never comes: killed here
            self.sent += 100_000
            return b"x" * 100_000

    folder, url, user, deal = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    site = Site.open(load_blueprint(folder + "/bp"), url)
    files = Files(site, LocalStorage(folder + "/files"))
    files.attach(Actor(user_id=user, name="rep", role="rep"), "deal", deal, "photos", "big.jpg", None,
                 Slow())
""")


def test_a_kill_during_an_upload_leaves_no_row_and_the_sweep_removes_the_partial_object(tmp_path, database_url):
    site, people = files_site(tmp_path, database_url)
    deal = SecuredRecords(site).create(people["rep"], "deal", {"name": "Killed upload"})["id"]
    root = Path(tmp_path / "files")
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path), database_url,
                              str(people["rep"].user_id), str(deal)], env={**os.environ, "PYTHONPATH": os.getcwd()})
    try:
        deadline = time.monotonic() + 60
        while not any(p.is_file() and p.stat().st_size >= 300_000 for p in root.rglob("*")):
            assert child.poll() is None and time.monotonic() < deadline, "the upload never got going"
            time.sleep(0.05)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    partial = [p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()]
    assert len(partial) == 1 and partial[0].startswith("tmp/")  # only under a temporary key
    assert site.files.of_record(people["rep"], "deal", deal) == []
    assert SecuredRecords(site).get(people["rep"], "deal", deal)["photos"] is None
    assert site.files.sweep() == (0, 0)  # an upload younger than an hour may still be running
    assert site.files.sweep(site.now().replace(year=site.now().year + 1)) == (0, 1)
    assert not any(p.is_file() for p in root.rglob("*"))
    site.engine.dispose()


REMOVE_CHILD = textwrap.dedent("""
    import sys, time
    from atrium.metadata import load_blueprint
    from atrium.runtime.files.service import Files
    from atrium.runtime.files.storage import LocalStorage
    from atrium.runtime.records.evaluation import Actor
    from atrium.runtime.site.site import Site

    class Stalling(LocalStorage):
        # the object is moved aside, then the process stalls before the row's removal commits
        def move(self, key, to):
            super().move(key, to)
            print("moved", flush=True)
            time.sleep(60)

    folder, url, user, file_id = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    site = Site.open(load_blueprint(folder + "/bp"), url)
    Files(site, Stalling(folder + "/files")).remove(Actor(user_id=user, name="rep", role="rep"), file_id)
""")


def test_a_kill_during_a_removal_keeps_the_file_and_the_sweep_puts_it_back(tmp_path, database_url):
    site, people = files_site(tmp_path, database_url)
    rep = people["rep"]
    deal = SecuredRecords(site).create(rep, "deal", {"name": "Killed removal"})["id"]
    added = site.files.attach(rep, "deal", deal, "photos", "p.jpg", None, io.BytesIO(PDF))
    child = subprocess.Popen([sys.executable, "-c", REMOVE_CHILD, str(tmp_path), database_url, str(rep.user_id),
                              str(added["id"])], env={**os.environ, "PYTHONPATH": os.getcwd()},
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "moved"
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        child.stdout.close()
    # the row's removal never committed: the file is still listed and still reads
    assert [f["id"] for f in site.files.of_record(rep, "deal", deal)] == [added["id"]]
    assert b"".join(site.files.open(rep, added["id"]).chunks) == PDF
    assert site.files.sweep(site.now().replace(year=site.now().year + 1)) == (1, 0)
    root = tmp_path / "files"
    assert [p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()] == [added["key"]]
    site.engine.dispose()
