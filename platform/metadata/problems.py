"""Load problems: every error the loader finds, with where it is and what to do about it."""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Iterable

from atrium.errors import AtriumError


@dataclass(frozen=True)
class Mark:
    """A place in a blueprint file (1-based line and column)."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Problem:
    """One error in a blueprint: where, the path inside the document, what, and a hint."""

    mark: Mark | None
    path: str
    message: str
    hint: str = ""
    # the values that would be valid here (a field's entity's fields, an enum's options), shown after the hint
    valid: tuple[str, ...] = ()

    def __str__(self) -> str:
        where = f"{self.mark}: " if self.mark else ""
        path = f"{self.path}: " if self.path else ""
        return f"{where}{path}{self.words()}"

    def words(self) -> str:
        """What is wrong, the hint and the valid values, without the place."""
        hint = f" ({self.hint})" if self.hint else ""
        valid = f"; valid: {shown_values(self.valid)}" if self.valid else ""
        return f"{self.message}{hint}{valid}"


class BlueprintError(AtriumError):
    """Raised when a blueprint does not load; carries every problem found, not just the first."""

    status, code = 422, "blueprint"

    def __init__(self, problems: Iterable[Problem]):
        self.problems = sorted(problems, key=problem_order)
        super().__init__("\n".join(str(p) for p in self.problems))


def problem_order(problem: Problem) -> tuple[str, int, int, str, str]:
    """Problems as a reader goes through them: by file, line and column."""
    mark = problem.mark or Mark("", 0, 0)
    return (mark.file, mark.line, mark.column, problem.path, problem.message)


MAX_SHOWN_VALUES = 24


def shown_values(values: Iterable[str], separator: str = ", ", more: str = "... (+{count})") -> str:
    """Valid values as a reader scans them: quoted, in order, the first MAX_SHOWN_VALUES of them."""
    listed = list(values)
    text = separator.join(f"'{value}'" for value in listed[:MAX_SHOWN_VALUES])
    extra = len(listed) - MAX_SHOWN_VALUES
    return text + (separator + more.format(count=extra) if extra > 0 else "")


def valid_names(candidates: Iterable[object]) -> tuple[str, ...]:
    """Candidates as a sorted tuple of text, for Problem.valid."""
    return tuple(sorted({str(c) for c in candidates if c is not None}))


def did_you_mean(name: object, candidates: Iterable[str]) -> str:
    """A hint naming the closest candidate, or '' when nothing is close."""
    if not isinstance(name, str):
        return ""
    close = difflib.get_close_matches(name, sorted(set(candidates)), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else ""
