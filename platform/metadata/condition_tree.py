"""The shape of a condition (`where:`): field entries side by side (all must hold) and the logical
keys `any:` (one of its conditions holds) and `all:` (each holds), which nest.

Whatever walks a condition's fields (the loader's checks, access to hidden fields, typing the
values) goes through `leaves` / `map_leaves`, so a field inside `any:` is checked like one outside.
"""
from __future__ import annotations

from typing import Any, Callable, Iterator, Mapping

from atrium.metadata.yaml_source import PathStep

LOGICAL = ("any", "all")


def leaves(condition: Mapping[str, Any], where: tuple[PathStep, ...] = ()
           ) -> Iterator[tuple[list[PathStep], str, Any]]:
    """Each field entry of the condition, however deep: (its location, the field path, its spec)."""
    for key, spec in condition.items():
        if key in LOGICAL:
            if isinstance(spec, list | tuple):
                for index, part in enumerate(spec):
                    if isinstance(part, Mapping):
                        yield from leaves(part, (*where, key, index))
            continue
        yield [*where, key], key, spec


def paths(condition: Mapping[str, Any]) -> list[str]:
    """The field paths the condition reads, at any depth, each once."""
    return list(dict.fromkeys(path for _, path, _ in leaves(condition)))


def map_leaves(condition: Mapping[str, Any], change: Callable[[str, Any], Any]) -> dict[str, Any]:
    """The same condition with each field entry's spec replaced by `change(path, spec)`."""
    mapped: dict[str, Any] = {}
    for key, spec in condition.items():
        if key in LOGICAL and isinstance(spec, list | tuple):
            mapped[key] = [map_leaves(part, change) if isinstance(part, Mapping) else part for part in spec]
        else:
            mapped[key] = change(key, spec)
    return mapped
