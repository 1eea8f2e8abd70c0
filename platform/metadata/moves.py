"""Where the records holding a removed stage or option go: the `moved` maps, checked at load.

A pipeline's `moved: {needs_confirmed: proposal}` (or, in an overlay, `moved_to: proposal` beside
`remove: true` on the stage, which the merge turns into the same entry) and a select or multiselect
field's `moved: {timing: other}` name, for each value taken out, a value still listed. The migration
moves the records (runtime/schema/value_moves.py); here each entry is checked: the value it moves
must be gone, and where it goes must be a stage of the same pipeline (an option of the same field)
that is not itself removed.
"""
from __future__ import annotations

from types import MappingProxyType
from typing import Any, Mapping, Sequence

from atrium.metadata.problems import did_you_mean
from atrium.metadata.sources import Report, Source

MOVABLE_FIELD_TYPES = ("select", "multiselect")


def checked_moves(report: Report, source: Source, path: list[Any], moved: Any, kept: Sequence[Any],
                  what: str, verb: str = "moved") -> Mapping[Any, Any]:
    """The `moved` map at `path` of `source` (pipeline or field) after checking each entry against
    `kept`, the values still listed; `what` is "stage" or "option" (for the messages). A `renamed`
    map (`verb`: a previous name → the name now listed) obeys the same rules."""
    article = "an" if what[0] in "aeiou" else "a"
    if not isinstance(moved, Mapping):
        return MappingProxyType({})
    shown = [str(value) for value in kept]
    result: dict[Any, Any] = {}
    for old, new in moved.items():
        if _listed(old, kept):
            report.add(source, path + [old], f"'{old}' is still {article} {what} here: only a "
                      f"removed {what} can " + ("move its records" if verb == "moved" else "be renamed"),
                       key=True)
            continue
        if new in moved and not _listed(new, kept):
            report.add(source, path + [old], f"'{new}' is removed as well: move the records of "
                      f"'{old}' to {article} {what} that stays" if verb == "moved" else
                       f"'{new}' is not {article} {what} here", did_you_mean(str(new), shown))
            continue
        if not _listed(new, kept):
            report.add(source, path + [old], f"'{new}' is not {article} {what} here",
                                      did_you_mean(str(new), shown))
            continue
        result[old] = _as_listed(new, kept)
    return MappingProxyType(result)


def _listed(value: Any, kept: Sequence[Any]) -> bool:
    return any(str(value) == str(item) for item in kept)


def _as_listed(value: Any, kept: Sequence[Any]) -> Any:
    return next(item for item in kept if str(item) == str(value))

