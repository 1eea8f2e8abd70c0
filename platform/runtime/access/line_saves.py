"""A parent record saved with its lines (a view's `form.lines` grids): one transaction, all or nothing.

The parent and each line go through SecuredRecords, so every line gets its own access check,
defaults, formulas, checks and database checks, and the parent's roll-ups follow the lines in the
same transaction. Every row is tried so that each bad row gets its messages; if anything failed,
`LinesFailed` carries the parent's errors and each row's, and nothing is written. A stale parent
(its version moved on) refuses the whole save.
"""
from __future__ import annotations

from dataclasses import dataclass, field as dataclass_field
from typing import Any, Mapping, Sequence

from sqlalchemy.engine import Connection

from atrium.metadata.model import LineGrid
from atrium.runtime.access.secured import AccessDenied, SecuredRecords
from atrium.runtime.automation.messages import message
from atrium.runtime.records.errors import RecordNotFound, ValidationFailed
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.records.rules import RECORD_ERRORS, Errors
from atrium.runtime.schema.database import write_transaction

RowErrors = dict[int, Errors]  # row index in the grid → field → messages


@dataclass
class LineChange:
    """One row of a grid: a new line (`id` None), a change to an existing one, or its removal."""

    id: int | None
    values: dict[str, Any] = dataclass_field(default_factory=dict)
    remove: bool = False


@dataclass
class GridChanges:
    grid: LineGrid
    rows: list[LineChange]


class LinesFailed(ValidationFailed):
    """The parent's errors and each bad row's, by grid (`entity.via`) and row index."""

    def __init__(self, errors: Errors, lines: Mapping[str, RowErrors], locale: str):
        self.lines = {key: dict(rows) for key, rows in lines.items() if rows}
        shown = dict(errors)
        if self.lines:
            shown.setdefault(RECORD_ERRORS, []).append(message("lines_invalid", locale))
        super().__init__(shown)
        self.parent_errors = dict(errors)

    def payload(self) -> dict[str, Any]:
        return {"errors": self.parent_errors,
                "lines": {key: {str(i): errors for i, errors in rows.items()} for key, rows in self.lines.items()}}


def save_with_lines(secured: SecuredRecords, actor: Actor, entity: str, record_id: int | None,
                    values: Mapping[str, Any], grids: Sequence[GridChanges],
                    version: int | None = None, check_duplicates: bool = False) -> dict[str, Any]:
    """Create (record_id None) or update the parent and write each grid's rows, in one transaction."""
    with write_transaction(secured.site.engine) as conn:
        parent_errors: Errors = {}
        saved: dict[str, Any] | None = None
        if record_id is None:
            try:
                saved = secured.create(actor, entity, values, connection=conn, check_duplicates=check_duplicates)
            except ValidationFailed as failed:
                parent_errors = failed.errors
        else:
            # the parent's lock and version first: a stale save stops before any line is written
            secured.get(actor, entity, record_id, conn, action="update")
        parent_id = saved["id"] if saved is not None else record_id
        written: list[bool] = []
        lines = {changes.grid.key: _write_rows(secured, conn, actor, changes, parent_id, written)
                 for changes in grids}
        if record_id is not None:
            try:  # after the lines, so the parent's checks see its roll-ups as they will be
                before = secured.records.get(entity, record_id, connection=conn)
                saved = secured.update(actor, entity, record_id, values, version=version, connection=conn,
                                       check_duplicates=check_duplicates)
                if any(written) and before is not None and saved["version"] == before["version"]:
                    saved = _touch(secured, conn, actor, entity, saved)
            except ValidationFailed as failed:
                parent_errors = failed.errors
        if parent_errors or any(lines.values()):
            raise LinesFailed(parent_errors, lines, actor.locale)
        assert saved is not None  # no errors: the parent was created or updated
        if record_id is None and any(written):  # as its lines' roll-ups left it
            saved = secured.get(actor, entity, saved["id"], conn)
        return saved


def _touch(secured: SecuredRecords, conn: Connection, actor: Actor, entity: str,
           saved: dict[str, Any]) -> dict[str, Any]:
    """Lines changed and the parent's own fields did not: its version still moves on, so a form
    opened before this save (and its lines) is refused as stale."""
    table = secured.records.tables[entity]
    now = secured.records.clock()
    version = saved["version"] + 1
    conn.execute(table.update().where(table.c.id == saved["id"])
                 .values(version=version, updated_at=now, updated_by=actor.user_id))
    return {**saved, "version": version, "updated_at": now, "updated_by": actor.user_id}


def _write_rows(secured: SecuredRecords, conn: Connection, actor: Actor, changes: GridChanges,
                parent_id: int | None, written: list[bool]) -> RowErrors:
    """Each row's write; `written` gets an entry for each line created, changed or removed."""
    grid = changes.grid
    errors: RowErrors = {}
    for index, row in enumerate(changes.rows):
        try:
            if row.id is not None:
                current = secured.get(actor, grid.entity, row.id, conn, action="delete" if row.remove else "update")
                if current.get(grid.via) != parent_id:
                    raise ValidationFailed({RECORD_ERRORS: [message("line_of_another", actor.locale)]})
                if row.remove:
                    secured.delete(actor, grid.entity, row.id, connection=conn)
                    written.append(True)
                else:
                    line = secured.update(actor, grid.entity, row.id, row.values, connection=conn)
                    written.append(line.get("version") != current.get("version"))
            elif row.remove:
                continue
            elif parent_id is None:  # the parent failed: check the line alone, not linked yet
                _, found = secured.records.rules.prepare(secured.site.blueprint.entities[grid.entity], None,
                                                         row.values, actor)
                found.pop(grid.via, None)
                if found:
                    errors[index] = found
            else:
                secured.create(actor, grid.entity, {**row.values, grid.via: parent_id}, connection=conn)
                written.append(True)
        except ValidationFailed as failed:
            errors[index] = failed.errors
        except (AccessDenied, RecordNotFound) as refused:
            errors[index] = {RECORD_ERRORS: [str(refused)]}
    return errors
