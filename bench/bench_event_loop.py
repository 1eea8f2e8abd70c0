"""One uvicorn worker under blocking work: how long a `GET /login` takes while another request
waits 3 s on SQLite's write lock, and the p50 of API PATCHes while people sign in (argon2, 0.5-1 s
of CPU each). Runs `atrium serve --workers 1` on a fresh SQLite file of the DESIGN.md example
blueprint; prints the figures and rewrites its section of docs/benchmarks.md.

    .venv/bin/python bench/bench_event_loop.py [--compare DIR] [--code DIR] [--label TEXT] [--no-doc]

`--compare DIR` measures another checkout's `platform/` first (e.g. `git worktree add --detach
/tmp/before 46bfb3a`, the code before issue 11) as the "before" row; `--code DIR` serves another
checkout instead of this one (the doc is then written only when `--label` names the row).
Not a timed test: the figures vary with the machine's load.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench")) if str(ROOT / "bench") not in sys.path else None
from benchmarks_doc import write_section  # noqa: E402
from pages_load import free_port  # noqa: E402

BLUEPRINT = ROOT / "tests" / "fixtures" / "design_examples"
HELD = 3.0
START, END = "<!-- bench_event_loop:start -->", "<!-- bench_event_loop:end -->"


def run_cli(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    done = subprocess.run([sys.executable, "-m", "atrium.cli", *args], env=env, input=stdin, text=True,
                          capture_output=True, check=True)
    return done.stdout.strip()


class Worker:
    """`atrium serve --workers 1`: one process, one event loop."""

    def __init__(self, env: dict[str, str], database: Path):
        self.port = free_port()
        self.log = open(database.parent / "serve.log", "w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "atrium.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--workers", "1"], env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while True:
            try:
                if Client(self).request("GET", "/login")[0] == 200:
                    break
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("atrium serve did not start; see serve.log")
            time.sleep(0.2)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=20)
        self.log.close()


class Client:
    """One keep-alive connection."""

    def __init__(self, worker: Worker, headers: dict[str, str] | None = None):
        self.port = worker.port
        self.connection = http.client.HTTPConnection("127.0.0.1", worker.port, timeout=60)
        self.headers = headers or {}
        self.failures = 0

    def request(self, method: str, path: str, body: str | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
        """The answer; a dropped connection counts as status 0 (the next request reconnects)."""
        try:
            self.connection.request(method, path, body=body, headers=dict(self.headers, **(headers or {})))
            response = self.connection.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read().decode()
        except (http.client.HTTPException, OSError) as error:
            self.connection.close()
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            return 0, {}, repr(error)

    def timed(self, method: str, path: str, body: str | None = None) -> float:
        started = time.perf_counter()
        status, _, _ = self.request(method, path, body, {"Content-Type": "application/json"} if body else None)
        self.failures += status not in (200, 303)
        return time.perf_counter() - started


def sign_in(worker: Worker, name: str) -> bool:
    client = Client(worker)
    status, headers, page = client.request("GET", "/login")
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    if status != 200 or found is None:
        return False
    cookie = headers["set-cookie"].split(";", 1)[0]
    status, _, _ = client.request("POST", "/login",
                                  urlencode({"name": name, "password": name, "csrf_token": found.group(1)}),
                                  {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"})
    return status == 303


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


def measure(code: Path) -> dict[str, float]:
    folder = Path(tempfile.mkdtemp(prefix="atrium-bench-loop-"))
    database = folder / "loop.db"
    package = folder / "package"
    package.mkdir()
    (package / "atrium").symlink_to(code / "platform")  # `atrium` is platform/ of the checkout measured
    env = dict(os.environ, PYTHONPATH=str(package), ATRIUM_BLUEPRINT=str(BLUEPRINT),
               ATRIUM_DATABASE_URL=f"sqlite:///{database}", ATRIUM_SECRET_KEY="bench-loop-secret",
               ATRIUM_SCHEDULER="off", ATRIUM_SITE_OVERLAY=str(folder / "site"))
    run_cli(env, "migrate")
    for name in ("ann", "bo", "cy", "di", "ed"):
        run_cli(env, "user", "add", name, "--role", "sales_rep", "--password-stdin", stdin=name + "\n")
    token = run_cli(env, "user", "token", "ann").split()[-1]
    worker = Worker(env, database)
    try:
        api = Client(worker, {"Authorization": f"Bearer {token}"})
        status, _, text = api.request("POST", "/api/v1/customer", json.dumps({"name": "Held Ltd"}),
                                      {"Content-Type": "application/json"})
        record = json.loads(text)
        assert status == 201, text
        browser = Client(worker)
        for _ in range(5):
            browser.timed("GET", "/login")
        alone = [browser.timed("GET", "/login") for _ in range(20)]

        patched: dict[str, float] = {}

        def held_write() -> None:
            started = time.perf_counter()
            status, _, _ = api.request("PATCH", f"/api/v1/customer/{record['id']}",
                                       json.dumps({"name": "Held Ltd 2", "version": record["version"]}),
                                       {"Content-Type": "application/json"})
            patched["seconds"] = time.perf_counter() - started
            patched["status"] = status

        lock = sqlite3.connect(database, isolation_level=None)
        lock.execute("BEGIN IMMEDIATE")
        locked_at = time.perf_counter()
        writer = threading.Thread(target=held_write)
        writer.start()
        time.sleep(0.3)
        under_lock = []
        while time.perf_counter() - locked_at < HELD - 0.2:
            under_lock.append(browser.timed("GET", "/login"))
            time.sleep(0.05)
        time.sleep(max(0.0, HELD - (time.perf_counter() - locked_at)))
        lock.execute("ROLLBACK")
        lock.close()
        writer.join()

        def current_version() -> int:
            for _ in range(20):
                status, _, text = api.request("GET", f"/api/v1/customer/{record['id']}")
                if status == 200:
                    return int(json.loads(text)["version"])
                time.sleep(0.5)
            raise RuntimeError(f"the record cannot be read: {status} {text[:200]}")

        version = current_version()
        failed = [0]

        def patches(count: int) -> list[float]:
            nonlocal version
            times = []
            for index in range(count):
                started = time.perf_counter()
                status, _, text = api.request("PATCH", f"/api/v1/customer/{record['id']}",
                                              json.dumps({"name": f"Busy {index}", "version": version}),
                                              {"Content-Type": "application/json"})
                times.append(time.perf_counter() - started)
                if status == 200:
                    version = json.loads(text)["version"]
                else:  # the old code could answer 500 (database is locked) or drop the connection
                    failed[0] += 1
                    version = current_version()
            return times

        quiet = patches(30)
        stop = threading.Event()
        signed = [0]

        def signer(name: str) -> None:
            while not stop.is_set():
                if sign_in(worker, name):
                    signed[0] += 1
                else:
                    failed[0] += 1

        signers = [threading.Thread(target=signer, args=(name,)) for name in ("bo", "cy", "di", "ed")]
        for thread in signers:
            thread.start()
        time.sleep(0.5)
        busy = patches(30)
        stop.set()
        for thread in signers:
            thread.join()
    finally:
        worker.stop()
    return {"login_alone_p50": statistics.median(alone), "login_locked_p50": statistics.median(under_lock),
            "login_locked_max": max(under_lock), "locked_samples": len(under_lock),
            "held_patch": patched.get("seconds", 0.0), "patch_quiet_p50": statistics.median(quiet),
            "patch_signins_p50": statistics.median(busy), "sign_ins": signed[0], "failed": failed[0] + browser.failures,
            "held_status": patched.get("status", 0)}


def report(label: str, figures: dict[str, float]) -> list[str]:
    return [f"| {label} | {ms(figures['login_alone_p50'])} | {ms(figures['login_locked_p50'])} "
            f"(max {ms(figures['login_locked_max'])}, {figures['locked_samples']:.0f} requests) | "
            f"{ms(figures['held_patch'])} ({figures['held_status']:.0f}) | {ms(figures['patch_quiet_p50'])} | "
            f"{ms(figures['patch_signins_p50'])} ({figures['sign_ins']:.0f} sign-ins) | {figures['failed']:.0f} |"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--code", type=Path, default=ROOT, help="checkout whose platform/ is served")
    parser.add_argument("--label", help="row label (and write the doc even with --code)")
    parser.add_argument("--no-doc", action="store_true")
    parser.add_argument("--compare", type=Path, help="another checkout measured first, as the 'before' row")
    args = parser.parse_args()
    rows = []
    if args.compare:
        commit = subprocess.run(["git", "-C", str(args.compare), "rev-parse", "--short", "HEAD"], text=True,
                                capture_output=True).stdout.strip() or args.compare.name
        rows += report(f"before ({commit})", measure(args.compare.resolve()))
    rows += report(args.label or "this checkout", measure(args.code.resolve()))
    load = os.getloadavg()[0]
    table = ["| code | GET /login p50 alone | GET /login under a 3 s write lock | the held PATCH (status) | "
             "PATCH p50 quiet | PATCH p50 while 4 users sign in | requests failed |",
             "|---|---|---|---|---|---|---|", *rows]
    print("\n".join(table))
    print(f"load average {load:.1f} on {os.cpu_count()} cores")
    if not args.no_doc and (args.code.resolve() == ROOT or args.label):
        section = "\n".join([
            START, "## One worker under blocking work (bench_event_loop.py)", "",
            "`atrium serve --workers 1` on SQLite (the DESIGN.md example blueprint). A request waits 3 s on the "
            "write lock another connection holds (BEGIN IMMEDIATE) while `GET /login` is timed (the held PATCH's "
            "status in brackets: 200 when it waited the lock out, 500 when SQLite gave up); then 30 API "
            "PATCHes are timed alone and while four users sign in over and over (argon2). On the code before "
            "issue 11 the timing thread itself waits behind the blocked loop, so the lock is released only "
            "when the PATCH gives up after SQLite's 10 s busy_timeout.", "",
            *table, "", f"Load average {load:.1f} on {os.cpu_count()} cores while measuring.", END])
        write_section(section, START, END)


if __name__ == "__main__":
    main()
