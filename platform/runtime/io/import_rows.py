"""What a CSV import works with: the options a person chose, each row as planned, the report, and
who imports into which entity (see importer.py for how they fit together)."""
from __future__ import annotations

from dataclasses import dataclass, field as dataclass_field
from typing import Any, Callable, Mapping

from atrium.metadata.model import Entity
from atrium.runtime.access.secured import SecuredRecords
from atrium.runtime.records.evaluation import Actor

POLICIES = ("skip", "update", "create")
BATCH = 500
Progress = Callable[[int, int, str], None]  # rows done, rows in all, phase ('check' or 'write')


@dataclass
class ImportOptions:
    mapping: Mapping[str, str | None]  # column → field name, or None to leave the column out
    key: str | None = None             # the field that says two rows are the same record
    on_duplicate: str = "skip"         # skip | update | create
    valid_rows: bool = False           # write the rows without errors, reject the others (else all or none)


@dataclass(frozen=True)
class RowError:
    row: int | None     # the row number a spreadsheet shows (the header is row 1)
    field: str | None   # the field in error (None: the whole row)
    column: str | None  # the file's column the field was read from
    message: str        # in the actor's language


@dataclass
class ImportReport:
    total: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    errors: list[RowError] = dataclass_field(default_factory=list)
    dry_run: bool = True
    written: bool = False
    seconds: float = 0.0
    rejected: int = 0  # rows left out by an import of the valid rows (their reasons are in `errors`)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def rows_in_error(self) -> int:
        return len({e.row for e in self.errors})


@dataclass
class PlannedRow:
    """One row of the file: its values, and what the import will do with it."""

    number: int
    values: dict[str, Any]
    failed: set[str] = dataclass_field(default_factory=set)  # fields whose cell could not be read
    bad: bool = False
    action: str = "create"  # create | update | skip
    target: int | None = None          # the existing record an update changes
    root: "PlannedRow | None" = None   # for a repeat within the file: the row whose record it updates
    record: dict[str, Any] | None = None
    created_id: int | None = None

    def identity(self) -> Any:
        row = self.root or self
        return ("record", row.target) if row.target is not None else ("row", row.number)


@dataclass(frozen=True)
class ImportContext:
    """Who imports into which entity, on which site."""

    site: Any
    actor: Actor
    entity: str
    model: Entity
    secured: SecuredRecords

    @property
    def locale(self) -> str:
        return self.actor.locale
