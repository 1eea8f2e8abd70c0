"""The list benchmark's orders on PostgreSQL: a database of its own (`atrium_bench_lists` on the
server given), made by `atrium migrate`, then the teams, users, customers and orders of
bench/pages_data.py's SQLite file copied in with COPY (indexes dropped during the copy and made
again after it, then ANALYZE). Reused when it already holds the same number of orders."""
from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import psycopg
import sqlalchemy as sa
from pages_data import B2B

from atrium.metadata import load_blueprint
from atrium.runtime.schema.database import create_engine, refresh_statistics
from atrium.runtime.schema.migrations import migrate
from atrium.runtime.schema.tables import build_tables

DATABASE = "atrium_bench_lists"
TABLES = ("atrium_teams", "atrium_users", "customer", "order")


def log(text: str) -> None:
    print(text, flush=True)


def _plain(url: str) -> str:
    """psycopg's own form of a SQLAlchemy URL."""
    return url.replace("postgresql+psycopg://", "postgresql://")


def copy_to_postgres(sqlite_path: Path, server_url: str) -> str:
    """The SQLAlchemy URL of the PostgreSQL copy (made or reused)."""
    base = _plain(server_url).rsplit("/", 1)[0]
    with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone():
            admin.execute(f"CREATE DATABASE {DATABASE}")
    url = f"{base}/{DATABASE}".replace("postgresql://", "postgresql+psycopg://")
    source = sqlite3.connect(sqlite_path)
    wanted = source.execute('SELECT count(*) FROM "order"').fetchone()[0]
    blueprint = load_blueprint(B2B)
    engine = create_engine(url)
    started = time.perf_counter()
    migrate(engine, blueprint)
    log(f"PostgreSQL: migrate {time.perf_counter() - started:.1f} s")
    with engine.connect() as connection:
        have = connection.execute(sa.text('SELECT count(*) FROM "order"')).scalar_one()
    if have != wanted:
        _copy(source, _plain(url))
    refresh_statistics(engine, build_tables(blueprint).entities)
    engine.dispose()
    vacuum(url)
    source.close()
    return url


def vacuum(url: str) -> None:
    """VACUUM (ANALYZE) the copy: a database that has been up a while has been vacuumed by autovacuum,
    and without a visibility map PostgreSQL's index-only scans read every row's heap page too."""
    started = time.perf_counter()
    with psycopg.connect(_plain(url), autocommit=True) as connection:
        connection.execute("VACUUM (ANALYZE)")
    log(f"PostgreSQL: vacuumed in {time.perf_counter() - started:.1f} s")


def _copy(source: sqlite3.Connection, url: str) -> None:
    started = time.perf_counter()
    with psycopg.connect(url) as target:
        target.execute("SET TIME ZONE 'UTC'")  # SQLite holds UTC times without a zone
        # foreign keys unchecked: customers name campaigns, which are not copied (the lists read neither)
        target.execute("SET session_replication_role = replica")
        names = ", ".join(f"'{t}'" for t in TABLES)
        indexes = target.execute(f"SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN ({names})").fetchall()
        constraints = {row[0] for row in target.execute(
            "SELECT conname FROM pg_constraint WHERE contype IN ('u', 'p')")}  # their indexes stay
        target.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in TABLES) + " CASCADE")
        for name, _ in indexes:
            if name not in constraints:
                target.execute(f'DROP INDEX "{name}"')
        for table in TABLES:
            theirs = [row[1] for row in source.execute(f'PRAGMA table_info("{table}")')]
            ours = {row[0] for row in target.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = %s", (table,))}
            columns = [c for c in theirs if c in ours]
            quoted = ", ".join(f'"{c}"' for c in columns)
            count = 0
            with target.cursor().copy(f'COPY "{table}" ({quoted}) FROM STDIN') as copy:
                for row in source.execute(f'SELECT {quoted} FROM "{table}"'):
                    copy.write_row(row)
                    count += 1
            log(f"  copied {table}: {count:,} rows ({time.perf_counter() - started:.0f} s)")
        for name, definition in indexes:
            if name not in constraints:
                target.execute(definition)
        for table in TABLES:
            target.execute(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                           f'(SELECT coalesce(max(id), 1) FROM "{table}"))')
        target.commit()
    log(f"PostgreSQL: copied and indexed in {time.perf_counter() - started:.0f} s")
