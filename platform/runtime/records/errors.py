"""What the records service raises: a person's errors (field messages, a stale version, a missing
record), each in the actor's language."""
from __future__ import annotations

from typing import Any, Mapping

from atrium.runtime.records.rules import Errors


class RecordError(Exception):
    pass


class ValidationFailed(RecordError):
    """Field-level errors, in the actor's language; nothing was written."""

    def __init__(self, errors: Errors, row: int | None = None):
        self.errors = errors
        self.row = row
        where = f"row {row}: " if row is not None else ""
        super().__init__(where + "; ".join(f"{field}: {' '.join(texts)}" for field, texts in errors.items()))


class StaleRecord(RecordError):
    """Someone saved the record after the caller read it; `current` is what is stored now."""

    def __init__(self, current: Mapping[str, Any], text: str):
        self.current = dict(current)
        super().__init__(text)


class RecordNotFound(RecordError):
    pass
