"""The standing comparison: Atrium's JSON API and pages next to the hand-written anchor app
(bench/anchor_app.py), served side by side in one run from the same SQLite file, with the Frappe
figures of issue 17 quoted as the peer. Records the server's CPU per request and req/s, and the SQL
statements and connections one page request takes; rewrites its section of docs/benchmarks.md.

    .venv/bin/python bench/bench_versus.py [--orders N] [--db PATH] [--seconds S] [--rounds R]

Each figure is measured `--rounds` times, Atrium and the anchor alternating, so both see the
same machine load; the section gives the range. Not a timed test.
"""
from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import random
import sqlite3
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for folder in (ROOT, ROOT / "bench"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
from anchor_app import create_anchor_app  # noqa: E402
from bench_pages import USERS, _short, call, machine, sign_in, wait_for_quiet  # noqa: E402
from benchmarks_doc import write_section  # noqa: E402
from pages_data import B2B, build_or_reuse  # noqa: E402
from sqlalchemy import event  # noqa: E402
from versus_report import render_section  # noqa: E402
from versus_serve import anchor_server, atrium_server, drive, sign_in_anchor, sign_in_atrium  # noqa: E402

from atrium.runtime.site.site import Site  # noqa: E402
from atrium.ui.web.app import Settings, create_app  # noqa: E402

DOC = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- bench_versus:start -->", "<!-- bench_versus:end -->"
START_PG, END_PG = "<!-- bench_versus_postgresql:start -->", "<!-- bench_versus_postgresql:end -->"
API_LIST = "/api/v1/order?sort=-expected_close&limit=50"
API_FILTERED = "/api/v1/order?stage=won&sort=-expected_close&limit=50"


def log(text: str) -> None:
    print(text, flush=True)


def order_ids(database: Path, owner_name: str | None, count: int, seed: int) -> list[int]:
    db = sqlite3.connect(database)
    try:
        if owner_name is None:
            ids = [row[0] for row in db.execute('SELECT id FROM "order"')]
        else:
            ids = [row[0] for row in db.execute('SELECT o.id FROM "order" o JOIN atrium_users u ON u.id = o.owner '
                                                "WHERE u.name = ?", (owner_name,))]
    finally:
        db.close()
    rng = random.Random(seed)
    return [rng.choice(ids) for _ in range(count)]


def figures(ids: list[int]) -> list[tuple[str, str, list[str]]]:
    """(figure, kind, paths): kind `api` is Atrium alone (its peer is Frappe), `page` both apps."""
    return [("JSON get one record", "api", [f"/api/v1/order/{i}" for i in ids]),
            ("JSON list, 50 rows, sort by expected close", "api", [API_LIST]),
            ("JSON list, 50 rows, stage = won, sort by expected close", "api", [API_FILTERED]),
            ("HTML detail page", "page", [f"/r/order/{i}" for i in ids]),
            ("HTML list page", "page", ["/r/order"])]


def served(database: Path, url: str, seconds: float, rounds: int, clients: int) -> dict:
    """Both apps under uvicorn at once; every figure `rounds` times, Atrium and anchor alternating."""
    results: dict = {}
    with tempfile.TemporaryDirectory(prefix="atrium-versus-") as folder:
        atrium, anchor = atrium_server(url, Path(folder)), anchor_server(url, Path(folder))
        try:
            atrium.wait_ready("/login")
            anchor.wait_ready("/login?name=nobody")
            for label, (name, password) in USERS.items():
                cookies = {"atrium": sign_in_atrium(atrium, name, password), "anchor": sign_in_anchor(anchor, name)}
                ids = order_ids(database, None if name == "admin" else name, 2000, seed=len(name))
                for _, kind, paths in figures(ids):
                    for server in (atrium, anchor) if kind == "page" else (atrium,):  # warm-up
                        drive(server, cookies[server.name], paths, 0, 1, least=5)
                for round_number in range(rounds):
                    for figure, kind, paths in figures(ids):
                        for server in (atrium, anchor) if kind == "page" else (atrium,):
                            run = drive(server, cookies[server.name], paths, seconds, clients)
                            results.setdefault((figure, label, server.name), []).append(run)
                            log(f"  [{round_number + 1}/{rounds}] {figure} as {label}, {server.name}: "
                                f"{run['cpu_ms']:.2f} ms CPU a request, {run['rps']:.0f} req/s, p50 "
                                f"{run['p50']:.1f} ms ({run['requests']} requests, statuses {run['statuses']})")
        finally:
            atrium.stop()
            anchor.stop()
    return results


def counted(app, engine, cookie: str, paths: list[str]) -> dict:
    """SQL statements and pool checkouts (connections) per request, over `paths`, and where in
    the code each connection of the first request was taken."""
    statements, checkouts, origins = [0], [0], []

    def on_statement(*_):
        statements[0] += 1

    def on_checkout(*_):
        checkouts[0] += 1
        if requests_done[0] == 0:
            stack = [(os.path.realpath(f.filename), f.lineno, f.name) for f in traceback.extract_stack()]
            frames = [f for f in stack if "/platform/" in f[0]][-2:]
            origins.append(" ← ".join(f"{path.split('/platform/')[-1]}:{line} ({name})" for path, line, name
                                      in reversed(frames)) or "the app itself")
    requests_done = [0]
    event.listen(engine, "before_cursor_execute", on_statement)
    event.listen(engine.pool, "checkout", on_checkout)
    try:
        sizes = []
        for path in paths:
            sizes.append(len(asyncio.run(call(app, "GET", path, cookie))[2]))
            requests_done[0] += 1
    finally:
        event.remove(engine, "before_cursor_execute", on_statement)
        event.remove(engine.pool, "checkout", on_checkout)
    return {"statements": statements[0] / len(paths), "connections": checkouts[0] / len(paths),
            "origins": origins, "kib": sum(sizes) / len(sizes) / 1024}


def statement_counts(database: Path, url: str) -> dict:
    """In-process, after warm-up: statements and connections per page request, both apps."""
    site = Site.open(B2B, url)
    atrium = create_app(Settings(str(B2B), url, secret_key="bench-versus", scheduler=False), site=site)
    anchor = create_anchor_app(url)
    result = {}
    for label, (name, password) in USERS.items():
        cookies = {"atrium": asyncio.run(sign_in(atrium, name, password))}
        _, headers, _ = asyncio.run(call(anchor, "GET", f"/login?name={name}"))
        cookies["anchor"] = headers["set-cookie"].split(";", 1)[0]
        ids = order_ids(database, None if name == "admin" else name, 20, seed=3)
        for figure, kind, paths in figures(ids):
            if kind != "page":
                continue
            sample = paths * (20 // len(paths))
            apps = (("atrium", atrium, site.engine), ("anchor", anchor, anchor.state.anchor.engine))
            for app_name, app, engine in apps:
                for path in sample[:3]:
                    asyncio.run(call(app, "GET", path, cookies[app_name]))  # caches filled
                result[(figure, label, app_name)] = counted(app, engine, cookies[app_name], sample)
    site.engine.dispose()
    anchor.state.anchor.engine.dispose()
    return result


async def _inline(function, *args, **kwargs):
    """anyio.to_thread.run_sync, run on the calling thread: cProfile sees one thread only."""
    kwargs.pop("abandon_on_cancel", None), kwargs.pop("cancellable", None), kwargs.pop("limiter", None)
    return function(*args)


def profiles(database: Path, url: str, requests: int = 30) -> dict:
    """cProfile of each page, Atrium and the anchor, as the admin: per request, the profiled time
    and the functions with the most own time (endpoints run inline instead of in the thread pool,
    so the profiler sees them)."""
    import anyio.to_thread
    site = Site.open(B2B, url)
    apps = {"atrium": create_app(Settings(str(B2B), url, secret_key="bench-versus", scheduler=False), site=site),
            "anchor": create_anchor_app(url)}
    cookies = {"atrium": asyncio.run(sign_in(apps["atrium"], *USERS["admin"]))}
    _, headers, _ = asyncio.run(call(apps["anchor"], "GET", "/login?name=admin"))
    cookies["anchor"] = headers["set-cookie"].split(";", 1)[0]
    ids = order_ids(database, None, requests, seed=5)
    result = {}
    threaded, anyio.to_thread.run_sync = anyio.to_thread.run_sync, _inline
    try:
        for figure, kind, paths in figures(ids):
            if kind != "page":
                continue
            sample = (paths * requests)[:requests]
            for name, app in apps.items():
                async def run(app=app, name=name, sample=sample) -> None:
                    for path in sample:
                        await call(app, "GET", path, cookies[name])
                asyncio.run(run())  # warm
                profiler = cProfile.Profile()
                profiler.enable()
                asyncio.run(run())
                profiler.disable()
                stats = pstats.Stats(profiler).stats
                own = sorted(((entry[2] / requests, entry[1] // requests, _short(path, line, function))
                              for (path, line, function), entry in stats.items()), reverse=True)[:8]
                result[(figure, name)] = {"total": sum(e[2] for e in stats.values()) / requests, "own": own}
    finally:
        anyio.to_thread.run_sync = threaded
        site.engine.dispose()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--db", default="/tmp/atrium-bench/orders-1m.db", help="kept and reused between runs")
    parser.add_argument("--seconds", type=float, default=5, help="seconds of each measured run")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each figure, the apps alternating")
    parser.add_argument("--clients", type=int, default=2, help="keep-alive connections driving a server")
    parser.add_argument("--quiet", type=float, default=1.0, help="load average to wait for before starting")
    parser.add_argument("--wait", type=float, default=0, help="minutes to wait at most for that load")
    parser.add_argument("--postgresql", metavar="URL",
                        help="copy the file into this PostgreSQL database (kept) and measure there")
    parser.add_argument("--no-doc", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    database = Path(args.db)
    data = build_or_reuse(database, args.orders)
    url = f"sqlite:///{database}"
    if args.postgresql:
        from versus_postgres import copy_or_reuse
        copy_or_reuse(database, args.postgresql, B2B)
        url = args.postgresql
    start_load = wait_for_quiet(args.quiet, args.wait)
    info = machine()
    log(f"machine: {info}")
    started = time.perf_counter()
    log("SQL statements and connections per page request (in-process):")
    counts = statement_counts(database, url)
    for key, value in counts.items():
        log(f"  {' / '.join(key)}: {value['statements']:.1f} statements, {value['connections']:.1f} connections")
    log("profiles (in-process, cProfile):")
    profiled = profiles(database, url)
    for (figure, name), value in profiled.items():
        log(f"  {figure}, {name}: {value['total'] * 1000:.1f} ms a request under the profiler")
    log(f"served side by side, {args.rounds} rounds of {args.seconds:g} s a figure, {args.clients} clients:")
    runs = served(database, url, args.seconds, args.rounds, args.clients)
    end_load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    start, end = (START, END) if not args.postgresql else (START_PG, END_PG)
    section = render_section(start, end, info, data, runs, counts, profiled, args, start_load, end_load,
                             time.perf_counter() - started)
    if args.no_doc:
        print(section)
    else:
        write_section(section, start, end, DOC)
        log(f"wrote {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
