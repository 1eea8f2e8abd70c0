"""base.lock: what the base looked like where an overlay touches it, so a later base can be
checked against the overlay three ways (old base, new base, overlay).

An overlay is a tree of statements (`overlay_nodes`): merge into this mapping or list item, set
this property, remove this thing, add this item to a `+` list. The lock records, for the document
as a whole and for every statement's address, a fingerprint of what the base had there (or
`absent`), plus a fingerprint of every base document and the base's version. It is YAML, written
by `atrium overlay lock` (and by `atrium overlay new` and `atrium overlay upgrade --write`), and
kept in git beside the overlay; the loader ignores it (it is not a .yaml file).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping

import yaml

from atrium.errors import AtriumError
from atrium.metadata.merge import APPEND, IDENTITY_KEYS, PLACEMENT_KEYS
from atrium.metadata.overlays.paths import (
    ABSENT,
    Position,
    Step,
    document_file,
    fingerprint,
    fingerprint_at,
    ident_of,
    path_key,
)
from atrium.metadata.problems import Mark
from atrium.metadata.sources import Source
from atrium.metadata.yaml_source import MarkedDict, MarkedList

LOCK_FILE = "base.lock"
LOCK_HEADER = """\
# What the base blueprint looked like where this overlay changes it, when the overlay was last
# checked against it. Written by `atrium overlay lock`; commit it with the overlay and do not edit
# it by hand. `atrium check` and `atrium overlay upgrade` compare a newer base with it and report
# each place where the base changed something this overlay also changes.
"""


class LockError(AtriumError, ValueError):
    """base.lock cannot be read."""

    status, code = 409, "lock"


@dataclass(frozen=True)
class Node:
    """One statement of an overlay: `op` is merge (into a mapping or named item: see children),
    set (a value, or a whole replacing list), remove, item (a plain value added to a `+` list)
    or append (an item without a name, which cannot clash)."""

    path: tuple[Step, ...]
    op: str
    mark: Mark | None
    value: Any = None
    children: tuple["Node", ...] = ()

    def walk(self) -> Iterator["Node"]:
        yield self
        for child in self.children:
            yield from child.walk()


def _is_removed(value: Any) -> bool:
    return isinstance(value, dict) and value.get("remove") is True


def overlay_nodes(data: Any) -> Node:
    """The statement tree of one overlay document (its root is the document itself)."""
    return Node((), "merge", getattr(data, "mark", None), data, tuple(_mapping(data, ())))


def _mapping(data: dict[str, Any], path: tuple[Step, ...], skip: tuple[str, ...] = ()) -> Iterator[Node]:
    for key, value in data.items():
        if key in skip:
            continue
        here = path + (key,)
        mark = data.key_marks.get(key) if isinstance(data, MarkedDict) else None
        if _is_removed(value):
            yield Node(here, "remove", mark)
        elif isinstance(value, dict):
            yield Node(here, "merge", mark, value, tuple(_mapping(value, here)))
        elif isinstance(value, list) and value and value[0] == APPEND:
            yield Node(here, "merge", mark, value, tuple(_appended(value, here)))
        else:
            yield Node(here, "set", mark, value)


def _appended(items: list[Any], path: tuple[Step, ...]) -> Iterator[Node]:
    marks = items.item_marks if isinstance(items, MarkedList) else []
    for index in range(1, len(items)):
        item = items[index]
        mark = marks[index] if index < len(marks) else None
        ident = ident_of(item)
        if ident is None:
            yield Node(path + (Position(index),), "append", mark, item)
        elif _is_removed(item):
            yield Node(path + (ident,), "remove", mark)
        elif isinstance(item, dict):
            own = (ident.key,) + PLACEMENT_KEYS if ident.key in IDENTITY_KEYS else PLACEMENT_KEYS
            yield Node(path + (ident,), "merge", mark, item, tuple(_mapping(item, path + (ident,), own)))
        else:
            yield Node(path + (ident,), "item", mark, item)


def statement_fingerprints(overlay: Any, base: Any) -> dict[str, str]:
    """For every statement of an overlay document: what the base has at its address."""
    return {path_key(node.path): fingerprint_at(base, node.path) if base is not None else ABSENT
            for node in overlay_nodes(overlay).walk() if node.op != "append"}


@dataclass
class BaseLock:
    base: str
    base_version: Any
    documents: dict[str, str] = field(default_factory=dict)          # base document → fingerprint
    entries: dict[str, dict[str, str]] = field(default_factory=dict)  # overlay document → address → fp

    def at(self, document: str, key: str) -> str | None:
        """What the base had at this address when locked; None when the lock does not say."""
        return self.entries.get(document, {}).get(key)

    def document_unchanged(self, document: str, base: Source | None) -> bool:
        recorded = self.documents.get(document)
        return recorded == (fingerprint(base.data) if base is not None else None)


def take_lock(base_label: str, base: Mapping[tuple[str, str], Source],
              overlay: Mapping[tuple[str, str], Source]) -> BaseLock:
    manifest = base.get(("blueprint", "blueprint"))
    version = manifest.data.get("version") if manifest is not None else None
    lock = BaseLock(base_label, version)
    lock.documents = {document_file(*key): fingerprint(source.data) for key, source in sorted(base.items())}
    for key, source in sorted(overlay.items()):
        below = base.get(key)
        lock.entries[document_file(*key)] = statement_fingerprints(source.data, below.data if below else None)
    return lock


def write_lock(folder: Path, lock: BaseLock) -> Path:
    data = {"base": lock.base, "base_version": lock.base_version, "documents": lock.documents,
            "entries": lock.entries}
    path = Path(folder) / LOCK_FILE
    temporary = path.with_suffix(".lock.tmp")
    temporary.write_text(LOCK_HEADER + yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100),
                         encoding="utf-8")
    temporary.replace(path)
    return path


def read_lock(folder: Path) -> BaseLock | None:
    """The overlay's lock, or None when it has none; LockError when it cannot be read."""
    path = Path(folder) / LOCK_FILE
    if not path.is_file():
        return None
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise LockError(f"{path}: cannot be read ({error}); run `atrium overlay lock` again") from error
    if not isinstance(data, dict) or not isinstance(data.get("documents"), dict) \
            or not isinstance(data.get("entries", {}), dict):
        raise LockError(f"{path}: not a base lock; run `atrium overlay lock` again")
    return BaseLock(str(data.get("base", "")), data.get("base_version"),
                    {str(k): str(v) for k, v in data["documents"].items()},
                    {str(k): {str(a): str(b) for a, b in (v or {}).items()}
                     for k, v in (data.get("entries") or {}).items()})


def changed_documents(lock: BaseLock, base: Mapping[tuple[str, str], Source]) -> list[str]:
    """The base documents that differ from the lock (added, changed or gone)."""
    now = {document_file(*key): fingerprint(source.data) for key, source in base.items()}
    return sorted(name for name in set(now) | set(lock.documents) if now.get(name) != lock.documents.get(name))

