"""Changes in plain words: "field industry added (select)", "stage negotiation: label changed
from … to …", "option other of field level removed".

Each document kind names the things inside it by the shape of their address (`fields.*` is a
field, `stages[...]` a stage); what is left of the address after the thing is the property.
Nothing here knows a blueprint's entities: the names come from the documents.
"""
from __future__ import annotations

from typing import Any

import yaml

from atrium.metadata.overlays.diff import FIRST, Change
from atrium.metadata.overlays.paths import Ident, Position, Step, path_key, plain

ANY, ITEM = "*", "#"  # a mapping key of any name; a list item (by identity or position)

# (pattern, words): {n} is the n-th step of the address (0-based), as written.
THINGS: dict[str, list[tuple[tuple[str, ...], str]]] = {
    "entity": [(("fields", ANY, "options", ITEM), "option {3} of field {1}"), (("fields", ANY), "field {1}"),
               (("checks", ITEM), "check {1}"), (("indexes", ITEM), "index {1}")],
    "pipeline": [(("stages", ITEM), "stage {1}"), (("transitions", ITEM), "transition {1}")],
    "views": [(("form", "sections", ITEM), "form section {2}"), (("detail", "sections", ITEM), "detail section {2}"),
              (("list", "columns", ITEM), "list column {2}"), (("list", "filters", ITEM), "list filter {2}"),
              (("kanban", "card", ITEM), "kanban card field {2}"), (("detail", "related", ITEM), "related list {2}")],
    "report": [(("measures", ANY), "measure {1}"), (("metrics", ANY), "metric {1}"),
               (("group_by", ITEM), "group {1}"), (("columns", ITEM), "column {1}")],
    "dashboard": [(("widgets", ITEM), "widget {1}")],
    "roles": [(("roles", ANY, "entities", ANY), "access of role {1} to {3}"),
              (("roles", ANY, "fields", ANY), "access of role {1} to field {3}"),
              (("roles", ANY), "role {1}"), (("teams", ITEM), "team {1}")],
    "automation": [(("do", ITEM), "action {1}")],
    "periodic_report": [(("figures", ITEM), "figure {1}"), (("texts", ITEM), "text {1}"), (("plan", ITEM), "plan {1}")],
    "seed": [(("entities", ANY, "fields", ANY), "demo values of {1}.{3}"), (("entities", ANY), "demo data of {1}"),
             (("users", ITEM), "demo user {1}"), (("teams", ITEM), "demo team {1}")],
}
DOCUMENT_WORDS = {"entity": "entity {}", "pipeline": "pipeline {}", "views": "views of {}", "report": "report {}",
                  "dashboard": "dashboard {}", "automation": "automation {}", "roles": "roles",
                  "periodic_report": "periodic report {}", "integration": "integration {}", "seed": "demo data",
                  "blueprint": "blueprint"}
SUMMARY_KEYS = ("type", "to", "report", "entity", "pipeline", "source", "outcome", "probability")


def _step_text(step: Step) -> str:
    if isinstance(step, Ident):
        return str(step.value)
    if isinstance(step, Position):
        return f"#{step.index + 1}"
    return str(step)


def _matches(pattern: tuple[str, ...], path: tuple[Step, ...]) -> bool:
    if len(path) < len(pattern):
        return False
    for want, step in zip(pattern, path, strict=False):  # a pattern may stop short of the path
        if want == ITEM:
            if not isinstance(step, (Ident, Position)):
                return False
        elif want == ANY:
            if not isinstance(step, str):
                return False
        elif want != step:
            return False
    return True


def thing_of(kind: str, path: tuple[Step, ...]) -> tuple[str | None, tuple[Step, ...]]:
    """('field industry', rest of the address) or (None, path) when no thing matches."""
    for pattern, words in THINGS.get(kind, ()):
        if _matches(pattern, path):
            return words.format(*(_step_text(s) for s in path[:len(pattern)])), path[len(pattern):]
    return None, path


def name_of(kind: str, name: str, path: tuple[Step, ...]) -> str:
    """What an address names, in words: 'field lost_reason', 'probability of stage proposal',
    'report deals_by_industry' for a whole document."""
    document = DOCUMENT_WORDS[kind].format(name)
    if not path:
        return document
    thing, rest = thing_of(kind, path)
    if thing is None:
        return f"{path_key(rest)} of {document}"
    return f"{path_key(rest)} of {thing}" if rest else thing


