"""Rename a field everywhere the blueprint uses it, as one set of rewritten documents.

The studio's rename and `atrium rename field` hand the merged documents (base, overlays, site
overlay) to `rename_field`; it returns every document that changes, as it should read afterwards,
and one `Use` per place rewritten, for the review. The entity document keeps the field's data
through `renamed_from:` (the migration renames the column, runtime/schema/migrations.py).

Why not a text replace: a field name is also an English word, an option value (`stage: won`), a
stage name or text inside a quoted literal (`"'amount'"`). Here each place is rewritten by what it
is, in the context of the entity it speaks about:
- expressions (`formula`, `default`, `when`, `assert`, `visible_when`, `required_when`, a string
  `where`, the values of an automation's `set` and `create.values`) are parsed with Python's `ast`;
  a plain name of the entity's field, or a dotted path segment reached through a reference
  (`account.region` from a deal), is replaced at its position; literals are left alone;
- field paths (list columns, filters, form sections, `requires`, report `group_by`, measures,
  `chart.x`, seed `same_as`/`of`, `owner_follows.field`, ...) are walked segment by segment
  through references; a sort's `-` stays;
- mapping keys that name fields (`fields:`, condition `where:`, `set:`, `create.values:`, a seed
  entity's `fields:`) and roles' `fields: {entity.field: mode}`;
- `{field}` placeholders of a title or a message.
Each document speaks about the entity its `entity:` or `source:` names (an entity document about
itself); a roll-up's `from: child.link` and a `create:` of another entity switch the context for
what they hold.
"""
from __future__ import annotations

import ast
import copy
import re
from dataclasses import dataclass
from typing import Any, Mapping

from atrium.errors import AtriumError
from atrium.metadata.model import SYSTEM_FIELDS
from atrium.translation import N_, word

Key = tuple[str, str]  # (kind, name) of a document

EXPRESSION_KEYS = frozenset({"formula", "default", "when", "assert", "visible_when", "required_when", "where"})
PATH_KEYS = frozenset({"field", "sort", "date", "end", "color_by", "sum", "avg", "min", "max", "count",
                       "count_distinct", "x", "series", "owner", "owner_field", "same_as", "of", "then", "else",
                       "group_by", "lock_field", "by_field", "comment", "approved", "rejected", "note", "location",
                       "at", "pick", "external_key"})
PATH_LIST_KEYS = frozenset({"columns", "filters", "fields", "search", "requires", "card", "quick_edit",
                            "group_by", "change", "indexes", "title", "sort", "voided_by", "show", "match"})
FIELD_MAP_KEYS = frozenset({"where", "set", "values", "fields", "each", "pending", "approved", "rejected"})
SET_KEYS = frozenset({"set", "pending", "approved", "rejected"})  # field: expression
TARGET_KEYS = ("metric", "period", "value", "owner", "date")  # blueprint.yaml `targets:`
OUTPUT_KEYS = frozenset({"sort", "x", "series"})
OTHER_RECORD_MAPS = frozenset({"values", "map", "parent"})
CONDITION_GROUPS = frozenset({"any", "all"})
TEMPLATE_KEYS = frozenset({"title", "message", "subject"})
PATH = re.compile(r"^([-+]?)([a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*)$")


@dataclass(frozen=True)
class Use:
    """One place the rename rewrites: the document, where inside it, and the text before and after."""

    key: Key
    path: str
    before: str
    after: str

    def text(self) -> str:
        kind, name = self.key
        return f"{kind} {name}: {self.path}: {self.before} → {self.after}"


class RenameRefused(AtriumError):
    """The rename cannot be made (the thing is not there, the new name is taken, not a valid name
    or reserved); `text(locale)` says why in the reader's language, `str()` in English."""

    status = 409
    code = "rename_refused"

    def __init__(self, msgid: str, **params: Any):
        self.msgid, self.params = msgid, params
        super().__init__(word(msgid, "en", **params))

    def text(self, locale: str | None) -> str:
        return word(self.msgid, locale, **self.params)


