"""Files on records (issue 16): upload and download of a 10 MB file through `atrium serve
--workers 1` on a fresh SQLite file of the shipped b2b_sales blueprint, with the time and the
peak memory the server process gained meanwhile (its VmHWM, reset before each transfer through
/proc/PID/clear_refs), to show the file is streamed, not held whole. Prints the figures and
rewrites its section of docs/benchmarks.md.

    .venv/bin/python bench/bench_files.py [--mb 10] [--runs 3] [--no-doc]

Linux only (it reads /proc). Not a timed test: the figures vary with the machine's load.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import httpx2 as httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench")) if str(ROOT / "bench") not in sys.path else None
from bench_event_loop import Worker, run_cli  # noqa: E402
from benchmarks_doc import write_section  # noqa: E402

BLUEPRINT = ROOT / "blueprints" / "b2b_sales"
START, END = "<!-- bench_files:start -->", "<!-- bench_files:end -->"


def kib(pid: int, key: str) -> int:
    """A figure of /proc/PID/status in KiB (VmRSS, VmHWM)."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(rf"^{key}:\s+(\d+) kB", status, re.M).group(1))


def measured(pid: int, transfer: Callable[[], int]) -> tuple[int, float, float]:
    """(status, seconds, MB the server's peak resident memory rose above where it stood)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # the peak starts again from the current size
    before = kib(pid, "VmRSS")
    started = time.perf_counter()
    status = transfer()
    seconds = time.perf_counter() - started
    return status, seconds, (kib(pid, "VmHWM") - before) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-doc", action="store_true")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="atrium-bench-files-"))
    database = folder / "files.db"
    env = dict(os.environ, ATRIUM_BLUEPRINT=str(BLUEPRINT), ATRIUM_DATABASE_URL=f"sqlite:///{database}",
               ATRIUM_SECRET_KEY="bench-files-secret", ATRIUM_SCHEDULER="off",
               ATRIUM_SITE_OVERLAY=str(folder / "site"), ATRIUM_FILES=str(folder / "files"))
    run_cli(env, "migrate")
    run_cli(env, "user", "add", "bench", "--role", "admin", "--password-stdin", stdin="bench\n")
    token = run_cli(env, "user", "token", "bench").split()[-1]
    payload = folder / "scan.bin"
    payload.write_bytes(os.urandom(args.mb * 1024 * 1024))
    worker = Worker(env, database)
    pid = worker.process.pid
    base = f"http://127.0.0.1:{worker.port}"
    api = httpx.Client(base_url=base, timeout=300, headers={"Authorization": f"Bearer {token}"})
    page = httpx.Client(base_url=base, timeout=300)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.get("/login").text).group(1)
    page.post("/login", data={"name": "bench", "password": "bench", "csrf_token": csrf})
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page.get("/").text).group(1)
    customer = api.post("/api/v1/customer", json={"name": "Bench files Ltd"}).json()["id"]
    results: dict[str, list[tuple[int, float, float]]] = {}
    file_ids: list[int] = []

    def api_upload() -> int:
        with payload.open("rb") as stream:
            answer = api.post(f"/api/v1/customer/{customer}/files", files={"file": ("scan.bin", stream)})
        file_ids.append(answer.json()["id"])
        return answer.status_code

    def page_upload() -> int:  # as the page's htmx form sends it: the CSRF token in a header
        with payload.open("rb") as stream:
            return page.post(f"/r/customer/{customer}/files", files={"file": ("scan.bin", stream)},
                             headers={"X-CSRF-Token": csrf, "HX-Request": "true"}).status_code

    def plain_form_upload() -> int:  # without JavaScript: the CSRF token in the form, beside the file
        with payload.open("rb") as stream:
            return page.post(f"/r/customer/{customer}/files", data={"csrf_token": csrf},
                             files={"file": ("scan.bin", stream)}).status_code

    def download() -> int:
        received = 0
        with api.stream("GET", f"/api/v1/files/{file_ids[0]}") as answer:
            for chunk in answer.iter_bytes():
                received += len(chunk)
        assert received == payload.stat().st_size
        return answer.status_code

    try:
        for name, transfer in (("upload, API (multipart, bearer token)", api_upload),
                               ("upload, record page (htmx form)", page_upload),
                               ("upload, record page without JavaScript", plain_form_upload),
                               ("download, API", download)):
            transfer()  # warm: imports, first connections
            results[name] = [measured(pid, transfer) for _ in range(args.runs)]
    finally:
        api.close()
        page.close()
        worker.stop()
    size = payload.stat().st_size / 1024 / 1024
    lines = [START, "## Files on records (`bench/bench_files.py`)", "",
             f"One `atrium serve --workers 1` on SQLite (b2b_sales), files in a local folder. A {size:.0f} MB file of",
             "random bytes attached to a customer and read back, "
             f"{args.runs} runs each after a warm-up: the median time and the most the",
             "server process's peak resident memory (VmHWM, reset before each run) rose above its size before it.", "",
             "| transfer | status | median time | MB/s | peak memory gained (worst run) |", "|---|---|---|---|---|"]
    for name, runs in results.items():
        seconds = statistics.median(run[1] for run in runs)
        lines.append(f"| {name} | {runs[0][0]} | {seconds * 1000:,.0f} ms | {size / seconds:,.0f} | "
                     f"{max(run[2] for run in runs):.1f} MB |")
    lines += ["", "The upload is parsed by Starlette's multipart parser, which spools the file to a temporary file",
              "past 1 MB; the files service copies it to the storage in 1 MB chunks under a temporary key, commits",
              "its row and moves it to its final key. A download streams the stored file in 1 MB chunks. So the",
              f"memory a transfer needs stays far below the {size:.0f} MB of the file. With htmx the page sends its",
              "CSRF token in the `X-CSRF-Token` header, checked without reading the body; without JavaScript the",
              "token is in the form, and the upload endpoint checks it once the file is spooled (the identity",
              "middleware lets such an upload through unread). Measured " + dt.date.today().isoformat() + ".", END]
    section = "\n".join(lines)
    print(section)
    if not args.no_doc:
        write_section(section, START, END)


if __name__ == "__main__":
    main()
