"""Web page figures at 1,000,000 orders on SQLite: server time of the order list and detail pages
in-process, throughput of `atrium serve --workers 2` under wrk, memory per worker. Prints them and
rewrites its own section of docs/benchmarks.md.

    .venv/bin/python bench/bench_pages.py [--orders N] [--db PATH] [--requests N] [--duration S]

The database is built once under /tmp/atrium-bench/ (bench/pages_data.py) and reused. Not a timed
test: the figures vary with the machine's load, which the section states.
"""
from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import platform as python_platform
import pstats
import random
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT)) if str(ROOT) not in sys.path else None
sys.path.insert(0, str(ROOT / "bench")) if str(ROOT / "bench") not in sys.path else None
import sqlalchemy as sa  # noqa: E402
from benchmarks_doc import write_section  # noqa: E402
from pages_data import B2B, build_or_reuse  # noqa: E402
from pages_load import Server, wrk  # noqa: E402
from sqlalchemy import event  # noqa: E402

from atrium.runtime.site.site import Site  # noqa: E402
from atrium.ui.web.app import Settings, create_app  # noqa: E402

DOC = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- bench_pages:start -->", "<!-- bench_pages:end -->"
TARGET_MS = {"list": 30, "detail": 15}
TARGET_RPS, TARGET_P99_MS, CONNECTIONS = 500, 100, 32
USERS = {"admin": ("admin", "admin"), "sales rep": ("rep1", "rep1")}


def log(text: str) -> None:
    print(text, flush=True)


# --- in-process: the ASGI app called directly ------------------------------------------------

async def call(app, method: str, path: str, cookie: str | None = None, body: bytes = b"",
               content_type: str | None = None) -> tuple[int, dict, bytes]:
    """One request through the ASGI app, no client or socket in between."""
    raw, _, query = path.partition("?")
    headers = [(b"host", b"bench.local")]
    if cookie:
        headers.append((b"cookie", cookie.encode()))
    if content_type:
        headers += [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
             "scheme": "http", "path": raw, "raw_path": raw.encode(), "query_string": query.encode(),
             "root_path": "", "headers": headers, "client": ("127.0.0.1", 50000),
             "server": ("bench.local", 80)}
    sent = False
    answer: dict = {"headers": {}, "body": []}

    async def receive() -> dict:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
            for key, value in message.get("headers", []):
                answer["headers"].setdefault(key.decode().lower(), value.decode())
        elif message["type"] == "http.response.body":
            answer["body"].append(message.get("body", b""))

    await app(scope, receive, send)
    return answer["status"], answer["headers"], b"".join(answer["body"])


async def sign_in(app, name: str, password: str) -> str:
    _, headers, page = await call(app, "GET", "/login")
    cookie = headers["set-cookie"].split(";", 1)[0]
    token = re.search(rb'name="csrf_token" value="([^"]+)"', page).group(1).decode()
    form = urlencode({"name": name, "password": password, "csrf_token": token}).encode()
    status, headers, _ = await call(app, "POST", "/login", cookie, form, "application/x-www-form-urlencoded")
    assert status == 303, f"sign-in of {name}: {status}"
    return headers["set-cookie"].split(";", 1)[0]


async def timed_requests(app, cookie: str, paths: list[str], warmup: int) -> dict:
    for path in paths[:warmup]:
        await call(app, "GET", path, cookie)
    walls, cpus, statuses, size = [], [], set(), 0
    for path in paths[warmup:]:
        wall, cpu = time.perf_counter(), time.process_time()
        status, _, body = await call(app, "GET", path, cookie)
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
        statuses.add(status)
        size = max(size, len(body))
    cuts = statistics.quantiles(walls, n=100)
    return {"n": len(walls), "p50": statistics.median(walls), "p95": cuts[94], "max": max(walls),
            "cpu_p50": statistics.median(cpus), "statuses": sorted(statuses), "bytes": size}


