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
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT)) if str(ROOT) not in sys.path else None
import sqlalchemy as sa  # noqa: E402
from benchmarks_doc import write_section  # noqa: E402

from atrium.metadata import load_blueprint  # noqa: E402
from atrium.runtime.access import users  # noqa: E402
from atrium.runtime.automation.scheduler import ScheduledRules  # noqa: E402
from atrium.runtime.schema.migrations import migrate  # noqa: E402
from atrium.runtime.site.site import Site  # noqa: E402

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
    from atrium.runtime.records.service import RecordService
    loader = RecordService(blueprint, site.engine, site.tables, clock=lambda: NOW)
    levels = ["a", "b", "c"]
    rows = [{"name": f"Customer {i:06d}", "owner": owners[i % reps], "level": levels[i % 3],
             "last_followup_at": NOW - dt.timedelta(days=61 + i % 340)} for i in range(records)]
    if "owned_since" in blueprint.entities["customer"].fields:  # owned since before the last follow-up
        for row in rows:
            row["owned_since"] = (NOW - dt.timedelta(days=401)).date()
    loader.bulk_create("customer", rows, batch_size=5000)
    return site, records


def count(site: Site, query) -> int:
    with site.engine.connect() as connection:
        return connection.execute(query).scalar()


def measure(records: int, reps: int, profile: bool, lean: bool, repeat: int = 1) -> dict:
    """Build the data once, then run the recycle `repeat` times, each on a fresh copy of the
    database (the machine is shared: the best and the median of a few runs say more than one);
    with `profile`, one more run under cProfile (not counted) gives the top functions."""
    with tempfile.TemporaryDirectory(prefix="atrium-bench-automation-") as folder:
        built = Path(folder) / "built.db"
        source = lean_blueprint(Path(folder) / "lean") if lean else B2B
        started = time.perf_counter()
        site, _ = build(f"sqlite:///{built}", records, reps, source)
        setup = time.perf_counter() - started
        log(f"setup: {records:,} customers in {setup:.1f} s")
        with site.engine.connect() as connection:  # everything into the file itself, to copy it
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        blueprint = site.blueprint
        site.engine.dispose()
        runs, top = [], []
        for index in range(repeat + (1 if profile else 0)):
            copy = Path(folder) / "run.db"
            for leftover in (copy, copy.with_name("run.db-wal"), copy.with_name("run.db-shm")):
                leftover.unlink(missing_ok=True)
            shutil.copyfile(built, copy)
            site = Site.open(blueprint, f"sqlite:///{copy}", clock=lambda: NOW)
            if index == repeat:  # the profiled run
                top = run_once(site, True)["top"]
            else:
                runs.append(run_once(site, False))
                log(f"  run: wall {runs[-1]['seconds']:.2f} s, CPU {runs[-1]['cpu_s']:.2f} s, "
                    f"load average {runs[-1]['load'][0]:.1f} → {runs[-1]['load'][1]:.1f}")
            if index == repeat - 1:  # SQLite alone, on the last counted run's database
                floors = {"floor_us": update_floor(site, records), "floor_in_us": update_floor_in(site, records)}
            site.engine.dispose()
        figures = {**runs[-1], **floors, "top": top}
    cpus, walls = sorted(run["cpu_s"] for run in runs), sorted(run["seconds"] for run in runs)
    figures.update(lean=lean, records=records, reps=reps, setup_s=setup, runs=len(runs),
                   cpu_s=cpus[0], seconds=walls[0], cpu_median=statistics.median(cpus),
                   wall_median=statistics.median(walls), load=(min(r["load"][0] for r in runs),
                                                              max(r["load"][1] for r in runs)))
    return figures


def run_once(site: Site, profile: bool) -> dict:
    scheduled = ScheduledRules(site)
    profiler = cProfile.Profile() if profile else None
    load = os.getloadavg()[0]
    started, cpu = time.perf_counter(), time.process_time()
    if profiler:
        profiler.enable()
    result, = scheduled.run_due([RULE])
    if profiler:
        profiler.disable()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    load = (load, os.getloadavg()[0])
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
    top = []
    if profiler:
        stats = pstats.Stats(profiler)
        rows = sorted(stats.stats.items(), key=lambda item: item[1][2], reverse=True)[:12]
        top = [(own, f"{Path(f).name}:{line}({name})", calls) for (f, line, name), (_, calls, own, _, _) in rows]
    return {"seconds": seconds, "cpu_s": cpu, "load": load, "result": result, "again": again.status,
            "checks": checks, "top": top}


