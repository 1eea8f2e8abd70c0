"""Automation figures: the shipped scheduled recycle (`recycle_idle_customers`: owner set to empty
where the last follow-up is older than 30 days, the previous owner notified) over N records on
SQLite, through `ScheduledRules` exactly as `atrium run-scheduled` runs it. Prints the figures and
rewrites its own section of docs/benchmarks.md.

    .venv/bin/python bench/bench_automation.py [--records 100000] [--profile] [--no-doc]

Not a timed test: run it on a quiet machine; the figures vary with load.
"""
from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import os
import platform as python_platform
import pstats
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT)) if str(ROOT) not in sys.path else None
from benchmarks_doc import write_section  # noqa: E402

import sqlalchemy as sa  # noqa: E402

from atrium.metadata import load_blueprint  # noqa: E402
from atrium.runtime import users  # noqa: E402
from atrium.runtime.migrations import migrate  # noqa: E402
from atrium.runtime.scheduler import ScheduledRules  # noqa: E402
from atrium.runtime.site import Site  # noqa: E402

B2B = ROOT / "blueprints" / "b2b_sales"
DOC = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- bench_automation:start -->", "<!-- bench_automation:end -->"
RULE = "recycle_idle_customers"
TARGET_S = 5.0
NOW = dt.datetime(2026, 6, 1, 1, 0, tzinfo=dt.timezone.utc)  # 09:00 in the blueprint's zone


def log(text: str) -> None:
    print(text, flush=True)


LEAN_RULE = {"name": RULE, "entity": "customer", "on": "schedule", "every": "day",
             "where": {"owner": {"is_set": True}, "last_followup_at": {"older_than_days": 30},
                       "level": {"ne": "vip"}},
             "do": [{"set": {"owner": None}},
                    {"notify": {"to": "previous_owner",
                                "message": {"en": "Returned to the public pool", "zh": "已退回公海"}}}]}
LEAN_ENTITY = {"name": "customer", "label": {"en": "Customer", "zh": "客户"}, "owner": "owner",
               "fields": {"name": {"type": "text", "required": True, "max_length": 200},
                          "level": {"type": "select", "options": ["a", "b", "c", "vip"]},
                          "owner": {"type": "user"}, "last_followup_at": {"type": "datetime"}},
               "indexes": [["owner"]]}


