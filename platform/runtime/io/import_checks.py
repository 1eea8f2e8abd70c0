"""Checking an import's rows before anything is written, as a form save checks one record.

The records service's rules run over every row to be written (coercion, required, options,
checks, stage rules), then what needs the whole file or the database: unique values within the
file, unique values and links against the database, and the owner rule of updates (a rep may
not hand a record to someone outside their reach). Every failing row is named, not only the first.
"""
from __future__ import annotations

from typing import Any, Mapping

from sqlalchemy.engine import Connection

from atrium.runtime.automation.messages import message
from atrium.runtime.io.import_rows import BATCH, ImportContext, PlannedRow, Progress, RowError
from atrium.runtime.io.import_values import key_of
from atrium.runtime.records.service import ValidationFailed


def check_rows(context: ImportContext, connection: Connection, rows: list[PlannedRow],
               columns: Mapping[str, str], errors: list[RowError], progress: Progress | None) -> None:
    """The records service's rules over every row to be written, then its database checks."""
    model = context.model
    rules = context.site.records.rules
    total = len(rows)
    linked = context.site.records.linked_values.reader(connection)  # what checks read through paths, read once
    linked.warm(model, [{**(_current(row) or {}), **row.values} for row in rows if row.action != "skip"])
    for done, row in enumerate(rows, start=1):
        if row.action != "skip":
            current = _current(row)
            record, found = rules.prepare(model, current, row.values, context.actor, linked=linked)
            if not found:
                found = owner_problem(context, connection, record)
            for name, texts in found.items():
                if name not in row.failed:
                    errors.extend(RowError(row.number, name if name in model.fields else None,
                                           columns.get(name), text) for text in texts)
            row.bad = row.bad or bool(found)
            (row.root or row).record = record
            row.record = record
        if progress and (done % 200 == 0 or done == total):
            progress(done, total, "check")
    _check_unique_in_file(context, rows, columns, errors)
    _check_database(context, connection, rows, columns, errors)


def _current(row: PlannedRow) -> Mapping[str, Any] | None:
    """The stored record an update row changes."""
    return (row.root.record if row.root else row.record) if row.action == "update" else None


def owner_problem(context: ImportContext, connection: Connection, record: Mapping[str, Any]) -> dict[str, list[str]]:
    """A rep may not hand a record to someone outside their reach (the owner rule of updates)."""
    owner = context.model.owner
    if not owner or record.get(owner) in (None, context.actor.user_id):
        return {}
    try:
        context.secured._owner_stays_in_reach(connection, context.actor, context.entity, [record])
    except ValidationFailed as error:
        return error.errors
    return {}


def _check_unique_in_file(context: ImportContext, rows: list[PlannedRow], columns: Mapping[str, str],
                          errors: list[RowError]) -> None:
    for field in context.model:
        if not field.unique:
            continue
        owners: dict[Any, Any] = {}
        for row in rows:
            value = row.record.get(field.name) if row.record and row.action != "skip" else None
            if value is None:
                continue
            owner = owners.setdefault(key_of(value), row.identity())
            if owner != row.identity():
                errors.append(RowError(row.number, field.name, columns.get(field.name),
                                       message("duplicate", context.locale)))
                row.bad = True


def _check_database(context: ImportContext, connection: Connection, rows: list[PlannedRow],
                    columns: Mapping[str, str], errors: list[RowError]) -> None:
    """Unique values and links against the database: a batch at a time, a row at a time
    only in a batch that fails, so every failing row is named."""
    check = context.site.records._check_database
    creates = [r for r in rows if r.action == "create" and not r.bad]
    for start in range(0, len(creates), BATCH):
        chunk = creates[start:start + BATCH]
        try:
            check(connection, context.model, [r.record for r in chunk], None, context.locale, 0)
            continue
        except ValidationFailed:
            pass
        for row in chunk:
            _check_one(context, connection, row, None, columns, errors)
    updates = [r for r in rows if r.action == "update" and not r.bad]
    for start in range(0, len(updates), BATCH):
        chunk = updates[start:start + BATCH]
        try:  # without unique fields a whole batch passes at once
            check(connection, context.model, [r.record for r in chunk if r.root is None], None, context.locale, 0)
            continue
        except ValidationFailed:
            pass
        for row in chunk:
            _check_one(context, connection, row, (row.root or row).target, columns, errors)


def _check_one(context: ImportContext, connection: Connection, row: PlannedRow, own_id: int | None,
               columns: Mapping[str, str], errors: list[RowError]) -> None:
    own_ids = [own_id] if own_id is not None else []  # an update may keep its record's own unique values
    try:
        context.site.records._check_database(connection, context.model, [row.record], own_ids, context.locale, 0)
    except ValidationFailed as error:
        row.bad = True
        for name, texts in error.errors.items():
            errors.extend(RowError(row.number, name, columns.get(name), text) for text in texts)
