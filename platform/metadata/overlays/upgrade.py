"""A new base under an old overlay: merge cleanly, or say where each conflict is.

Three versions meet: what the base had where the overlay changes it when the overlay was written
(from base.lock, or from the old base folder itself), the new base, and the overlay. A conflict is
a place where the overlay's statement no longer means what its author meant:

- `gone`: the overlay changes or removes something the new base no longer has (removed, or renamed:
  a `renamed_from:` naming it is pointed out);
- `both added`: the overlay adds a field, stage, option, property or document under a name the new
  base now defines too (the two would silently merge);
- `both changed`: the overlay sets a property (or replaces a list) the new base changed as well
  (the overlay's value would silently undo the base's change);
- `changed, removed here`: the overlay removes something the new base changed.

Everything else merges: the base's changes elsewhere come through, the overlay's stay on top.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from atrium.metadata.loader import check_layers, display_path, merged_documents, read_layer
from atrium.metadata.overlays.checks import is_removed_document
from atrium.metadata.overlays.lock import (
    BaseLock,
    Node,
    changed_documents,
    overlay_nodes,
    read_lock,
    take_lock,
    write_lock,
)
from atrium.metadata.overlays.paths import ABSENT, Step, document_file, fingerprint, fingerprint_at, locate, path_key
from atrium.metadata.overlays.words import name_of
from atrium.metadata.problems import Mark, Problem
from atrium.metadata.sources import Source

Documents = Mapping[tuple[str, str], Source]
OldLookup = Callable[[tuple[str, str], tuple[Step, ...]], "str | None"]


@dataclass(frozen=True)
class Conflict:
    """One place where a new base and an overlay disagree, with both positions."""

    kind: str
    document: str
    path: str
    message: str
    at: Mark | None        # the overlay's statement
    base_at: Mark | None   # the new base's version of it (or its nearest parent)
    hint: str = ""

    def __str__(self) -> str:
        where = f"{self.at}: " if self.at else f"{self.document}: "
        path = f"{self.path}: " if self.path else ""
        base = f" [base: {self.base_at}]" if self.base_at else ""
        hint = f" ({self.hint})" if self.hint else ""
        return f"{where}{path}{self.kind}: {self.message}{base}{hint}"


def lock_lookup(lock: BaseLock) -> OldLookup:
    return lambda key, path: lock.at(document_file(*key), path_key(path))


def folder_lookup(old_base: Documents) -> OldLookup:
    def lookup(key: tuple[str, str], path: tuple[Step, ...]) -> str:
        source = old_base.get(key)
        return fingerprint_at(source.data, path) if source is not None else ABSENT
    return lookup


def find_conflicts(overlay: Documents, old: OldLookup, new_base: Documents) -> list[Conflict]:
    """Every conflict between the overlay's documents and a new base, by file and line."""
    conflicts: list[Conflict] = []
    for key, source in sorted(overlay.items()):
        new = new_base.get(key)
        new_data = new.data if new is not None else None
        if is_removed_document(source.data):
            was = old(key, ())
            if was not in (None, ABSENT) and new is not None and fingerprint(new_data) != was:
                conflicts.append(Conflict("changed, removed here", document_file(*key), "",
                                          f"the new base changed {name_of(*key, ())}, which the overlay removes",
                                          source.data.mark, new.data.mark))
            continue
        _check(overlay_nodes(source.data), key, old, new_data, conflicts)
    return sorted(conflicts, key=lambda c: (str(c.at.file if c.at else c.document),
                                            c.at.line if c.at else 0, c.at.column if c.at else 0))


