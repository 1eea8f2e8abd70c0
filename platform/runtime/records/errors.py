"""What the records service raises: a person's errors (field messages, a stale version, a missing
record), each in the actor's language."""
from __future__ import annotations

from typing import Any, Mapping

from atrium.errors import AtriumError
from atrium.runtime.records.rules import Errors


class RecordError(AtriumError):
    """A write or read of records refused; each kind says its status."""

    status, code = 400, "record"


class ValidationFailed(RecordError):
    """Field-level errors, in the actor's language; nothing was written."""

    status, code = 422, "invalid"

    def __init__(self, errors: Errors, row: int | None = None):
        self.errors = errors
        self.row = row
        where = f"row {row}: " if row is not None else ""
        super().__init__(where + "; ".join(f"{field}: {' '.join(texts)}" for field, texts in errors.items()))

    def payload(self) -> dict[str, Any]:
        return {"errors": self.errors}


class StaleRecord(RecordError):
    """Someone saved the record after the caller read it; `current` is what is stored now."""

    status, code = 409, "stale"

    def __init__(self, current: Mapping[str, Any], text: str):
        self.current = dict(current)
        super().__init__(text)


class RecordNotFound(RecordError):
    """No such record, or one the caller may not read: the same answer for both."""

    status, code, private = 404, "not_found", True
