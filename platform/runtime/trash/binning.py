"""Putting deleted records in the recycle bin, inside the delete's own transaction.

The records service's delete hands each record it removes (the one asked for and every record
its on_delete cascades to) to one `TrashBatch`, just before its DELETE: the row is copied whole,
column by column, into atrium_trash. So a delete that commits leaves its bin entries, and one
that does not (an error, a killed process) leaves the records: never neither. A set_null child is
remembered on the entry of the record it linked to, so a restore can link it again.
"""
from __future__ import annotations

import datetime as dt
import decimal
import uuid
from dataclasses import dataclass, field
from typing import Any, Mapping

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.types import TypeDecorator

from atrium.runtime.schema.tables import Tables

TRASH = "atrium_trash"


def json_value(value: Any) -> Any:
    """A column's value as JSON holds it (read back by `column_value`)."""
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


def column_value(column: sa.Column, value: Any) -> Any:
    """A value `json_value` stored, as the column takes it again."""
    if value is None or isinstance(column.type, sa.JSON):
        return value
    kind_of = column.type.impl if isinstance(column.type, TypeDecorator) else column.type  # UTCDateTime
    try:
        kind = kind_of.python_type
    except NotImplementedError:
        return value
    if kind is dt.datetime:
        return dt.datetime.fromisoformat(value)
    if kind is dt.date:
        return dt.date.fromisoformat(value)
    if kind is decimal.Decimal:
        return decimal.Decimal(value)
    return value


def row_json(table: sa.Table, row: Mapping[str, Any]) -> dict[str, Any]:
    return {column.name: json_value(row[column.name]) for column in table.columns}


def row_of(table: sa.Table, values: Mapping[str, Any]) -> dict[str, Any]:
    """The stored row for the table as it is now: a column added since gets its default (empty), a
    column removed since is left out."""
    return {column.name: column_value(column, values.get(column.name)) for column in table.columns
            if column.name in values}


@dataclass
class TrashBatch:
    """One delete: the record asked for and its cascade, binned together under one batch id."""

    deleted_by: int | None
    batch: str = field(default_factory=lambda: uuid.uuid4().hex)
    # (entity, id) → [child entity, field, child id] emptied by a set_null
    links: dict[tuple[str, int], list[list[Any]]] = field(default_factory=dict)
    root_entry: int | None = None  # the bin entry of the record asked for

    def unlinked(self, entity: str, record_id: int, child: str, field_name: str, child_id: int) -> None:
        self.links.setdefault((entity, record_id), []).append([child, field_name, child_id])

    def row(self, connection: Connection, table: sa.Table, record_id: int) -> dict[str, Any]:
        """The record's row as its delete found it, before the cascade changed its roll-ups."""
        return dict(connection.execute(sa.select(table).where(table.c.id == record_id)).one()._mapping)

    def put(self, connection: Connection, tables: Tables, entity: str, row: Mapping[str, Any], root: bool,
            now: dt.datetime) -> None:
        """Copy the row into the bin (with its DELETE, in the same transaction)."""
        trash = tables.system(TRASH)
        entry = connection.execute(trash.insert().values(
            batch=self.batch, entity=entity, record_id=row["id"], root=root,
            record_values=row_json(tables[entity], row), links=self.links.get((entity, row["id"]), []),
            deleted_by=self.deleted_by, deleted_at=now)).inserted_primary_key
        if root and entry is not None:
            self.root_entry = int(entry[0])


def highest_binned_id(connection: Connection, tables: Tables, entity: str) -> int:
    """The highest id among the entity's records in the bin: on SQLite, new records are numbered
    past it, so a restore never finds its id taken by a record created after the delete."""
    trash = tables.system(TRASH)
    return connection.execute(sa.select(sa.func.max(trash.c.record_id))
                              .where(trash.c.entity == entity)).scalar() or 0
