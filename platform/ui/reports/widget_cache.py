"""Computed dashboard widgets, kept per (widget definition, viewer, filters, language, day) and
valid while the change counters of the tables they read stay where they were.

Why it is correct with several server processes: each process keeps its own entries, but the
counters live in the database (runtime/data_versions.py) and are raised in the same transaction
as the writes they count. A widget reads the counters first and computes after, so an entry is
never filed under counters newer than its data; any later commit to a table it reads changes
the key, and the next request computes afresh. The metadata version (each loaded blueprint gets
its own number) and the widget's definition (its YAML and its report's) are part of the key, so a
blueprint change shows at once; so is the local date, for relative periods. What the counters do
not see (a user moving to another team, a renamed user)
shows after MAX_AGE at the latest.

Which tables a widget reads is worked out from the metadata: the entity it starts from, each
entity a dotted path or a reference column reaches, the targets entity for a KPI, and for every
entity whose computed fields it reads, the entities that roll up into it (a child's change
rewrites the parent's rollups).
"""
from __future__ import annotations

import hashlib
import json
import threading
import time
import weakref
from collections import OrderedDict
from typing import Any, Callable, Iterable, Mapping

from atrium.runtime.schema import data_versions

MAX_ENTRIES = 2000
MAX_AGE = 600.0  # seconds


class WidgetCache:
    def __init__(self, max_entries: int = MAX_ENTRIES, max_age: float = MAX_AGE):
        self.entries: OrderedDict[Any, tuple[float, Any]] = OrderedDict()
        self.max_entries, self.max_age = max_entries, max_age
        self.lock = threading.Lock()
        self.hits = self.misses = 0

    def get_or_compute(self, connection: Any, key: tuple, tables: Iterable[str], compute: Callable[[], Any]) -> Any:
        """The cached value for `key` under the tables' current counters, or `compute()` filed under them."""
        counters = tuple(sorted(data_versions.read(connection, tables).items()))
        full_key = (key, counters)
        now = time.monotonic()
        with self.lock:
            found = self.entries.get(full_key)
            if found is not None and now - found[0] < self.max_age:
                self.entries.move_to_end(full_key)
                self.hits += 1
                return found[1]
        self.misses += 1
        value = compute()
        with self.lock:
            self.entries[full_key] = (now, value)
            self.entries.move_to_end(full_key)
            while len(self.entries) > self.max_entries:
                self.entries.popitem(last=False)
        return value

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()


def cache_of(app_state: Any) -> WidgetCache:
    cache = getattr(app_state, "widget_cache", None)
    if cache is None:
        cache = app_state.widget_cache = WidgetCache()
    return cache


_versions: dict[int, tuple[Any, int]] = {}
_next_version = [0]


def metadata_version(blueprint: Any) -> int:
    """A number per loaded blueprint object: a reload (a new metadata version, whatever changed in
    it: labels, stages, options) gives another, so no entry outlives the metadata it was made from."""
    found = _versions.get(id(blueprint))
    if found is not None and found[0]() is blueprint:
        return found[1]
    _next_version[0] += 1
    _versions[id(blueprint)] = (weakref.ref(blueprint), _next_version[0])
    for key in [k for k, (ref, _) in _versions.items() if ref() is None]:
        del _versions[key]
    return _next_version[0]


def fingerprint(*documents: Any) -> str:
    """A short digest of metadata (YAML data): any change to it gives another key."""
    text = json.dumps([_plain(d) for d in documents], sort_keys=True, default=str)
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


# --- which tables a widget reads ----------------------------------------------------------------

def report_paths(data: Mapping[str, Any]) -> list[str]:
    """Every field path a report document names."""
    paths = list((data.get("where") or {}).keys())
    for group in data.get("group_by") or ():
        paths.append(group if isinstance(group, str) else group.get("field", ""))
    for spec in (data.get("measures") or {}).values():
        if isinstance(spec, Mapping):
            paths += [v for k, v in spec.items() if k not in ("label", "name", "format") and isinstance(v, str)]
    paths += list(data.get("columns") or ())
    sort = data.get("sort") or ()
    paths += [s.lstrip("-+") for s in ([sort] if isinstance(sort, str) else sort)]
    if isinstance(data.get("period"), Mapping) and data["period"].get("field"):
        paths.append(data["period"]["field"])
    return [p for p in paths if p]


def tables_read(blueprint: Any, entity: str, paths: Iterable[str], extra: Iterable[str] = ()) -> set[str]:
    """The tables behind `paths` of `entity` (see the module's note)."""
    entities, computed = {entity}, set()
    for path in paths:
        current = blueprint.entities.get(entity)
        for step in path.split("."):
            field = current.fields.get(step) if current is not None else None
            if field is None:
                break
            if field.computed:
                computed.add(current.name)
            if field.type != "reference":
                break
            current = blueprint.entities.get(field.to)
            if current is None:
                break
            entities.add(current.name)
    entities |= set(extra)
    pending = list(computed)
    while pending:  # entities rolling up into one whose computed fields are read, and theirs
        name = pending.pop()
        for field in blueprint.entities[name]:
            rollup = field.rollup
            if rollup is None:
                continue
            source = rollup.entity
            if source in blueprint.entities and source not in entities:
                entities.add(source)
                pending.append(source)
    return entities