def _check(node: Node, key: tuple[str, str], old: OldLookup, new_data: Any, out: list[Conflict]) -> None:
    if node.op == "append":
        return
    was = old(key, node.path)
    found = locate(new_data, node.path) if new_data is not None else None
    now = fingerprint(found.value) if found is not None and found.found else ABSENT
    base_at = found.mark if found is not None else None
    document, where = document_file(*key), path_key(node.path)
    thing = name_of(key[0], key[1], node.path)
    if was is None:  # written after the lock: what the base had then is unknown
        for child in node.children:
            _check(child, key, old, new_data, out)
        return
    if node.op == "remove":
        if now == ABSENT and was != ABSENT:
            out.append(Conflict("gone", document, where, f"the overlay removes {thing}, which the new base no longer "
                                "has", node.mark, base_at, _renamed(new_data, node.path)))
        elif was not in (ABSENT, now) and now != ABSENT:
            out.append(Conflict("changed, removed here", document, where,
                                f"the new base changed {thing}, which the overlay removes", node.mark, base_at))
        return
    if was == ABSENT:
        if now != ABSENT:
            out.append(Conflict("both added", document, where, f"the overlay adds {thing}, and the new base now "
                                "defines it too; the two would be merged", node.mark, base_at,
                                "keep one: drop it from the overlay, or rename the overlay's"))
        return
    if now == ABSENT:
        out.append(Conflict("gone", document, where, f"the overlay changes {thing}, which the new base no longer has",
                            node.mark, base_at, _renamed(new_data, node.path)))
        return
    if node.op == "merge":
        for child in node.children:
            _check(child, key, old, new_data, out)
    elif node.op == "set" and now != was:
        out.append(Conflict("both changed", document, where, f"the new base changed {thing} too; the overlay's "
                            "value would replace the base's new one", node.mark, base_at,
                            "keep the overlay's value or take the base's"))


def _renamed(new_data: Any, path: tuple[Step, ...]) -> str:
    """A hint naming the new base's thing that says `renamed_from:` the vanished one."""
    for depth in range(len(path), 0, -1):
        old_name = path[depth - 1]
        parent = locate(new_data, path[:depth - 1]) if new_data is not None else None
        if parent is None or not parent.found or not isinstance(parent.value, dict) or not isinstance(old_name, str):
            continue
        for name, value in parent.value.items():
            if isinstance(value, dict) and value.get("renamed_from") == old_name:
                return f"the new base renamed '{old_name}' to '{name}' (renamed_from): move the overlay's " \
                       f"statements to '{name}'"
    return "the base removed or renamed it: change the overlay to match"


@dataclass
class UpgradeResult:
    """What checking an overlay against a (new) base found."""

    conflicts: list[Conflict]
    problems: list[Problem]      # the overlay merged on the new base does not load
    changed: list[str]           # base documents that differ from what the overlay was checked against
    compared_with: str           # 'base.lock', the old base folder, or '' (nothing to compare with)

    @property
    def clean(self) -> bool:
        return not self.conflicts and not self.problems


def below_and_own(layers: list[Path], index: int) -> tuple[Documents, Documents, list[Problem]]:
    below, problems = merged_documents(layers[:index])
    own, found = read_layer(layers[index])
    return below, own, problems + found


def check_against_lock(layers: list[Path], index: int) -> UpgradeResult | None:
    """`atrium check`: the overlay at layers[index] against the base below it, when it has a lock."""
    lock = read_lock(layers[index])
    if lock is None:
        return None
    below, own, problems = below_and_own(layers, index)
    changed = changed_documents(lock, below)
    touched = {key: source for key, source in own.items()
               if not lock.document_unchanged(document_file(*key), below.get(key))}
    conflicts = find_conflicts(touched, lock_lookup(lock), below) if changed else []
    return UpgradeResult(conflicts, problems, changed, "base.lock")


def upgrade(overlay: Path, old_layers: list[Path], new_layers: list[Path]) -> UpgradeResult:
    """The overlay (its own folder) on the new base layers, compared with what it was written on:
    its base.lock if it has one, else the old base layers (the ones its `extends:` names)."""
    own, problems = read_layer(overlay)
    new_base, found = merged_documents(new_layers)
    problems += found
    lock = read_lock(overlay)
    if lock is not None:
        old, compared_with = lock_lookup(lock), "base.lock"
        changed = changed_documents(lock, new_base)
    elif old_layers and [p.resolve() for p in old_layers] != [p.resolve() for p in new_layers]:
        old_base, found = merged_documents(old_layers)
        problems += found
        old, compared_with = folder_lookup(old_base), display_path(old_layers[-1])
        changed = sorted({document_file(*k) for k in set(old_base) | set(new_base)
                          if fingerprint(old_base[k].data if k in old_base else None)
                          != fingerprint(new_base[k].data if k in new_base else None)})
    else:
        old, compared_with, changed = folder_lookup(new_base), "", []
    _, load_problems = check_layers(list(new_layers) + [overlay])
    return UpgradeResult(find_conflicts(own, old, new_base), problems + load_problems, changed, compared_with)


def relock(overlay: Path, base_layers: list[Path], base_label: str) -> Path:
    """Record the current base in the overlay's base.lock."""
    base, _ = merged_documents(base_layers)
    own, _ = read_layer(overlay)
    return write_lock(overlay, take_lock(base_label, base, own))
