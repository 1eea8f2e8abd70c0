"""Propagation figures: one parent's change reaching the stored formulas of its 10,000 children
that read it through dotted paths (`customer.level`, two links away `customer.region.discount`),
with a roll-up over one of those formulas, on SQLite, through `RecordService.update` exactly as a
form save runs it (one transaction). Prints the figures and rewrites its own section of
docs/benchmarks.md.

    .venv/bin/python bench/bench_propagation.py [--children 10000] [--repeat 5] [--no-doc]

Not a timed test: run it on a quiet machine; the figures vary with load.
"""
from __future__ import annotations

import argparse
import os
import platform as python_platform
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT)) if str(ROOT) not in sys.path else None
import sqlalchemy as sa  # noqa: E402
import yaml  # noqa: E402
from benchmarks_doc import write_section  # noqa: E402

from atrium.metadata import load_blueprint  # noqa: E402
from atrium.runtime.records.service import RecordService  # noqa: E402
from atrium.runtime.schema.database import create_engine  # noqa: E402
from atrium.runtime.schema.migrations import migrate  # noqa: E402

START, END = "<!-- bench_propagation:start -->", "<!-- bench_propagation:end -->"
TARGET_S = 1.0
ENTITIES = {
    "region": {"fields": {"name": {"type": "text"}, "discount": {"type": "number"}}},
    "customer": {"fields": {
        "name": {"type": "text"}, "level": {"type": "select", "options": ["a", "b", "vip"]},
        "region": {"type": "reference", "to": "region"},
        "net_total": {"type": "money", "rollup": {"from": "order.customer", "sum": "net"}}}},
    "order": {"fields": {
        "title": {"type": "text"}, "customer": {"type": "reference", "to": "customer"},
        "amount": {"type": "money"},
        "level": {"type": "text", "formula": "customer.level"},
        "net": {"type": "money", "formula": "(amount or 0) * (100 - (customer.region.discount or 0)) / 100"}},
        "indexes": [["customer"]]},
}


def log(text: str) -> None:
    print(text, flush=True)


def write_blueprint(folder: Path) -> None:
    (folder / "entities").mkdir(parents=True)
    head = {"name": "bench_propagation", "version": 1, "label": {"en": "Bench", "zh": "基准"}, "locales": ["en", "zh"]}
    (folder / "blueprint.yaml").write_text(yaml.safe_dump(head), encoding="utf-8")
    for name, spec in ENTITIES.items():
        document = {"name": name, "label": {"en": name.title(), "zh": name}, **spec}
        (folder / "entities" / f"{name}.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")


def measure(children: int, repeat: int) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="bench_propagation_"))
    try:
        write_blueprint(folder / "bp")
        blueprint = load_blueprint(folder / "bp")
        engine = create_engine(f"sqlite:///{folder / 'bench.db'}")
        migrate(engine, blueprint)
        service = RecordService(blueprint, engine)
        region = service.create("region", {"name": "North", "discount": 10})
        customer = service.create("customer", {"name": "Acme", "level": "a", "region": region["id"]})
        service.bulk_create("order", ({"title": f"o{i}", "customer": customer["id"], "amount": 100 + i % 50}
                                      for i in range(children)))
        runs: dict[str, list[float]] = {"level": [], "discount": []}
        cpu: dict[str, list[float]] = {"level": [], "discount": []}
        for index in range(repeat):
            for kind, entity, record, values in (
                    ("level", "customer", customer, {"level": ("b", "vip")[index % 2]}),
                    ("discount", "region", region, {"discount": 20 + index})):
                started, processor = time.perf_counter(), time.process_time()
                service.update(entity, record["id"], values)
                runs[kind].append(time.perf_counter() - started)
                cpu[kind].append(time.process_time() - processor)
        with engine.connect() as connection:
            orders = service.tables["order"]
            levels = set(connection.execute(sa.select(orders.c.level).distinct()).scalars())
            net_total = service.get("customer", customer["id"])["net_total"]
            expected = sum((100 + i % 50) * (100 - (20 + repeat - 1)) / 100 for i in range(children))
        engine.dispose()
        right = abs(float(net_total) - expected) < 0.01 * children
        return {"runs": runs, "cpu": cpu, "levels": levels, "net_ok": right}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def machine() -> str:
    return (f"{python_platform.system()} {python_platform.machine()}, {os.cpu_count()} CPUs (shared), "
            f"Python {python_platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
            f"SQLAlchemy {sa.__version__}")


def report(children: int, figures: dict, argv: str) -> str:
    level, discount = figures["runs"]["level"], figures["runs"]["discount"]
    level_cpu, discount_cpu = figures["cpu"]["level"], figures["cpu"]["discount"]
    load = os.getloadavg()[0]
    return f"""{START}
## Propagation through dotted paths (`bench/bench_propagation.py`)

`.venv/bin/python bench/bench_propagation.py {argv}` on {machine()}, load average {load:.1f}.
One customer with {children:,} orders; each order stores `level: customer.level` and
`net: (amount or 0) * (100 - (customer.region.discount or 0)) / 100`, and the customer a roll-up
`net_total` (sum of the orders' `net`). The timed call is `RecordService.update` of the parent, in
one transaction: the parent's write, the query walking each path back, the children read in
batches of 2,000 (only the columns the affected formulas read) with their linked values loaded
set-wise, the formulas reading the changed path computed, the records getting the same new values
written with one UPDATE per value set (an executemany for the rest), and the roll-up refreshed.

| change | children recomputed | best (wall) | median (wall) | best (CPU) | target |
|---|---:|---:|---:|---:|---:|
| `customer.level` (one link) | {children:,} | {min(level):.2f} s | {statistics.median(level):.2f} s | \
{min(level_cpu):.2f} s | ≤ {TARGET_S:.0f} s |
| `region.discount` (two links, roll-up along) | {children:,} | {min(discount):.2f} s | \
{statistics.median(discount):.2f} s | {min(discount_cpu):.2f} s | ≤ {TARGET_S:.0f} s |

The CPU column is the process's own time: on a shared machine the wall time also counts the
waits for a core.

Checked after the runs: every order holds the customer's last level ({', '.join(sorted(figures['levels']))}),
the roll-up equals the sum of the recomputed nets: {'yes' if figures['net_ok'] else 'NO'}.
{END}"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-doc", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()
    log(f"machine: {machine()}")
    figures = measure(args.children, args.repeat)
    for kind, times in figures["runs"].items():
        log(f"{kind}: {args.children:,} children, best {min(times):.3f} s, median {statistics.median(times):.3f} s, "
            f"best CPU {min(figures['cpu'][kind]):.3f} s (target ≤ {TARGET_S:.0f} s)")
    log(f"levels after: {sorted(figures['levels'])}; roll-up right: {figures['net_ok']}")
    if not args.no_doc:
        write_section(report(args.children, figures, f"--children {args.children} --repeat {args.repeat}"),
                      START, END)
        log("wrote docs/benchmarks.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
