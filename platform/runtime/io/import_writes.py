"""Writing an import's checked rows, all in the caller's transaction: new records in batches
through `SecuredRecords.bulk_create`, then the updates one by one through `SecuredRecords.update`
(a repeat of a key within the file updates the record its first row created or updated). The
first failure raises `WriteFailed` naming the row, and the caller rolls everything back."""
from __future__ import annotations

from sqlalchemy.engine import Connection

from atrium.errors import AtriumError
from atrium.runtime.access.secured import AccessDenied
from atrium.runtime.automation.messages import message
from atrium.runtime.io.import_checks import owner_problem
from atrium.runtime.io.import_rows import BATCH, ImportContext, PlannedRow, Progress, RowError
from atrium.runtime.records.service import RecordError, RecordNotFound, StaleRecord, ValidationFailed


class Abort(AtriumError):
    """Nothing is written: the rows have errors."""

    status, code = 422, "import"


class WriteFailed(Abort):
    """A write refused a row; `errors` say which and why."""

    def __init__(self, errors: list[RowError]):
        super().__init__()
        self.errors = errors


def write_rows(context: ImportContext, connection: Connection, rows: list[PlannedRow],
               progress: Progress | None) -> None:
    secured, actor, entity = context.secured, context.actor, context.entity
    creates = [r for r in rows if r.action == "create"]
    updates = [r for r in rows if r.action == "update"]
    total, done = len(creates) + len(updates), 0
    for start in range(0, len(creates), BATCH):
        chunk = creates[start:start + BATCH]
        try:
            stored = secured.bulk_create(actor, entity, [r.values for r in chunk], connection=connection)
        except ValidationFailed as error:
            raise _failure(context, error, chunk[error.row].number if error.row is not None else None) from error
        for row, record in zip(chunk, stored, strict=False):
            row.created_id = record["id"]
            problem = owner_problem(context, connection, record)  # bulk_create leaves this rule to us
            if problem:
                raise _failure(context, ValidationFailed(problem), row.number)
        done += len(chunk)
        if progress:
            progress(done, total, "write")
    for row in updates:
        root = row.root or row
        target = root.target if root.target is not None else root.created_id
        assert target is not None  # an update row changes an existing record or one this import created
        try:
            secured.update(actor, entity, target, row.values, connection=connection)
        except ValidationFailed as error:
            raise _failure(context, error, row.number) from error
        except (StaleRecord, RecordNotFound, AccessDenied) as error:
            raise _failure(context, error, row.number) from error
        done += 1
        if progress and (done % 200 == 0 or done == total):
            progress(done, total, "write")


def _failure(context: ImportContext, error: RecordError | AccessDenied, number: int | None) -> WriteFailed:
    if isinstance(error, ValidationFailed):
        found = [RowError(number, name if name in context.model.fields else None, None, text)
                 for name, texts in error.errors.items() for text in texts]
    else:
        found = [RowError(number, None, None, str(error) or message("not_found", context.locale))]
    return WriteFailed(found)
