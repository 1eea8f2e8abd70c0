"""Recompute on metadata change: a new formula `(amount or 0) / 10000` added to an entity with
1,000,000 records, computed for every record by `atrium migrate` (the same code path), and a
new roll-up over them; on SQLite (a file database). Prints the figures and writes them to
docs/benchmarks.md.

The data is made with one `INSERT ... SELECT` over a recursive CTE (amounts spread by a
multiplicative hash of the row number, one in nine empty), not through the records service:
the figure measured is the recompute, not the build.

    .venv/bin/python bench/bench_recompute.py [--orders 1000000] [--db /tmp/atrium_recompute.db]
"""
from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from atrium.metadata import load_blueprint  # noqa: E402
from atrium.runtime.records.recompute import Recompute  # noqa: E402
from atrium.runtime.records.service import RecordService  # noqa: E402
from atrium.runtime.schema.database import create_engine  # noqa: E402
from atrium.runtime.schema.migrations import migrate  # noqa: E402
from bench.benchmarks_doc import write_section  # noqa: E402
from tests.runtime.blueprint_factory import write_blueprint  # noqa: E402

START, END = "<!-- bench_recompute:start -->", "<!-- bench_recompute:end -->"
CUSTOMERS_PER_ORDER = 10


def entities(formula: bool, rollup: bool) -> dict:
    order = {"title": {"type": "text"}, "customer": {"type": "reference", "to": "customer"},
             "amount": {"type": "money"}}
    if formula:
        order["amount_wan"] = {"type": "money", "formula": "(amount or 0) / 10000"}
    customer = {"name": {"type": "text"}}
    if rollup:
        customer["order_total"] = {"type": "money", "rollup": {"from": "order.customer", "sum": "amount"}}
    return {"customer": {"fields": customer}, "order": {"fields": order}}


def fill(path: Path, orders: int) -> float:
    started = time.perf_counter()
    db = sqlite3.connect(path)
    customers = max(1, orders // CUSTOMERS_PER_ORDER)
    now = "2026-01-01 00:00:00.000000"
    db.execute("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
               "INSERT INTO customer (id, name, created_at, updated_at, version) "
               "SELECT i, 'Customer ' || i, ?, ?, 1 FROM n", (customers, now, now))
    db.execute("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
               "INSERT INTO \"order\" (id, title, customer, amount, created_at, updated_at, version) "
               "SELECT i, 'Order ' || i, 1 + (i * 7919) % ?, "
               "CASE WHEN i % 9 = 0 THEN NULL ELSE ((i * 2654435761) % 10000000) / 100.0 END, ?, ?, 1 FROM n",
               (orders, customers, now, now))
    db.commit()
    db.close()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--db", default=str(Path(tempfile.gettempdir()) / "atrium_recompute.db"))
    args = parser.parse_args()
    path = Path(args.db)
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        bp = Path(folder) / "bp"
        engine = create_engine(f"sqlite:///{path}")
        before = load_blueprint(write_blueprint(bp, entities(False, False)))
        migrate(engine, before, after=Recompute(RecordService(before, engine)).after_migration)
        built = fill(path, args.orders)
        print(f"built {args.orders:,} orders in {built:.1f} s")
        figures = []
        for label, formula, rollup in (("a new formula `(amount or 0) / 10000` on order", True, False),
                                       ("a new roll-up `sum: amount` on customer (one per ten orders)", True, True)):
            blueprint = load_blueprint(write_blueprint(bp, entities(formula, rollup)))
            recompute = Recompute(RecordService(blueprint, engine))
            outcomes: list = []
            started, cpu = time.perf_counter(), time.process_time()
            migrate(engine, blueprint,
                    after=lambda connection, r=recompute, o=outcomes: o.extend(r.after_migration(connection)))
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
            computed = [o for o in outcomes if o.records]
            detail = "; ".join(f"{o.entity}.{o.field}: {o.records:,} records, {o.changed:,} changed, route {o.route}"
                               for o in computed)
            print(f"{label}: {seconds:.1f} s, CPU {cpu:.1f} s ({detail})")
            figures.append((label, f"{seconds:.1f} s ({cpu:.1f} s)", detail))
        blueprint = load_blueprint(write_blueprint(bp, entities(True, True)))
        recompute = Recompute(RecordService(blueprint, engine))
        started, cpu = time.perf_counter(), time.process_time()
        with engine.begin() as connection:
            again = recompute.run(connection, recompute.chosen("order.amount_wan"))
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        print(f"atrium recompute order.amount_wan (nothing stale): {seconds:.1f} s, CPU {cpu:.1f} s, "
              f"{again[0].changed:,} changed")
        figures.append(("`atrium recompute order.amount_wan` when every value is current",
                        f"{seconds:.1f} s ({cpu:.1f} s)",
                        f"{again[0].records:,} records, {again[0].changed:,} changed"))
        engine.dispose()
    rows = "\n".join(f"| {label} | {seconds} | {detail} |" for label, seconds, detail in figures)
    section = (f"{START}\n## Recompute on metadata change (`bench/bench_recompute.py`)\n\n"
               f"SQLite file database, {args.orders:,} orders (built in {built:.0f} s with one INSERT ... SELECT), "
               f"{args.orders // CUSTOMERS_PER_ORDER:,} customers. Each figure is the whole `migrate` (schema step, "
               "computing every existing record, remembering the definitions) in one transaction.\n\n"
               "| Change | Time | What was computed |\n|---|---|---|\n" + rows + "\n\n"
               "On SQLite (NUMERIC is a double) a money formula is one UPDATE computing in doubles with an error "
               "bound; the rows whose rounding the bound cannot decide (ties like 1.005) call the Python "
               "evaluation, registered as a function on the connection (records/formula_sqlite.py). On "
               "PostgreSQL the formula compiles to NUMERIC arithmetic (records/formula_sql.py). A roll-up is one "
               "correlated UPDATE on both. Wall times on a shared 2-core machine; CPU time of this process "
               f"in brackets.\n\nLoad average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores while measuring.\n"
               + END)
    write_section(section, START, END)


if __name__ == "__main__":
    main()
