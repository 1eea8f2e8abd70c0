"""Bulk writes through the records service: records/s and SQL statements per bulk create of
customers (12 fields, no roll-ups) and orders (autonumber, formulas, a check, stage history and
three roll-ups on their customers), on SQLite and optionally PostgreSQL.

    .venv/bin/python bench/bench_bulk_writes.py [--count 20000] [--repeat 2] [--pg URL] [--profile]

Not a timed test: run it on a quiet machine; the figures vary with load. Prints a Markdown table.
"""
from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import sys
import tempfile
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench")) if str(ROOT / "bench") not in sys.path else None
import sqlalchemy as sa  # noqa: E402
from bench_core import B2B, fresh_sqlite, sample_rows, timed  # noqa: E402

from atrium.metadata import load_blueprint  # noqa: E402
from atrium.runtime.access import users  # noqa: E402
from atrium.runtime.schema import preaggregates  # noqa: E402
from atrium.runtime.schema.database import create_engine  # noqa: E402
from atrium.runtime.schema.migrations import migrate  # noqa: E402
from atrium.runtime.site.services import records_service  # noqa: E402


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


def run_once(folder: Path, count: int, pg_url: str | None, profile: bool) -> dict:
    blueprint = load_blueprint(B2B)
    engine, schema = fresh_engine(folder, pg_url)
    try:
        migrate(engine, blueprint)
        service = records_service(blueprint, engine)
        with engine.begin() as connection:
            owners = [users.add_user(connection, service.tables, blueprint, f"u{i}", "sales_rep") for i in range(5)]
        customer_rows, order_rows = sample_rows(count, count, owners)
        counter = StatementCounter(engine)
        created, customer_s, customer_cpu = timed(service.bulk_create, "customer", customer_rows)
        customer_statements = counter.reset()
        rng = random.Random(6)
        parents = [record["id"] for record in created][: max(1, count // 10)]  # ~ten orders a customer
        for row in order_rows:
            row["customer"] = rng.choice(parents)
        profiler = cProfile.Profile() if profile else None
        if profiler is not None:
            profiler.enable()
        _, order_s, order_cpu = timed(service.bulk_create, "order", order_rows)
        if profiler is not None:
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
            pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
        order_statements = counter.reset()
    finally:
        engine.dispose()
        if schema is not None and pg_url is not None:
            drop_schema(pg_url, schema)
    return {"customer_s": customer_s, "customer_cpu": customer_cpu, "customer_statements": customer_statements,
            "order_s": order_s, "order_cpu": order_cpu, "order_statements": order_statements,
            "parents": len(parents)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--pg", default=None, help="PostgreSQL URL (a schema is made and dropped)")
    parser.add_argument("--profile", action="store_true", help="cProfile the orders' bulk create")
    parser.add_argument("--without-preaggregates", action="store_true",
                        help="migrate without the reports' pre-aggregates (and their triggers): what they cost")
    args = parser.parse_args()
    if args.without_preaggregates:
        preaggregates.shapes = lambda blueprint, tables: []
    with tempfile.TemporaryDirectory() as folder:
        runs = [run_once(Path(folder), args.count, args.pg, args.profile and i == 0) for i in range(args.repeat)]
    database = ("PostgreSQL" if args.pg else "SQLite file") + (
        ", without pre-aggregates" if args.without_preaggregates else "")
    print(f"\n{database}, {args.count:,} records, best of {args.repeat}; "
          f"orders on {runs[0]['parents']:,} customers\n")
    print("| entity | time | records/s | records/s of CPU | statements |")
    print("|---|---|---|---|---|")
    for entity in ("customer", "order"):
        best = min(runs, key=lambda run: run[f"{entity}_s"])
        statements = best[f"{entity}_statements"]
        print(f"| {entity} | {best[f'{entity}_s']:.2f} s | **{args.count / best[f'{entity}_s']:,.0f}** | "
              f"{args.count / best[f'{entity}_cpu']:,.0f} | {sum(statements.values()):,} |")
    for entity in ("customer", "order"):
        statements = min(runs, key=lambda run: run[f"{entity}_s"])[f"{entity}_statements"]
        print(f"\n{entity} statements: " + ", ".join(f"{words!r} × {n:,}" for words, n in statements.most_common()))


if __name__ == "__main__":
    main()
