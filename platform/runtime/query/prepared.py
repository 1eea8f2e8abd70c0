"""Statements built once per shape and run with bound parameters.

Building a SQLAlchemy statement and its cache key costs more CPU than running it on a small page
(a detail page built ~25 a request). A statement whose SQL depends only on metadata and on the
shape of a request (the entity, the fields a filter names, the sort, the limit, the reader's scope
shape from `Access.scope_shape`) is built once, kept here, and run with its values as parameters:
the reader's ids (`Access.scope_values`), the filtered values, the wanted ids. SQLAlchemy memoizes
a statement object's cache key, so a kept statement is neither rebuilt nor re-keyed.

A `Statements` belongs to one `Queries`, which belongs to one site: a metadata reload builds a new
site, so statements built for the old metadata are never run against the new tables.
"""
from __future__ import annotations

import threading
from typing import Any, Callable, Hashable, Mapping

import sqlalchemy as sa

from atrium.metadata.model import Entity

LIMIT = 2048  # shapes kept at once; past it the store starts again (shapes are few; ids are never keys)


class Statements:
    def __init__(self, limit: int = LIMIT):
        self._kept: dict[Hashable, Any] = {}
        self._lock = threading.Lock()
        self.limit = limit

    def get(self, key: Hashable, build: Callable[[], Any]) -> Any:
        """The statement kept for `key`, built by `build()` the first time it is asked for."""
        kept = self._kept.get(key)
        if kept is None:
            kept = build()
            with self._lock:
                if len(self._kept) >= self.limit:
                    self._kept.clear()
                self._kept[key] = kept
        return kept

    def __len__(self) -> int:
        return len(self._kept)


def equalities(entity: Entity, table: sa.Table, where: Mapping[str, Any]) -> tuple[str, ...] | None:
    """The fields of a filter that only asks for equal values on the entity's own columns
    (`{link: 12}`, or true/false on a boolean field: `{published: true}`), in a stable order; None
    for any other filter (an operator, a dotted path, an empty value, a list, a multiselect), which
    the general query compiles."""
    names = []
    for name, value in where.items():
        field = entity.fields.get(name)
        if field is None or field.type == "multiselect" or name not in table.c:
            return None
        if type(value) not in (int, str) and not (type(value) is bool and field.type == "boolean"):
            return None
        names.append(name)
    return tuple(sorted(names))
