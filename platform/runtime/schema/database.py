"""Engines for SQLite (embedded default) and PostgreSQL, set up the way the runtime relies on."""
from __future__ import annotations

import contextlib
import warnings
from typing import Callable, Iterable, Iterator

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine

from atrium.runtime.schema import data_versions

DEFAULT_URL = "sqlite:///atrium.db"
SQLITE_BUSY_TIMEOUT_MS = 10000  # how long a SQLite connection waits for the write lock

# SQLite stores Decimal as REAL text; Atrium quantizes money itself, so the warning is noise.
warnings.filterwarnings("ignore", message=".*does \\*not\\* support Decimal objects natively.*")


def create_engine(url: str = DEFAULT_URL, **options) -> Engine:
    """An engine with WAL, busy timeout, foreign keys and transactional DDL on SQLite."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    engine = sa.create_engine(url, **options)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    data_versions.install(engine)  # change counters per table, for caches of computed results
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record) -> None:
        # Let SQLAlchemy, not pysqlite, decide where transactions begin, so DDL is transactional
        # and a failed migration leaves nothing behind (SQLAlchemy's documented SQLite recipe).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # 16 MB of page cache instead of SQLite's 2 MB: a write over many records updates index
        # entries all over an index (an owner emptied moves each entry of (owner, date) to a
        # different page); with 2 MB those pages are read again and again (a third of the cost)
        cursor.execute("PRAGMA cache_size=-16384")  # KiB; the cache grows as used, up to this
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


AFTER_COMMIT = "atrium_after_commit"


def after_commit(connection, callback: Callable[[], None]) -> None:
    """Run `callback` once the transaction `connection` is in has committed (never if it rolls back).

    Only transactions opened by `write_transaction` run these; work that must not wait on them
    (webhooks) is also picked up by the scheduler, so nothing depends on the callback alone.
    """
    pending = connection.info.setdefault(AFTER_COMMIT, [])
    if callback not in pending:  # once per transaction (and bounded if a caller never commits this way)
        pending.append(callback)


@contextlib.contextmanager
def write_transaction(engine: Engine) -> Iterator:
    """One writing transaction: committed at the end, rolled back on any error.

    An error may carry `after_rollback(engine)`: work that must outlive the rollback (logging
    why an automation refused a change) and can only be written once the lock is released.
    """
    with connect(engine, write=True) as connection:
        try:
            with connection.begin():
                yield connection
        except BaseException as error:
            connection.info.pop(AFTER_COMMIT, None)
            record_after_rollback(error, engine)
            raise
        for callback in connection.info.pop(AFTER_COMMIT, ()):
            callback()


def record_after_rollback(error: BaseException, engine: Engine) -> None:
    follow_up = getattr(error, "after_rollback", None)
    if callable(follow_up):
        follow_up(engine)


STATISTICS_ROWS = 400  # SQLite samples this many rows per index: milliseconds, even for big tables


def refresh_statistics(engine: Engine, tables: Iterable[str]) -> None:
    """Let the query planner know the tables' sizes and value spread after bulk changes.

    Without statistics SQLite picks indexes by their shape alone, and for a related list it can
    walk every record of one owner instead of the few of one parent. `tables` are the site's own
    (PostgreSQL would otherwise analyse every table in the database)."""
    with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql(f"PRAGMA analysis_limit={STATISTICS_ROWS}")
            connection.exec_driver_sql("ANALYZE")
        else:
            as_identifier = connection.dialect.identifier_preparer.quote
            names = sorted(set(tables))
            if names:
                connection.exec_driver_sql("ANALYZE " + ", ".join(as_identifier(name) for name in names))
        connection.commit()
