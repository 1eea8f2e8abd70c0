"""Source documents as the loader hands them to the model builders, and how builders report."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from atrium.metadata.expressions import (
    BUILTIN_FUNCTIONS,
    CONSTANTS,
    CONTEXT_FUNCTIONS,
    Expression,
    ExpressionError,
    parse_expression,
    unknown_names,
)
from atrium.metadata.problems import Mark, Problem, did_you_mean, valid_names
from atrium.metadata.yaml_source import format_path, mark_at


@dataclass
class Source:
    """One merged document: its kind, its name, its data (with positions) and its first file."""

    kind: str
    name: str
    data: Any
    file: str


@dataclass
class Report:
    """Collects problems while a blueprint is built; builders never raise."""

    problems: list[Problem] = field(default_factory=list)
    # expressions that read dotted paths, with the entity they are evaluated on: checked once
    # every entity is built (expression_paths.check_expression_paths)
    linked: list[tuple[Source, list[str | int], Expression, str]] = field(default_factory=list)

    def add(self, source: Source, path: Iterable[str | int], message: str, hint: str = "",
            key: bool = False, valid: Iterable[str] = ()) -> None:
        steps = list(path)
        mark = mark_at(source.data, steps, key=key) or Mark(source.file, 1, 1)
        self.problems.append(Problem(mark, format_path(steps), message, hint, tuple(valid)))

    def unknown(self, source: Source, path: Iterable[str | int], what: str, name: Any,
                candidates: Iterable[str]) -> None:
        names = valid_names(candidates)
        self.add(source, path, f"'{name}' is not {what}", did_you_mean(name, names), valid=names)

    def expression(self, source: Source, path: Iterable[str | int], text: Any,
                   names: Iterable[str], entity: str | None = None, previous: bool = False) -> Expression | None:
        """Parse an expression and check that every name it uses exists; with `entity` (the
        entity whose records it reads), dotted paths through its references are allowed; with
        `previous` (an entity's checks), previous(field) reads the value stored before a change."""
        steps = list(path)
        try:
            expression = parse_expression(text)
        except ExpressionError as error:
            self.add(source, steps, f"invalid expression {text!r}: {error}")
            return None
        known = set(names)
        for name in unknown_names(expression, known):
            candidates = known | BUILTIN_FUNCTIONS | CONTEXT_FUNCTIONS | CONSTANTS
            self.add(source, steps, f"expression {text!r} uses unknown name '{name}'",
                     did_you_mean(name, candidates), valid=valid_names(known))
        if expression.paths and entity is None:
            dotted = ".".join(min(expression.paths))
            self.add(source, steps, f"expression {text!r} reads '{dotted}': a dotted path reads a linked "
                     "record, and here there is no record to follow (e.g. a report's metric reads its "
                     "aggregated columns)")
        elif expression.paths and entity is not None:
            self.linked.append((source, steps, expression, entity))
        if expression.previous and not previous:
            self.add(source, steps, f"expression {text!r} uses previous(): only an entity's checks read "
                     "the values stored before a change")
        return expression
