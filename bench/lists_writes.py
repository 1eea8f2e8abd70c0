"""What the indexes derived from the order list view cost a write: orders inserted into a fresh
SQLite file with every index, and again without the ones the list view adds beyond the default
sort's (bench_lists.py reports both)."""
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
from atrium.runtime.schema.list_indexes import list_index_columns, owner_column, sort_columns
from atrium.runtime.schema.migrations import migrate
from atrium.runtime.schema.tables import bounded_name
from atrium.runtime.site.services import records_service

ENTITY = "order"


def added_indexes(blueprint) -> list[str]:
    """The order indexes the list view derives beyond what was derived before (the default sort,
    alone and after the owner) and beyond a field's own index."""
    entity, view = blueprint.entities[ENTITY], blueprint.view(ENTITY)
    ordered = sort_columns(entity, view.sort)
    before = {ordered, (owner_column(entity), *ordered)}
    own = {(f.name,) for f in entity if f.unique or f.index or f.type in ("reference", "user", "stage", "autonumber")}
    return [bounded_name("ix_" + "_".join((ENTITY, *columns))) for columns in list_index_columns(entity, view)
            if columns not in before and columns not in own]


def _fresh(folder: Path, name: str, blueprint, drop: list[str]):
    engine = create_engine(f"sqlite:///{folder / name}")
    migrate(engine, blueprint)
    with engine.begin() as connection:
        for index in drop:
            connection.exec_driver_sql(f'DROP INDEX "{index}"')
    return engine


def index_write_cost(count: int, repeat: int = 2) -> dict:
    blueprint = load_blueprint(B2B)
    dropped = added_indexes(blueprint)
    best: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="atrium-list-writes-") as folder:
        for run in range(repeat):
            for label, drop in (("without", dropped), ("with", [])):
                engine = _fresh(Path(folder), f"{label}{run}.db", blueprint, drop)
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
    return {**best, "rows": count, "dropped": len(dropped), "names": dropped, "repeat": repeat}


def _all(engine, table: sa.Table) -> list:
    with engine.connect() as connection:
        return connection.execute(sa.select(table)).fetchall()
