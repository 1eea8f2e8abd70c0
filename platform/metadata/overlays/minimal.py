"""The smallest overlay that turns a base document into a target document.

For the studio: an admin edits the merged document; the site overlay should then say only what
differs from the base, so a later base upgrade still comes through everywhere else.

- mappings: only the keys that differ; a key the target lacks becomes `{remove: true}`;
- lists of named items (stages, options, sections) or plain values: a `+` list naming only the
  items that are new, changed (only their changed properties), removed, or out of place (with
  `after:`/`before:`), when that merges to exactly the target and is not longer than the whole
  list; otherwise the target's whole list (which replaces the base's);
- anything else: the target's value.
- a `moved` entry (where a removed stage's or option's records go) is written as `moved_to:` beside
  the `remove: true` of that item when the overlay removes it in a `+` list; the merge turns it
  back into the entry.

`merge(base, minimal_overlay(base, target)) == target` for any two documents; the sequence of mapping keys is
the one thing an overlay cannot change (new keys come after the base's).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, TypeGuard

from atrium.metadata.merge import APPEND, MOVED, MOVED_TO, identity, merge
from atrium.metadata.overlays.diff import longest_increasing, same
from atrium.metadata.overlays.documents import NOTHING, render_overlay_yaml, write_overlay_document
from atrium.metadata.overlays.paths import plain
from atrium.metadata.sources import Source


def minimal_overlay(base: Any, target: Any) -> Any:
    """The overlay value that merges `base` into `target`, or NOTHING when they are the same."""
    if same(base, target):
        return NOTHING
    if isinstance(base, dict) and isinstance(target, dict):
        result: dict[str, Any] = {key: {"remove": True} for key in base if key not in target}
        for key, value in target.items():
            if key not in base:
                result[key] = plain(value)
            elif (difference := minimal_overlay(base[key], value)) is not NOTHING:
                result[key] = difference
        _fold_moves(result)
        return result
    if isinstance(base, list) and isinstance(target, list):
        whole = plain(target)
        appended = _append_form(base, target)
        if appended is not None and len(render_overlay_yaml(appended)) <= len(render_overlay_yaml(whole)):
            return appended
        return whole
    return plain(target)


def _fold_moves(result: dict[str, Any]) -> None:
    """`moved: {x: y}` → `moved_to: y` on the `{..: x, remove: true}` item of a `+` list beside it."""
    moved = result.get(MOVED)
    if not isinstance(moved, dict):
        return
    removals = {repr(found[1]): item for items in result.values()
                if isinstance(items, list) and items and items[0] == APPEND
                for item in items[1:] if isinstance(item, dict) and item.get("remove") is True
                and (found := identity(item)) is not None}
    for old, new in list(moved.items()):
        item = removals.get(repr(old))
        if item is not None and not isinstance(new, (dict, list)) and MOVED_TO not in item:
            item[MOVED_TO] = new
            del moved[old]
    if not moved:
        del result[MOVED]


def minimal_overlay_documents(base: dict[Any, Any], target: dict[Any, Any]) -> dict[Any, Any]:
    """Per document key: the minimal overlay, `{remove: true}` for a document the target lacks;
    documents that are the same are left out."""
    result: dict[Any, Any] = {key: {"remove": True} for key in base if key not in target}
    for key, value in target.items():
        difference = minimal_overlay(base[key], value) if key in base else plain(value)
        if difference is not NOTHING:
            result[key] = difference
    return result


def _unique(ids: list[tuple[str, Any] | None]) -> TypeGuard[list[tuple[str, Any]]]:
    return None not in ids and len({repr(i) for i in ids}) == len(ids)


def _append_form(base: list[Any], target: list[Any]) -> list[Any] | None:
    """A `+` list for base → target, or None when one cannot say it."""
    base_ids, target_ids = [identity(i) for i in base], [identity(i) for i in target]
    if not _unique(base_ids) or not _unique(target_ids) or (target and target[0] == APPEND):
        return None
    by_id = {repr(i): item for i, item in zip(base_ids, base, strict=True)}
    removals: list[Any] = []
    for ident in base_ids:
        if repr(ident) not in {repr(i) for i in target_ids}:
            removals.append({"value" if ident[0] == "scalar" else ident[0]: ident[1], "remove": True})
    entries: dict[str, Any] = {}  # by identity, in target sequence; None: no entry needed (yet)
    for ident, item in zip(target_ids, target, strict=True):
        key = repr(ident)
        if key not in by_id:
            entries[key] = plain(item)
        elif isinstance(item, dict):
            difference = minimal_overlay(by_id[key], item)
            entries[key] = None if difference is NOTHING else {ident[0]: ident[1], **difference}
        else:
            entries[key] = None
    wanted = [repr(i) for i in target_ids]
    kept = [ident for ident in base_ids if repr(ident) in set(wanted)]

    def place(index: int) -> bool:
        key, ident = wanted[index], target_ids[index]
        if ident[0] == "scalar":
            return False  # a plain value cannot say where it goes
        entry = {k: v for k, v in (entries[key] or {ident[0]: ident[1]}).items() if k not in ("after", "before")}
        if index:
            entry["after"] = target_ids[index - 1][1]
        else:  # processed first, when the list still holds only the base's kept items
            entry["before"] = next(i[1] for i in kept if repr(i) != key)
        entries[key] = entry
        return True

    # The fewest moves: base items outside the longest run that kept its sequence, and new items
    # that do not simply come at the end, are placed after the item they follow in the target.
    position = {repr(i): n for n, i in enumerate(base_ids)}
    common = [key for key in wanted if key in position]  # moving an item already written costs less
    steady = longest_increasing([position[key] for key in common], [1 if entries[key] else 2 for key in common])
    tail = len(wanted)
    while tail and wanted[tail - 1] not in position:
        tail -= 1
    for index, key in enumerate(wanted):
        moved = position[key] not in steady if key in position else index < tail
        if moved and not place(index):
            return None
    for _ in range(len(target) + 1):  # the placements above usually suffice; fix what is left
        candidate = [APPEND] + removals + [entry for entry in entries.values() if entry is not None]
        merged = merge(base, candidate)
        now = [repr(identity(item)) for item in merged]
        if now == wanted:
            return candidate if same(merged, target) else None
        if len(now) != len(wanted):
            return None
        if not place(next(i for i, (a, b) in enumerate(zip(now, wanted, strict=True)) if a != b)):
            return None
    return None


def update_overlay_document(folder: Path | str, below: Mapping[tuple[str, str], Source], kind: str, name: str,
                            target: Any, comment: str = "") -> Path | None:
    """For the studio: make `folder` (the site overlay) say what turns the merged document below it
    into `target` (None: the document is deleted). Writes the minimal overlay, deletes the file
    when the overlay has nothing to say, and returns the file written (or None)."""
    ensure_overlay_folder(folder)
    base = below.get((kind, name))
    if target is None:
        data: Any = {"remove": True} if base is not None else NOTHING
    else:
        data = minimal_overlay(base.data, target) if base is not None else plain(target)
    return write_overlay_document(folder, kind, name, data, comment)


def ensure_overlay_folder(folder: Path | str) -> None:
    """A folder `--overlay` accepts: it needs a blueprint.yaml, even one that changes nothing."""
    manifest = Path(folder) / "blueprint.yaml"
    if not manifest.exists():
        write_overlay_document(folder, "blueprint", "blueprint", {},
                               "This site's own overlay: the studio writes its changes here.\n"
                               "Use it with `atrium --overlay " + Path(folder).name + " ...`.")
