"""Bulk writes through the records service: records/s and SQL statements per bulk create of a
plain entity of 12 fields (text, email, select, integer, money, percent, date, datetime, boolean,
url, user, textarea: coercion and validation, no formulas or roll-ups), of a `rolled` entity of 12
fields (2 formulas, a check, three roll-ups onto ~200 parents: issue 17's second target), of the b2b customers and of
the b2b orders (autonumber, formulas, a check, stage history and roll-ups on their customers), on
SQLite and optionally PostgreSQL; and the shipped scheduled recycle (`recycle_idle_customers`) of
100,000 customers on SQLite, the customers built once (nice) and kept under /tmp/atrium-bench/.

    .venv/bin/python bench/bench_bulk_writes.py [--count 20000] [--repeat 2] [--pg URL]
        [--profile plain|rolled|customer|order|recycle] [--recycle 100000 | --recycle 0] [--without-b2b]

Not a timed test: run it on a quiet machine; the figures vary with load. Prints a Markdown table.
"""
from __future__ import annotations

import argparse
import cProfile
import hashlib
import os
import pstats
import random
import shutil
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench")) if str(ROOT / "bench") not in sys.path else None
import sqlalchemy as sa  # noqa: E402
import yaml  # noqa: E402
from bench_automation import NOW, RULE, build  # noqa: E402
from bench_core import B2B, fresh_sqlite, sample_rows, timed  # noqa: E402

from atrium.metadata import load_blueprint  # noqa: E402
from atrium.runtime.access import users  # noqa: E402
from atrium.runtime.automation.scheduler import ScheduledRules  # noqa: E402
from atrium.runtime.schema import preaggregates  # noqa: E402
from atrium.runtime.schema.database import create_engine  # noqa: E402
from atrium.runtime.schema.migrations import migrate  # noqa: E402
from atrium.runtime.site.services import records_service  # noqa: E402
from atrium.runtime.site.site import Site  # noqa: E402

CACHE = Path("/tmp/atrium-bench")
ROLLED_PARENTS = 200
PLAIN_ENTITY = {
    "name": "item", "label": {"en": "Item", "zh": "条目"}, "owner": "owner",
    "fields": {"name": {"type": "text", "required": True, "max_length": 200},
               "email": {"type": "email"},
               "status": {"type": "select", "options": ["new", "active", "closed"], "required": True},
               "quantity": {"type": "integer", "min": 0, "max": 1_000_000},
               "price": {"type": "money", "min": 0},
               "discount": {"type": "percent", "min": 0, "max": 100},
               "starts_on": {"type": "date"},
               "seen_at": {"type": "datetime"},
               "active": {"type": "boolean"},
               "website": {"type": "url"},
               "owner": {"type": "user"},
               "notes": {"type": "textarea", "max_length": 2000}},
    "indexes": [["owner"]]}


PARENT_ENTITY = {
    "name": "account", "label": {"en": "Account", "zh": "账户"},
    "fields": {"name": {"type": "text", "required": True},
               "entry_total": {"type": "money", "rollup": {"from": "entry.account", "sum": "net"}},
               "entry_count": {"type": "integer", "rollup": {"from": "entry.account", "count": "id"}},
               "last_entry_on": {"type": "date", "rollup": {"from": "entry.account", "max": "booked_on"}}}}
ROLLED_ENTITY = {
    "name": "entry", "label": {"en": "Entry", "zh": "明细"}, "owner": "owner",
    "fields": {"name": {"type": "text", "required": True, "max_length": 200},
               "account": {"type": "reference", "to": "account", "required": True},
               "status": {"type": "select", "options": ["new", "active", "closed"], "required": True},
               "quantity": {"type": "integer", "min": 0, "max": 1_000_000},
               "price": {"type": "money", "min": 0},
               "discount": {"type": "percent", "min": 0, "max": 100},
               "total": {"type": "money", "formula": "(quantity or 0) * (price or 0)"},
               "net": {"type": "money", "formula": "total * (100 - (discount or 0)) / 100"},
               "booked_on": {"type": "date"},
               "active": {"type": "boolean"},
               "owner": {"type": "user"},
               "notes": {"type": "textarea", "max_length": 2000}},
    "checks": [{"name": "closed_has_date", "when": "status == 'closed'", "assert": "booked_on is not None",
                "message": {"en": "A closed entry needs its date", "zh": "已关闭的明细需要日期"}}],
    "indexes": [["owner"]]}