def update_floor(site: Site, records: int) -> float:
    """CPU µs per row of the bare `UPDATE ... SET owner = ? WHERE id = ?` as one driver executemany
    (giving every customer an owner back): what SQLite itself costs for the rule's main write."""
    from atrium.runtime.schema.database import write_transaction
    users_table = site.tables.system("atrium_users")
    with site.engine.connect() as connection:
        owner = connection.execute(sa.select(sa.func.min(users_table.c.id))).scalar()
    with write_transaction(site.engine) as connection:
        started = time.process_time()
        connection.exec_driver_sql("UPDATE customer SET owner = ? WHERE id = ?",
                                   [(owner, i) for i in range(1, records + 1)])
        return (time.process_time() - started) / records * 1e6


def update_floor_in(site: Site, records: int) -> float:
    """CPU µs per row of the set-wise form the run uses: `UPDATE customer SET owner = NULL WHERE id
    IN (...)`, 1,000 ids a statement, 2,000 a transaction, through the driver."""
    from atrium.runtime.schema.database import write_transaction
    started = time.process_time()
    for first in range(1, records + 1, 2000):
        with write_transaction(site.engine) as connection:
            for start in range(first, min(first + 2000, records + 1), 1000):
                ids = list(range(start, min(start + 1000, first + 2000, records + 1)))
                connection.exec_driver_sql("UPDATE customer SET owner = NULL WHERE id IN (%s)"
                                           % ", ".join("?" * len(ids)), tuple(ids))
    return (time.process_time() - started) / records * 1e6


def machine() -> str:
    import sqlite3
    return (f"{python_platform.system()} {python_platform.machine()}, {os.cpu_count()} CPUs (shared), "
            f"Python {python_platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
            f"SQLAlchemy {sa.__version__}")


# The same runs before the set-wise path (commit f54a0b5, measured on this machine at a load of
# 0.1-0.8): what the figures below are compared with.
BEFORE = {"shipped": (24.55, 23.40), "lean": (7.96, 7.83)}  # (wall s, CPU s)


