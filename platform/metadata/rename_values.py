"""Rename a pipeline's stage or a select field's option everywhere the blueprint uses the value.

Like a field rename (renames.py), the result is every document that changes and one `Use` per
place rewritten. The pipeline (or the field) lists the value under its new name, keeps its label,
and records `renamed: {OLD: NEW}`, so the migration gives the records holding the old value the new
one and rewrites the stage and field history (runtime/schema/value_renames.py).

A value is a literal, so it is rewritten only where it is compared with, or given to, the field it
belongs to (a `won` elsewhere, e.g. another field's option, stays):
- condition maps (`where:` of reports, measures, dashboards, automations, roll-ups, owner_follows)
  keyed by a path to the field: `{stage: won}`, `{eq|ne: won}`, `{in|not_in|contains: [...]}`;
- expressions: a quoted literal compared with the field (`stage == 'won'`, `stage in ('won',
  'lost')`), and the whole expression `'won'` given to the field in `set:`, `create.values` or
  its own `default:`;
- the pipeline's stages, transitions, `moved`, and the stage field's `stamp_on_stage` lists;
  an automation's `on: {stage: {enter|leave: won}}`; the field's options and `moved`;
- the seed's values of the field (`choice:` lists and the like).
"""
from __future__ import annotations

import ast
import copy
from typing import Any, Mapping

from atrium.metadata.renames import (
    CONDITION_GROUPS,
    EXPRESSION_KEYS,
    OTHER_RECORD_MAPS,
    PATH,
    SET_KEYS,
    Key,
    RenameRefused,
    Use,
    check_new_name,
    references_of,
)
from atrium.translation import N_

OPERATORS = frozenset({"eq", "ne", "in", "not_in", "contains"})
VALUE_FIELD_TYPES = ("select", "multiselect")


def rename_stage(documents: Mapping[Key, Any], pipeline: str, old: str, new: str) -> tuple[dict[Key, Any], list[Use]]:
    """The documents that change when stage `old` of `pipeline` becomes `new`, and every use rewritten."""
    data = documents.get(("pipeline", pipeline))
    if not isinstance(data, Mapping):
        raise RenameRefused(N_("there is no pipeline '{pipeline}'"), pipeline=pipeline)
    names = [stage.get("name") for stage in data.get("stages") or [] if isinstance(stage, Mapping)]
    if old not in names:
        raise RenameRefused(N_("pipeline {pipeline} has no stage '{old}'"), pipeline=pipeline, old=old)
    check_new_name(new, False)
    if new in names:
        raise RenameRefused(N_("pipeline {pipeline} already has a stage '{new}'"), pipeline=pipeline, new=new)
    renamer = _ValueRenamer(documents, str(data.get("entity")), str(data.get("field")), old, new)
    renamer.pipeline = pipeline
    return renamer.run()


def rename_option(documents: Mapping[Key, Any], entity: str, field: str, old: Any,
                  new: str) -> tuple[dict[Key, Any], list[Use]]:
    """The documents that change when option `old` of select field `entity`.`field` becomes `new`."""
    spec = ((documents.get(("entity", entity)) or {}).get("fields") or {}).get(field)
    if not isinstance(spec, Mapping) or spec.get("type") not in VALUE_FIELD_TYPES:
        raise RenameRefused(N_("{entity} has no select field '{field}'"), entity=entity, field=field)
    values = [option.get("value") if isinstance(option, Mapping) else option for option in spec.get("options") or []]
    if old not in values:
        raise RenameRefused(N_("{entity}.{field} has no option '{old}'"), entity=entity, field=field, old=old)
    check_new_name(new, False)
    if new in values:
        raise RenameRefused(N_("{entity}.{field} already has an option '{new}'"), entity=entity, field=field, new=new)
    return _ValueRenamer(documents, entity, field, old, new).run()


