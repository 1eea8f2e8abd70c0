"""Engines for SQLite (embedded default) and PostgreSQL, set up the way the runtime relies on."""
from __future__ import annotations

import contextlib
import warnings
from typing import Iterator

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine

DEFAULT_URL = "sqlite:///atrium.db"

# SQLite stores Decimal as REAL text; Atrium quantizes money itself, so the warning is noise.
warnings.filterwarnings("ignore", message=".*does \\*not\\* support Decimal objects natively.*")


def create_engine(url: str = DEFAULT_URL, **options) -> Engine:
    """An engine with WAL, busy timeout, foreign keys and transactional DDL on SQLite."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    engine = sa.create_engine(url, **options)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record) -> None:
        # Let SQLAlchemy, not pysqlite, decide where transactions begin, so DDL is transactional
        # and a failed migration leaves nothing behind (SQLAlchemy's documented SQLite recipe).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if _writes(connection) else "BEGIN")


def _writes(connection) -> bool:
    # Writers take SQLite's write lock at BEGIN, so two workers never fail upgrading a read
    # transaction to a write; readers begin deferred so they never queue behind each other.
    return bool(connection.get_execution_options().get("atrium_write", False))


def connect(engine: Engine, write: bool = False):
    """A connection whose transactions are writers (see `_writes`) or readers."""
    return engine.execution_options(atrium_write=write).connect()


@contextlib.contextmanager
def write_transaction(engine: Engine) -> Iterator:
    """One writing transaction: committed at the end, rolled back on any error."""
    with connect(engine, write=True) as connection, connection.begin():
        yield connection
