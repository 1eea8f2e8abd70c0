"""One statement over many parameter sets, without SQLAlchemy's per-row overhead on SQLite.

`Connection.execute(statement, rows)` builds a parameter dict per row and runs every bind
processor on every value: about 30 µs a row for a history insert, four times the cost of the
INSERT itself. `execute_many` compiles the statement once, takes the same bind processors the
column types define (so the stored values are byte for byte the same), runs each once per
distinct simple value (a batch shares its timestamps, entity and field names), and hands plain
tuples to the driver's executemany. On other databases it is `Connection.execute`.

`execute_columns` takes the parameters column by column, a value shared by every row given once
(`Same`), so a caller that has its values as columns (history of a set-based update) builds no
dict per row at all.

The driver's executemany is raw SQL to SQLAlchemy, so the table's change counter
(data_versions) is marked here, as every Core statement marks it.

`among_ids` is `id IN (...)` for many ids with one parameter (a JSON array on SQLite).
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql.dml import UpdateBase

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
    if connection.dialect.name != "sqlite" or len(rows) < 2:
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
    if dialect.name != "sqlite" or count < 2:
        connection.execute(statement, [{name: values.value if isinstance(values, Same) else values[i]
                                        for name, values in columns.items()} for i in range(count)])
        return
    compiled = statement.compile(dialect=dialect, column_keys=list(columns))
    assert compiled.positiontup is not None  # SQLite's paramstyle is positional
    processed: list[Sequence[Any]] = []
    for name in compiled.positiontup:
        bind = compiled.binds[name]
        processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
        values = columns.get(name)
        if values is None or isinstance(values, Same):  # a constant of the statement, or shared
            value = bind.effective_value if values is None else values.value
            processed.append([processor(value) if processor else value] * count)
        else:
            processed.append(_processed(values, processor))
    connection.exec_driver_sql(compiled.string, list(zip(*processed, strict=False)))
    data_versions.mark(connection, statement)


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