def plain_blueprint(folder: Path, entities: tuple[dict, ...] = (PLAIN_ENTITY,)):
    """A blueprint of one plain entity of 12 fields: the records service's own cost per record (or
    of `entities`, rights for the rep on each)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "entities").mkdir(exist_ok=True)
    (folder / "blueprint.yaml").write_text(yaml.safe_dump({
        "name": "plain", "label": "Plain", "locales": ["zh", "en"], "currency": "CNY",
        "timezone": "Asia/Shanghai"}), encoding="utf-8")
    (folder / "roles.yaml").write_text(yaml.safe_dump({"roles": {"sales_rep": {"label": "Rep", "entities": {
        entity["name"]: {"read": "own" if "owner" in entity else "all", "create": True,
                         "update": "own" if "owner" in entity else "all", "delete": "none"}
        for entity in entities}}}}), encoding="utf-8")
    for entity in entities:
        (folder / "entities" / f"{entity['name']}.yaml").write_text(yaml.safe_dump(entity, allow_unicode=True),
                                                                     encoding="utf-8")
    return load_blueprint(folder)


def rolled_rows(count: int, owners: list[int], accounts: list[int]) -> list[dict]:
    """Entries as strings, spread over the accounts; every third one closed (the check reads its date)."""
    rng = random.Random(8)
    statuses = ["new", "active", "closed"]
    return [{"name": f"Entry {i:06d}", "account": str(accounts[rng.randrange(len(accounts))]),
             "status": statuses[i % 3], "quantity": str(rng.randint(0, 500)),
             "price": f"{rng.randint(1, 9_999)}.{rng.randint(0, 99):02d}", "discount": str(rng.randint(0, 30)),
             "booked_on": f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}", "active": "true" if i % 2 else "false",
             "owner": owners[i % len(owners)],
             "notes": "Booked at the spring fair." if i % 4 == 0 else None} for i in range(count)]


def plain_rows(count: int, owners: list[int]) -> list[dict]:
    """Rows as an import or an API client sends them: strings and numbers, coerced by the service."""
    rng = random.Random(7)
    statuses = ["new", "active", "closed"]
    return [{"name": f"Item {i:06d}", "email": f"buyer{i}@example.com", "status": statuses[i % 3],
             "quantity": rng.randint(0, 500), "price": f"{rng.randint(1, 99_999)}.{rng.randint(0, 99):02d}",
             "discount": rng.randint(0, 30), "starts_on": f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}",
             "seen_at": f"2026-06-{1 + i % 28:02d}T{i % 24:02d}:15:00", "active": i % 2 == 0,
             "website": f"https://shop{i % 97}.example.com/", "owner": owners[i % len(owners)],
             "notes": "Called about the spring order." if i % 4 == 0 else None} for i in range(count)]


class StatementCounter:
    """Counts the statements (an executemany is one) the engine sends, by their first words."""

    def __init__(self, engine: sa.Engine):
        self.counts: Counter[str] = Counter()
        sa.event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, connection, cursor, statement, parameters, context, executemany) -> None:
        words = statement.split()
        self.counts[" ".join(words[:3]) if words else "?"] += 1

    def reset(self) -> Counter[str]:
        counts, self.counts = self.counts, Counter()
        return counts


def fresh_engine(folder: Path, pg_url: str | None):
    if pg_url is None:
        return fresh_sqlite(folder, "bulk_writes.db"), None
    schema = f"bench_bulk_{uuid.uuid4().hex[:8]}"
    admin = create_engine(pg_url)
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    separator = "&" if "?" in pg_url else "?"
    return create_engine(f"{pg_url}{separator}options=-csearch_path%3D{schema}"), schema


def drop_schema(pg_url: str, schema: str) -> None:
    admin = create_engine(pg_url)
    with admin.begin() as connection:
        connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def run_once(folder: Path, count: int, pg_url: str | None, profile: str | None, b2b: bool = True) -> dict:
    figures: dict = {}
    plain = plain_blueprint(folder / "plain")
    engine, schema = fresh_engine(folder, pg_url)
    try:
        migrate(engine, plain)
        service = records_service(plain, engine)
        with engine.begin() as connection:
            owners = [users.add_user(connection, service.tables, plain, f"u{i}", "sales_rep") for i in range(5)]
        counter = StatementCounter(engine)
        figures.update(measured("plain", service.bulk_create, ("item", plain_rows(count, owners)),
                                counter, profile == "plain"))
    finally:
        engine.dispose()
        if schema is not None and pg_url is not None:
            drop_schema(pg_url, schema)
    rolled = plain_blueprint(folder / "rolled", (PARENT_ENTITY, ROLLED_ENTITY))
    engine, schema = fresh_engine(folder, pg_url)
    try:
        migrate(engine, rolled)
        service = records_service(rolled, engine)
        with engine.begin() as connection:
            owners = [users.add_user(connection, service.tables, rolled, f"u{i}", "sales_rep") for i in range(5)]
        accounts = [record["id"] for record in service.bulk_create(
            "account", [{"name": f"Account {i}"} for i in range(ROLLED_PARENTS)])]
        counter = StatementCounter(engine)
        figures.update(measured("rolled", service.bulk_create, ("entry", rolled_rows(count, owners, accounts)),
                                counter, profile == "rolled"))
        figures["rolled_check"] = rolled_check(engine, service.tables, count)
    finally:
        engine.dispose()
        if schema is not None and pg_url is not None:
            drop_schema(pg_url, schema)
    figures.pop("plain_result", None)
    figures.pop("rolled_result", None)
    if not b2b:
        return figures
    blueprint = load_blueprint(B2B)
    engine, schema = fresh_engine(folder, pg_url)
    try:
        migrate(engine, blueprint)
        service = records_service(blueprint, engine)
        with engine.begin() as connection:
            owners = [users.add_user(connection, service.tables, blueprint, f"u{i}", "sales_rep") for i in range(5)]
        customer_rows, order_rows = sample_rows(count, count, owners)
        counter = StatementCounter(engine)
        figures.update(measured("customer", service.bulk_create, ("customer", customer_rows), counter,
                                profile == "customer"))
        created = figures.pop("customer_result")
        rng = random.Random(6)
        parents = [record["id"] for record in created][: max(1, count // 10)]  # ~ten orders a customer
        for row in order_rows:
            row["customer"] = rng.choice(parents)
        figures.update(measured("order", service.bulk_create, ("order", order_rows), counter, profile == "order"))
    finally:
        engine.dispose()
        if schema is not None and pg_url is not None:
            drop_schema(pg_url, schema)
    figures.pop("order_result", None)
    figures["parents"] = len(parents)
    return figures


def rolled_check(engine: sa.Engine, tables, count: int) -> str:
    """The roll-ups as stored against the children: the refresh kept up with every batch."""
    account, entry = tables["account"], tables["entry"]
    with engine.connect() as connection:
        counted = connection.execute(sa.select(sa.func.sum(account.c.entry_count))).scalar()
        summed = connection.execute(sa.select(sa.func.sum(account.c.entry_total))).scalar()
        expected = connection.execute(sa.select(sa.func.sum(entry.c.net))).scalar()
    ok = counted == count and summed == expected
    return "roll-ups match" if ok else f"roll-ups DIFFER: count {counted}, sum {summed} vs {expected}"


def measured(name: str, function, args: tuple, counter: StatementCounter, profile: bool) -> dict:
    """`function(*args)` timed (wall, CPU), its statements counted, perhaps profiled."""
    counter.reset()
    profiler = cProfile.Profile() if profile else None
    if profiler is not None:
        profiler.enable()
    result, seconds, cpu = timed(function, *args)
    if profiler is not None:
        profiler.disable()
        print_profile(profiler)
    return {f"{name}_s": seconds, f"{name}_cpu": cpu, f"{name}_statements": counter.reset(),
            f"{name}_result": result}


def print_profile(profiler: cProfile.Profile) -> None:
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
    pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


# --- the scheduled recycle of 100,000 shipped customers --------------------------------------

def recycle_source(records: int) -> Path:
    """The SQLite file of `records` owned, idle customers (bench_automation.build), built once per
    blueprint and record count and kept under /tmp/atrium-bench/."""
    digest = hashlib.sha1()
    for path in sorted(B2B.rglob("*.yaml")):
        digest.update(path.read_bytes())
    built = CACHE / f"recycle-{records}-{digest.hexdigest()[:10]}.db"
    if not built.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        partial = built.with_suffix(".partial")
        for leftover in (partial, Path(f"{partial}-wal"), Path(f"{partial}-shm")):
            leftover.unlink(missing_ok=True)
        started = time.perf_counter()
        site, _ = build(f"sqlite:///{partial}", records, 20)
        with site.engine.connect() as connection:  # everything into the file itself, to copy it
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        site.engine.dispose()
        partial.rename(built)
        print(f"built {records:,} customers in {time.perf_counter() - started:.0f} s: {built}", flush=True)
    return built


def run_recycle(folder: Path, records: int, profile: bool) -> dict:
    """The shipped recycle over a fresh copy of the built customers, as `atrium run-scheduled` runs it."""
    built = recycle_source(records)
    copy = folder / "recycle.db"
    for leftover in (copy, Path(f"{copy}-wal"), Path(f"{copy}-shm")):
        leftover.unlink(missing_ok=True)
    shutil.copyfile(built, copy)
    site = Site.open(load_blueprint(B2B), f"sqlite:///{copy}", clock=lambda: NOW)
    try:
        counter = StatementCounter(site.engine)
        figures = measured("recycle", lambda: ScheduledRules(site).run_due([RULE])[0], (), counter, profile)
        result = figures.pop("recycle_result")
        customer = site.tables["customer"]
        with site.engine.connect() as connection:
            emptied = connection.execute(sa.select(sa.func.count()).select_from(customer)
                                         .where(customer.c.owner.is_(None))).scalar()
        figures.update(recycle_records=result.records, recycle_emptied=emptied, recycle_status=result.status)
    finally:
        site.engine.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--pg", default=None, help="PostgreSQL URL (a schema is made and dropped)")
    parser.add_argument("--profile", choices=("plain", "rolled", "customer", "order", "recycle"),
                        help="cProfile one of the writes (the first run)")
    parser.add_argument("--recycle", type=int, default=100_000,
                        help="customers the recycle empties (SQLite only; 0: no recycle)")
    parser.add_argument("--without-b2b", action="store_true", help="plain and rolled only (no customers, orders)")
    parser.add_argument("--without-preaggregates", action="store_true",
                        help="migrate without the reports' pre-aggregates (and their triggers): what they cost")
    args = parser.parse_args()
    if args.without_preaggregates:
        preaggregates.shapes = lambda blueprint, tables: []
    print(f"load average at the start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        runs = [run_once(Path(folder), args.count, args.pg, args.profile if i == 0 else None, not args.without_b2b)
                for i in range(args.repeat)]
        recycles = [run_recycle(Path(folder), args.recycle, args.profile == "recycle" and i == 0)
                    for i in range(args.repeat)] if args.recycle and args.pg is None else []
    database = ("PostgreSQL" if args.pg else "SQLite file") + (
        ", without pre-aggregates" if args.without_preaggregates else "")
    profiles = ("plain", "rolled") if args.without_b2b else ("plain", "rolled", "customer", "order")
    orders = "" if args.without_b2b else f"orders on {runs[0]['parents']:,} customers; "
    print(f"\n{database}, {args.count:,} records, best of {args.repeat}; {orders}load average at the end: "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}\n")
    print("| what | time | records/s | records/s of CPU | statements |")
    print("|---|---|---|---|---|")
    for entity in profiles:
        best = min(runs, key=lambda run: run[f"{entity}_s"])
        statements = best[f"{entity}_statements"]
        print(f"| bulk_create {entity} | {best[f'{entity}_s']:.2f} s | **{args.count / best[f'{entity}_s']:,.0f}** | "
              f"{args.count / best[f'{entity}_cpu']:,.0f} | {sum(statements.values()):,} |")
    if recycles:
        best = min(recycles, key=lambda run: run["recycle_s"])
        print(f"| recycle {best['recycle_records']:,} customers ({best['recycle_status']}, "
              f"{best['recycle_emptied']:,} emptied) | **{best['recycle_s']:.2f} s** "
              f"(CPU {best['recycle_cpu']:.2f} s) | {best['recycle_records'] / best['recycle_s']:,.0f} | "
              f"{best['recycle_records'] / best['recycle_cpu']:,.0f} | {sum(best['recycle_statements'].values()):,} |")
    print(f"\nrolled: {runs[0]['rolled_check']} ({ROLLED_PARENTS} accounts)")
    for entity in profiles:
        statements = min(runs, key=lambda run: run[f"{entity}_s"])[f"{entity}_statements"]
        print(f"\n{entity} statements: " + ", ".join(f"{words!r} × {n:,}" for words, n in statements.most_common()))
    if recycles:
        statements = min(recycles, key=lambda run: run["recycle_s"])["recycle_statements"]
        print("\nrecycle statements: " + ", ".join(f"{words!r} × {n:,}" for words, n in statements.most_common(12)))


if __name__ == "__main__":
    main()
