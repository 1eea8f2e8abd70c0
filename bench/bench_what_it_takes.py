"""The what-it-takes widgets alone, on the database of bench/pages_data.py: the rep's (`compare:
company`) cold for a first rep, then for a second rep (the company's per-owner figures kept from the
first), then after an order write; the manager's (`compare: team`) cold and after an order write;
each with the SQL statements that took longest. CPU ms of this process (`time.process_time`): the
machine may be shared. Prints only (figures go to docs/benchmarks.md by hand).

    .venv/bin/python bench/bench_what_it_takes.py --db /tmp/copy-of-orders-1m.db --rounds 3
"""
from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_dashboard import open_app, write_an_order  # noqa: E402
from bench_pages import call, machine, sign_in  # noqa: E402


async def widget_path(app, cookie: str, title: str) -> str:
    """The partial of the home dashboard's widget titled `title` (its label in the site's language)."""
    _, _, page = await call(app, "GET", "/", cookie)
    for path in re.findall(rb'hx-get="([^"]+)" hx-trigger="load"', page):
        path = path.decode().replace("&amp;", "&")
        _, _, body = await call(app, "GET", path, cookie)
        if title.encode() in body:
            return path
    raise LookupError(title)


async def timed(app, cookie: str, path: str, statements: list) -> float:
    statements.clear()
    begun = time.process_time()
    status, _, body = await call(app, "GET", path, cookie)
    assert status == 200 and b"could not be computed" not in body, (path, status)
    return (time.process_time() - begun) * 1000


async def run(database: str, rounds: int) -> dict:
    from sqlalchemy import event

    from atrium.ui.reports.widget_cache import cache_of
    app, site = open_app(f"sqlite:///{database}")
    statements: list = []

    @event.listens_for(site.engine, "before_cursor_execute")
    def before(conn, cursor, statement, params, context, many):
        conn.info["bench_t"] = time.process_time()

    @event.listens_for(site.engine, "after_cursor_execute")
    def after(conn, cursor, statement, params, context, many):
        statements.append(((time.process_time() - conn.info["bench_t"]) * 1000, statement))

    cookies = {name: await sign_in(app, name, name) for name in ("rep1", "rep2", "manager")}
    rep_path = await widget_path(app, cookies["rep1"], "达成我的月度目标还需要什么")
    manager_path = await widget_path(app, cookies["manager"], "达成团队月度目标还需要什么")
    cache = cache_of(app.state)
    figures: dict[str, list[float]] = {}
    slowest: dict[str, list] = {}

    def note(name: str, ms: float) -> None:
        figures.setdefault(name, []).append(ms)
        slowest[name] = sorted(statements, key=lambda s: -s[0])[:4]

    for step in range(rounds):
        cache.clear()
        note("rep1, cold", await timed(app, cookies["rep1"], rep_path, statements))
        note("rep2, company figures kept", await timed(app, cookies["rep2"], rep_path, statements))
        note("manager, cold", await timed(app, cookies["manager"], manager_path, statements))
        write_an_order(site, 2 * step)
        note("rep1, after an order write", await timed(app, cookies["rep1"], rep_path, statements))
        note("manager, after an order write", await timed(app, cookies["manager"], manager_path, statements))
    site.engine.dispose()
    return {"figures": figures, "slowest": slowest}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="a copy of bench/pages_data.py's database (orders are written)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"machine: {machine()}", flush=True)
    result = asyncio.run(run(args.db, args.rounds))
    for name, values in result["figures"].items():
        print(f"{statistics.median(values):8.1f} ms CPU median  {name}  (rounds: "
              + ", ".join(f"{v:.1f}" for v in values) + ")")
        for ms, statement in result["slowest"][name]:
            main = " ".join(statement.split())
            main = main[main.find(") SELECT ") + 2:] if main.startswith("WITH") else main  # the scope's CTE
            print(f"           {ms:7.1f} ms  {main[:200]}")
    print(f"load average at the end: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
