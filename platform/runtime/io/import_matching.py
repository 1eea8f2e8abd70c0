"""Duplicates in an import: rows whose key field equals an existing record's, or an earlier row's.

With a key, each row's key value is looked up among the records the actor may update, compared
as every duplicate check compares (duplicates/finder.py `probe`): a field the entity's
`duplicates:` rules name by its normalised key (`沈阳天成建设工程 有限公司` finds
`沈阳天成建设工程有限公司`), a phone by its digits with the country code, other text without
regard to case or surrounding spaces. The person's policy then says what a match does: `skip`
leaves the row out, `update` changes the one record found (a key matching several is the row's
error), `create` ignores matches. A key repeated within the file is the same record: with
`update`, the later row updates what the first one creates or updates.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from atrium.metadata.model import TEXT_TYPES, Field
from atrium.runtime.duplicates.finder import probe
from atrium.runtime.io.import_rows import BATCH, ImportContext, ImportOptions, PlannedRow, RowError
from atrium.runtime.io.import_values import key_of, say
from atrium.runtime.records.coercion import CoercionError, coerce


def match_duplicates(context: ImportContext, connection: Connection, rows: list[PlannedRow],
                     options: ImportOptions, columns: Mapping[str, str], errors: list[RowError]) -> None:
    """Set each row's action (and the record it updates) by the duplicate policy."""
    assert options.key is not None  # duplicates are matched only when the import names its key field
    field = context.model.fields[options.key]
    _, key_for = key_probe(context, field)
    keys: dict[int, Any] = {}
    for row in rows:
        try:
            value = coerce(field, row.values.get(field.name), context.site.blueprint.timezone)
        except CoercionError:
            value = None  # the row's own check reports it
        if value not in (None, []) and key_for(value) not in (None, ""):
            keys[row.number] = key_for(value)
    if options.on_duplicate == "create":
        return
    existing = existing_by_key(context, connection, field, {k for k in keys.values()})
    first: dict[Any, PlannedRow] = {}
    for row in rows:
        key = keys.get(row.number)
        if key is None:
            continue
        earlier = first.get(key)
        found = existing.get(key, [])
        if earlier is not None:  # the same key again in the file
            if options.on_duplicate == "skip":
                row.action = "skip"
            else:
                row.action, row.root = "update", earlier.root or earlier
            continue
        first[key] = row
        if not found:
            continue
        if options.on_duplicate == "skip":
            row.action = "skip"
        elif len(found) > 1:
            errors.append(RowError(row.number, field.name, columns.get(field.name),
                                   say("ambiguous_key", context.locale, count=len(found))))
            row.bad = True
        else:
            row.action, row.target, row.record = "update", found[0]["id"], found[0]


def key_probe(context: ImportContext, field: Field) -> tuple[Any, Callable[[Any], Any]]:
    """The column (or SQL expression) the key is looked up in, and a value's key."""
    table = context.site.tables[context.entity]
    if field.type in TEXT_TYPES:  # as duplicate checks compare it
        return probe(context.site, context.model, table, field.name)
    return table.c[field.name], key_of


def existing_by_key(context: ImportContext, connection: Connection, field: Field,
                    keys: set[Any]) -> dict[Any, list[dict]]:
    """key → the records the actor may update that have it."""
    site = context.site
    table = site.tables[context.entity]
    column, key_for = key_probe(context, field)
    updatable = site.access.row_filter(connection, context.actor, context.entity, "update", table)
    found: dict[Any, list[dict]] = {}
    values = sorted(keys, key=str)
    for start in range(0, len(values), BATCH):
        query = sa.select(table).where(updatable, column.in_(values[start:start + BATCH]))
        for row in connection.execute(query):
            record = site.records.record_of(context.model, row._mapping)
            stored = isinstance(column, sa.Column) and column is not table.c[field.name]
            key = row._mapping[column.name] if stored else key_for(record[field.name])  # a key column: as stored
            found.setdefault(key, []).append(record)
    return found