def lean_blueprint(folder: Path) -> Path:
    """The same rule over a customer entity of four fields and one index: the engine's own cost."""
    import yaml
    for sub in ("entities", "automations"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    (folder / "blueprint.yaml").write_text(yaml.safe_dump({
        "name": "lean", "label": "Lean", "locales": ["zh", "en"], "currency": "CNY",
        "timezone": "Asia/Shanghai"}), encoding="utf-8")
    (folder / "roles.yaml").write_text(yaml.safe_dump({"roles": {"sales_rep": {"label": "Rep", "entities": {
        "customer": {"read": "own", "create": True, "update": "own", "delete": "none"}}}}}), encoding="utf-8")
    (folder / "entities" / "customer.yaml").write_text(yaml.safe_dump(LEAN_ENTITY, allow_unicode=True))
    (folder / "automations" / f"{RULE}.yaml").write_text(yaml.safe_dump(LEAN_RULE, allow_unicode=True))
    return folder


def build(url: str, records: int, reps: int, source: Path = B2B) -> tuple[Site, int]:
    """A migrated database with `records` owned customers, each idle for 61-400 days (all due)."""
    blueprint = load_blueprint(source)
    site = Site.open(blueprint, url, clock=lambda: NOW)
    migrate(site.engine, blueprint)
    with site.engine.begin() as connection:
        users.add_team(connection, site.tables, "bench")
        owners = [users.add_user(connection, site.tables, blueprint, f"rep{i}", "sales_rep", "bench")
                  for i in range(reps)]
    # created without automations: the setup is not what is measured
    from atrium.runtime.records import RecordService
    loader = RecordService(blueprint, site.engine, site.tables, clock=lambda: NOW, automations=False)
    levels = ["a", "b", "c"]
    rows = [{"name": f"Customer {i:06d}", "owner": owners[i % reps], "level": levels[i % 3],
             "last_followup_at": NOW - dt.timedelta(days=61 + i % 340)} for i in range(records)]
    loader.bulk_create("customer", rows, batch_size=5000)
    return site, records


def count(site: Site, query) -> int:
    with site.engine.connect() as connection:
        return connection.execute(query).scalar()


def measure(records: int, reps: int, profile: bool, lean: bool) -> dict:
    with tempfile.TemporaryDirectory(prefix="atrium-bench-automation-") as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        source = lean_blueprint(Path(folder) / "lean") if lean else B2B
        started = time.perf_counter()
        site, _ = build(url, records, reps, source)
        setup = time.perf_counter() - started
        log(f"setup: {records:,} customers in {setup:.1f} s")
        scheduled = ScheduledRules(site)
        profiler = cProfile.Profile() if profile else None
        started, cpu = time.perf_counter(), time.process_time()
        if profiler:
            profiler.enable()
        result, = scheduled.run_due([RULE])
        if profiler:
            profiler.disable()
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        customer = site.tables["customer"]
        notes = site.tables.system("atrium_notifications")
        history = site.tables.system("atrium_history")
        checks = {
            "recycled": count(site, sa.select(sa.func.count()).select_from(customer)
                              .where(customer.c.owner.is_(None))),
            "notified": count(site, sa.select(sa.func.count()).select_from(notes)),
            "history": count(site, sa.select(sa.func.count()).select_from(history)
                             .where(history.c.action == "update", history.c.field == "owner")),
        }
        again, = ScheduledRules(site).run_due([RULE])
        floor = update_floor(site, records)
        top = []
        if profiler:
            stats = pstats.Stats(profiler)
            rows = sorted(stats.stats.items(), key=lambda item: item[1][2], reverse=True)[:12]
            top = [(own, f"{Path(f).name}:{line}({name})", calls) for (f, line, name), (_, calls, own, _, _) in rows]
        site.engine.dispose()
    return {"lean": lean, "floor_us": floor, "records": records, "reps": reps, "setup_s": setup,
            "seconds": seconds, "cpu_s": cpu,
            "result": result, "again": again.status, "checks": checks, "top": top}


def update_floor(site: Site, records: int) -> float:
    """CPU µs per row of the bare `UPDATE ... SET owner = ? WHERE id = ?` as one driver executemany
    (giving every customer an owner back): what SQLite itself costs for the rule's main write."""
    from atrium.runtime.database import write_transaction
    users_table = site.tables.system("atrium_users")
    with site.engine.connect() as connection:
        owner = connection.execute(sa.select(sa.func.min(users_table.c.id))).scalar()
    with write_transaction(site.engine) as connection:
        started = time.process_time()
        connection.exec_driver_sql("UPDATE customer SET owner = ? WHERE id = ?",
                                   [(owner, i) for i in range(1, records + 1)])
        return (time.process_time() - started) / records * 1e6


def machine() -> str:
    import sqlite3
    return (f"{python_platform.system()} {python_platform.machine()}, {os.cpu_count()} CPUs (shared), "
            f"Python {python_platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
            f"SQLAlchemy {sa.__version__}")


def report(runs: list[dict], argv: str, b2b_shape: str) -> str:
    lines = [START, "## Automation (`bench/bench_automation.py`)", "",
             f"Run {dt.date.today().isoformat()} with `.venv/bin/python bench/bench_automation.py {argv}`"
             f" on {machine()}; the machine was shared with other work, so wall time runs ahead of CPU time.", "",
             f"A scheduled recycle, `{RULE}` (owner set to empty, the previous owner notified), over owned, idle "
             "customers on SQLite, run by `ScheduledRules.run_due` as `atrium run-scheduled` runs it: the "
             "lease, one query for the matching ids, then batches of 2,000, each in its own transaction: "
             "the condition checked again, the records read and locked, `RecordService.bulk_update` "
             "(`RecordRules.prepare` with the rules the changed fields can affect; one executemany "
             "`UPDATE`, one history insert, rollups, event rules), one insert of notifications.", "",
             f"- **shipped**: the b2b_sales rule (where the owner is set and the customer's recycle date, "
             f"a formula, is before today) over its customer entity as it is today ({b2b_shape}); setting "
             "the owner also fires the event rule `owned_since_on_new_owner` (its `where` leaves these out) and "
             "the pool writes a recycle row per record to its history;",
             "- **lean**: the DESIGN.md rule (last follow-up older than 30 days, level not VIP) over a customer "
             "of four fields (name, level, owner, last follow-up) and one index on owner: what the engine "
             "itself costs.", "",
             "| blueprint | records | run (wall) | CPU | records/s | target ≤ 5 s | status |",
             "|---|---|---|---|---|---|---|"]
    for run in runs:
        result = run["result"]
        lines.append(f"| {'lean' if run['lean'] else 'shipped'} | {run['records']:,} | **{run['seconds']:.2f} s** "
                     f"| {run['cpu_s']:.2f} s | {run['records'] / run['seconds']:,.0f} | "
                     f"{'met' if run['seconds'] <= TARGET_S else 'missed'} | {result.status}, "
                     f"{result.records:,} records |")
    lines.append("")
    for run in runs:
        checks = run["checks"]
        lines.append(f"Checked after the {'lean' if run['lean'] else 'shipped'} run: {checks['recycled']:,} "
                     f"customers without an owner, {checks['notified']:,} notifications, {checks['history']:,} "
                     f"owner changes in the history; a second run for the same day answers `{run['again']}` "
                     f"(the lease). Building the data (`bulk_create`, not counted): {run['setup_s']:.1f} s.")
        lines.append("")
    shipped = next(run for run in runs if not run["lean"])
    lean = next(run for run in runs if run["lean"])
    lines += ["What the time is spent on: on the shipped entity much of it is SQLite's own. Setting `owner` "
              "there updates every index that starts with owner ((owner), (owner, level), (owner, "
              "last_followup_at)) and the recycle date's index, with foreign keys on: the bare `UPDATE "
              "customer SET owner = ? WHERE id = ?` as one driver `executemany`, no Python around it, costs "
              f"{shipped['floor_us']:.0f} µs of CPU a row there, against {lean['floor_us']:.0f} µs on the "
              "lean table. History and notifications add an insert each per record. The Python side "
              "was cut to what each record needs: only the rules the changed fields can affect run "
              "(`RulePlan`: here one formula and one field, 6 µs instead of 90 µs a record with every "
              "formula and rule of the entity), records are read once and passed to the update, rows are "
              "read as dicts straight from the cursor, and the three bulk statements go through "
              "`bulk_statements.execute_many` (the column types' own bind processors, run once per "
              "distinct value, then the driver's executemany: a quarter of SQLAlchemy's per-row cost).", "",
              "**The 5 s target is not met.** On the lean table the run costs "
              f"{lean['cpu_s'] / lean['records'] * 1e6:.0f} µs of CPU a record, of which about a third is "
              "SQLite (the update, a history row, a notification row, the read) and the rest Python: reading "
              "the rows through SQLAlchemy (timezone-aware datetimes), the per-record rule check, building "
              "the history and notification rows. Reaching 5 s means about 50 µs a record all in, with the "
              "machine to itself. What would get there: a set-based path for rules whose plan touches no "
              "formula and no rule (one `UPDATE ... WHERE id IN (...)` per batch, history and notifications "
              "built column-wise from the rows already read), and reading only the columns the rule's "
              "expressions, recipients and plan need. On the shipped entity the bare UPDATE alone "
              f"({shipped['floor_us']:.0f} µs a row, {shipped['floor_us'] * shipped['records'] / 1e6:.1f} s "
              "for the run) is over the target: its indexes and foreign keys are the first thing to weigh.",
              ""]
    top = next((run["top"] for run in runs if run["top"]), [])
    if top:
        lines += ["Where the time goes in the shipped run (cProfile, own time, top functions; profiling slows "
                  "the run):", "", "```"]
        lines += [f"{own:7.2f} s  {calls:>9,} calls  {name}" for own, name, calls in top]
        lines += ["```", ""]
    lines.append(END)
    return "\n".join(lines)


def write_doc(section: str) -> None:
    write_section(section, START, END, DOC)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000, help="customers to recycle (default 100,000)")
    parser.add_argument("--reps", type=int, default=20, help="owners the customers are spread over")
    parser.add_argument("--profile", action="store_true", help="a further shipped run under cProfile")
    parser.add_argument("--no-doc", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    log(f"machine: {machine()}")
    runs = []
    for lean in (False, True):
        figures = measure(args.records, args.reps, profile=False, lean=lean)
        runs.append(figures)
        log(f"{'lean' if lean else 'shipped'} {RULE}: {figures['records']:,} records in {figures['seconds']:.2f} s "
            f"(CPU {figures['cpu_s']:.2f} s, {figures['records'] / figures['seconds']:,.0f} records/s; "
            f"target ≤ {TARGET_S:.0f} s) — {figures['result'].describe()}")
        log(f"  checks: {figures['checks']}, second run: {figures['again']}")
    if args.profile:
        profiled = measure(args.records, args.reps, profile=True, lean=False)
        runs[0]["top"] = profiled["top"]
        for own, name, calls in profiled["top"]:
            log(f"  {own:7.2f} s  {calls:>9,}  {name}")
    customer = load_blueprint(B2B).entities["customer"]
    shape = (f"{len(customer.fields)} fields of which {len(customer.formula_order)} formulas and "
             f"{sum(1 for f in customer if f.rollup)} rollups, "
             f"{len(Site.open(load_blueprint(B2B), 'sqlite://').tables['customer'].indexes)} indexes")
    argv = f"--records {args.records}" + (" --profile" if args.profile else "")
    if not args.no_doc:
        write_doc(report(runs, argv, shape))
        log(f"wrote {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
