"""Report engine figures: the shipped `pipeline_by_stage` report (open orders closing this quarter,
grouped by stage × month of the expected close, count and two sums, a metric per row) over
1,000,000 orders, against a hand-written SQL query that returns the same rows on the same
database, timed in one run, on SQLite and PostgreSQL. Prints them and rewrites its own section of
docs/benchmarks.md.

    .venv/bin/python bench/bench_reports.py [--pg URL] [--orders N] [--runs N] [--db PATH] [--no-doc]

SQLite: the page benchmarks' database (bench/pages_data.py: built once by INSERT ... SELECT under
/tmp/atrium-bench/ and reused). PostgreSQL: the copy bench_dashboard.py keeps (every table the dashboards read, by COPY,
its pre-aggregates recomputed). The report is timed as a caller
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
from bench_core import machine  # noqa: E402
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
# the Frappe peer's figure is a group-by over every order: the shipped `orders_by_stage` (open
# orders by stage, a count and a sum) is the nearest shipped report, timed next to its hand query
GROUP_REPORT = "orders_by_stage"
GROUP_SQL = """
SELECT stage, count(*) AS orders, sum(amount) AS amount
FROM "order"
WHERE (stage NOT IN ('won', 'lost') OR stage IS NULL){owners}
GROUP BY stage
"""
HAND_SQL = """
SELECT stage, {month} AS month, count(*) AS orders, sum(amount) AS amount, sum(weighted_amount) AS weighted
FROM "order"
WHERE stage NOT IN ('won', 'lost') AND expected_close >= :start AND expected_close < :end{owners}
GROUP BY stage, {month}
ORDER BY stage, month
"""
MONTH = {"sqlite": "strftime('%Y-%m-01', expected_close)",
         "postgresql": "to_char(date_trunc('month', expected_close), 'YYYY-MM-DD')"}

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


def hand_query(site: Site, viewer: Actor, report: str = REPORT) -> tuple[str, dict]:
    """The query a person writes, limited to the viewer's owners as roles.yaml says: a rep's own, the
    manager's team and its sub-teams (a recursive subquery written here, not by the engine)."""
    start, end = this_quarter(site.blueprint.timezone)
    params: dict = {"start": start, "end": end} if report == REPORT else {}
    owners = ""
    if viewer.role == "sales_rep":
        owners, params["me"] = " AND owner = :me", viewer.user_id
    elif viewer.role == "sales_manager":  # the team and its sub-teams, by a recursive query written here
        owners = (" AND owner IN (WITH RECURSIVE t(id) AS (SELECT id FROM atrium_teams WHERE id = :team "
                  "UNION SELECT s.id FROM atrium_teams s JOIN t ON s.parent_id = t.id) "
                  "SELECT id FROM atrium_users WHERE team_id IN (SELECT id FROM t) UNION SELECT :me)")
        params.update(team=viewer.team_id, me=viewer.user_id)
    if report == GROUP_REPORT:
        return GROUP_SQL.format(owners=owners), params
    return HAND_SQL.format(month=MONTH[site.engine.dialect.name], owners=owners), params


def normal(rows) -> list[tuple]:
    cents = Decimal("0.01")
    rows = list(rows)
    if rows and len(rows[0]) == 3:  # the group-by: stage, count, sum
        return sorted((stage, int(orders), Decimal(str(amount or 0)).quantize(cents)) for stage, orders, amount in rows)
    return sorted((stage, str(month)[:10], int(orders), Decimal(str(amount)).quantize(cents),
                   Decimal(str(weighted)).quantize(cents)) for stage, month, orders, amount, weighted in rows)


def timed(function) -> tuple[object, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = function()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def compare(site: Site, runs: int, name_of_report: str = REPORT) -> list[dict]:
    """Report vs hand query for each viewer, alternating, after one run of each (its time kept as
    the first run's: the report's statement compiled, the cache of the database's pages warm)."""
    reports = Reports(site)
    figures = []
    for name, label in VIEWERS:
        viewer = actor(site, name)
        sql, params = hand_query(site, viewer, name_of_report)

        def report(viewer: Actor = viewer):
            return reports.run(viewer, name_of_report)

        def hand(sql: str = sql, params: dict = params):
            with site.engine.connect() as connection:
                return connection.execute(sa.text(sql), params).all()
        (result, first_wall, first_cpu), hand_rows = timed(report), hand()
        if name_of_report == GROUP_REPORT:
            ours = normal((r["stage"], r["orders"], r["amount"]) for r in result.rows)
        else:
            ours = normal((r["stage"], r["expected_close"], r["orders"], r["amount"], r["weighted"])
                          for r in result.rows)
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
                        "ratio": ratio, "runs": runs, "first_ms": first_wall * 1000,
                        "first_cpu_ms": first_cpu * 1000})
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
    lines += ["", "The group-by the peer's figure is (issue 17: Frappe's Report Builder, a group-by sum over "
              "1,000,000 rows, 7.8 s): the shipped `orders_by_stage` report (every open order by stage, a count "
              "and a sum of the amount), the same way; *first run* is the report's first run in the process "
              "(its statement compiled, the database's pages already cached by the run before).", "",
              "| database | viewer | rows | orders read | report first run | report | hand SQL | ratio (wall) | "
              "report CPU | hand SQL CPU | Frappe (peer) |", "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for database, result in results.items():
        for f in result.get("group", []):
            cpu = database == "SQLite"
            lines.append(f"| {database} | {f['viewer']} | {f['rows']} | {f['orders']:,} | {f['first_ms']:.1f} ms | "
                         f"**{f['report_ms']:.1f} ms** | {f['hand_ms']:.1f} ms | {f['ratio']:.3f} | "
                         + (f"{f['report_cpu_ms']:.1f} ms | {f['hand_cpu_ms']:.1f} ms | " if cpu else "– | – | ")
                         + "7.8 s (all 1,000,000 orders) |")
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
    parser.add_argument("--pg", help="PostgreSQL server URL: the dashboards' copy there (bench_dashboard.py) is used")
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
    results["SQLite"] = {"figures": compare(site, args.runs), "statements": statements(site),
                         "group": compare(site, args.runs, GROUP_REPORT)}
    engine.dispose()
    if args.pg:
        log("PostgreSQL:")
        # the dashboards' copy (bench_dashboard.py): kept between runs, migrated, its pre-aggregates recomputed
        from bench_dashboard import postgres_copy
        pg_site = Site.open(blueprint, postgres_copy(database, args.pg))
        results["PostgreSQL"] = {"figures": compare(pg_site, args.runs), "statements": statements(pg_site),
                                 "group": compare(pg_site, args.runs, GROUP_REPORT)}
        pg_site.engine.dispose()
    text = section(info, results, args)
    if not args.no_doc:
        write_doc(text)
        log(f"wrote {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
