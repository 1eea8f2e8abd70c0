"""Report engine figures: the shipped `pipeline_by_stage` report (open orders closing this quarter,
grouped by stage × month of the expected close, count and two sums, a metric per row) over
1,000,000 orders, against a hand-written SQL query that returns the same rows on the same
database, timed in one run, on SQLite and PostgreSQL. Prints them and rewrites its own section of
docs/benchmarks.md.

    .venv/bin/python bench/bench_reports.py [--pg URL] [--orders N] [--runs N] [--db PATH] [--no-doc]

SQLite: the page benchmarks' database (bench/pages_data.py: built once by INSERT ... SELECT under
/tmp/atrium-bench/ and reused). PostgreSQL: a scratch schema, migrated from the blueprint, with
the same users and orders copied in by COPY, dropped afterwards. The report is timed as a caller
gets it (`Reports.run`: access scope, compile, execute, metrics, labels) and the hand query as
execute-and-fetch; runs alternate, and the medians are compared. Not a timed test.
"""
from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

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
from atrium.runtime.reports.runner import Reports  # noqa: E402
from atrium.runtime.schema.database import create_engine, refresh_statistics  # noqa: E402
from atrium.runtime.schema.migrations import migrate  # noqa: E402
from atrium.runtime.site.site import Site  # noqa: E402

DOC = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- bench_reports:start -->", "<!-- bench_reports:end -->"
REPORT = "pipeline_by_stage"
TARGET_RATIO = 1.25
VIEWERS = (("admin", "admin (all orders)"), ("manager", "manager (team scope)"), ("rep1", "sales rep (own)"))
HAND_SQL = """
SELECT stage, {month} AS month, count(*) AS orders, sum(amount) AS amount, sum(weighted_amount) AS weighted
FROM "order"
WHERE stage NOT IN ('won', 'lost') AND expected_close >= :start AND expected_close < :end{owners}
GROUP BY stage, {month}
ORDER BY stage, month
"""
MONTH = {"sqlite": "strftime('%Y-%m-01', expected_close)",
         "postgresql": "to_char(date_trunc('month', expected_close), 'YYYY-MM-DD')"}
ORDER_COLUMNS = ("id", "created_at", "updated_at", "version", "code", "name", "owner", "amount", "stage",
                 "expected_close", "probability", "weighted_amount")


def log(text: str) -> None:
    print(text, flush=True)


