"""Filtered lists at 1,000,000 orders: server time of the first page of the order list (JSON API and
HTML page, in-process) for each query shape, as the admin and as an owner-scoped sales rep, with the
index each one reads; the indexes the list views add and what they cost a bulk insert. Prints them
and rewrites its own section of docs/benchmarks.md.

    .venv/bin/python bench/bench_lists.py [--db PATH] [--requests N] [--pg URL] [--before]

The SQLite database is bench/pages_data.py's (built once under /tmp/atrium-bench/, reused);
reusing it runs `atrium migrate`, which adds the indexes the list views derive (timed: an upgrade).
`--before` skips that migration and the index walk: the figures of the code before them.
`--pg URL` copies the orders into a PostgreSQL schema and measures the same shapes there.
Not a timed test: the figures vary with the machine's load, which the section states.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT)) if str(ROOT) not in sys.path else None
sys.path.insert(0, str(ROOT / "bench")) if str(ROOT / "bench") not in sys.path else None
from bench_pages import call, machine, sign_in, wait_for_quiet  # noqa: E402
from benchmarks_doc import write_section  # noqa: E402
from lists_writes import index_write_cost  # noqa: E402
from pages_data import B2B, build_or_reuse  # noqa: E402
from sqlalchemy import event  # noqa: E402

from atrium.metadata import load_blueprint  # noqa: E402
from atrium.runtime.query.lists import Queries  # noqa: E402
from atrium.runtime.schema.list_indexes import list_index_columns, scoped_by_owner  # noqa: E402
from atrium.runtime.site.site import Site  # noqa: E402
from atrium.ui.web.app import Settings, create_app  # noqa: E402

START, END = "<!-- bench_lists:start -->", "<!-- bench_lists:end -->"
TARGET_MS = 20
USERS = {"admin": ("admin", "admin"), "sales rep": ("rep1", "rep1")}
SHAPES = [  # (what, query string): the first page, 50 rows
    ("sorted by expected close", "sort=-expected_close"),
    ("stage = won, by expected close", "stage=won&sort=-expected_close"),
    ("stage = won, by amount", "stage=won&sort=-amount"),
    ("stage = negotiation, by name", "stage=negotiation&sort=name"),
    ("lost reason = price, by expected close", "lost_reason=price&sort=-expected_close"),
    ("lost reason = price, by amount (rare value, other sort)", "lost_reason=price&sort=-amount"),
    ("customer level = vip, by expected close (through a reference)", "customer.level=vip&sort=-expected_close"),
]
PAGES = [("HTML page: stage = won, by amount", "/r/order?stage=won&sort=-amount")]


def log(text: str) -> None:
    print(text, flush=True)


def timed(app, cookie: str, path: str, requests: int, warmup: int) -> dict:
    async def run() -> dict:
        for _ in range(warmup):
            await call(app, "GET", path, cookie)
        walls, cpus, statuses = [], [], set()
        for _ in range(requests):
            wall, cpu = time.perf_counter(), time.process_time()
            status, _, body = await call(app, "GET", path, cookie)
            walls.append((time.perf_counter() - wall) * 1000)
            cpus.append((time.process_time() - cpu) * 1000)
            statuses.add(status)
        rows = len(json.loads(body)["data"]) if path.startswith("/api/") and status == 200 else None
        return {"p50": statistics.median(walls), "p95": statistics.quantiles(walls, n=20)[18],
                "cpu_p50": statistics.median(cpus), "statuses": sorted(statuses), "rows": rows}
    return asyncio.run(run())


def list_statements(app, site, cookie: str, path: str) -> list[tuple[str, float, list[str]]]:
    """The list's SELECTs of the order table one request runs: (SQL, ms, plan)."""
    seen: list[tuple[str, tuple, float]] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        conn.info["bench_started"] = time.perf_counter()

    def after(conn, cursor, statement, parameters, context, executemany):
        took = (time.perf_counter() - conn.info.pop("bench_started")) * 1000
        if statement.lstrip().upper().startswith("SELECT") and 'FROM "order"' in statement:
            seen.append((" ".join(statement.split()), parameters, took))
    event.listen(site.engine, "before_cursor_execute", before)
    event.listen(site.engine, "after_cursor_execute", after)
    try:
        asyncio.run(call(app, "GET", path, cookie))
    finally:
        event.remove(site.engine, "before_cursor_execute", before)
        event.remove(site.engine, "after_cursor_execute", after)
    explained = []
    with site.engine.connect() as connection:
        for sql, parameters, took in seen:
            prefix = "EXPLAIN QUERY PLAN " if connection.dialect.name == "sqlite" else "EXPLAIN "
            plan = [str(row[-1]) for row in connection.exec_driver_sql(prefix + sql, parameters)]
            explained.append((sql, took, plan))
    return explained


def api_path(query: str) -> str:
    return f"/api/v1/order?{query}&limit=50"


