"""Global search figures: `GlobalSearch.search` (the header's box, /search and /api/v1/search) over
the b2b_sales blueprint with 1,000,000 orders and 100,000 customers, on SQLite (FTS5 trigram) and
PostgreSQL (pg_trgm GIN), as an administrator, a manager and a rep see it. Prints p50/p95 and
rewrites its own section of docs/benchmarks.md.

    .venv/bin/python bench/bench_search.py [--pg URL] [--orders N] [--runs N] [--db PATH] [--no-doc]

SQLite: the page benchmarks' database (bench/pages_data.py, built once by INSERT ... SELECT and
reused; `atrium migrate` builds the search index and the phones' digits on it). PostgreSQL: a
scratch schema, migrated from the blueprint, with the users, customers, orders, leads and contacts
copied in by COPY, the trigram indexes built after the copy by `migrate`, dropped afterwards.
Each text is searched as a caller would (access scope, every entity the viewer may read, titles,
snippets; 20 results); a warm-up run, then `--runs` runs of every text. Not a timed test.
"""
from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT)) if str(ROOT) not in sys.path else None
sys.path.insert(0, str(ROOT / "bench")) if str(ROOT / "bench") not in sys.path else None
import sqlalchemy as sa  # noqa: E402
from bench_core import machine, pg_scratch  # noqa: E402
from benchmarks_doc import write_section  # noqa: E402
from pages_data import B2B, build_or_reuse  # noqa: E402

from atrium.metadata import load_blueprint  # noqa: E402
from atrium.runtime.access.users import find_user  # noqa: E402
from atrium.runtime.records.evaluation import Actor  # noqa: E402
from atrium.runtime.schema.database import connect, create_engine, refresh_statistics  # noqa: E402
from atrium.runtime.schema.migrations import migrate  # noqa: E402
from atrium.runtime.site.site import Site  # noqa: E402

START, END = "<!-- bench_search:start -->", "<!-- bench_search:end -->"
VIEWERS = ("admin", "manager", "rep1")
COPIED = ("atrium_teams", "atrium_users", "customer", "order", "lead", "contact")
TARGET_MS = 100


def log(text: str) -> None:
    print(text, flush=True)


def actor(site: Site, name: str) -> Actor:
    with site.engine.connect() as connection:
        user = find_user(connection, site.tables, name)
    assert user is not None, name
    return Actor(user_id=user["id"], name=name, role=user["role"], team_id=user["team_id"], locale="zh")


def texts(database: Path) -> list[tuple[str, str]]:
    """(what, text) searched: taken from the data, so each finds something."""
    db = sqlite3.connect(database)
    one = lambda sql: db.execute(sql).fetchone()[0]  # noqa: E731
    middle = one("SELECT max(id) / 2 FROM customer")
    name = one(f"SELECT name FROM customer WHERE id >= {middle} AND name GLOB '*[一-龥]*' ORDER BY id LIMIT 1")
    cjk = "".join(ch for ch in name if "\u4e00" <= ch <= "\u9fff")
    phone = one(f"SELECT phone FROM customer WHERE id >= {middle} AND phone IS NOT NULL ORDER BY id LIMIT 1")
    digits = "".join(ch for ch in phone if ch.isdigit())
    code = one('SELECT code FROM "order" WHERE id = (SELECT max(id) / 3 FROM "order")')
    lead_phone = one("SELECT phone FROM lead WHERE phone IS NOT NULL ORDER BY id LIMIT 1")
    email = one("SELECT email FROM contact WHERE email IS NOT NULL ORDER BY id LIMIT 1")
    english = one(f"SELECT name FROM customer WHERE id >= {middle} AND name GLOB '[A-Z]*' ORDER BY id LIMIT 1")
    db.close()
    return [("Chinese substring (4 characters)", cjk[2:6]),
            ("Chinese, 2 characters (LIKE scan)", cjk[2:4]),
            ("common Chinese word", "有限公司"),
            ("customer phone digits", digits[-8:]),
            ("lead phone, typed +86 with dashes", "+86 " + "-".join(
                ("".join(c for c in lead_phone if c.isdigit())[-11:][i:j]) for i, j in ((0, 3), (3, 7), (7, 11)))),
            ("order code", code),
            ("email part", email.split("@")[0][:8]),
            ("English word", english.split()[0]),
            ("nothing matches", "不存在的名字zzq")]