def show(value: Any, limit: int = 70) -> str:
    """A value as one line of YAML, shortened."""
    if isinstance(value, str) and "\n" not in value:
        text = repr(value) if value == "" or value.strip() != value else value
    else:
        text = yaml.safe_dump(plain(value), default_flow_style=True, allow_unicode=True, width=10_000).strip()
        text = text[:-4].rstrip() if text.endswith("\n...") or text.endswith(" ...") else text
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _summary(value: Any) -> str:
    if isinstance(value, dict):
        parts = [f"{key}: {show(value[key], 30)}" for key in SUMMARY_KEYS if key in value
                 and not isinstance(value[key], (dict, list))]
        return f" ({', '.join(parts[:3])})" if parts else ""
    return ""


def _after(change: Change) -> str:
    if change.after is None:
        return ""
    if change.after == FIRST:
        return " at the start"
    return f" after {_step_text(change.after) if isinstance(change.after, Position) else change.after}"


def describe(change: Change) -> str:
    """The change as a sentence, prefixed with the document it is in."""
    document = DOCUMENT_WORDS[change.kind].format(change.name)
    if not change.path:
        return f"{document} {change.action}{_summary(change.new)}"
    thing, rest = thing_of(change.kind, change.path)
    if thing is None:  # a property of the document itself
        return f"{document}: {_property(change, path_key(rest))}"
    if not rest:
        if change.action == "added":
            return f"{document}: {thing} added{_after(change)}{_summary(change.new)}"
        if change.action == "removed":
            return f"{document}: {thing} removed"
        if change.action == "moved":
            return f"{document}: {thing} moved{_after(change)}"
        return f"{document}: {thing} changed from {show(change.old)} to {show(change.new)}"
    return f"{document}: {thing}: {_property(change, path_key(rest))}"


def _property(change: Change, name: str) -> str:
    if change.action == "added":
        item = isinstance(change.path[-1], (Ident, Position))
        if item:
            return f"{_step_text(change.path[-1])} added to {path_key(change.path[:-1]).split('.')[-1]}" \
                   f"{_after(change)}"
        return f"{name} set to {show(change.new)}"
    if change.action == "removed":
        if isinstance(change.path[-1], (Ident, Position)):
            return f"{_step_text(change.path[-1])} removed from {path_key(change.path[:-1]).split('.')[-1]}"
        return f"{name} removed (was {show(change.old)})"
    if change.action == "moved":
        return f"{_step_text(change.path[-1])} moved{_after(change)}"
    return f"{name} changed from {show(change.old)} to {show(change.new)}"


def as_text(changes: list[Change]) -> str:
    """One line per change, `file:line:col: sentence`, grouped under each overlay folder."""
    lines: list[str] = []
    layer = None
    for change in changes:
        if change.layer != layer:
            layer = change.layer
            count = sum(1 for c in changes if c.layer == layer)
            lines.append(f"{layer}: {count} change(s)")
        where = f"{change.at}: " if change.at else f"{change.document}: "
        lines.append(f"  {where}{describe(change)}")
    return "\n".join(lines) + ("\n" if lines else "")


def as_records(changes: list[Change]) -> list[dict[str, Any]]:
    """The changes as plain data (for `--format yaml` and for the studio's history)."""
    records = []
    for change in changes:
        record: dict[str, Any] = {"layer": change.layer, "document": change.document, "kind": change.kind,
                                  "name": change.name, "action": change.action, "path": path_key(change.path)}
        thing, _ = thing_of(change.kind, change.path)
        if thing:
            record["thing"] = thing
        if change.action in ("changed", "removed") and change.old is not None:
            record["from"] = plain(change.old)
        if change.action in ("changed", "added") and change.new is not None:
            record["to"] = plain(change.new)
        if change.after is not None:
            record["after"] = None if change.after == FIRST else (
                _step_text(change.after) if isinstance(change.after, Position) else change.after)
        record["at"] = str(change.at) if change.at else None
        record["base_at"] = str(change.base_at) if change.base_at else None
        record["text"] = describe(change)
        records.append(record)
    return records


def as_yaml(changes: list[Change]) -> str:
    return yaml.safe_dump(as_records(changes), allow_unicode=True, sort_keys=False, width=100)