def this_quarter(zone: str) -> tuple[dt.date, dt.date]:
    today = dt.datetime.now(ZoneInfo(zone)).date()
    first = 3 * ((today.month - 1) // 3) + 1
    end = dt.date(today.year + 1, 1, 1) if first == 10 else dt.date(today.year, first + 3, 1)
    return dt.date(today.year, first, 1), end


def actor(site: Site, name: str) -> Actor:
    with site.engine.connect() as connection:
        user = find_user(connection, site.tables, name)
    return Actor(user["id"], name, user["role"], user["team_id"], "zh")


def hand_query(site: Site, viewer: Actor) -> tuple[str, dict]:
    """The query a person writes, limited to the viewer's owners as roles.yaml says: a rep's own, the
    manager's team and its sub-teams (a recursive subquery written here, not by the engine)."""
    start, end = this_quarter(site.blueprint.timezone)
    params = {"start": start, "end": end}
    owners = ""
    if viewer.role == "sales_rep":
        owners, params["me"] = " AND owner = :me", viewer.user_id
    elif viewer.role == "sales_manager":  # the team and its sub-teams, by a recursive query written here
        owners = (" AND owner IN (WITH RECURSIVE t(id) AS (SELECT id FROM atrium_teams WHERE id = :team "
                  "UNION SELECT s.id FROM atrium_teams s JOIN t ON s.parent_id = t.id) "
                  "SELECT id FROM atrium_users WHERE team_id IN (SELECT id FROM t) UNION SELECT :me)")
        params.update(team=viewer.team_id, me=viewer.user_id)
    return HAND_SQL.format(month=MONTH[site.engine.dialect.name], owners=owners), params


def normal(rows) -> list[tuple]:
    cents = Decimal("0.01")
    return sorted((stage, str(month)[:10], int(orders), Decimal(str(amount)).quantize(cents),
                   Decimal(str(weighted)).quantize(cents)) for stage, month, orders, amount, weighted in rows)


def timed(function) -> tuple[object, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = function()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def compare(site: Site, runs: int) -> list[dict]:
    """Report vs hand query for each viewer, alternating, after one warm-up run of each."""
    reports = Reports(site)
    figures = []
    for name, label in VIEWERS:
        viewer = actor(site, name)
        sql, params = hand_query(site, viewer)

        def report(viewer: Actor = viewer):
            return reports.run(viewer, REPORT)

        def hand(sql: str = sql, params: dict = params):
            with site.engine.connect() as connection:
                return connection.execute(sa.text(sql), params).all()
        result, hand_rows = report(), hand()
        ours = normal((r["stage"], r["expected_close"], r["orders"], r["amount"], r["weighted"]) for r in result.rows)
        if ours != normal(hand_rows):
            raise SystemExit(f"{label}: the report's rows differ from the hand-written query's:\n"
                             f"{ours}\n{normal(hand_rows)}")
        times = {"report": [], "hand": []}
        for index in range(runs):
            for kind in (("report", "hand") if index % 2 == 0 else ("hand", "report")):
                _, wall, cpu = timed(report if kind == "report" else hand)
                times[kind].append((wall, cpu))
        medians = {kind: (statistics.median(w for w, _ in values), statistics.median(c for _, c in values))
                   for kind, values in times.items()}
        ratio = medians["report"][0] / medians["hand"][0]
        figures.append({"viewer": label, "rows": len(result.rows), "orders": sum(r["orders"] for r in result.rows),
                        "report_ms": medians["report"][0] * 1000, "hand_ms": medians["hand"][0] * 1000,
                        "report_cpu_ms": medians["report"][1] * 1000, "hand_cpu_ms": medians["hand"][1] * 1000,
                        "ratio": ratio, "runs": runs})
        log(f"  {label:22} {len(result.rows):3} rows over {figures[-1]['orders']:>9,} orders: report "
            f"{medians['report'][0] * 1000:7.1f} ms, hand SQL {medians['hand'][0] * 1000:7.1f} ms, ratio {ratio:.3f} "
            f"(target <= {TARGET_RATIO})")
    return figures


def statements(site: Site) -> dict:
    """The SQL the report runs (as the admin) and each database's plan for it and the hand query."""
    viewer = actor(site, "admin")
    compiled = Reports(site).compile(viewer, REPORT)
    dialect = site.engine.dialect
    bound = compiled.statement.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    sql, params = hand_query(site, viewer)
    explain = "EXPLAIN QUERY PLAN " if dialect.name == "sqlite" else "EXPLAIN "
    values = {key: value.isoformat() if isinstance(value, dt.date) else value for key, value in bound.params.items()}
    driver = tuple(values[key] for key in bound.positiontup) if dialect.name == "sqlite" else values
    with site.engine.connect() as connection:
        plan = [str(row[-1]) for row in connection.exec_driver_sql(explain + str(bound), driver).all()]
        hand_plan = [str(row[-1]) for row in connection.execute(sa.text(explain + sql), params).all()]
    return {"sql": str(bound), "plan": plan, "hand_sql": sql.strip(), "hand_plan": hand_plan}


# --- PostgreSQL: the same users and orders, copied --------------------------------------------

def copy_to_postgresql(sqlite_path: Path, url: str, blueprint) -> None:
    import sqlite3
    engine = create_engine(url)
    migrate(engine, blueprint)
    source = sqlite3.connect(sqlite_path)
    started = time.perf_counter()
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        for table, columns in (("atrium_teams", ("id", "name", "label", "manager_id", "parent_id")),
                               ("atrium_users", ("id", "name", "display_name", "role", "team_id", "active"))):
            rows = source.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY id").fetchall()
            if table == "atrium_teams":  # parents first: a team's parent row must exist
                rows.sort(key=lambda r: r[4] is not None)
            with cursor.copy(f'COPY {table} ({", ".join(columns)}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row(tuple(bool(v) if c == "active" else v for c, v in zip(columns, row, strict=False)))
        quoted = ", ".join(f'"{c}"' for c in ORDER_COLUMNS)
        rows = source.execute(f'SELECT {quoted} FROM "order" ORDER BY id')
        with cursor.copy(f'COPY "order" ({quoted}) FROM STDIN') as copy:
            while batch := rows.fetchmany(20_000):  # COPY's text format, written a batch at a time
                copy.write("".join("\t".join(_copy_text(c, v) for c, v in zip(ORDER_COLUMNS, row, strict=False)) + "\n"
                                   for row in batch))
        raw.commit()
    finally:
        raw.close()
        source.close()
    refresh_statistics(engine, ["order", "atrium_users", "atrium_teams"])
    with engine.connect() as connection:
        count = connection.execute(sa.text('SELECT count(*) FROM "order"')).scalar()
    engine.dispose()
    log(f"  copied {count:,} orders and the users to PostgreSQL in {time.perf_counter() - started:.0f} s")


def _copy_text(column: str, value) -> str:
    if value is None:
        return "\\N"
    if column in ("created_at", "updated_at"):  # SQLite keeps UTC without an offset
        return f"{value}+00"
    return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


# --- the section -------------------------------------------------------------------------------

def verdict(ratio: float) -> str:
    return "met" if ratio <= TARGET_RATIO else "**missed**"


def section(info: dict, results: dict, args) -> str:
    lines = [START, "## Reports (`bench/bench_reports.py`)", "",
             f"The shipped `{REPORT}` report (open orders with an expected close in this quarter, by stage × "
             "month, a count and two sums, plus the `avg_deal` metric per row) over "
             f"{args.orders:,} orders, against a hand-written SQL query returning the same rows on the same "
             "database. The report is timed as a caller gets it (`Reports.run`: scope, compile, execute, "
             "metrics, labels), the hand query as execute-and-fetch; "
             f"{args.runs} alternating runs each after a warm-up, medians. Target: report ≤ {TARGET_RATIO}× "
             "the hand query.", "",
             f"Machine: {info.get('cpus')} CPUs ({info.get('cpu', '?')}), {info.get('memory', '?')}, load "
             f"{info.get('load', '?')} at the start (other people's work shares it), Python {info['python']}, "
             f"SQLite {info['sqlite']}" + (f", PostgreSQL {info['postgresql']}" if "postgresql" in info else "")
             + f", SQLAlchemy {info['sqlalchemy']}.", "",
             "| database | viewer | rows | orders read | report | hand SQL | ratio (wall) | report CPU | "
             "hand SQL CPU | ratio (CPU) | target |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for database, result in results.items():
        for f in result["figures"]:
            cpu = database == "SQLite"  # in-process: the CPU time is this process's; PostgreSQL works elsewhere
            cpu_ratio = f["report_cpu_ms"] / f["hand_cpu_ms"] if cpu and f["hand_cpu_ms"] else None
            lines.append(f"| {database} | {f['viewer']} | {f['rows']} | {f['orders']:,} | {f['report_ms']:.1f} ms | "
                         f"{f['hand_ms']:.1f} ms | {f['ratio']:.3f} | "
                         + (f"{f['report_cpu_ms']:.1f} ms | {f['hand_cpu_ms']:.1f} ms | {cpu_ratio:.3f} | "
                            if cpu_ratio else "– | – | – | ")
                         + f"{verdict(f['ratio'])} (wall)" + (f", {verdict(cpu_ratio)} (CPU) |" if cpu_ratio else " |"))
    lines += ["", "The rows are checked equal before timing (the same check as "
              "`tests/runtime/test_reports_b2b.py`, which runs on the demo data in CI). SQLite runs in this "
              "process, so its CPU time measures the work itself; its wall time also counts the waits of a "
              "machine whose load average exceeds its two cores, which is why both are shown. Repeated "
              "runs on this shared machine moved the wall ratios by up to ±0.2 (the admin's from 0.90 to 1.26); "
              "the CPU ratios stayed between 0.98 and 1.2."]
    for database, result in results.items():
        plans = result["statements"]
        lines += ["", f"### {database}: the statements and their plans", "", "The report's statement:", "",
                  "```sql", plans["sql"], "```", "", "Plan: " + " / ".join(plans["plan"][:6]), "",
                  "The hand-written query:", "", "```sql", plans["hand_sql"], "```", "",
                  "Plan: " + " / ".join(plans["hand_plan"][:6])]
    lines += ["", "The statements differ in small ways: the report's filter reads `stage NOT IN (...) OR stage IS "
              "NULL` (the condition language's `not_in` keeps empty values), it orders stages by pipeline "
              "position (a CASE: one more sort of the dozen grouped rows on SQLite, a hash aggregate instead of "
              "a sorted one on PostgreSQL), and the month key on PostgreSQL casts the date to a timestamp "
              "before `date_trunc`. The Python around the statement (scope, compile, metrics over the grouped "
              "rows, labels) costs one to two milliseconds, which is what separates the two for a rep's few "
              "thousand orders.", "", END]
    return "\n".join(lines)


def write_doc(text: str) -> None:
    write_section(text, START, END, DOC)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", help="PostgreSQL URL; a scratch schema is made there and dropped after")
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7, help="timed runs of each query per viewer")
    parser.add_argument("--db", default="/tmp/atrium-bench/orders-1m.db", help="the SQLite database (built if missing)")
    parser.add_argument("--no-doc", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    info = machine(args.pg)
    log(f"machine: {info}")
    database = Path(args.db)
    build_or_reuse(database, args.orders)
    blueprint = load_blueprint(B2B)
    url = f"sqlite:///{database}"
    engine = create_engine(url)
    migrate(engine, blueprint)
    refresh_statistics(engine, ["order"])
    site = Site.open(blueprint, url, engine=engine)
    results = {}
    log("SQLite:")
    results["SQLite"] = {"figures": compare(site, args.runs), "statements": statements(site)}
    engine.dispose()
    if args.pg:
        log("PostgreSQL:")
        pg_url, drop = pg_scratch(args.pg)
        try:
            copy_to_postgresql(database, pg_url, blueprint)
            pg_site = Site.open(blueprint, pg_url)
            results["PostgreSQL"] = {"figures": compare(pg_site, args.runs), "statements": statements(pg_site)}
            pg_site.engine.dispose()
        finally:
            drop()
    text = section(info, results, args)
    if not args.no_doc:
        write_doc(text)
        log(f"wrote {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
