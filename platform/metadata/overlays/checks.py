"""Overlay statements that would silently do nothing, reported at their line instead.

The merge itself never fails: `remove: true` on a field the base does not have, or `after:` naming
a stage that does not exist, would just be ignored. A typo there (or a base upgrade that renamed
the thing) must not pass unnoticed, so the loader runs these checks on each overlay document
against the merged document below it.
"""
from __future__ import annotations

from typing import Any, Iterator

from atrium.metadata.merge import APPEND, find_item, identity, placement
from atrium.metadata.problems import Mark, Problem, did_you_mean
from atrium.metadata.yaml_source import MarkedDict, MarkedList, format_path


def is_removed_document(data: Any) -> bool:
    """An overlay document that is only `remove: true` takes the whole base document out."""
    return isinstance(data, dict) and data.get("remove") is True and len(data) == 1


def overlay_problems(base: Any, overlay: Any, file: str) -> list[Problem]:
    """Problems of one overlay document merged onto `base` (None when the base lacks it)."""
    fallback = getattr(overlay, "mark", None) or Mark(file, 1, 1)
    if is_removed_document(overlay):
        if base is None:
            return [Problem(fallback, "remove", "nothing to remove: the base has no such document")]
        return []
    return list(_walk(base, overlay, [], fallback))


def _key_mark(data: Any, key: Any, fallback: Mark) -> Mark:
    return data.key_marks.get(key, fallback) if isinstance(data, MarkedDict) else fallback


def _item_mark(items: Any, index: int, fallback: Mark) -> Mark:
    found = items.item_marks[index] if isinstance(items, MarkedList) and index < len(items.item_marks) else None
    return found or fallback


def _is_removed(value: Any) -> bool:
    return isinstance(value, dict) and value.get("remove") is True


def _walk(base: Any, overlay: Any, path: list[Any], mark: Mark) -> Iterator[Problem]:
    if isinstance(overlay, dict):
        base_map = base if isinstance(base, dict) else {}
        for key, value in overlay.items():
            here = _key_mark(overlay, key, mark)
            if _is_removed(value) and key not in base_map:
                yield Problem(here, format_path(path + [key]), f"nothing to remove: the base has no '{key}'",
                              did_you_mean(key, [k for k in base_map if isinstance(k, str)]))
            elif not _is_removed(value):
                yield from _walk(base_map.get(key), value, path + [key], here)
    elif isinstance(overlay, list):
        if overlay and overlay[0] == APPEND:
            yield from _walk_append(base if isinstance(base, list) else [], overlay, path, mark)
        else:
            for index, item in enumerate(overlay):
                if (place := placement(item)) is not None:
                    yield Problem(_item_mark(overlay, index, mark), format_path(path + [index]),
                                  f"'{place[0]}:' only places items in a list that starts with '+'",
                                  "write the list as [+, ...] to merge into the base's list")


def _walk_append(base: list[Any], overlay: list[Any], path: list[Any], mark: Mark) -> Iterator[Problem]:
    names = [found[1] for item in base if (found := identity(item)) is not None]
    for index in range(1, len(overlay)):
        item = overlay[index]
        here = _item_mark(overlay, index, mark)
        found = identity(item)
        position = find_item(base, item)
        match = base[position] if position is not None else None
        if _is_removed(item):
            if match is None:
                shown = found[1] if found else index
                yield Problem(here, format_path(path + [index]), f"nothing to remove: the base has no '{shown}'",
                              did_you_mean(shown, [str(n) for n in names]))
            continue
        place = placement(item)
        if place is not None and place[1] not in names:
            yield Problem(here, format_path(path + [index, place[0]]),
                          f"no item '{place[1]}' to put this {place[0]}",
                          did_you_mean(place[1], [str(n) for n in names]))
        if isinstance(item, dict):
            yield from _walk(match if isinstance(match, dict) else {}, item, path + [index], here)
        if found is not None and found[1] not in names:
            names.append(found[1])