def report(runs: list[dict], argv: str, b2b_shape: str) -> str:
    lines = [START, "## Automation (`bench/bench_automation.py`)", "",
             f"Run {dt.date.today().isoformat()} with `.venv/bin/python bench/bench_automation.py {argv}`"
             f" on {machine()}. The machine was shared with other work (load average in the table): wall "
             "time runs ahead of CPU time, and even CPU time varies by a quarter from run to run, so each "
             "blueprint is built once and its recycle run several times on fresh copies of the database; the "
             "table gives the best run and the median.", "",
             f"A scheduled recycle, `{RULE}` (owner set to empty, the previous owner notified), over owned, idle "
             "customers on SQLite, run by `ScheduledRules.run_due` as `atrium run-scheduled` runs it: the "
             "lease, one query for the matching ids, then batches of 2,000, each in its own transaction: "
             "the condition checked again while reading only the columns the rule needs "
             "(`rule_columns.py`), one outcome for every record (`owner: null` reads nothing, and the rules "
             "it reaches read nothing else once the owner is empty: `set_writes.shared_outcome`), one "
             "`UPDATE ... WHERE id IN (...)` per 1,000 records (the ids as one JSON parameter), one insert "
             "each of field history, pool history and notifications built column by column.", "",
             f"- **shipped**: the b2b_sales rule (where the owner is set and the customer's recycle date, "
             f"a formula, is before today) over its customer entity as it is today ({b2b_shape}); emptying "
             "the owner empties the recycle date too (two history rows a record), the event rule "
             "`owned_since_on_new_owner` is checked (its `where` leaves every record out: one query a "
             "batch) and the pool writes a recycle row per record to its history;",
             "- **lean**: the DESIGN.md rule (last follow-up older than 30 days, level not VIP) over a customer "
             "of four fields (name, level, owner, last follow-up) and one index on owner: what the engine "
             "itself costs.", "",
             "| blueprint | records | runs | wall: best / median | CPU: best / median | before (wall / CPU) "
             "| load avg | target ≤ 5 s | status |",
             "|---|---|---|---|---|---|---|---|---|"]
    for run in runs:
        result, name = run["result"], "lean" if run["lean"] else "shipped"
        wall, cpu = BEFORE[name]
        verdict = ("met" if run["wall_median"] <= TARGET_S else
                   "met in CPU time" if run["cpu_median"] <= TARGET_S else "missed")
        lines.append(f"| {name} | {run['records']:,} | {run['runs']} | **{run['seconds']:.2f}** / "
                     f"{run['wall_median']:.2f} s | **{run['cpu_s']:.2f}** / {run['cpu_median']:.2f} s "
                     f"| {wall:.2f} s / {cpu:.2f} s | {run['load'][0]:.1f}-{run['load'][1]:.1f} | {verdict} "
                     f"| {result.status}, {result.records:,} records |")
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
    lines += ["**Where the time goes.** SQLite's own work is now most of it. The bare `UPDATE customer SET "
              "owner = ?` costs, per row, through the driver with no Python around it: "
              f"{shipped['floor_us']:.0f} µs as one statement per row and {shipped['floor_in_us']:.0f} µs in "
              f"the set-wise form on the shipped table, {lean['floor_us']:.0f} and {lean['floor_in_us']:.0f} µs "
              "on the lean one. On the shipped table most of that is one index: the customer list's default "
              "sort (`-last_followup_at`) gives the entity an index on (owner, last_followup_at) for each "
              "person's list, and emptying the owner moves every entry of it from its owner's run to a place "
              "among the empty owners sorted by date: a random page of the index per record, on both sides. "
              "Measured alone (set-wise, 100,000 rows, 16 MB cache): 2.9 s of CPU with it, 1.0 s without it, "
              "0.3 s with no index on owner at all. SQLite's default 2 MB page cache made it worse (those "
              "pages read again and again); connections now keep 16 MB (`database.py`), which took the run's "
              "UPDATE (owner, recycle date, version, stamp) from 4.7 to 3.1 s of CPU. Foreign keys add about a "
              "fifth (0.6 of 2.6 s for the owner alone: SQLite still looks up each old owner, and the switch "
              "cannot change inside a transaction; integrity stays on). The inserts come next: 200,000 history rows "
              "(owner and recycle date), 100,000 pool history rows and 100,000 notifications cost 6-8 µs a row "
              "in SQLite itself (their indexes and, for notifications, the foreign key to the user), about "
              "2.7 s on the shipped run and 1.5 s on the lean one. Python is now about 15-20 µs a record: reading "
              "the needed columns, the records service's before/after pairs and change lists, the history and "
              "notification rows (a message with `{name}` is filled and JSON-encoded per record), the "
              "scheduler's items.", "",
              f"**Target.** The lean run {'meets' if lean['wall_median'] <= TARGET_S else 'misses'} the 5 s "
              f"target: median {lean['wall_median']:.2f} s ({lean['cpu_median']:.2f} s of CPU; was "
              f"{BEFORE['lean'][0]:.2f} s), best {lean['seconds']:.2f} s, on this shared machine. The shipped "
              f"run (median {shipped['wall_median']:.2f} s, {shipped['cpu_median']:.2f} s of CPU; was "
              f"{BEFORE['shipped'][0]:.2f} s) misses it by {max(0.0, shipped['cpu_median'] - TARGET_S):.1f} s "
              "of CPU: its "
              "SQLite work alone (the UPDATE through seven indexes, two history rows a record, pool history, "
              "notifications, reading, commits) is about 6.5 s. What would close the gap is a schema choice, "
              "not engine code: no per-owner sorted index (owner, last_followup_at) (a person's own list would "
              "then sort through (owner) or (owner, level); made partial, `WHERE owner IS NOT NULL`, it still "
              "costs the deletions: 0.6 s saved), one history row per record for a formula's follow-on change, "
              "or larger batches (10,000 records a transaction cost the UPDATE a third less: pages are written "
              "once per commit, but the write lock is held five times as long).", ""]
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
    parser.add_argument("--repeat", type=int, default=3, help="runs of each blueprint (best and median kept)")
    parser.add_argument("--no-doc", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    log(f"machine: {machine()}")
    runs = []
    for lean in (False, True):
        figures = measure(args.records, args.reps, profile=args.profile and not lean, lean=lean,
                          repeat=args.repeat)
        runs.append(figures)
        log(f"{'lean' if lean else 'shipped'} {RULE}: {figures['records']:,} records, best of {figures['runs']}: "
            f"{figures['seconds']:.2f} s (CPU {figures['cpu_s']:.2f} s; median {figures['wall_median']:.2f} s, "
            f"CPU {figures['cpu_median']:.2f} s; target ≤ {TARGET_S:.0f} s; load average "
            f"{figures['load'][0]:.1f} → {figures['load'][1]:.1f}) — {figures['result'].describe()}")
        log(f"  bare UPDATE: {figures['floor_us']:.1f} µs a row one by one, {figures['floor_in_us']:.1f} µs set-wise")
        log(f"  checks: {figures['checks']}, second run: {figures['again']}")
    for own, name, calls in runs[0]["top"]:
        log(f"  {own:7.2f} s  {calls:>9,}  {name}")
    customer = load_blueprint(B2B).entities["customer"]
    shape = (f"{len(customer.fields)} fields of which {len(customer.formula_order)} formulas and "
             f"{sum(1 for f in customer if f.rollup)} rollups, "
             f"{len(Site.open(load_blueprint(B2B), 'sqlite://').tables['customer'].indexes)} indexes")
    argv = f"--records {args.records} --repeat {args.repeat}" + (" --profile" if args.profile else "")
    if not args.no_doc:
        write_doc(report(runs, argv, shape))
        log(f"wrote {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