NAME = re.compile(r"^[a-z][a-z0-9_]{0,49}$")
INVALID_NAME = N_("'{new}' is not a valid name: use lower-case letters, digits and _, starting with a letter "
                  "(at most 50 characters)")
RESERVED_NAME = N_("'{new}' is reserved by the engine: choose another name")


def check_new_name(new: str, reserved: bool) -> None:
    """RenameRefused unless `new` is a valid machine name; `reserved`: the engine keeps it for itself."""
    if not NAME.match(new):
        raise RenameRefused(INVALID_NAME, new=new)
    if reserved:
        raise RenameRefused(RESERVED_NAME, new=new)


def references_of(documents: Mapping[Key, Any]) -> dict[tuple[str, str], str]:
    """(entity, field) → the entity a reference field links to."""
    found: dict[tuple[str, str], str] = {}
    for (kind, name), document in documents.items():
        if kind != "entity" or not isinstance(document, Mapping):
            continue
        for field, spec in (document.get("fields") or {}).items():
            if isinstance(spec, Mapping) and spec.get("type") == "reference" and isinstance(spec.get("to"), str):
                found[(name, field)] = spec["to"]
    return found


def rename_field(documents: Mapping[Key, Any], entity: str, old: str, new: str) -> tuple[dict[Key, Any], list[Use]]:
    """The documents that change when field `old` of `entity` becomes `new`, and every use rewritten.
    `documents` are plain (merged) documents; RenameRefused when the rename cannot be made."""
    document = documents.get(("entity", entity))
    fields = (document or {}).get("fields") or {}
    if old not in fields:
        raise RenameRefused(N_("{entity} has no field '{old}'"), entity=entity, old=old)
    check_new_name(new, new in SYSTEM_FIELDS)
    if new in fields:
        raise RenameRefused(N_("{entity} already has a field '{new}'"), entity=entity, new=new)
    if isinstance(fields[old], Mapping) and fields[old].get("type") == "file":
        raise RenameRefused(N_("{entity}.{old} is a file field: its files are kept by name, it cannot be renamed"),
                            entity=entity, old=old)
    renamer = _Renamer(references_of(documents), entity, old, new)
    renamer.pipelines = {name: str(value.get("entity")) for (kind, name), value in documents.items()
                         if kind == "pipeline" and isinstance(value, Mapping)}
    renamer.report_sources = {name: str(value.get("source") or renamer.pipelines.get(str(value.get("pipeline"))))
                              for (kind, name), value in documents.items()
                              if kind == "report" and isinstance(value, Mapping)}
    changed: dict[Key, Any] = {}
    for key, value in documents.items():
        if not isinstance(value, Mapping):
            continue
        renamer.key = key
        after = renamer.document(key, copy.deepcopy(dict(value)))
        if after != value:
            changed[key] = after
    return changed, renamer.uses


def rename_path(references: Mapping[tuple[str, str], str], context: str, text: str,
                entity: str, old: str, new: str) -> str:
    """A field path read from `context` (`amount`, `-amount`, `account.region`, `region__from`
    is not a path: see the callers) with the segment naming `entity`.`old` renamed."""
    match = PATH.match(text)
    if match is None:
        return text
    sign, segments = match.group(1), match.group(2).split(".")
    current: str | None = context
    for index, segment in enumerate(segments):
        if current is None:
            break
        if current == entity and segment == old:
            segments[index] = new
        current = references.get((current, segment))
    return sign + ".".join(segments)


