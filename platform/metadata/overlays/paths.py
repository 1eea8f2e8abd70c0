"""Addresses inside a blueprint document that survive a merge: `fields.amount.label`,
`stages[name=proposal].probability`.

A list item is addressed by its identity (its `name`, its `value`, or the scalar itself) the way
the overlay merge finds it, not by its position, so the same address finds the same stage in a
base, in an overlay that appends to the list, and in the merged document. Diff, the base lock and
upgrade conflicts all speak in these addresses.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Iterable

from atrium.metadata.merge import APPEND, identity
from atrium.metadata.problems import Mark
from atrium.metadata.yaml_source import MarkedDict, MarkedList

# The file of each document kind inside a blueprint folder.
KIND_FOLDERS = {"entity": "entities", "pipeline": "pipelines", "views": "views", "report": "reports",
                "dashboard": "dashboards", "automation": "automations", "integration": "integrations",
                "periodic_report": "periodic_reports"}
SINGLE_KINDS = {"blueprint": "blueprint.yaml", "roles": "roles.yaml", "seed": "seed.yaml"}
ABSENT = "absent"  # the fingerprint of a place the document does not have


@dataclass(frozen=True)
class Ident:
    """A list item found by identity: `key` is `name`, `value` or `scalar`."""

    key: str
    value: Any

    def __str__(self) -> str:
        return f"[{self.value}]" if self.key == "scalar" else f"[{self.key}={self.value}]"


@dataclass(frozen=True)
class Position:
    """A list item found by position (items without a name, e.g. anonymous widgets)."""

    index: int

    def __str__(self) -> str:
        return f"[{self.index}]"


Step = str | Ident | Position


def ident_of(item: Any) -> Ident | None:
    found = identity(item)
    return Ident(*found) if found is not None else None


def document_file(kind: str, name: str) -> str:
    """`entities/<name>.yaml`: where a document lives inside any blueprint folder."""
    if kind in SINGLE_KINDS:
        return SINGLE_KINDS[kind]
    return f"{KIND_FOLDERS[kind]}/{name}.yaml"


def path_key(path: Iterable[Step]) -> str:
    """The text form of an address, stable across runs (used as a key in base.lock)."""
    text = ""
    for step in path:
        if isinstance(step, (Ident, Position)):
            text += str(step)
        else:
            text += ("." if text else "") + str(step)
    return text


@dataclass(frozen=True)
class Located:
    """What `locate` found: the value (when `found`), and the best position on the way there."""

    found: bool
    value: Any
    mark: Mark | None
    depth: int  # how many steps of the path exist


def _find_item(items: list[Any], step: Step) -> int | None:
    if isinstance(step, Position):
        return step.index if 0 <= step.index < len(items) else None
    if isinstance(step, Ident):
        start = 1 if items and items[0] == APPEND else 0
        for index in range(start, len(items)):  # by the name or value alone, as the merge finds items
            if (found := ident_of(items[index])) is not None and found.value == step.value:
                return index
    return None


def locate(data: Any, path: Iterable[Step], key_mark: bool = True) -> Located:
    """Follow `path` into `data`. The mark is that of the deepest step found: the key's line for a
    mapping entry (or the value's, with `key_mark=False`), the item's line for a list item."""
    node = data
    mark = getattr(data, "mark", None)
    steps = list(path)
    for depth, step in enumerate(steps):
        if isinstance(node, dict) and isinstance(step, str) and step in node:
            if isinstance(node, MarkedDict):
                marks = node.key_marks if key_mark else node.value_marks
                mark = marks.get(step, mark)
            node = node[step]
        elif isinstance(node, list) and (index := _find_item(node, step)) is not None:
            if isinstance(node, MarkedList) and index < len(node.item_marks) and node.item_marks[index]:
                mark = node.item_marks[index]
            node = node[index]
        else:
            return Located(False, None, mark, depth)
    return Located(True, node, mark, len(steps))


def plain(value: Any) -> Any:
    """The value as plain dicts and lists (no positions), for hashing, printing and YAML."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def fingerprint(value: Any) -> str:
    """A short hash of a value; the sequence of mapping keys does not count, that of list items does."""
    text = json.dumps(plain(value), sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def fingerprint_at(data: Any, path: Iterable[Step]) -> str:
    found = locate(data, path)
    return fingerprint(found.value) if found.found else ABSENT
