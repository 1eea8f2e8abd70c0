"""One statement over many parameter sets, without SQLAlchemy's per-row overhead on SQLite.

`Connection.execute(statement, rows)` builds a parameter dict per row and runs every bind
processor on every value: about 30 µs a row for a history insert, four times the cost of the
INSERT itself. `execute_many` compiles the statement once, takes the same bind processors the
column types define (so the stored values are byte for byte the same), runs each once per
distinct simple value (a batch shares its timestamps, entity and field names), and hands plain
tuples to the driver's executemany. On PostgreSQL an INSERT of a table goes as one COPY FROM STDIN
of those same processed values (psycopg adapts them as it adapts parameters, and PostgreSQL reads
the text a column's type reads, so the stored values do not change; row triggers fire as for an
INSERT): SQLAlchemy's insertmanyvalues spends about 150 µs a row building and splitting its
statement text, and psycopg's pipelined executemany about 50 µs. Other statements, and other
databases, go through `Connection.execute`.

`execute_columns` takes the parameters column by column, a value shared by every row given once
(`Same`), so a caller that has its values as columns (history of a set-based update) builds no
dict per row at all.

The driver's executemany is raw SQL to SQLAlchemy, so the table's change counter
(data_versions) is marked here, as every Core statement marks it.

`next_ids` takes a batch's ids from a PostgreSQL table's sequence in one statement, so the rows
can go without RETURNING.

`among_ids` is `id IN (...)` for many ids with one parameter (a JSON array on SQLite).
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql.dml import Insert, UpdateBase

from atrium.runtime.schema import data_versions

# values whose processed form depends only on type and value (1 and True, or Decimal('1.0') and
# Decimal('1.00'), compare equal yet store differently: those are processed every time)
_MEMO_TYPES = (str, int, dt.datetime, dt.date, type(None))


@dataclass(frozen=True)
class Same:
    """One value for every row of an `execute_columns` call."""

    value: Any


def execute_many(connection: Connection, statement: UpdateBase, rows: Sequence[Mapping[str, Any]]) -> None:
    """Execute `statement` once per row; every row has the same keys (its bind parameter names)."""
    if not rows:
        return
    if not _columnwise(connection, statement) or len(rows) < 2:
        connection.execute(statement, list(rows))
        return
    execute_columns(connection, statement, len(rows), {name: [row[name] for row in rows] for name in rows[0]})


def execute_columns(connection: Connection, statement: UpdateBase, count: int,
                    columns: Mapping[str, Sequence[Any] | Same]) -> None:
    """Execute `statement` for `count` rows given as columns: a sequence of `count` values, or
    `Same(value)` for a value every row shares."""
    if not count:
        return
    dialect = connection.dialect
    columnwise = count > 1 and _columnwise(connection, statement)
    compiled = statement.compile(dialect=dialect, column_keys=list(columns)) if columnwise else None
    if (compiled is None
            # a Python-side default of a column not given: SQLAlchemy computes it per row
            or any(column.key not in columns for column in compiled.insert_prefetch)):
        connection.execute(statement, [{name: values.value if isinstance(values, Same) else values[i]
                                        for name, values in columns.items()} for i in range(count)])
        return
    # SQLite's paramstyle is positional; an INSERT's binds are named after its columns, in order
    names = compiled.positiontup if compiled.positiontup is not None else list(compiled.binds)
    processed: list[Sequence[Any]] = []
    for name in names:
        bind = compiled.binds[name]
        processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
        values = columns.get(name)
        if values is None or isinstance(values, Same):  # a constant of the statement, or shared
            value = bind.effective_value if values is None else values.value
            processed.append([processor(value) if processor else value] * count)
        else:
            processed.append(_processed(values, processor))
    if dialect.name == "sqlite":
        connection.exec_driver_sql(compiled.string, list(zip(*processed, strict=False)))
    else:
        _copy(connection, statement, names, zip(*processed, strict=False))
    data_versions.mark(connection, statement)


def _columnwise(connection: Connection, statement: UpdateBase) -> bool:
    """Whether `execute_columns` sends `statement` itself (else it is `Connection.execute`)."""
    name = connection.dialect.name
    return name == "sqlite" or (name == "postgresql" and isinstance(statement, Insert)
                                and isinstance(statement.table, sa.Table) and not statement._returning
                                and statement._values is None and statement._multi_values == ())


def _copy(connection: Connection, statement: UpdateBase, names: Sequence[str], rows: Iterable[tuple]) -> None:
    """The rows into the INSERT's table by COPY FROM STDIN (PostgreSQL through psycopg 3). The
    engine's cursor events see it as one statement, as they see an executemany."""
    table = statement.table
    assert isinstance(table, sa.Table)
    preparer = connection.dialect.identifier_preparer
    text = (f"COPY {preparer.format_table(table)} "
            f"({', '.join(preparer.format_column(table.c[name]) for name in names)}) FROM STDIN")
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    events = connection.dispatch
    for listener in events.before_cursor_execute:
        listener(connection, cursor, text, (), None, True)
    try:
        with cursor.copy(text) as copy:
            for row in rows:
                copy.write_row(row)
    finally:
        cursor.close()
    for listener in events.after_cursor_execute:
        listener(connection, cursor, text, (), None, True)


def next_ids(connection: Connection, table: sa.Table, count: int) -> list[int]:
    """`count` new ids from the sequence of `table`'s id column (PostgreSQL), ascending: one
    statement however many rows, instead of RETURNING from the INSERT."""
    sequence = sa.func.pg_get_serial_sequence(connection.dialect.identifier_preparer.format_table(table), "id")
    numbers = sa.select(sa.func.nextval(sequence)).select_from(sa.func.generate_series(1, count))
    return sorted(connection.execute(numbers).scalars())


def among_ids(connection: Connection, column: Any, name: str = "_ids") -> tuple[Any, Callable[[Sequence[int]], Any]]:
    """`column IN (ids)` with all the ids in one bound parameter `name`, and what turns a list of
    integer ids into that parameter. SQLAlchemy's expanding IN renders a placeholder per id (1-2 µs
    each, as much as SQLite's own work for a row); on SQLite 3.38+ (JSON built in) the ids go as
    one JSON array read by json_each. Elsewhere it is the expanding IN."""
    dbapi = connection.dialect.dbapi  # set once the engine has connected
    if connection.dialect.name == "sqlite" and dbapi is not None and dbapi.sqlite_version_info >= (3, 38, 0):
        listed = sa.func.json_each(sa.bindparam(name, type_=sa.String())).table_valued("value")
        return column.in_(sa.select(listed.c.value)), lambda ids: json.dumps([int(i) for i in ids])
    return column.in_(sa.bindparam(name, expanding=True)), list


def _processed(values: Sequence[Any], processor: Callable[[Any], Any] | None) -> Sequence[Any]:
    if processor is None:
        return values
    seen: dict[tuple[type, Any], Any] = {}
    result = []
    for value in values:
        kind = type(value)
        if kind in _MEMO_TYPES:
            key = (kind, value)
            if key not in seen:
                seen[key] = processor(value)
            result.append(seen[key])
        else:  # one object shared by many rows (a notification's message) is processed once
            key = (object, id(value))
            if key not in seen:
                seen[key] = processor(value)
            result.append(seen[key])
    return result