def measure(site: Site, searches: list[tuple[str, str]], runs: int) -> list[dict]:
    results = []
    for name in VIEWERS:
        viewer = actor(site, name)
        times: list[float] = []
        per_text = []
        for what, text in searches:
            with connect(site.engine) as connection:
                found = len(site.search.search(connection, viewer, text, 20))  # warm-up
                mine = []
                for _ in range(runs):
                    started = time.perf_counter()
                    site.search.search(connection, viewer, text, 20)
                    mine.append((time.perf_counter() - started) * 1000)
            times += mine
            per_text.append({"what": what, "text": text, "found": found, "p50": statistics.median(mine),
                             "max": max(mine)})
        times.sort()
        results.append({"viewer": f"{name} ({viewer.role})", "p50": statistics.median(times),
                        "p95": times[min(len(times) - 1, int(len(times) * 0.95))], "texts": per_text})
        log(f"  {name}: p50 {results[-1]['p50']:.1f} ms, p95 {results[-1]['p95']:.1f} ms")
        for row in per_text:
            log(f"    {row['what']:<36} {row['text']!r:<28} {row['found']:>3} found  p50 {row['p50']:.1f} ms")
    return results


def counts(site: Site) -> dict[str, int]:
    with site.engine.connect() as connection:
        return {name: connection.execute(sa.select(sa.func.count()).select_from(site.tables[name])).scalar() or 0
                for name in ("order", "customer", "lead", "contact")}


def copy_to_postgresql(sqlite_path: Path, url: str, blueprint) -> float:
    """The tables the search reads, copied by COPY; the trigram indexes built afterwards by migrate
    (seconds it took)."""
    engine = create_engine(url)
    migrate(engine, blueprint)
    source = sqlite3.connect(sqlite_path)
    raw = engine.raw_connection()
    started = time.perf_counter()
    try:
        cursor = raw.cursor()
        cursor.execute("SET session_replication_role = replica")  # links are copied as they are
        cursor.execute("SELECT indexname FROM pg_indexes WHERE indexname LIKE 'atrium_search_%' "
                       "AND schemaname = current_schema()")
        for (index,) in cursor.fetchall():  # built once after the copy, not row by row
            cursor.execute(f'DROP INDEX "{index}"')
        for table in COPIED:
            cursor.execute("SELECT column_name, data_type FROM information_schema.columns "
                           "WHERE table_schema = current_schema() AND table_name = %s", (table,))
            kinds = dict(cursor.fetchall())
            columns = [row[1] for row in source.execute(f'PRAGMA table_info("{table}")') if row[1] in kinds]
            quoted = ", ".join(f'"{c}"' for c in columns)
            rows = source.execute(f'SELECT {quoted} FROM "{table}" ORDER BY id')
            with cursor.copy(f'COPY "{table}" ({quoted}) FROM STDIN') as copy:
                while batch := rows.fetchmany(20_000):
                    for row in batch:
                        copy.write_row(tuple(_value(kinds[c], v) for c, v in zip(columns, row, strict=True)))
            cursor.execute(f'SELECT setval(pg_get_serial_sequence(\'"{table}"\', \'id\'), '
                           f'(SELECT max(id) FROM "{table}"))')
        raw.commit()
    finally:
        raw.close()
        source.close()
    log(f"  copied {', '.join(COPIED)} in {time.perf_counter() - started:.0f} s")
    started = time.perf_counter()
    migrate(engine, blueprint)  # the trigram indexes
    built = time.perf_counter() - started
    refresh_statistics(engine, list(COPIED))
    engine.dispose()
    log(f"  trigram indexes built by migrate in {built:.0f} s")
    return built


def _value(kind: str, value):
    if value is None:
        return None
    if kind == "boolean":
        return bool(value)
    if kind.startswith("timestamp") and isinstance(value, str):
        return value + "+00"  # SQLite keeps UTC without an offset
    return value


