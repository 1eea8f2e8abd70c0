"""Rename an entity everywhere the blueprint names it, as one set of rewritten documents.

Like a field rename (renames.py), the result is every document that changes, as it should read
afterwards, and one `Use` per place rewritten. The entity's own document and its views move to the
new name (the old keys map to None: the files `entities/OLD.yaml` and `views/OLD.yaml` go, the new
ones come), and the entity document says `renamed_from: OLD`, so the migration renames the table
with its records and moves the entity's name in the system tables (runtime/schema/table_renames.py).

An entity name is data in a few known places only, each rewritten by what it is:
- `entity:` anywhere (pipelines, views, automations and their `create:`, dashboard widgets, a
  conversion's targets, blueprint targets), a report's `source:`, a reference field's `to:`;
- `child.link` pairs: a roll-up's `from:`, a form grid's `from:`, a detail page's `related:` items;
- roles' `entities:` keys and the entity part of `fields: {entity.field: mode}`;
- the seed's `entities:` keys, its `base:` and `ref:`;
- the blueprint's navigation items.
Dotted paths in expressions and field lists go through field names, so they do not change.
"""
from __future__ import annotations

import copy
from typing import Any, Mapping

from atrium.metadata.renames import Key, RenameRefused, Use, check_new_name
from atrium.translation import N_

RESERVED_PREFIX = "atrium"  # the engine's own tables (and their search and summary tables)
NAME_KEYS = frozenset({"entity", "source"})  # a value naming an entity
PAIR_KEYS = frozenset({"from"})  # `child.link`


def rename_entity(documents: Mapping[Key, Any], old: str, new: str) -> tuple[dict[Key, Any], list[Use]]:
    """The documents that change when entity `old` becomes `new` (None: the document goes), and every
    use rewritten. RenameRefused when the rename cannot be made."""
    if ("entity", old) not in documents:
        raise RenameRefused(N_("there is no entity '{old}'"), old=old)
    check_new_name(new, new.startswith(RESERVED_PREFIX))
    if ("entity", new) in documents:
        raise RenameRefused(N_("there is already an entity '{new}'"), new=new)
    renamer = _EntityRenamer(old, new)
    changed: dict[Key, Any] = {}
    for key, value in documents.items():
        if not isinstance(value, Mapping):
            continue
        renamer.key = key
        after = renamer.document(key, copy.deepcopy(dict(value)))
        kind, name = key
        if kind in ("entity", "views") and name == old:
            changed[key] = None
            changed[(kind, new)] = after
            renamer.uses.append(Use(key, "file", f"{_folder(kind)}/{old}.yaml", f"{_folder(kind)}/{new}.yaml"))
        elif after != value:
            changed[key] = after
    return changed, renamer.uses


def _folder(kind: str) -> str:
    return "entities" if kind == "entity" else kind


class _EntityRenamer:
    def __init__(self, old: str, new: str):
        self.old, self.new = old, new
        self.key: Key = ("", "")
        self.uses: list[Use] = []

    def _note(self, where: str, before: str, after: str) -> str:
        if before != after:
            self.uses.append(Use(self.key, where, before, after))
        return after

    def name(self, value: Any, where: str) -> Any:
        return self._note(where, value, self.new) if value == self.old else value

    def pair(self, value: Any, where: str) -> Any:
        if isinstance(value, str) and value.partition(".")[0] == self.old and "." in value:
            return self._note(where, value, self.new + "." + value.partition(".")[2])
        return value

    def keys(self, mapping: Any, where: str, dotted: bool = False) -> Any:
        """A mapping keyed by entity names (`entity.field` names when `dotted`)."""
        if not isinstance(mapping, dict):
            return mapping
        return {(self.pair(key, f"{where}.{key}") if dotted else self.name(key, f"{where}.{key}")): value
                for key, value in mapping.items()}

    def document(self, key: Key, data: dict[str, Any]) -> Any:
        kind, name = key
        if kind == "entity" and name == self.old:
            data["name"] = self._note("name", str(data.get("name", self.old)), self.new)
            data = _after_name({k: v for k, v in data.items() if k != "renamed_from"}, "renamed_from", self.old)
        if kind == "roles":
            for role, spec in (data.get("roles") or {}).items():
                if isinstance(spec, dict) and "entities" in spec:
                    spec["entities"] = self.keys(spec["entities"], f"roles.{role}.entities")
                if isinstance(spec, dict) and "fields" in spec:
                    spec["fields"] = self.keys(spec["fields"], f"roles.{role}.fields", dotted=True)
            return data
        if kind == "seed":
            if "base" in data:
                data["base"] = self.name(data["base"], "base")
            if "entities" in data:
                data["entities"] = self.keys(data["entities"], "entities")
        if kind == "blueprint":
            for index, group in enumerate(data.get("navigation") or []):
                if isinstance(group, dict) and isinstance(group.get("items"), list):
                    group["items"] = [self.name(item, f"navigation[{index}].items[{position}]")
                                      for position, item in enumerate(group["items"])]
        return self.walk(data, "", kind)

    def walk(self, value: Any, where: str, kind: str) -> Any:
        if isinstance(value, list):
            return [self.walk(item, f"{where}[{index}]", kind) for index, item in enumerate(value)]
        if not isinstance(value, dict):
            return value
        result: dict[str, Any] = {}
        for key, item in value.items():
            here = f"{where}.{key}" if where else str(key)
            if key in NAME_KEYS and isinstance(item, str):
                result[key] = self.name(item, here)
            elif key == "to" and value.get("type") == "reference" and kind == "entity":
                result[key] = self.name(item, here)
            elif key == "ref" and kind == "seed":
                result[key] = self.name(item, here)
            elif key in PAIR_KEYS and isinstance(item, str):
                result[key] = self.pair(item, here)
            elif key == "related" and isinstance(item, list):
                result[key] = [self.pair(element, f"{here}[{index}]") if isinstance(element, str)
                               else self.walk(element, f"{here}[{index}]", kind)
                               for index, element in enumerate(item)]
            else:
                result[key] = self.walk(item, here, kind)
        return result


def _after_name(data: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    """`data` with `key: value` right after `name:` (where a reader looks for it)."""
    result: dict[str, Any] = {}
    for existing, item in data.items():
        result[existing] = item
        if existing == "name":
            result[key] = value
    if key not in result:
        result[key] = value
    return result