def sample_ids(database: Path, owner_name: str | None, count: int, seed: int) -> list[int]:
    db = sqlite3.connect(database)
    try:
        if owner_name is None:
            top = db.execute('SELECT max(id) FROM "order"').fetchone()[0]
            rng = random.Random(seed)
            return [rng.randint(1, top) for _ in range(count)]
        ids = [row[0] for row in db.execute(
            'SELECT o.id FROM "order" o JOIN atrium_users u ON u.id = o.owner WHERE u.name = ?', (owner_name,))]
    finally:
        db.close()
    rng = random.Random(seed)
    return [rng.choice(ids) for _ in range(count)]


def owned_count(database: Path, owner_name: str) -> int:
    db = sqlite3.connect(database)
    try:
        return db.execute('SELECT count(*) FROM "order" o JOIN atrium_users u ON u.id = o.owner '
                          "WHERE u.name = ?", (owner_name,)).fetchone()[0]
    finally:
        db.close()


def statements_of(app, site, cookie: str, path: str, repeat: int = 3) -> list[dict]:
    """Every SQL statement one request runs, with its time (the least of `repeat` requests, the
    machine being shared) and the plan of each SELECT."""
    runs: list[list[dict]] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        conn.info["bench_started"] = time.perf_counter()

    def after(conn, cursor, statement, parameters, context, executemany):
        runs[-1].append({"sql": " ".join(statement.split()), "params": parameters,
                         "ms": (time.perf_counter() - conn.info.pop("bench_started")) * 1000})
    event.listen(site.engine, "before_cursor_execute", before)
    event.listen(site.engine, "after_cursor_execute", after)
    try:
        for _ in range(repeat):
            runs.append([])
            asyncio.run(call(app, "GET", path, cookie))
    finally:
        event.remove(site.engine, "before_cursor_execute", before)
        event.remove(site.engine, "after_cursor_execute", after)
    seen = runs[0]
    if all(len(run) == len(seen) for run in runs):
        for position, statement in enumerate(seen):
            statement["ms"] = min(run[position]["ms"] for run in runs)
    with site.engine.connect() as connection:
        for statement in seen:
            if statement["sql"].upper().startswith("SELECT"):
                plan = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement["sql"], statement["params"])
                statement["plan"] = [row[-1] for row in plan]
    return seen


PHASES = {  # (label, file suffix, function) whose cumulative time per request is reported
    "list": [("the list query and its capped count (`list_page.fetch`)", "ui/list_page.py", "fetch"),
             ("references shown: readable ids, titles, users (`Presenter.load`)", "ui/present.py", "load"),
             ("cells formatted (`list_page.cells`)", "ui/list_page.py", "cells"),
             ("filters, saved views, user choices", "ui/list_state.py", "filters_for"),
             ("template rendering (`templating.render`)", "ui/templating.py", "render")],
    "detail": [("the record through the access rules (`SecuredRecords.get`)", "runtime/secured.py", "get"),
               ("references shown (`Presenter.load`, every call)", "ui/present.py", "load"),
               ("update/delete allowed (`Access.allows`, two queries)", "runtime/access.py", "allows"),
               ("related lists (`detail_page.related_lists`)", "ui/detail_page.py", "related_lists"),
               ("timeline (`timeline.timeline`)", "ui/timeline.py", "timeline"),
               ("template rendering (`templating.render`)", "ui/templating.py", "render")],
    "all": [("SQLAlchemy + driver, all statements (`Connection.execute`)", "engine/base.py", "execute"),
            ("the SQLite driver alone (`Cursor.execute` + fetch)", "~",
             "<method 'execute' of 'sqlite3.Cursor' objects>")],
}


