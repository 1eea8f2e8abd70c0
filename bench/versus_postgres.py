"""The comparison's PostgreSQL database: every row of a bench/pages_data.py SQLite file copied into
a PostgreSQL database of its own (created, migrated by Atrium, filled table by table through
SQLAlchemy Core so types convert as Atrium reads them, sequences moved past the copied ids,
statistics refreshed, the pre-aggregates computed from the copied rows). Kept between runs: a marker
table records the source it was copied from."""
from __future__ import annotations

import json
import time
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from atrium.metadata import load_blueprint
from atrium.runtime.schema import preaggregates
from atrium.runtime.schema.database import create_engine, refresh_statistics
from atrium.runtime.schema.migrations import migrate
from atrium.runtime.schema.tables import build_tables

MARKER = "bench_versus_source"
BATCH = 5000


def log(text: str) -> None:
    print(text, flush=True)


def copy_or_reuse(sqlite_path: Path, url: str, blueprint_folder: Path) -> None:
    """The database at `url` holding every row of `sqlite_path`; made when missing or stale."""
    # the build's own stamp: serving refreshes the file's statistics, so its mtime moves on every run
    built = json.loads(sqlite_path.with_suffix(".json").read_text())["built"]
    source_tag = f"{sqlite_path}:{built}"
    target = make_url(url)
    server = create_engine(target.set(database="postgres").render_as_string(hide_password=False))
    with server.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        exists = connection.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                    {"name": target.database}).scalar()
        if exists:
            engine = create_engine(url)
            with engine.connect() as probe:
                tagged = probe.execute(sa.text(
                    f"SELECT source FROM {MARKER}")).scalar() if sa.inspect(probe).has_table(MARKER) else None
            engine.dispose()
            if tagged == source_tag:
                log(f"reusing PostgreSQL database {target.database} (copied from {sqlite_path})")
                return
            connection.execute(sa.text(f'DROP DATABASE "{target.database}"'))
        connection.execute(sa.text(f'CREATE DATABASE "{target.database}"'))
    server.dispose()
    started = time.perf_counter()
    blueprint = load_blueprint(blueprint_folder)
    engine = create_engine(url)
    migrate(engine, blueprint)
    tables = build_tables(blueprint).metadata
    source = create_engine(f"sqlite:///{sqlite_path}")
    existing = set(sa.inspect(source).get_table_names())
    with source.connect() as reader, engine.begin() as writer:
        # triggers off while copying (the pre-aggregates' would add a delta per row): they are
        # computed once from the copied rows below, as `atrium recompute` does
        writer.execute(sa.text("SET LOCAL session_replication_role = replica"))
        for table in tables.sorted_tables:
            # change counters: the copy's own writes already raised them
            if table.name not in existing or table.name == "atrium_data_versions":
                continue
            copied = 0
            rows = reader.execution_options(stream_results=True).execute(sa.select(table))
            while batch := rows.fetchmany(BATCH):
                writer.execute(table.insert(), [row._asdict() for row in batch])
                copied += len(batch)
            if copied and "id" in table.c and isinstance(table.c.id.type, sa.Integer):
                writer.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', 'id'), "
                                       f"(SELECT max(id) FROM \"{table.name}\"))"))
            if copied:
                log(f"  {table.name}: {copied:,} rows")
        writer.execute(sa.text("SET LOCAL session_replication_role = origin"))
        preaggregates.rebuild(writer, blueprint, build_tables(blueprint))
        writer.execute(sa.text(f"CREATE TABLE {MARKER} (source text)"))
        writer.execute(sa.text(f"INSERT INTO {MARKER} VALUES (:tag)"), {"tag": source_tag})
    refresh_statistics(engine, [table.name for table in tables.sorted_tables])
    engine.dispose()
    from pg_copy import vacuum
    vacuum(url)
    source.dispose()
    log(f"copied {sqlite_path} to PostgreSQL {target.database} in {time.perf_counter() - started:.0f} s")
