"""One message for an overlay's `remove: true` that breaks what the layers below still use.

An overlay that removes a base field (stage, option, report...) the base's own views, reports,
seed or roles still name would otherwise give one error per use, each in a base file the consultant
did not write. The cause is the removal: the problems that name the removed thing are folded into
one problem at the `remove: true`, listing every place that still uses it (file:line:col each).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Sequence

from atrium.metadata.merge import APPEND, identity
from atrium.metadata.overlays.checks import is_removed_document
from atrium.metadata.problems import Mark, Problem
from atrium.metadata.yaml_source import MarkedDict, MarkedList, format_path

QUOTED = re.compile(r"'([^']*)'")
# Problems about the removal statement itself, not about a use of what it removes.
OWN_PROBLEMS = ("nothing to remove",)


@dataclass(frozen=True)
class Removal:
    """A `remove: true` in an overlay: the name it takes out and where it says so."""

    name: str
    mark: Mark
    path: str
    layer: int = 0  # the place of its overlay among the layers (the base is 0)


def removals_of(data: Any, file: str, document: str, layer: int) -> list[Removal]:
    """Every `remove: true` of one overlay document (a whole-document removal names the document)."""
    top = getattr(data, "mark", None) or Mark(file, 1, 1)
    if is_removed_document(data):
        return [Removal(document, top, "remove", layer)]
    return [Removal(found.name, found.mark, found.path, layer) for found in _walk(data, [], top)]


def _is_removed(value: Any) -> bool:
    return isinstance(value, dict) and value.get("remove") is True


def _walk(data: Any, path: list[Any], mark: Mark) -> Iterator[Removal]:
    if isinstance(data, dict):
        for key, value in data.items():
            here = data.key_marks.get(key, mark) if isinstance(data, MarkedDict) else mark
            if _is_removed(value):
                yield Removal(str(key), here, format_path(path + [key]))
            else:
                yield from _walk(value, path + [key], here)
    elif isinstance(data, list):
        appended = bool(data) and data[0] == APPEND
        for index, item in enumerate(data):
            marks = data.item_marks if isinstance(data, MarkedList) else []
            here = (marks[index] if index < len(marks) else None) or mark
            found = identity(item)
            if appended and _is_removed(item) and found is not None:
                yield Removal(str(found[1]), here, format_path(path + [index]))
            else:
                yield from _walk(item, path + [index], here)


def _names_in(message: str) -> set[str]:
    """The names a message quotes, and each step of a quoted dotted path."""
    names: set[str] = set()
    for quoted in QUOTED.findall(message):
        names.add(quoted)
        names.update(re.split(r"[.\s()*+/<>=,-]+", quoted))
    return names


def collapse_removals(problems: Sequence[Problem], removals: Iterable[Removal],
                      layer_of: Callable[[str], int]) -> list[Problem]:
    """problems with those that name a removed thing, in a file of a layer below the removal's,
    folded into one problem at each removal (a problem in the removing overlay itself stays: the
    consultant wrote both lines and reads the precise message)."""
    by_name: dict[str, Removal] = {}
    for removal in removals:
        by_name.setdefault(removal.name, removal)
    if not by_name:
        return list(problems)
    kept: list[Problem] = []
    uses: dict[str, list[Problem]] = {}
    for problem in problems:
        cause = None
        if problem.mark is not None and not problem.message.startswith(OWN_PROBLEMS):
            below = layer_of(problem.mark.file)
            cause = next((by_name[name] for name in sorted(_names_in(problem.message)) if name in by_name
                          and by_name[name].layer > below), None)
        if cause is None:
            kept.append(problem)
        else:
            uses.setdefault(cause.name, []).append(problem)
    for name, found in uses.items():
        removal = by_name[name]
        places = sorted({f"{p.mark} ({p.path})" if p.path else str(p.mark) for p in found})
        kept.append(Problem(removal.mark, removal.path,
                            f"'{name}' is removed here, but {len(places)} place(s) still use it: {', '.join(places)}",
                            "change or remove those uses in this overlay too"))
    return kept
