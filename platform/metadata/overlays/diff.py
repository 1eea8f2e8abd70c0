"""What an overlay changes against its base, property by property (`atrium diff`).

`compare(old, new)` walks two versions of one document: mappings key by key, lists of named items
(stages, options, sections, plain values) item by item by identity, other lists as one value. Each
change carries its address, the old and new values, and for a new or moved item the item it now
follows. `layer_changes(layers)` compares, for each overlay folder, the merged documents below it
with the merged documents including it, and adds where the overlay says so (file:line) and where
the base has it. The studio can call `document_changes` on two versions of a document to show an
edit in the same words.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from atrium.metadata.loader import display_path, merged_documents, read_layer
from atrium.metadata.overlays.paths import Ident, Position, Step, document_file, ident_of, locate, plain
from atrium.metadata.problems import Mark, Problem
from atrium.metadata.sources import Source

LOCALE = re.compile(r"^[a-z]{2,3}(?:[-_][A-Za-z]{2,4})?$")
FIRST = "(first)"  # `after` of an item that now comes first
SKIPPED_KEYS = {("blueprint", "extends")}  # how layers are found, not what the blueprint is
# (action, path, old, new, after): one difference as `compare` finds it, before it becomes a Change
Difference = tuple[str, tuple[Step, ...], Any, Any, Any]


@dataclass(frozen=True)
class Change:
    """One difference: `action` is added, changed, removed or moved."""

    kind: str
    name: str
    action: str
    path: tuple[Step, ...]
    old: Any = None
    new: Any = None
    after: Any = None
    at: Mark | None = None        # where the overlay says it
    base_at: Mark | None = None   # where the base has it (or its nearest parent)
    layer: str = ""

    @property
    def document(self) -> str:
        return document_file(self.kind, self.name)


def same(a: Any, b: Any) -> bool:
    """Equal as YAML values (true is not 1; the sequence of mapping keys does not count)."""
    return json.dumps(plain(a), sort_keys=True, default=str) == json.dumps(plain(b), sort_keys=True, default=str)


def _identified(items: list[Any]) -> list[Ident] | None:
    """The identities of a list whose every item has a distinct one, else None."""
    idents = [i for i in (ident_of(item) for item in items) if i is not None]
    if len(idents) < len(items):
        return None
    values = [i.value for i in idents]
    return idents if len(set(map(repr, values))) == len(values) else None


def _by_value(idents: list[Ident]) -> dict[str, Ident]:
    return {repr(i.value): i for i in idents}


def compare(old: Any, new: Any, path: tuple[Step, ...] = ()) -> list[Difference]:
    """(action, path, old, new, after) for every difference between two values."""
    if same(old, new):
        return []
    if isinstance(old, dict) and isinstance(new, dict) and not (_is_text(old) and _is_text(new)):
        out: list[Difference] = [("removed", path + (key,), value, None, None)
                            for key, value in old.items() if key not in new]
        for key, value in new.items():
            if key not in old:
                out.append(("added", path + (key,), None, value, None))
            else:
                out.extend(compare(old[key], value, path + (key,)))
        return out
    if isinstance(old, list) and isinstance(new, list):
        return _compare_lists(old, new, path)
    return [("changed", path, old, new, None)]


def _compare_lists(old: list[Any], new: list[Any], path: tuple[Step, ...]) -> list[Difference]:
    old_ids, new_ids = _identified(old), _identified(new)
    if old_ids is None or new_ids is None:
        if len(new) > len(old) and same(new[:len(old)], old):  # items appended
            return [("added", path + (ident_of(new[i]) or Position(i),), None, new[i], _after_item(new, i))
                    for i in range(len(old), len(new))]
        return [("changed", path, old, new, None)]
    old_index = {repr(i.value): n for n, i in enumerate(old_ids)}
    new_keys = [repr(i.value) for i in new_ids]
    out: list[Difference] = [("removed", path + (ident,), old[n], None, None)
                        for n, ident in enumerate(old_ids) if repr(ident.value) not in set(new_keys)]
    kept = [key for key in new_keys if key in old_index]
    in_place = longest_increasing([old_index[key] for key in kept])
    for n, (ident, key) in enumerate(zip(new_ids, new_keys, strict=True)):
        after = new_ids[n - 1].value if n else FIRST
        if key not in old_index:
            out.append(("added", path + (ident,), None, new[n], after))
            continue
        if old_index[key] not in in_place:
            out.append(("moved", path + (ident,), None, None, after))
        out.extend(compare(old[old_index[key]], new[n], path + (ident,)))
    return out


def _after_item(items: list[Any], index: int) -> Any:
    if not index:
        return FIRST
    previous = ident_of(items[index - 1])
    return previous.value if previous is not None else Position(index - 1)


def _is_text(value: dict[Any, Any]) -> bool:
    """A label: one text per language ({en: ..., zh: ...}), compared as one value."""
    return bool(value) and all(isinstance(k, str) and LOCALE.match(k) and isinstance(v, str)
                               for k, v in value.items())


def longest_increasing(values: list[int], weights: list[int] | None = None) -> set[int]:
    """The heaviest set of items that kept their relative sequence (each weighs 1 unless given);
    the others moved."""
    if not values:
        return set()
    weight = weights or [1] * len(values)
    best = list(weight)
    previous = [-1] * len(values)
    for i in range(len(values)):
        for j in range(i):
            if values[j] < values[i] and best[j] + weight[i] > best[i]:
                best[i], previous[i] = best[j] + weight[i], j
    i = max(range(len(values)), key=best.__getitem__)
    kept = set()
    while i != -1:
        kept.add(values[i])
        i = previous[i]
    return kept


def document_changes(kind: str, name: str, base: Any, merged: Any, overlay: Any = None,
                     layer: str = "") -> list[Change]:
    """The changes from `base` (None: the document is new) to `merged` (None: removed), with
    positions looked up in `overlay` (the overlay's own document) and in `base`."""
    fallback = getattr(overlay, "mark", None)
    if base is None or merged is None:
        action = "added" if base is None else "removed"
        where = fallback if overlay is not None else getattr(merged, "mark", None)
        return [Change(kind, name, action, (), base, merged, None, where,
                       getattr(base, "mark", None), layer)]
    changes = []
    for action, path, old, new, after in compare(base, merged):
        if (kind, path[0] if path else None) in SKIPPED_KEYS:
            continue
        at = locate(overlay, path).mark if overlay is not None else locate(merged, path).mark
        changes.append(Change(kind, name, action, path, old, new, after, at or fallback,
                              locate(base, path).mark, layer))
    return changes


def layer_changes(layers: Sequence[Path]) -> tuple[list[Change], list[Problem]]:
    """What each overlay folder (every layer after the first) changes against the layers below."""
    changes: list[Change] = []
    problems: list[Problem] = []
    for number in range(1, len(layers)):
        below, found = merged_documents(layers[:number])
        above, found_above = merged_documents(layers[:number + 1])
        own, found_own = read_layer(layers[number])
        problems.extend(found + found_above + found_own)
        shown = display_path(layers[number])
        for key in sorted(set(own) | (set(below) - set(above))):
            changes.extend(_changes_of(key, below.get(key), above.get(key), own.get(key), shown))
    return changes, problems


def _changes_of(key: tuple[str, str], below: Source | None, above: Source | None,
                own: Source | None, layer: str) -> list[Change]:
    return document_changes(key[0], key[1], below.data if below else None,
                            above.data if above else None, own.data if own else None, layer)
