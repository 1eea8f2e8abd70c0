"""Read one YAML file into plain data that remembers where each value was written.

Mappings become `MarkedDict` and sequences `MarkedList`: ordinary dicts and lists (so JSON Schema
and the merge see plain data) that also carry the file position of every key and item. Overlay
merging moves those positions along with the values, so an error in a merged document still
names the file and line that wrote the offending value.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

import yaml

from atrium.metadata.problems import Mark, Problem

# A step into a document: a mapping key or a list index (`fields.amount`, `stages[2]`).
PathStep = str | int


class MarkedDict(dict[Any, Any]):
    """A mapping that knows where it, each key and each value were written."""

    mark: Mark | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.key_marks: dict[Any, Mark] = {}
        self.value_marks: dict[Any, Mark] = {}


class MarkedList(list[Any]):
    """A sequence that knows where it and each of its items were written."""

    mark: Mark | None = None

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.item_marks: list[Mark | None] = []
        # items an overlay removed with `moved_to:` (identity → target), see merge.py
        self.moved: MarkedDict = MarkedDict()


# libyaml's parser when PyYAML was built with it (same nodes and marks, several times faster).
if TYPE_CHECKING:  # the stubs cannot say "one of two classes with the same interface"
    _SafeBase = yaml.SafeLoader
else:
    _SafeBase = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _BlueprintLoader(_SafeBase):
    """SafeLoader with YAML 1.2 core-schema scalars.

    YAML 1.1 reads `on:` (the automation trigger key) and `no`/`yes` as booleans, `10:30` as the
    base-60 number 630, and bare dates as `date` objects that JSON Schema cannot type-check;
    metadata wants none of that.
    """


_REPLACED = ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:int",
             "tag:yaml.org,2002:float")
_BlueprintLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in _REPLACED]
    for first, resolvers in _SafeBase.yaml_implicit_resolvers.items()
}
_BlueprintLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
_BlueprintLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"),
    list("-+0123456789"))


def _construct_int(loader: _SafeBase, node: yaml.ScalarNode) -> int:
    """YAML 1.2 integers: `08` is eight (1.1 read a leading zero as octal, and failed on 8 and 9)."""
    text = loader.construct_scalar(node)
    if text.startswith(("0o", "0x")):
        return int(text[2:], 8 if text[1] == "o" else 16)
    return int(text, 10)


_BlueprintLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)
_BlueprintLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
    list("-+0123456789."))


def _mark(file: str, node: yaml.Node) -> Mark:
    return Mark(file, node.start_mark.line + 1, node.start_mark.column + 1)


def _duplicate_keys(file: str, node: yaml.Node, path: tuple[Any, ...]) -> Iterable[Problem]:
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, yaml.Node] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else id(key_node)
            if key in seen:
                first = seen[key].start_mark.line + 1
                yield Problem(_mark(file, key_node), format_path(path + (key,)),
                              f"duplicate key '{key}'", f"first written on line {first}")
            else:
                seen[key] = key_node
            yield from _duplicate_keys(file, value_node, path + (key,))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from _duplicate_keys(file, item, path + (index,))


def _attach_marks(file: str, node: yaml.Node, data: Any) -> Any:
    """Rebuild `data` as Marked containers, walking the node tree alongside it."""
    if isinstance(node, yaml.MappingNode) and isinstance(data, dict):
        marked = MarkedDict()
        marked.mark = _mark(file, node)
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if key is None or key not in data:
                continue
            # Duplicate keys: PyYAML kept the last value; keep the last node's marks with it.
            marked[key] = _attach_marks(file, value_node, data[key])
            marked.key_marks[key] = _mark(file, key_node)
            marked.value_marks[key] = _mark(file, value_node)
        for key, value in data.items():  # keys that were not plain scalars
            marked.setdefault(key, value)
        return marked
    if isinstance(node, yaml.SequenceNode) and isinstance(data, list):
        marked_list = MarkedList(_attach_marks(file, item_node, item)
                                 for item_node, item in zip(node.value, data, strict=True))
        marked_list.mark = _mark(file, node)
        marked_list.item_marks = [_mark(file, item_node) for item_node in node.value]
        return marked_list
    return data


def parse_yaml(text: str, file: str) -> tuple[Any, list[Problem]]:
    """Parse one YAML document; returns (marked data, problems). Never raises on bad YAML."""
    try:
        loader = _BlueprintLoader(text)
    except yaml.YAMLError as error:  # a character YAML does not allow, found while reading
        return None, [Problem(Mark(file, 1, 1), "", f"YAML error: {error}")]
    try:
        node = loader.get_single_node()
        if node is None:
            return None, []
        problems = list(_duplicate_keys(file, node, ()))
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = Mark(file, mark.line + 1, mark.column + 1) if mark else Mark(file, 1, 1)
        message = error.problem or "invalid YAML"
        hint = error.context or ""
        return None, [Problem(where, "", f"YAML syntax error: {message}", hint)]
    except yaml.YAMLError as error:
        return None, [Problem(Mark(file, 1, 1), "", f"YAML error: {error}")]
    finally:
        loader.dispose()
    return _attach_marks(file, node, data), problems


def read_yaml(path: Path, display: str) -> tuple[Any, list[Problem]]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        return None, [Problem(Mark(display, 1, 1), "", f"not UTF-8 text ({error.reason})")]
    return parse_yaml(text, display)


def mark_at(data: Any, path: Iterable[PathStep], key: bool = False) -> Mark | None:
    """The position of the value at `path` (or of its key, when `key`), or the nearest parent's."""
    best = getattr(data, "mark", None)
    node = data
    steps = list(path)
    for index, step in enumerate(steps):
        last = index == len(steps) - 1
        if isinstance(node, MarkedDict) and step in node:
            marks = node.key_marks if (key and last) else node.value_marks
            best = marks.get(step, best)
            node = node[step]
        elif isinstance(node, MarkedList) and isinstance(step, int) and 0 <= step < len(node):
            if step < len(node.item_marks) and node.item_marks[step] is not None:
                best = node.item_marks[step]
            node = node[step]
        else:
            break
    return best


def format_path(path: Iterable[PathStep]) -> str:
    """`fields.amount.type`, `stages[2].name`."""
    text = ""
    for step in path:
        if isinstance(step, int):
            text += f"[{step}]"
        else:
            text += ("." if text else "") + str(step)
    return text
