"""The one ordered merge of a blueprint and its overlays (DESIGN.md, "Overlays").

- A mapping merges key by key, so an overlay can change one property of one field.
- A list in an overlay replaces the base list, unless its first item is `+`: then each further
  item is merged into the base item with the same identity (its `name`, or `value` for options,
  or the scalar itself), or appended when no base item has that identity.
- `remove: true` on a mapping value or a list item takes that thing out.
Positions (`MarkedDict`/`MarkedList` marks) travel with the values, so errors name the file
that wrote each value.
"""
from __future__ import annotations

from typing import Any

from .yaml_source import MarkedDict, MarkedList

APPEND = "+"
IDENTITY_KEYS = ("name", "value")


def merge(base: Any, overlay: Any) -> Any:
    """Overlay `overlay` onto `base`; neither argument is modified."""
    if isinstance(base, dict) and isinstance(overlay, dict):
        return _merge_mappings(base, overlay)
    if isinstance(overlay, list):
        if overlay and overlay[0] == APPEND:
            return _append(base if isinstance(base, list) else [], overlay)
        return _strip_removed_items(overlay)
    return strip_markers(overlay)


def strip_markers(value: Any) -> Any:
    """A document with no overlay syntax left: removed things gone, `+` markers dropped."""
    if isinstance(value, dict):
        return _merge_mappings(MarkedDict(), value)
    if isinstance(value, list):
        if value and value[0] == APPEND:
            return _append([], value)
        return _strip_removed_items(value)
    return value


def _is_removed(value: Any) -> bool:
    return isinstance(value, dict) and value.get("remove") is True


def _merge_mappings(base: dict, overlay: dict) -> MarkedDict:
    result = MarkedDict()
    result.mark = getattr(base, "mark", None) or getattr(overlay, "mark", None)
    for key, value in base.items():
        result[key] = value
        _copy_marks(base, key, result)
    for key, value in overlay.items():
        if _is_removed(value):
            result.pop(key, None)
            continue
        result[key] = merge(base[key], value) if key in base else strip_markers(value)
        _copy_marks(overlay, key, result)
    return result


def _copy_marks(source: dict, key: Any, target: MarkedDict) -> None:
    if isinstance(source, MarkedDict):
        if key in source.key_marks:
            target.key_marks[key] = source.key_marks[key]
        if key in source.value_marks:
            target.value_marks[key] = source.value_marks[key]


def _identity(item: Any) -> Any:
    if isinstance(item, dict):
        for key in IDENTITY_KEYS:
            if key in item:
                return (key, item[key])
        return None
    if isinstance(item, list):
        return None
    return ("scalar", item)


def _item_mark(items: list, index: int) -> Any:
    marks = getattr(items, "item_marks", [])
    return marks[index] if index < len(marks) else None


def _append(base: list, overlay: list) -> MarkedList:
    items: list[Any] = list(base)
    marks: list[Any] = [_item_mark(base, i) for i in range(len(base))]
    for index in range(1, len(overlay)):
        item = overlay[index]
        identity = _identity(item)
        position = next((i for i, existing in enumerate(items)
                         if identity is not None and _identity(existing) == identity), None)
        if position is None:
            if not _is_removed(item):
                items.append(strip_markers(item))
                marks.append(_item_mark(overlay, index))
        elif _is_removed(item):
            del items[position]
            del marks[position]
        else:
            items[position] = merge(items[position], item)
            marks[position] = _item_mark(overlay, index)
    result = MarkedList(items)
    result.mark = getattr(base, "mark", None) or getattr(overlay, "mark", None)
    result.item_marks = marks
    return result


def _strip_removed_items(items: list) -> MarkedList:
    kept = [(strip_markers(item), _item_mark(items, i))
            for i, item in enumerate(items) if not _is_removed(item)]
    result = MarkedList(item for item, _ in kept)
    result.mark = getattr(items, "mark", None)
    result.item_marks = [mark for _, mark in kept]
    return result