def rename_literals(text: str, matches: Any, old: Any, new: str) -> str:
    """The expression with each quoted `old` compared with a path `matches(path)` accepts made `new`."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError:
        return text
    spans: list[tuple[int, int, int]] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare):
            continue
        operands = [node.left, *node.comparators]
        if not any(matches(_path_of(operand)) for operand in operands):
            continue
        for operand in operands:
            elements = operand.elts if isinstance(operand, (ast.Tuple, ast.List, ast.Set)) else [operand]
            spans += [(e.lineno, e.col_offset, e.end_col_offset or e.col_offset) for e in elements
                      if isinstance(e, ast.Constant) and e.value == old]
    if isinstance(tree.body, ast.Constant) and tree.body.value == old and matches(None):
        body = tree.body
        spans.append((body.lineno, body.col_offset, body.end_col_offset or body.col_offset))
    return _replaced(text, spans, new)


def _replaced(text: str, spans: list[tuple[int, int, int]], new: str) -> str:
    if not spans:
        return text
    offset = len(text) - len(text.lstrip())
    rows = [line.encode("utf-8") for line in text.strip().split("\n")]
    for line, start, end in sorted(set(spans), reverse=True):
        row = rows[line - 1]
        quote = row[start:start + 1]
        if quote in (b"'", b'"') and row[end - 1:end] == quote:
            rows[line - 1] = row[:start] + quote + new.encode("utf-8") + quote + row[end:]
    body = "\n".join(row.decode("utf-8") for row in rows)
    return text[:offset] + body + text[offset + len(text.strip()):]


def _path_of(node: ast.AST) -> str | None:
    names: list[str] = []
    while isinstance(node, ast.Attribute):
        names.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id, *reversed(names)])


class _ValueRenamer:
    def __init__(self, documents: Mapping[Key, Any], entity: str, field: str, old: Any, new: str):
        self.documents, self.entity, self.field, self.old, self.new = documents, entity, field, old, new
        self.references = references_of(documents)
        self.pipeline: str | None = None  # set for a stage
        self.pipelines = {name: str(value.get("entity")) for (kind, name), value in documents.items()
                          if kind == "pipeline" and isinstance(value, Mapping)}
        self.uses: list[Use] = []
        self.key: Key = ("", "")

    def run(self) -> tuple[dict[Key, Any], list[Use]]:
        changed: dict[Key, Any] = {}
        for key, value in self.documents.items():
            if not isinstance(value, Mapping):
                continue
            self.key = key
            after = self.document(key, copy.deepcopy(dict(value)))
            if after != value:
                changed[key] = after
        return changed, self.uses

    def _note(self, where: str, before: Any, after: Any) -> Any:
        if before != after:
            self.uses.append(Use(self.key, where, str(before), str(after)))
        return after

    def value(self, item: Any, where: str) -> Any:
        return self._note(where, item, self.new) if item == self.old else item

    def values(self, items: Any, where: str) -> Any:
        if isinstance(items, list):
            return [self.value(item, f"{where}[{index}]") for index, item in enumerate(items)]
        return self.value(items, where)

    def is_field(self, context: str, path: str | None) -> bool:
        """Whether `path` read from `context` names the renamed value's field (None: no path)."""
        match = PATH.match(path or "")
        if match is None:
            return False
        current: str | None = context
        segments = match.group(2).split(".")
        for segment in segments[:-1]:
            current = self.references.get((current, segment)) if current else None
        return current == self.entity and segments[-1] == self.field

    def expression(self, context: str, text: Any, where: str, given_to: str | None = None) -> Any:
        """An expression in `context`; `given_to`: the field path it is the value of (set:, default:)."""
        if not isinstance(text, str):
            return text
        target = given_to is not None and self.is_field(context, given_to)
        after = rename_literals(text, lambda path: target if path is None else self.is_field(context, path),
                                self.old, self.new)
        return self._note(where, text, after)

    # --- documents ---------------------------------------------------------------------------

    def document(self, key: Key, data: dict[str, Any]) -> Any:
        kind, name = key
        if kind == "pipeline" and name == self.pipeline:
            self._pipeline(data)
        if kind == "entity" and name == self.entity:
            self._own_field(data)
        if kind == "seed":
            spec = ((data.get("entities") or {}).get(self.entity) or {}).get("fields") or {}
            if self.field in spec:
                spec[self.field] = self._seed(spec[self.field], f"entities.{self.entity}.fields.{self.field}")
            return data
        if kind == "roles":
            return data
        if kind == "automation" and data.get("entity") == self.entity and isinstance(data.get("on"), dict) \
                and self.pipeline is not None and isinstance(data["on"].get("stage"), dict):
            trigger = data["on"]["stage"]
            for edge in ("enter", "leave"):
                if edge in trigger:
                    trigger[edge] = self.value(trigger[edge], f"on.stage.{edge}")
        if kind == "entity":
            return self.walk(name, data, "")
        context = data.get("entity") or data.get("source") or self.pipelines.get(str(data.get("pipeline")))
        return self.walk(context if isinstance(context, str) else "", data, "")

    def _pipeline(self, data: dict[str, Any]) -> None:
        for index, stage in enumerate(data.get("stages") or []):
            if isinstance(stage, dict) and stage.get("name") == self.old:
                stage["name"] = self._note(f"stages[{index}].name", self.old, self.new)
                stage.setdefault("label", self.old)
        transitions = data.get("transitions")
        for index, rule in enumerate(transitions if isinstance(transitions, list) else []):
            if isinstance(rule, dict):
                rule["from"] = self.value(rule.get("from"), f"transitions[{index}].from")
                rule["to"] = self.values(rule.get("to"), f"transitions[{index}].to")
        if isinstance(data.get("learned_probability"), dict):
            data["learned_probability"] = {self.value(k, f"learned_probability.{k}"): v
                                           for k, v in data["learned_probability"].items()}
        data["moved"] = {k: self.value(v, f"moved.{k}") for k, v in (data.get("moved") or {}).items()}
        if not data["moved"]:
            data.pop("moved")
        data["renamed"] = self._renamed(data.get("renamed"))

    def _own_field(self, data: dict[str, Any]) -> None:
        fields = data.get("fields") or {}
        for name, spec in fields.items():
            if isinstance(spec, dict) and self.pipeline is not None and isinstance(spec.get("stamp_on_stage"), list):
                spec["stamp_on_stage"] = self.values(spec["stamp_on_stage"], f"fields.{name}.stamp_on_stage")
        spec = fields.get(self.field)
        if self.pipeline is not None or not isinstance(spec, dict):
            return
        options = []
        for index, option in enumerate(spec.get("options") or []):
            if isinstance(option, dict) and option.get("value") == self.old:
                option = {**option, "value": self._note(f"fields.{self.field}.options[{index}]", self.old, self.new)}
                option.setdefault("label", str(self.old))
            elif option == self.old:
                option = {"value": self._note(f"fields.{self.field}.options[{index}]", self.old, self.new),
                          "label": str(self.old)}
            options.append(option)
        spec["options"] = options
        spec["moved"] = {k: self.value(v, f"fields.{self.field}.moved.{k}")
                         for k, v in (spec.get("moved") or {}).items()}
        if not spec["moved"]:
            spec.pop("moved")
        spec["renamed"] = self._renamed(spec.get("renamed"))

    def _renamed(self, earlier: Any) -> dict[Any, Any]:
        """The `renamed` map with this rename: an earlier rename to `old` now leads to `new`."""
        result = {k: (self.new if v == self.old else v) for k, v in (earlier or {}).items() if k != self.new}
        result[self.old] = self.new
        return result

    def _seed(self, spec: Any, where: str) -> Any:
        if isinstance(spec, dict):
            return {self.value(k, f"{where}.{k}"): self._seed(v, f"{where}.{k}") for k, v in spec.items()}
        if isinstance(spec, list):
            return [self._seed(item, f"{where}[{index}]") for index, item in enumerate(spec)]
        return self.value(spec, where)

    # --- the walk ----------------------------------------------------------------------------

    def walk(self, context: str, value: Any, where: str) -> Any:
        if isinstance(value, list):
            return [self.walk(context, item, f"{where}[{index}]") for index, item in enumerate(value)]
        if not isinstance(value, dict):
            return value
        own = value.get("entity") if isinstance(value.get("entity"), str) else None
        inner = own or context
        if isinstance(value.get("from"), str) and "." in value["from"]:  # a roll-up: the child's fields
            inner = value["from"].partition(".")[0]
        result: dict[str, Any] = {}
        for key, item in value.items():
            here = f"{where}.{key}" if where else str(key)
            if key in OTHER_RECORD_MAPS and own is not None and isinstance(item, dict) and key != "parent":
                result[key] = {k: self.expression(context, v, f"{here}.{k}", given_to=None)
                               if not self.is_field(own, k) else self._given(own, context, v, f"{here}.{k}")
                               for k, v in item.items()}
            elif key == "where" and isinstance(item, dict):
                result[key] = self.condition(inner, item, here)
            elif key in SET_KEYS and isinstance(item, dict):
                result[key] = {k: self.expression(inner, v, f"{here}.{k}", given_to=str(k)) for k, v in item.items()}
            elif key == "fields" and where == "" and isinstance(item, dict):
                result[key] = {k: self._field_spec(inner, k, v, f"{here}.{k}") for k, v in item.items()}
            elif key in EXPRESSION_KEYS and isinstance(item, str):
                result[key] = self.expression(inner, item, here)
            else:
                result[key] = self.walk(inner, item, here)
        return result

    def _given(self, own: str, context: str, text: Any, where: str) -> Any:
        """A create's value for the renamed field: an expression read on the record at hand, whose
        quoted literal is the other record's value."""
        if not isinstance(text, str):
            return text
        after = rename_literals(text, lambda path: path is None or self.is_field(context, path), self.old, self.new)
        return self._note(where, text, after)

    def _field_spec(self, entity: str, name: str, spec: Any, where: str) -> Any:
        if not isinstance(spec, dict):
            return spec
        result = self.walk(entity, spec, where)
        if isinstance(spec.get("default"), str):  # the field's own default is a value given to it
            result["default"] = self.expression(entity, spec["default"], f"{where}.default", given_to=name)
        return result

    def condition(self, context: str, condition: dict[str, Any], where: str) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for name, test in condition.items():
            here = f"{where}.{name}"
            if name in CONDITION_GROUPS and isinstance(test, list):
                result[name] = [self.condition(context, part, f"{here}[{i}]") if isinstance(part, dict) else part
                                for i, part in enumerate(test)]
            elif not self.is_field(context, str(name)):
                result[name] = self.walk(context, test, here)
            elif isinstance(test, dict):
                result[name] = {op: self.values(operand, f"{here}.{op}") if op in OPERATORS else operand
                                for op, operand in test.items()}
            else:
                result[name] = self.values(test, here)
        return result