def bench_site(url: str, requests: int, warmup: int, walk: bool) -> list[dict]:
    site = Site.open(B2B, url)
    app = create_app(Settings(str(B2B), url, secret_key="bench-lists"), site=site)
    original = Queries._walk_pays
    if not walk:
        Queries._walk_pays = lambda *args, **kwargs: False  # type: ignore[method-assign]
    figures = []
    try:
        for user, (name, password) in USERS.items():
            cookie = asyncio.run(sign_in(app, name, password))
            for what, path in [(what, api_path(query)) for what, query in SHAPES] + PAGES:
                figure = timed(app, cookie, path, requests, warmup)
                statements = list_statements(app, site, cookie, path)
                figure.update(what=what, user=user, path=path, statements=statements)
                figures.append(figure)
                plans = " | ".join("; ".join(plan) for _, _, plan in statements[:2])
                log(f"  {what:62} as {user:9}: p50 {figure['p50']:6.1f} ms  p95 {figure['p95']:6.1f} ms  "
                    f"(CPU {figure['cpu_p50']:.1f} ms, {figure['statuses']}, rows {figure['rows']}) {plans[:160]}")
    finally:
        Queries._walk_pays = original  # type: ignore[method-assign]
        site.engine.dispose()
    return figures


def index_counts() -> dict:
    blueprint = load_blueprint(B2B)
    from atrium.runtime.schema.tables import build_tables
    tables = build_tables(blueprint)
    return {"order": len(tables["order"].indexes), "all": sum(len(t.indexes) for t in tables.entities.values()),
            "order_list": [list(c) for c in list_index_columns(
                blueprint.entities["order"], blueprint.view("order"), scoped_by_owner(blueprint, "order"))]}


UPGRADE = ("The upgrade that added the derived indexes to this database (order 13 → 21 indexes, all tables "
           "117 → 287, dropping the automatic ones another index starts with) took 91 s on SQLite with the "
           "statistics, at load 10 (2026-12-06); the later change to descending default-sort indexes, 23 s.")
FINDINGS = [
    "**How.** Indexes derived from each list view (schema/list_indexes.py): the default sort alone, after "
    "the owner and after each few-valued filter (stage, select, boolean, user), each sortable column alone, "
    "and, where a role reads by owner, each of these after the owner; a descending default sort is indexed "
    "descending with empty values last (on PostgreSQL, which reads an index with empty values last in one "
    "direction only). A filter with another sort reads a window of that sort's index first "
    "(query/index_walk.py: 40 rows per row asked for, then the plain statement when the window holds less "
    "than a page); on PostgreSQL a sort against its index's direction reads the non-empty values backwards.",
    "",
    "**Not met, and why** (the run of 2026-12-07 16:40, while the whole test suite ran on the same machine "
    "and the same PostgreSQL server). (1) SQLite, the admin's filter through a reference (`customer.level`), "
    "22 ms: the first page is read from a window of 2,040 full order rows along the expected-close index, "
    "most of them then dropped by the customer test (reading the window's ids alone measured 9 ms against "
    "23 ms, not done); a rep's is answered from the ids of its matches (query/through.py). (2) PostgreSQL: "
    "the Python process's CPU is 7-16 ms for every shape; the wall times over 20 ms are the server's work "
    "and its queue behind the suite's statements: sorts by amount or name with a filter read the window "
    "of an index made the other way, or the plain statement and a sort, and the admin's reference filter "
    "reads the matching customers' orders as a bitmap of ~100,000 index entries, which cannot stop at the "
    "count's cap of 1,001. (3) The HTML page: the list query is a few ms of it; the rest is the page's own "
    "work (deliverable 3, `bench_versus.py`). (4) The index walk's window costs up to 40 × 51 row look-ups "
    "before it falls back (a rare value with another sort).",
    "",
]


def _change(before: float, after: float) -> str:
    return f"{1 - after / before:.0%} slower" if after < before else f"{after / before - 1:.0%} faster (noise)"


