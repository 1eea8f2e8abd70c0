"""`follow_up:` and `check_in:` on an entity → a checked `FollowUp` and `CheckIn`.

Built after every entity exists (`of` points to another entity, whose field `sets` names).
Each problem is reported at its place in the entity's file, like every other cross-check:

- `of` is a reference field of the entity; `at` a date or datetime field of it; `sets` a field
  of the entity `of` links to, of the same type as `at`, and one a person or the engine stores
  (not a formula or roll-up: the follow-ups only ever move it forward);
- `when` is an expression over the entity's fields;
- `log.pick` is a select field, `log.note` a text field, `log.values` name fields a person may
  set (expressions over the parent record);
- `check_in.at` is a date or datetime field, `check_in.location` a location field,
  `check_in.set` names fields a person may set (expressions over the record checked in).
"""
from __future__ import annotations

import dataclasses
from types import MappingProxyType
from typing import Any, Mapping

from atrium.metadata.entities import field_names
from atrium.metadata.expressions import Expression
from atrium.metadata.model import CheckIn, Entity, FollowUp, FollowUpLog, Label
from atrium.metadata.sources import Report, Source

TEMPORAL = ("date", "datetime")


def link_follow_ups(sources: Mapping[str, Source], entities: dict[str, Entity], report: Report) -> None:
    """Attach each entity's `follow_up:` and `check_in:` (each left out when it has problems)."""
    for name, source in sources.items():
        if name not in entities:
            continue
        changes: dict[str, Any] = {}
        if source.data.get("follow_up") is not None:
            follow_up = _follow_up(source, source.data["follow_up"], entities, report)
            if follow_up is not None:
                changes["follow_up"] = follow_up
        if source.data.get("check_in") is not None:
            check_in = _check_in(source, source.data["check_in"], entities[name], report)
            if check_in is not None:
                changes["check_in"] = check_in
        if changes:
            entities[name] = dataclasses.replace(entities[name], **changes)


def _follow_up(source: Source, spec: Mapping[str, Any], entities: Mapping[str, Entity],
               report: Report) -> FollowUp | None:
    key = "follow_up"
    entity = entities[source.name]
    before = len(report.problems)
    of = entity.fields.get(spec["of"])
    references = [f.name for f in entity if f.type == "reference"]
    parent: Entity | None = None
    if of is None:
        report.unknown(source, [key, "of"], f"a field of {entity.name}", spec["of"], references)
    elif of.type != "reference" or of.to not in entities:
        report.add(source, [key, "of"], f"'{of.name}' is a {of.type} field; a follow-up counts for the record "
                                        f"a reference field links to ({', '.join(references) or 'none here'})")
    else:
        parent = entities[of.to or ""]
    at = _temporal(source, [key, "at"], entity, spec["at"], report)
    if parent is not None:
        sets = parent.fields.get(spec["sets"])
        temporal = [f.name for f in parent if f.type in TEMPORAL and not f.computed]
        if sets is None:
            report.unknown(source, [key, "sets"], f"a date or datetime field of {parent.name}", spec["sets"], temporal)
        elif sets.computed:
            report.add(source, [key, "sets"], f"{parent.name}.{sets.name} is computed (a formula, roll-up or "
                                              "autonumber): a follow-up sets a stored field")
        elif at is not None and sets.type != at.type:
            report.add(source, [key, "sets"], f"{parent.name}.{sets.name} is a {sets.type} field and "
                                              f"{entity.name}.{at.name} a {at.type}: they must be of one type")
    when = (report.expression(source, [key, "when"], spec["when"], field_names(source))
            if spec.get("when") is not None else None)
    log = _log(source, spec["log"], entity, parent, report) if spec.get("log") is not None else None
    if len(report.problems) != before or parent is None:
        return None
    return FollowUp(of=spec["of"], parent=parent.name, at=spec["at"], sets=spec["sets"], when=when, log=log)


def _log(source: Source, spec: Mapping[str, Any], entity: Entity, parent: Entity | None,
         report: Report) -> FollowUpLog | None:
    path: list[str | int] = ["follow_up", "log"]
    pick, note = spec.get("pick"), spec.get("note")
    if pick is not None and (entity.fields.get(pick) is None or entity.fields[pick].type != "select"):
        report.unknown(source, path + ["pick"], f"a select field of {entity.name}", pick,
                       [f.name for f in entity if f.type == "select"])
    texts = [f.name for f in entity if f.type in ("text", "textarea") and not f.computed]
    if note is not None and note not in texts:
        report.unknown(source, path + ["note"], f"a text field of {entity.name}", note, texts)
    names = set(parent.fields) | {"id"} if parent is not None else set()
    values = _values(source, path + ["values"], spec.get("values") or {}, entity, names, report)
    label = Label.of(spec["label"]) if spec.get("label") is not None else None
    return FollowUpLog(label=label, pick=pick, note=note, values=values)


def _check_in(source: Source, spec: Mapping[str, Any], entity: Entity, report: Report) -> CheckIn | None:
    before = len(report.problems)
    _temporal(source, ["check_in", "at"], entity, spec["at"], report)
    location = spec.get("location")
    if location is not None and (entity.fields.get(location) is None or entity.fields[location].type != "location"):
        report.unknown(source, ["check_in", "location"], f"a location field of {entity.name}", location,
                       [f.name for f in entity if f.type == "location"])
    values = _values(source, ["check_in", "set"], spec.get("set") or {}, entity, field_names(source), report)
    if len(report.problems) != before:
        return None
    label = Label.of(spec["label"]) if spec.get("label") is not None else None
    return CheckIn(at=spec["at"], label=label, location=location, set=values)


def _temporal(source: Source, path: list[str | int], entity: Entity, name: str, report: Report) -> Any:
    field = entity.fields.get(name)
    temporal = [f.name for f in entity if f.type in TEMPORAL and not f.computed]
    if field is None or field.type not in TEMPORAL:
        report.unknown(source, path, f"a date or datetime field of {entity.name}", name, temporal)
        return None
    if field.computed:
        report.add(source, path, f"{entity.name}.{name} is computed: the engine cannot stamp it")
        return None
    return field


def _values(source: Source, path: list[str | int], spec: Mapping[str, Any], entity: Entity,
            names: set[str], report: Report) -> Mapping[str, Expression]:
    """Field → expression: each a field of `entity` a person may set, each expression over `names`."""
    built: dict[str, Expression] = {}
    settable = [f.name for f in entity if not f.computed]
    for name, text in spec.items():
        field = entity.fields.get(name)
        if field is None or field.computed:
            report.unknown(source, path + [name], f"a field of {entity.name} that may be set", name, settable)
            continue
        expression = report.expression(source, path + [name], text, names)
        if expression is not None:
            built[name] = expression
    return MappingProxyType(built)
