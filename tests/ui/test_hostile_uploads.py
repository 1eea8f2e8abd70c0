"""Hostile uploads and bodies (issue 14 F1, F9, item 7): the files that froze a worker are refused
with a message in the user's language; bodies are bounded before anything parses them; an import
a crash left running is marked interrupted and can be run again."""
from __future__ import annotations

import fcntl
import socket
import threading

import pytest
import uvicorn
from starlette.testclient import TestClient

from atrium.ui.records.import_jobs import JobStore
from tests.ui.test_import_page import GOOD, app, customers, form_of, poll, signed_in, token_of, upload  # noqa: F401

HOSTILE = {
    "quote_newline": b'"\n' * 10_000,                                     # 20 KB, took 32 s
    "quotes_64k": b'"' * 65_536,                                          # 64 KB, ~270 s
    "million_columns": b",".join([b"a"] * 1_000_000) + b"\n1\n",          # 7.9 MB, hung past 120 s
    "million_columns_late": b"x\n" + b",".join([b"1"] * 1_000_000) + b"\n",
    "long_cell": b"name\n" + b"x" * 200_000 + b"\n",
}
EXPECTED = {
    "quote_newline": "文件缺少表头行",
    "quotes_64k": "文件只有表头行",
    "million_columns": "文件超过 500 列",
    "million_columns_late": "文件超过 500 列",
    "long_cell": "超过 65536 个字符",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_the_files_that_froze_a_worker_are_refused_with_a_clear_message(app, name):  # noqa: F811
    client = signed_in(app, "wang")
    response = upload(client, HOSTILE[name])
    assert response.status_code == 422
    assert EXPECTED[name] in response.text
    assert customers(app.state.site) == []


def test_a_hostile_upload_does_not_hold_up_another_request(app):  # noqa: F811
    """Served by uvicorn: while the hostile files are parsed, /login answers on the same worker."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        import httpx2 as httpx
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base) as client:
            for _ in range(100):
                try:
                    client.get("/login")
                    break
                except httpx.TransportError:
                    threading.Event().wait(0.05)
            login = client.get("/login")
            token = token_of(login)
            client.post("/login", data={"name": "wang", "password": "wang-pass", "csrf_token": token})
            token = token_of(client.get("/r/customer/import"))
            answers: list[int] = []

            def post() -> None:
                with httpx.Client(base_url=base, cookies=client.cookies) as uploader:
                    answers.append(uploader.post("/r/customer/import", data={"csrf_token": token}, files={
                        "file": ("x.csv", HOSTILE["million_columns"], "text/csv")}).status_code)
            uploading = threading.Thread(target=post)
            uploading.start()
            while uploading.is_alive():
                assert httpx.get(base + "/login").status_code == 200  # the worker keeps answering
            uploading.join()
            assert answers == [422]
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_large_bodies_are_refused_before_they_are_read(app):  # noqa: F811
    anonymous = TestClient(app)
    token = token_of(anonymous.get("/login"))
    big = "x" * (3 * 1024 * 1024)
    refused = anonymous.post("/login", data={"name": big, "password": "p", "csrf_token": token})
    assert refused.status_code == 413 and "请求超过 1024 KB" in refused.text
    # streamed without a length: refused once past the limit, and the rest is never asked for
    asked = stream_to(app, "/login", anonymous.cookies, chunks=64, size=65536)
    assert asked["status"] == 413 and asked["chunks"] < 20
    api = anonymous.post("/api/v1/customer", content=b"{" + b" " * (2 * 1024 * 1024) + b"}",
                         headers={"Content-Type": "application/json", "Authorization": "Bearer nope"})
    assert api.status_code == 413 and api.json()["error"] == "too_large"
    # a fresh session (no CSRF token yet) is refused without its body being read
    fresh = TestClient(app).post("/login", data={"name": "wang", "password": "wang-pass"})
    assert fresh.status_code == 403
    # anonymous: the upload endpoint gets the small limit too; signed in, the upload limit
    upload_body = {"file": ("a.csv", b"name\n" + b"a\n" * (800 * 1024), "text/csv")}
    assert anonymous.post("/r/customer/import", data={"csrf_token": token}, files=upload_body).status_code == 413
    wang = signed_in(app, "wang")
    assert upload(wang, b"name\n" + "甲乙丙丁公司的一个名字很长的客户\n".encode() * 100_000).status_code == 303
    # an ordinary form of a signed-in user is still held to the small limit
    form_token = token_of(wang.get("/r/customer/new"))
    assert wang.post("/r/customer", data={"name": big, "csrf_token": form_token}).status_code == 413


def stream_to(asgi_app, path: str, cookies, chunks: int, size: int) -> dict:
    """Post `chunks` body messages of `size` bytes straight to the ASGI app (chunked: no length)."""
    import asyncio
    import concurrent.futures

    cookie = "; ".join(f"{name}={value}" for name, value in cookies.items())
    scope = {"type": "http", "method": "POST", "path": path, "raw_path": path.encode(), "query_string": b"",
             "headers": [(b"cookie", cookie.encode()), (b"content-type", b"application/x-www-form-urlencoded")],
             "scheme": "http", "server": ("testserver", 80), "client": ("127.0.0.1", 1), "root_path": "",
             "http_version": "1.1", "asgi": {"version": "3.0"}}
    seen = {"chunks": 0, "status": None}

    async def receive() -> dict:
        seen["chunks"] += 1
        return {"type": "http.request", "body": b"a" * size, "more_body": seen["chunks"] < chunks}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            seen["status"] = message["status"]
    # a loop of its own in a thread of its own: the browser tests' session may hold this thread's loop
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, asgi_app(scope, receive, send)).result()
    return seen


def test_an_import_left_running_by_a_crash_is_marked_interrupted_and_runs_again(app, monkeypatch):  # noqa: F811
    client = signed_in(app, "wang")
    job_url = upload(client, GOOD.encode()).headers["location"]
    check = client.post(job_url + "/check", data=form_of(client.get(job_url)))
    job = job_url.rsplit("/", 1)[1]
    store = JobStore(app.state.import_dir)
    # what a kill -9 leaves: the status says running, and nobody holds the job's lock
    store.write(job, "status", {"state": "running", "phase": "write", "done": 0, "total": 3})
    held = store.lock(job)  # while a worker holds the lock, the job is running, not interrupted
    assert held is not None
    assert store.recover(job)["state"] == "running" and store.recover_all() == 0
    held.close()
    assert store.recover_all() == 1 and store.read(job, "status")["state"] == "interrupted"
    page = client.get(job_url + "/progress")
    assert 'data-state="interrupted"' in page.text and "导入被中断" in page.text and 'id="import-retry"' in page.text
    assert customers(app.state.site) == []
    client.post(job_url + "/run", data={"csrf_token": token_of(check)})
    assert "导入完成：新建 3 条" in poll(client, job_url + "/progress")
    assert len(customers(app.state.site)) == 3
    # a poll finds its own job interrupted too (a worker other than the one that started it)
    store.write(job, "status", {"state": "running", "phase": "write", "done": 0, "total": 3})
    assert 'data-state="interrupted"' in client.get(job_url + "/progress").text


def test_job_lock_is_a_real_file_lock(tmp_path):
    store = JobStore(tmp_path)
    job = store.create({"user_id": 1}, b"a\n1\n")
    first = store.lock(job)
    assert first is not None and store.lock(job) is None
    with open(store.folder(job) / "lock", "ab") as other:
        with pytest.raises(OSError):
            fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
    first.close()
    assert store.lock(job) is not None