def render(info: dict, data: dict, runs: dict, counts: dict, writes: dict | None, args) -> str:
    lines = [START, "## Filtered lists at 1,000,000 orders (`bench/bench_lists.py`)", "",
             f"Run {time.strftime('%Y-%m-%d %H:%M')} on {info['cpus']} × {info['cpu']}, {info['memory']}, "
             f"load {info['load']}; Python {info['python']}, SQLite {info['sqlite']}, SQLAlchemy "
             f"{info['sqlalchemy']}. `{' '.join(sys.argv[1:]) or '(defaults)'}`. Database: "
             f"{data['counts']['order']:,} orders, {data['counts']['customer']:,} customers "
             f"(bench/pages_data.py). Server time of the first page (50 rows) through the ASGI app in-process, "
             f"{args.requests} requests after {args.warmup} warm-up, the same query each time (warm cache). "
             f"Target: p50 ≤ {TARGET_MS} ms.", ""]
    if data.get("migrate_seconds") is not None:
        lines += [f"`atrium migrate` on the reused database and fresh statistics took {data['migrate_seconds']:.0f} s "
                  f"this run. {UPGRADE}", ""]
    lines += [f"Indexes: the order table has {counts['order']} (13 before), the blueprint's 17 tables "
              f"{counts['all']} (117 before). The order list view asks for "
              + ", ".join("(" + ", ".join(c) + ")" for c in counts["order_list"])
              + "; an automatic index that starts another is left out ((stage), (owner)).", ""]
    before = Path(args.db).with_suffix(".lists-before.md")
    if not args.before and before.exists():  # what --before measured on this database before its upgrade
        lines += ["### SQLite, before this change", "", before.read_text().strip(), ""]
    for label, figures in runs.items():
        lines += [f"### {label}", "", "| shape | user | p50 ms | p95 ms | CPU p50 ms | rows | target | "
                  "what the database reads |", "|---|---|---|---|---|---|---|---|"]
        for f in figures:
            plan = " / ".join("; ".join(plan) for _, _, plan in f["statements"][:2]).replace("|", "/")
            lines.append(f"| {f['what']} | {f['user']} | {f['p50']:.1f} | {f['p95']:.1f} | {f['cpu_p50']:.1f} | "
                         f"{f['rows'] if f['rows'] is not None else 'page'} | "
                         f"{'met' if f['p50'] <= TARGET_MS else '**missed**'} | {plan[:300]} |")
        lines.append("")
    if writes:
        lines += ["### What the derived indexes cost a write", "",
                  f"{writes['rows']:,} orders inserted into a fresh SQLite file through `RecordService.bulk_create`, "
                  f"then the same rows again with one executemany, with the order table's automatic indexes as "
                  f"they were ({writes['before']}: the default sort alone and after the owner, each reference, user "
                  f"and stage field) and as they are now ({writes['now']}: added "
                  f"{', '.join(writes['added'])}; left out, being the start of another: "
                  f"{', '.join(writes['dropped']) or 'none'}). Best of {writes['repeat']}; declared and unique "
                  "indexes are the same in both.", "",
                  "| path | indexes as before | as now | cost |", "|---|---|---|---|",
                  f"| bulk_create, records/s | {writes['service_without']:,.0f} | {writes['service_with']:,.0f} | "
                  f"{_change(writes['service_without'], writes['service_with'])} |",
                  f"| executemany, rows/s | {writes['raw_without']:,.0f} | {writes['raw_with']:,.0f} | "
                  f"{_change(writes['raw_without'], writes['raw_with'])} |", "",
                  "On a machine shared with other builds the records service's rate moves more from run to run "
                  "than the indexes move it; the executemany row is the indexes' own cost.", ""]
    lines += FINDINGS
    lines.append(END)
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--db", default="/tmp/atrium-bench/orders-1m.db")
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--pg", help="postgresql+psycopg://... : also measure on PostgreSQL (pg_copy.py)")
    parser.add_argument("--pg-database", help="the PostgreSQL database to make or reuse (pg_copy.DATABASE by default)")
    parser.add_argument("--before", action="store_true", help="no migration, no index walk: the old figures")
    parser.add_argument("--writes", type=int, default=20_000, help="rows of the write-cost figure (0: skip)")
    parser.add_argument("--no-doc", action="store_true")
    args = parser.parse_args()
    database = Path(args.db)
    if args.before:
        data = json.loads(database.with_suffix(".json").read_text())
        data["migrate_seconds"] = None
    else:
        data = build_or_reuse(database, args.orders)
    wait_for_quiet(1.5, 2)
    info = machine()
    runs = {}
    label = "SQLite, before (planner's own choice, old indexes)" if args.before else "SQLite"
    log(label)
    runs[label] = bench_site(f"sqlite:///{database}", args.requests, args.warmup, walk=not args.before)
    if not args.before:
        log("SQLite, the same indexes without the index walk")
        runs["SQLite, without the index walk (derived indexes only)"] = bench_site(
            f"sqlite:///{database}", args.requests // 2, args.warmup, walk=False)
    if args.pg:
        import pg_copy
        from pg_copy import copy_to_postgres
        pg_copy.DATABASE = args.pg_database or pg_copy.DATABASE  # a copy of one's own beside another run's
        url = copy_to_postgres(database, args.pg)
        log("PostgreSQL")
        runs["PostgreSQL"] = bench_site(url, args.requests, args.warmup, walk=True)
    writes = index_write_cost(args.writes) if args.writes and not args.before else None
    counts = index_counts()
    section = render(info, data, runs, counts, writes, args)
    if args.before:  # kept beside the database for the runs after the upgrade
        table = section[section.index("| shape"):section.index(END)].strip()
        Path(args.db).with_suffix(".lists-before.md").write_text(
            f"Before (run {time.strftime('%Y-%m-%d %H:%M')}, load {info['load']}, the same database with the "
            "indexes as they were, no index walk: `bench_lists.py --before`):\n\n" + table + "\n")
    if args.no_doc or args.before:
        print(section)
    else:
        write_section(section, START, END)
        log("wrote docs/benchmarks.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
