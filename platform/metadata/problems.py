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

    def __str__(self) -> str:
        where = f"{self.mark}: " if self.mark else ""
        path = f"{self.path}: " if self.path else ""
        hint = f" ({self.hint})" if self.hint else ""
        return f"{where}{path}{self.message}{hint}"


class BlueprintError(AtriumError):
    """Raised when a blueprint does not load; carries every problem found, not just the first."""

    status, code = 422, "blueprint"

    def __init__(self, problems: Iterable[Problem]):
        self.problems = sorted(problems, key=_problem_order)
        super().__init__("\n".join(str(p) for p in self.problems))


def _problem_order(problem: Problem) -> tuple[str, int, int, str, str]:
    mark = problem.mark or Mark("", 0, 0)
    return (mark.file, mark.line, mark.column, problem.path, problem.message)


def did_you_mean(name: object, candidates: Iterable[str]) -> str:
    """A hint naming the closest candidate, or '' when nothing is close."""
    if not isinstance(name, str):
        return ""
    close = difflib.get_close_matches(name, sorted(set(candidates)), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else ""