def rename_in_expression(references: Mapping[tuple[str, str], str], context: str, text: str,
                         entity: str, old: str, new: str) -> str:
    """The expression with each name or dotted-path segment that is `entity`.`old` replaced in place."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError:
        return text
    offset = len(text) - len(text.lstrip())
    called = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    spans: list[tuple[int, int, int]] = []  # (line, start byte, end byte) to replace with `new`
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and id(node) not in called and context == entity and node.id == old:
            spans.append((node.lineno, node.col_offset, node.col_offset + len(old)))
        elif isinstance(node, ast.Attribute):
            chain = _chain(node)
            if chain is None:
                continue
            segments, _ = chain
            current: str | None = context
            for index, segment in enumerate(segments[:-1]):
                current = references.get((current, segment)) if current else None
                if index == len(segments) - 2 and current == entity and segments[-1] == old \
                        and node.end_lineno is not None and node.end_col_offset is not None:
                    spans.append((node.end_lineno, node.end_col_offset - len(old), node.end_col_offset))
    if not spans:
        return text
    lines = text.strip().split("\n")
    encoded = [line.encode("utf-8") for line in lines]
    for line, start, end in sorted(set(spans), reverse=True):
        row = encoded[line - 1]
        if row[start:end] == old.encode("utf-8"):
            encoded[line - 1] = row[:start] + new.encode("utf-8") + row[end:]
    body = "\n".join(row.decode("utf-8") for row in encoded)
    return text[:offset] + body + text[offset + len(text.strip()):]


def _chain(node: ast.Attribute) -> tuple[list[str], ast.Name] | None:
    """`a.b.c` → (['a', 'b', 'c'], Name a); None for anything but a dotted path of plain names."""
    names: list[str] = []
    current: ast.AST = node
    while isinstance(current, ast.Attribute):
        names.append(current.attr)
        current = current.value
    if not isinstance(current, ast.Name):
        return None
    names.append(current.id)
    return list(reversed(names)), current


def rename_in_template(text: str, context: str, entity: str, old: str, new: str) -> str:
    """`{old}` and `{old:fmt}` placeholders of a title or message (only in the entity's own context)."""
    if context != entity:
        return text
    return re.sub(r"\{" + re.escape(old) + r"([}:.])", "{" + new + r"\1", text)


class _Renamer:
    def __init__(self, references: Mapping[tuple[str, str], str], entity: str, old: str, new: str):
        self.references, self.entity, self.old, self.new = references, entity, old, new
        self.uses: list[Use] = []
        self.key: Key = ("", "")
        self.report_sources: dict[str, str] = {}
        self.pipelines: dict[str, str] = {}  # pipeline → its entity (a funnel report names only the pipeline)
        self.outputs: set[str] = set()  # a report's measure and metric names: its sort and chart name them


    def _note(self, where: str, before: str, after: str) -> str:
        if before != after:
            self.uses.append(Use(self.key, where, before, after))
        return after

    def path(self, context: str, text: Any, where: str) -> Any:
        if not isinstance(text, str):
            return text
        return self._note(where, text, rename_path(self.references, context, text, self.entity, self.old, self.new))

    def expression(self, context: str, text: Any, where: str) -> Any:
        if not isinstance(text, str):
            return text
        after = rename_in_expression(self.references, context, text, self.entity, self.old, self.new)
        return self._note(where, text, after)

    def template(self, context: str, value: Any, where: str) -> Any:
        if isinstance(value, str):
            return self._note(where, value, rename_in_template(value, context, self.entity, self.old, self.new))
        if isinstance(value, dict):  # a bilingual text
            return {k: self.template(context, v, f"{where}.{k}") for k, v in value.items()}
        return value

    def document(self, key: Key, data: dict[str, Any]) -> dict[str, Any]:
        kind, name = key
        self.outputs = ({str(k) for part in ("measures", "metrics") if isinstance(data.get(part), dict)
                         for k in data[part]} if kind == "report" else set())
        if kind == "roles":
            return self._roles(data)
        if kind == "seed":
            entities = data.get("entities")
            if isinstance(entities, dict):
                data["entities"] = {entity: self.walk(entity, spec, f"entities.{entity}")
                                    for entity, spec in entities.items()}
            return data
        if kind == "entity":
            return self._entity(name, data)
        if kind == "blueprint" and isinstance(data.get("targets"), dict) \
                and isinstance(data["targets"].get("entity"), str):
            targets = data["targets"]
            for target_key in TARGET_KEYS:
                if target_key in targets:
                    targets[target_key] = self.path(targets["entity"], targets[target_key], f"targets.{target_key}")
            data["targets"] = self.walk(targets["entity"], targets, "targets")
            return data
        if kind == "periodic_report":  # a figure's date is a path of its report's source
            for index, figure in enumerate(data.get("figures") or ()):
                if isinstance(figure, dict) and isinstance(figure.get("date"), str):
                    figure["date"] = self.path(self.report_sources.get(str(figure.get("report")), ""),
                                               figure["date"], f"figures[{index}].date")
            return data
        upsert = data.get("upsert") if kind == "integration" else None
        context = (data.get("entity") or data.get("source") or self.pipelines.get(str(data.get("pipeline")))
                   or (upsert.get("entity") if isinstance(upsert, dict) else None))
        before = len(self.uses)
        data = self.walk(context if isinstance(context, str) else "", data, "")
        if kind == "report" and any(use.path.startswith("group_by") and use.after.split(".")[-1] == self.new
                                    and use.before.split(".")[-1] == self.old for use in self.uses[before:]):
            data = self._group_renamed(data)
        return data

    def _group_renamed(self, data: dict[str, Any]) -> dict[str, Any]:
        """A group is named by its field: metrics, the sort and the chart that name it follow."""
        metrics = data.get("metrics")
        if isinstance(metrics, dict):
            for name, metric in metrics.items():
                if isinstance(metric, str):
                    metrics[name] = self._group_expression(metric, f"metrics.{name}")
                elif isinstance(metric, dict) and isinstance(metric.get("expr"), str):
                    metric["expr"] = self._group_expression(metric["expr"], f"metrics.{name}.expr")
        for holder, key in ((data, "sort"), (data.get("chart"), "x"), (data.get("chart"), "series")):
            if isinstance(holder, dict) and isinstance(holder.get(key), str) \
                    and holder[key].lstrip("-+") == self.old:
                holder[key] = self._note(key, holder[key], holder[key].replace(self.old, self.new))
        return data

    def _group_expression(self, text: str, where: str) -> str:
        after = rename_in_expression({}, self.old, text, self.old, self.old, self.new)
        return self._note(where, text, after)

    def _entity(self, name: str, data: dict[str, Any]) -> dict[str, Any]:
        fields = data.get("fields")
        if isinstance(fields, dict):
            renamed: dict[str, Any] = {}
            for field, spec in fields.items():
                spec = self.walk(name, spec, f"fields.{field}")
                if name == self.entity and field == self.old:
                    spec = {**spec, "renamed_from": self.old} if isinstance(spec, dict) else spec
                    self._note(f"fields.{field}", self.old, self.new)
                    field = self.new
                renamed[field] = spec
            data["fields"] = renamed
        for key, value in list(data.items()):
            if key == "fields":
                continue
            if key == "title" and isinstance(value, str):
                data[key] = self.template(name, value, key)
            else:
                data[key] = self._value(name, key, value, key)
        return data

    def _roles(self, data: dict[str, Any]) -> dict[str, Any]:
        for role, spec in (data.get("roles") or {}).items():
            if not isinstance(spec, dict) or not isinstance(spec.get("fields"), dict):
                continue
            modes = {}
            for path, mode in spec["fields"].items():
                entity, dot, field = str(path).partition(".")
                if dot and entity == self.entity and field == self.old:
                    path = self._note(f"roles.{role}.fields", str(path), f"{entity}.{self.new}")
                modes[path] = mode
            spec["fields"] = modes
        return data

    def walk(self, context: str, value: Any, where: str) -> Any:
        if isinstance(value, list):
            return [self.walk(context, item, f"{where}[{index}]") for index, item in enumerate(value)]
        if not isinstance(value, dict):
            return value
        own = value.get("entity") if isinstance(value.get("entity"), str) else None
        rollup_from = value.get("from") if isinstance(value.get("from"), str) and "." in value["from"] else None
        inner = own or context
        if rollup_from is not None:  # a roll-up: what it sums and filters are the child's fields
            child, _, link = rollup_from.partition(".")
            value["from"] = self._note(f"{where}.from", rollup_from,
                                       f"{child}.{self.new}" if child == self.entity and link == self.old
                                       else rollup_from)
            inner = child
        result: dict[str, Any] = {}
        for key, item in value.items():
            here = f"{where}.{key}" if where else str(key)
            if key in OTHER_RECORD_MAPS and own is not None and isinstance(item, dict):
                # create values, a conversion's map and parent: the keys are the other record's
                # fields, the values (but a parent's) read the record at hand
                result[key] = {self.path(own, k, here): v if key == "parent"  # parent: an earlier target's entity
                               else self.expression(context, v, f"{here}.{k}") for k, v in item.items()}
            elif key == "match" and own is not None and isinstance(item, dict):
                # a matching list: the listed entity's field → the field of the record at hand
                result[key] = {self.path(own, k, here): self.path(context, v, f"{here}.{k}") for k, v in item.items()}
            elif key == "when" and own is not None and "match" in value:  # ... and its `when` reads that record
                result[key] = self.expression(context, item, here)
            elif key == "link" and own is not None:  # a conversion's link: a field of the record at hand
                result[key] = self.path(context, item, here)
            elif key == "sets" and isinstance(value.get("of"), str):  # a follow-up: a field of what `of` links to
                result[key] = self.path(self.references.get((inner, value["of"]), ""), item, here)
            elif key == "from" and rollup_from is not None:
                result[key] = item
            else:
                result[key] = self._value(inner, key, item, here)
        return result

    def _value(self, context: str, key: str, item: Any, here: str) -> Any:
        if key in EXPRESSION_KEYS and isinstance(item, str):
            return self.expression(context, item, here)
        if key in FIELD_MAP_KEYS and isinstance(item, dict):
            return self._field_map(context, key, item, here)
        if key in OUTPUT_KEYS and str(item).lstrip("-+") in self.outputs:
            return item  # a report's sort or chart axis naming a measure or metric
        if key in PATH_KEYS and isinstance(item, str):
            return self.path(context, item, here)
        if key in PATH_LIST_KEYS and isinstance(item, list):
            return [self._path_item(context, element, f"{here}[{index}]") for index, element in enumerate(item)]
        if key == "related" and isinstance(item, list):
            return [self._related(element, f"{here}[{index}]") for index, element in enumerate(item)]
        if key in TEMPLATE_KEYS and isinstance(item, (str, dict)) and key != "title":
            return self.template(context, item, here)
        return self.walk(context, item, here)

    def _path_item(self, context: str, element: Any, here: str) -> Any:
        if isinstance(element, str):
            return self.path(context, element, here)
        if isinstance(element, list):
            return [self._path_item(context, e, f"{here}[{i}]") for i, e in enumerate(element)]
        return self.walk(context, element, here)

    def _related(self, element: Any, here: str) -> Any:
        """`meeting.deal`: the child entity and its link field."""
        if isinstance(element, str) and "." in element:
            child, _, link = element.partition(".")
            if child == self.entity and link == self.old:
                return self._note(here, element, f"{child}.{self.new}")
            return element
        return self.walk("", element, here)

    def _field_map(self, context: str, key: str, item: dict[str, Any], here: str) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for name, value in item.items():
            at = f"{here}.{name}"
            if key == "where" and name in CONDITION_GROUPS:
                result[name] = [self._field_map(context, key, part, f"{at}[{i}]") if isinstance(part, dict)
                                else part for i, part in enumerate(value)] if isinstance(value, list) else value
                continue
            renamed = self.path(context, name, at) if PATH.match(str(name)) else name
            if key in SET_KEYS:
                result[renamed] = self.expression(context, value, at)
            elif key == "fields" and isinstance(value, dict):
                result[renamed] = self.walk(context, value, at)
            elif key == "fields" and isinstance(value, str):
                result[renamed] = value
            else:
                result[renamed] = self.walk(context, value, at)
        return result
