"""The one ordered merge of a blueprint and its overlays (DESIGN.md, "Overlays").

- A mapping merges key by key, so an overlay can change one property of one field.
- A list in an overlay replaces the base list, unless its first item is `+`: then each further
  item is merged into the base item with the same identity (its `name`, or `value` for options,
  or the scalar itself), or appended when no base item has that identity.
- `remove: true` on a mapping value or a list item takes that thing out.
- In a `+` list, `after: NAME` or `before: NAME` on an item puts it next to the item of that
  identity (a new stage between two base stages, or a base stage moved); without them a new item
  goes at the end and a merged item stays where it was.
- `moved_to: X` beside `remove: true` on a list item (a stage, an option) says where the records
  holding it go: it becomes the entry `NAME: X` of the `moved` map of the mapping that holds the
  list (the pipeline, the field), the base blueprint's way to say the same (docs/metadata.md).
Positions (`MarkedDict`/`MarkedList` marks) travel with the values, so errors name the file
that wrote each value.
"""
from __future__ import annotations

from typing import Any

from atrium.metadata.problems import Mark
from atrium.metadata.yaml_source import MarkedDict, MarkedList

APPEND = "+"
IDENTITY_KEYS = ("name", "value")
PLACEMENT_KEYS = ("after", "before")
MOVED = "moved"  # the map of removed values to where their records go
MOVED_TO = "moved_to"  # beside `remove: true` on a list item


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


def _merge_mappings(base: dict[str, Any], overlay: dict[str, Any]) -> MarkedDict:
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
    written = overlay.get(MOVED)
    for key in overlay:
        if isinstance(result.get(key), MarkedList) and result[key].moved:
            _add_moves(result, result[key].moved, set(written) if isinstance(written, dict) else set())
    return result


def _add_moves(result: MarkedDict, moves: MarkedDict, kept: set[Any]) -> None:
    """Put a list's `moved_to:` entries into the `moved` map beside the list: they replace what a
    layer below said, not what the same document's `moved:` says (`kept`)."""
    found = result.get(MOVED)
    moved = MarkedDict(found) if isinstance(found, dict) else MarkedDict()
    moved.mark = getattr(found, "mark", None) or moves.mark
    if isinstance(found, MarkedDict):
        moved.key_marks.update(found.key_marks)
        moved.value_marks.update(found.value_marks)
    for name, target in moves.items():
        if name not in kept:
            moved[name] = target
            _copy_marks(moves, name, moved)
    result[MOVED] = moved
    if MOVED not in result.value_marks and moved.mark is not None:
        result.value_marks[MOVED] = result.key_marks[MOVED] = moved.mark


def _note_move(moves: MarkedDict, item: Any, fallback: Mark | None) -> None:
    """Remember a removed item's `moved_to:` (with where it was written)."""
    if not isinstance(item, dict) or MOVED_TO not in item or (found := identity(item)) is None:
        return
    moves[found[1]] = item[MOVED_TO]
    value_mark = item.value_marks.get(MOVED_TO) if isinstance(item, MarkedDict) else None
    key_mark = item.key_marks.get(found[0]) if isinstance(item, MarkedDict) else None
    if value_mark or fallback:
        moves.value_marks[found[1]] = value_mark or fallback  # type: ignore[assignment]
    if key_mark or fallback:
        moves.key_marks[found[1]] = key_mark or fallback  # type: ignore[assignment]
    if moves.mark is None:
        moves.mark = value_mark or fallback


def _copy_marks(source: dict[str, Any], key: Any, target: MarkedDict) -> None:
    if isinstance(source, MarkedDict):
        if key in source.key_marks:
            target.key_marks[key] = source.key_marks[key]
        if key in source.value_marks:
            target.value_marks[key] = source.value_marks[key]


def identity(item: Any) -> tuple[str, Any] | None:
    """How a `+` list finds an item: ('name', n), ('value', v), ('scalar', s), or None."""
    if isinstance(item, dict):
        for key in IDENTITY_KEYS:
            if key in item:
                return (key, item[key])
        return None
    if isinstance(item, list):
        return None
    return ("scalar", item)


def _item_mark(items: list[Any], index: int) -> Mark | None:
    marks: list[Mark | None] = getattr(items, "item_marks", [])
    return marks[index] if index < len(marks) else None


def placement(item: Any) -> tuple[str, Any] | None:
    """('after', name) or ('before', name) when a `+` list item says where it goes."""
    if isinstance(item, dict):
        for key in PLACEMENT_KEYS:
            if key in item:
                return key, item[key]
    return None


def _without_placement(item: Any) -> Any:
    if placement(item) is None:
        return item
    result = MarkedDict((k, v) for k, v in item.items() if k not in PLACEMENT_KEYS)
    result.mark = getattr(item, "mark", None)
    for key in result:
        _copy_marks(item, key, result)
    return result


def find_item(items: list[Any], item: Any) -> int | None:
    """The index of the item `item` merges into: same name or value (`{value: x}` finds a plain `x`
    too, so an overlay can label or remove a plain option)."""
    found = identity(item)
    return None if found is None else _anchor_index(items, found[1])


def _anchor_index(items: list[Any], anchor: Any) -> int | None:
    """The item whose identity (name, value or the scalar itself) is `anchor`."""
    return next((i for i, existing in enumerate(items)
                 if (found := identity(existing)) is not None and found[1] == anchor), None)


def _append(base: list[Any], overlay: list[Any]) -> MarkedList:
    items: list[Any] = list(base)
    marks: list[Any] = [_item_mark(base, i) for i in range(len(base))]
    moves = MarkedDict()
    for index in range(1, len(overlay)):
        item = overlay[index]
        place = placement(item) if not _is_removed(item) else None
        item = _without_placement(item)
        if _is_removed(item):
            _note_move(moves, item, _item_mark(overlay, index))
        position = find_item(items, item)
        if position is None:
            if _is_removed(item):
                continue
            items.append(strip_markers(item))
            marks.append(_item_mark(overlay, index))
            position = len(items) - 1
        elif _is_removed(item):
            del items[position]
            del marks[position]
            continue
        else:
            items[position] = merge(items[position], item)
            marks[position] = _item_mark(overlay, index)
        if place is not None:
            _move(items, marks, position, place)
    result = MarkedList(items)
    result.mark = getattr(base, "mark", None) or getattr(overlay, "mark", None)
    result.item_marks = marks
    result.moved = moves
    return result


def _move(items: list[Any], marks: list[Mark | None], position: int, place: tuple[str, Any]) -> None:
    """Put items[position] after or before its anchor; an unknown anchor leaves it where it is
    (the loader reports it, see overlay_checks)."""
    moving, mark = items.pop(position), marks.pop(position)
    anchor = _anchor_index(items, place[1])
    if anchor is None:
        items.insert(position, moving)
        marks.insert(position, mark)
        return
    target = anchor + 1 if place[0] == "after" else anchor
    items.insert(target, moving)
    marks.insert(target, mark)


def _strip_removed_items(items: list[Any]) -> MarkedList:
    kept = [(strip_markers(item), _item_mark(items, i))
            for i, item in enumerate(items) if not _is_removed(item)]
    result = MarkedList(item for item, _ in kept)
    result.mark = getattr(items, "mark", None)
    result.item_marks = [mark for _, mark in kept]
    for index, item in enumerate(items):
        if _is_removed(item):
            _note_move(result.moved, item, _item_mark(items, index))
    return result
