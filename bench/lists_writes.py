"""What the indexes derived from the order list view cost a write: orders inserted into a fresh
SQLite file with the order table's automatic indexes as they are, and as they were before the list
views derived theirs (bench_lists.py reports both)."""
from __future__ import annotations

import random
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from bench_core import sample_rows
from pages_data import B2B

from atrium.metadata import load_blueprint
from atrium.runtime.access import users
from atrium.runtime.schema.database import create_engine
from atrium.runtime.schema.list_indexes import owner_column, sort_columns
from atrium.runtime.schema.migrations import migrate
from atrium.runtime.schema.tables import bounded_name, build_tables
from atrium.runtime.site.services import records_service

ENTITY = "order"


def old_and_new(blueprint) -> tuple[dict[str, tuple[str, ...]], dict[str, tuple[str, ...]]]:
    """The order table's automatic indexes as they were before the list views derived theirs (the
    default sort alone and after the owner, each reference, user and stage field) and as they are."""
    entity, view = blueprint.entities[ENTITY], blueprint.view(ENTITY)
    ordered = sort_columns(entity, view.sort)
    before = {bounded_name("ix_" + "_".join((ENTITY, *columns))): columns
              for columns in (ordered, (owner_column(entity), *ordered))}
    before.update({f"ix_{ENTITY}_{f.name}": (f.name,) for f in entity
                   if not f.unique and (f.index or f.type in ("reference", "user", "stage"))})
    table = build_tables(blueprint)[ENTITY]
    now = {str(ix.name): tuple(c.name for c in ix.columns) for ix in table.indexes
           if not ix.unique and ix.name not in {i.name for i in entity.indexes}}
    return before, now


def _fresh(folder: Path, name: str, blueprint, old: bool):
    """A migrated database; `old`: with the order table's indexes as they were."""
    engine = create_engine(f"sqlite:///{folder / name}")
    migrate(engine, blueprint)
    if old:
        before, now = old_and_new(blueprint)
        with engine.begin() as connection:
            for index in set(now) - set(before):
                connection.exec_driver_sql(f'DROP INDEX "{index}"')
            for index in set(before) - set(now):
                columns = ", ".join(f'"{c}"' for c in before[index])
                connection.exec_driver_sql(f'CREATE INDEX "{index}" ON "{ENTITY}" ({columns})')
    return engine


def index_write_cost(count: int, repeat: int = 2) -> dict:
    blueprint = load_blueprint(B2B)
    before, now = old_and_new(blueprint)
    best: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="atrium-list-writes-") as folder:
        for run in range(repeat):
            for label, old in (("without", True), ("with", False)):
                engine = _fresh(Path(folder), f"{label}{run}.db", blueprint, old)
                service = records_service(blueprint, engine)
                with engine.begin() as connection:
                    owners = [users.add_user(connection, service.tables, blueprint, f"u{i}", "sales_rep")
                              for i in range(5)]
                customers, orders = sample_rows(count, max(1, count // 10), owners)
                created = service.bulk_create("customer", customers)
                rng = random.Random(6)
                for row in orders:
                    row["customer"] = rng.choice(created)["id"]
                started = time.perf_counter()
                service.bulk_create(ENTITY, orders)
                service_rate = count / (time.perf_counter() - started)
                table = service.tables[ENTITY]
                raw = [{"created_at": r["created_at"], "updated_at": r["updated_at"], "version": 1,
                        **{k: v for k, v in r.items() if k in table.c and k not in ("id", "code")}}
                       for r in (dict(row._mapping) for row in _all(engine, table))]
                started = time.perf_counter()
                with engine.begin() as connection:
                    connection.execute(table.insert(), raw)
                raw_rate = len(raw) / (time.perf_counter() - started)
                engine.dispose()
                best[f"service_{label}"] = max(best.get(f"service_{label}", 0), service_rate)
                best[f"raw_{label}"] = max(best.get(f"raw_{label}", 0), raw_rate)
    return {**best, "rows": count, "before": len(before), "now": len(now), "repeat": repeat,
            "added": sorted(set(now) - set(before)), "dropped": sorted(set(before) - set(now))}


def _all(engine, table: sa.Table) -> list:
    with engine.connect() as connection:
        return connection.execute(sa.select(table)).fetchall()