def profile_of(app, cookie: str, paths: list[str], page: str) -> dict:
    """cProfile over the given requests, per request: the page's phases (cumulative) and the
    functions with the most own time."""
    profiler = cProfile.Profile()

    async def run() -> None:
        for path in paths:
            await call(app, "GET", path, cookie)
    profiler.enable()
    asyncio.run(run())
    profiler.disable()
    stats = pstats.Stats(profiler).stats
    n = len(paths)
    total = sum(entry[2] for entry in stats.values()) / n
    phases = []
    for label, suffix, function in PHASES[page] + PHASES["all"]:
        cumulative = sum(entry[3] for (path, _, name), entry in stats.items()
                         if path.endswith(suffix) and name == function)
        phases.append((label, cumulative / n))
    own = sorted(((entry[2] / n, entry[1] // n, _short(path, line, name))
                  for (path, line, name), entry in stats.items()), reverse=True)[:10]
    return {"total": total, "phases": phases, "own": own, "requests": n}


def _short(path: str, line: int, name: str) -> str:
    path = os.path.realpath(path) if path.startswith("/") else path  # the package may be imported through a link
    if "/platform/" in path:
        path = path.split("/platform/", 1)[1]
    elif "site-packages/" in path:
        path = path.split("site-packages/", 1)[1]
    return f"{path}:{line}({name})" if path != "~" else name


def next_page(app, cookie: str, path: str) -> str | None:
    """The list's "next page" link (keyset cursor) on the page at `path`."""
    _, _, body = asyncio.run(call(app, "GET", path, cookie))
    found = re.search(rb'<a rel="next"[^>]* href="([^"]+)"', body)
    return found.group(1).decode().replace("&amp;", "&") if found else None


def bench_in_process(database: Path, requests: int, warmup: int, analyse: bool = True) -> dict:
    site = Site.open(B2B, f"sqlite:///{database}")
    app = create_app(Settings(str(B2B), f"sqlite:///{database}", secret_key="bench-pages"), site=site)
    results: dict = {"figures": [], "slow": {}, "statements": {}}
    for label, (name, password) in USERS.items():
        cookie = asyncio.run(sign_in(app, name, password))
        ids = sample_ids(database, None if name == "admin" else name, requests + warmup, seed=len(name))
        runs = [("list", "list", ["/r/order"] * (requests + warmup)),
                ("detail", "detail", [f"/r/order/{i}" for i in ids])]
        second = next_page(app, cookie, "/r/order") if name == "admin" else None
        if second:  # the next page through the keyset cursor: fewer requests, it is a side figure
            runs.insert(1, ("list page 2", "list", [second] * (requests // 4 + warmup // 4)))
        for page, kind, paths in runs:
            figure = asyncio.run(timed_requests(app, cookie, paths, warmup if kind == page else warmup // 4))
            figure.update(page=page, kind=kind, user=label)
            results["figures"].append(figure)
            met = figure["p50"] <= TARGET_MS[kind]
            log(f"  {page:12} as {label:9}: p50 {figure['p50']:6.1f} ms  p95 {figure['p95']:6.1f} ms  "
                f"(CPU p50 {figure['cpu_p50']:.1f} ms, statuses {figure['statuses']}) "
                f"target p50 <= {TARGET_MS[kind]} ms: {'met' if met else 'MISSED'}")
            statements = statements_of(app, site, cookie, paths[-1])
            results["statements"][(page, label)] = statements
            if analyse and page == kind and (not met or figure["cpu_p50"] > TARGET_MS[kind]):
                results["slow"][(page, label)] = {"statements": statements,
                                                   "profile": profile_of(app, cookie, paths[-20:], page)}
    site.engine.dispose()
    return results


# --- under load: atrium serve + wrk ----------------------------------------------------------

def bench_load(database: Path, duration: int, threads: int) -> dict:
    server = Server(database, workers=2)
    try:
        server.wait_ready()
        before = server.memory()
        runs = []
        with tempfile.TemporaryDirectory(prefix="atrium-wrk-") as folder:
            for label, (name, password) in USERS.items():
                cookie = server.sign_in(name, password)
                ids = sorted(set(sample_ids(database, None if name == "admin" else name, 5000, seed=7)))
                status, _, _ = server.request("GET", f"/r/order/{ids[0]}", headers={"Cookie": cookie})
                assert status == 200, f"detail page as {name} answered {status}"
                for page, prefix, page_ids in (("detail", "/r/order/", ids), ("list", "/r/order", [])):
                    server.drain()
                    load_before = Path("/proc/loadavg").read_text().split()[0]
                    cpu = server.cpu_seconds()
                    result = wrk(server.port, cookie, prefix, page_ids, Path(folder), duration, CONNECTIONS, threads)
                    cpu = server.cpu_seconds() - cpu  # while wrk ran (requests still queued are not counted)
                    result.update(page=page, user=label, ids=len(page_ids), load=load_before,
                                  cpu_ms=cpu * 1000 / max(1, result["requests"]),
                                  cpu_share=cpu / (duration * (os.cpu_count() or 1)))
                    runs.append(result)
                    log(f"  wrk {page:6} as {label:9}: {result['rps']:7.1f} req/s  p50 {result['p50']:6.1f} ms  "
                        f"p99 {result['p99']:6.1f} ms  ({result['requests']:,} requests, "
                        f"{result['not200']} not 200, {result['socket_errors']} socket errors; workers' CPU "
                        f"{result['cpu_ms']:.1f} ms a request, {result['cpu_share']:.0%} of the machine; "
                        f"load {load_before})")
        after = server.memory()
    finally:
        server.stop()
    db = sqlite3.connect(database)
    try:  # the memory one password check takes: the argon2 hashes' own parameter
        sample = db.execute("SELECT password_hash FROM atrium_users WHERE password_hash IS NOT NULL").fetchone()
    finally:
        db.close()
    argon = re.search(r"\$m=(\d+),t=(\d+),p=(\d+)", sample[0] if sample else "")
    return {"runs": runs, "before": before, "after": after, "argon2": argon.group(0)[1:] if argon else None,
            "argon2_mib": int(argon.group(1)) / 1024 if argon else None}


# --- report ----------------------------------------------------------------------------------

def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "unknown")
    kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
    return {"cpus": os.cpu_count(), "cpu": cpu, "memory": f"{kb / 1024 / 1024:.1f} GiB",
            "load": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
            "python": python_platform.python_version(), "sqlite": sqlite3.sqlite_version,
            "sqlalchemy": sa.__version__}


def wait_for_quiet(threshold: float, minutes: float) -> str:
    """Wait (up to `minutes`) for the one-minute load average to fall to `threshold`; returns it."""
    deadline = time.monotonic() + minutes * 60
    load = float(Path("/proc/loadavg").read_text().split()[0])
    if load > threshold and minutes > 0:
        log(f"load average {load:.2f}: waiting up to {minutes:g} min for it to fall to {threshold:g} ...")
    while load > threshold and time.monotonic() < deadline:
        time.sleep(10)
        load = float(Path("/proc/loadavg").read_text().split()[0])
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def write_doc(section: str) -> None:
    write_section(section, START, END, DOC)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--db", default="/tmp/atrium-bench/orders-1m.db", help="kept and reused between runs")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per page and user")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--duration", type=int, default=20, help="seconds of each wrk run")
    parser.add_argument("--wrk-threads", type=int, default=1)
    parser.add_argument("--no-load", action="store_true", help="skip the served part (wrk, memory)")
    parser.add_argument("--quiet", type=float, default=1.0, help="load average to wait for before starting")
    parser.add_argument("--wait", type=float, default=5, help="minutes to wait at most for that load")
    parser.add_argument("--no-doc", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    database = Path(args.db)
    data = build_or_reuse(database, args.orders)
    wait_for_quiet(args.quiet, args.wait)
    info = machine()
    log(f"machine: {info}")
    owned = owned_count(database, USERS["sales rep"][0])
    log(f"in-process server time, {args.requests} requests after {args.warmup} warm-up ({owned:,} orders "
        f"owned by {USERS['sales rep'][0]}):")
    pages = bench_in_process(database, args.requests, args.warmup)
    load = None
    if not args.no_load:
        log(f"atrium serve --workers 2 under wrk, {CONNECTIONS} connections, {args.duration} s a run:")
        load = bench_load(database, args.duration, args.wrk_threads)
        for entry in load["after"]:
            log(f"  {entry['role']} {entry['pid']}: VmRSS {entry['rss']:.0f} MiB (peak {entry['hwm']:.0f} MiB)")
    end_load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    from pages_report import Targets, render_section
    section = render_section(START, END, info, data, pages, load, args, owned, end_load,
                             Targets(TARGET_MS, TARGET_RPS, TARGET_P99_MS, CONNECTIONS))
    if args.no_doc:
        print(section)
    else:
        write_doc(section)
        log(f"wrote {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
