"""A change counter per table, kept in the database (atrium_data_versions): what a cache of
computed results (dashboard widgets) compares to know whether what it holds is still current.

Every INSERT, UPDATE or DELETE that goes through SQLAlchemy on an entity table (or on the teams
table, which decides team scopes) marks that table on its connection, whoever wrote it: the
records service, rollup refreshes, the seed, the importer, automations. When the transaction
commits, one statement raises the counters of every table it marked, as its last statement before
COMMIT, so the new counters and the new rows become visible together: a reader that sees a counter
also sees every change it counts, on SQLite and PostgreSQL, from any number of server processes.
The counters are raised sorted by table name and only while committing, so two writers take the
counter rows' locks in the same sequence and hold them no longer than their commit. A rolled-back transaction
raises nothing.

A counter starts at the microsecond clock rather than at 1, so a table that is emptied and filled
again (a test's reset, a restored backup) never repeats a value a cache may still hold.
Statements sent as raw SQL text (exec_driver_sql) are not seen: call `bump` after such writes
(or `mark` with the Core statement they were compiled from, as bulk_statements does).
"""
from __future__ import annotations

import time
from typing import Iterable, Mapping

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.dml import Delete, Insert, Update

TABLE = "atrium_data_versions"
MARKED = "atrium_changed_tables"
PRESENT = "atrium_versions_table"
COUNTED_SYSTEM_TABLES = frozenset({"atrium_teams"})

_metadata = sa.MetaData()
versions = sa.Table(TABLE, _metadata,  # the same shape as in tables.py, for use without a blueprint
                    sa.Column("name", sa.String(100), primary_key=True),
                    sa.Column("version", sa.BigInteger(), nullable=False))


def counted(table_name: str) -> bool:
    return not table_name.startswith("atrium_") or table_name in COUNTED_SYSTEM_TABLES


def install(engine: Engine) -> None:
    """Count the changes made through `engine` (create_engine does this for every engine)."""
    if event.contains(engine, "after_execute", _mark):
        return
    event.listen(engine, "after_execute", _mark)
    event.listen(engine, "commit", _flush)
    event.listen(engine, "rollback", _forget)
    event.listen(engine, "begin", _forget)


def mark(connection: Connection, statement) -> None:
    """Mark the table a Core statement writes, for a statement run as raw SQL (bulk_statements)."""
    _mark(connection, statement)


def _mark(connection: Connection, statement, *_args) -> None:
    if isinstance(statement, (Insert, Update, Delete)):
        table = getattr(statement.table, "name", None)
        if table and counted(table):
            connection.info.setdefault(MARKED, set()).add(table)


def _forget(connection: Connection) -> None:
    connection.info.pop(MARKED, None)


def _flush(connection: Connection) -> None:
    names = connection.info.pop(MARKED, None)
    if names and _has_table(connection):
        _upsert(connection, names)


def _has_table(connection: Connection) -> bool:
    """Whether this database has the counters (a database migrated before they existed has not)."""
    if not connection.info.get(PRESENT):
        connection.info[PRESENT] = sa.inspect(connection).has_table(TABLE)
    return connection.info[PRESENT]


def _upsert(connection: Connection, names: Iterable[str]) -> None:
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    start = time.time_ns() // 1000
    statement = insert(versions).values([{"name": name, "version": start} for name in sorted(names)])
    connection.execute(statement.on_conflict_do_update(index_elements=[versions.c.name],
                                                       set_={"version": versions.c.version + 1}))


def bump(connection: Connection, names: Iterable[str]) -> None:
    """Raise the counters of `names` now, in the connection's transaction (after raw SQL writes)."""
    names = sorted(set(names))
    if names:
        _upsert(connection, names)


def read(connection: Connection, names: Iterable[str]) -> Mapping[str, int]:
    """The current counter of each table (0 for one never changed since the counters exist)."""
    names = sorted(set(names))
    found = dict(connection.execute(sa.select(versions.c.name, versions.c.version)
                                     .where(versions.c.name.in_(names))).all()) if names else {}
    return {name: found.get(name, 0) for name in names}