def section(info: dict, results: dict, args, sizes: dict, builds: dict) -> str:
    lines = [START, "## Global search (`bench/bench_search.py`)", "",
             f"`GlobalSearch.search` (the header's box, `/search`, `/api/v1/search`) for 20 results over "
             f"{sizes['order']:,} orders, {sizes['customer']:,} customers, {sizes['lead']:,} leads and "
             f"{sizes['contact']:,} contacts (and the rest of the demo data), every entity the viewer may read, "
             "titles and snippets included; a warm-up, then "
             f"{args.runs} runs of each of {len(results[next(iter(results))][0]['texts'])} texts per viewer. "
             f"Target: under {TARGET_MS} ms.", "",
             f"Machine: {info.get('cpus')} CPUs ({info.get('cpu', '?')}), {info.get('memory', '?')}, load "
             f"{info.get('load', '?')} at the start (other people's work shares it), Python {info['python']}, "
             f"SQLite {info['sqlite']}" + (f", PostgreSQL {info['postgresql']}" if "postgresql" in info else "")
             + ".", "",
             "| database | viewer | p50 | p95 | target |", "|---|---|---:|---:|---|"]
    for database, figures in results.items():
        for f in figures:
            lines.append(f"| {database} | {f['viewer']} | {f['p50']:.1f} ms | {f['p95']:.1f} ms | "
                         f"{'met' if f['p95'] < TARGET_MS else '**missed** (p95)'} |")
    lines += ["", "Per text (the administrator's view; p50 of the runs):", "",
              "| text | | " + " | ".join(f"{d} found | {d} p50" for d in results) + " |",
              "|---|---|" + "---:|---:|" * len(results)]
    admin = {database: figures[0]["texts"] for database, figures in results.items()}
    first = next(iter(admin.values()))
    for i, row in enumerate(first):
        cells = " | ".join(f"{admin[d][i]['found']} | {admin[d][i]['p50']:.1f} ms" for d in admin)
        lines.append(f"| {row['what']} | `{row['text']}` | {cells} |")
    lines += ["", "Building the index: " + "; ".join(f"{d}: {s:.0f} s" for d, s in builds.items()) + ". "
              "A word of three characters or more is looked up in the index (FTS5 `trigram` on SQLite, a "
              "`pg_trgm` GIN index per searchable column on PostgreSQL); when every word is one or two "
              "characters, LIKE reads each entity's newest 5,000 records (a bounded scan; the page says so). "
              "A phone is matched on its digits column (`<field>_digits`). The machine was shared with seven "
              "other builds and test runs (see the load above): every figure here is several times what a "
              "quiet machine gives; run it again on one.", "", END]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", help="PostgreSQL URL; a scratch schema is made there and dropped after")
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each text per viewer")
    parser.add_argument("--db", default=None, help="the SQLite database (built if missing)")
    parser.add_argument("--no-doc", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    info = machine(args.pg)
    log(f"machine: {info}")
    database = Path(args.db or f"/tmp/atrium-bench-search/orders-{args.orders}.db")
    blueprint = load_blueprint(B2B)
    started = time.perf_counter()
    data = build_or_reuse(database, args.orders)  # migrate inside builds the index and the phones' digits
    label = ("SQLite: migrate on the reused database (nothing to build)" if "migrate_seconds" in data
             else "SQLite: the whole build (seed, fill with the index's triggers, migrate filling phones' digits)")
    builds = {label: time.perf_counter() - started}
    site = Site.open(blueprint, f"sqlite:///{database}")
    sizes = counts(site)
    searches = texts(database)
    results = {}
    log("SQLite:")
    results["SQLite"] = measure(site, searches, args.runs)
    site.engine.dispose()
    if args.pg:
        log("PostgreSQL:")
        pg_url, drop = pg_scratch(args.pg)
        try:
            builds["PostgreSQL trigram indexes"] = copy_to_postgresql(database, pg_url, blueprint)
            pg_site = Site.open(blueprint, pg_url)
            results["PostgreSQL"] = measure(pg_site, searches, args.runs)
            pg_site.engine.dispose()
        finally:
            drop()
    text = section(info, results, args, sizes, builds)
    print(text)
    if not args.no_doc:
        write_section(text, START, END)
        log("wrote docs/benchmarks.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
