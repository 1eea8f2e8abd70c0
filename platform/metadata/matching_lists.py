"""Matching lists (`detail.matching` in views/<entity>.yaml): records of another entity whose
fields equal fields of the record shown, e.g. the entries of a catalogue in the same category as
the record, without a reference between the two.

Each list names the other entity, `match` (its field → this entity's field: the two must be of the
same type; two selects share at least one option; two references point to the same entity),
an optional `where` condition on the other entity's records (the condition language of reports),
an optional `when` expression over the record shown (the list shows only while it holds) and a
label. A list the page cannot read is a load error at its line.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from atrium.metadata.expressions import Expression
from atrium.metadata.field_paths import check_condition
from atrium.metadata.model import Entity, Field, Label, freeze
from atrium.metadata.sources import Report, Source


@dataclass(frozen=True)
class MatchingList:
    """Records of `entity` whose field equals the shown record's field, for every pair of `match`."""

    entity: str
    match: tuple[tuple[str, str], ...]  # (field of `entity`, field of the record shown)
    where: Mapping[str, Any]
    when: Expression | None
    label: Label
    columns: tuple[str, ...] = ()
    limit: int = 5


def build_matching_lists(report: Report, source: Source, entities: Mapping[str, Entity], entity: str,
                         names: set[str], specs: list[Mapping[str, Any]]) -> tuple[MatchingList, ...]:
    lists: list[MatchingList] = []
    for i, spec in enumerate(specs):
        path: list[str | int] = ["detail", "matching", i]
        other = entities.get(spec["entity"])
        if other is None:
            report.unknown(source, [*path, "entity"], "an entity", spec["entity"], entities)
            continue
        pairs = []
        for theirs, mine in spec["match"].items():
            if _check_pair(report, source, [*path, "match", theirs], other, entities[entity], theirs, mine):
                pairs.append((theirs, mine))
        check_condition(report, source, [*path, "where"], spec.get("where", {}), entities, other.name)
        for j, column in enumerate(spec.get("columns", ())):
            if column not in other.fields:
                report.unknown(source, [*path, "columns", j], f"a field of {other.name}", column, other.fields)
        when = (report.expression(source, [*path, "when"], spec["when"], names, entity)
                if "when" in spec else None)
        label = Label.of(spec["label"]) if "label" in spec else other.plural
        lists.append(MatchingList(entity=other.name, match=tuple(pairs), where=freeze(spec.get("where", {})),
                                  when=when, label=label, columns=tuple(spec.get("columns", ())),
                                  limit=spec.get("limit", 5)))
    return tuple(lists)


def _check_pair(report: Report, source: Source, path: list[str | int], other: Entity, entity: Entity,
                theirs: str, mine: Any) -> bool:
    """Their field and mine exist and hold values that can be equal."""
    if theirs not in other.fields:
        report.unknown(source, path, f"a field of {other.name}", theirs, other.fields)
        return False
    if not isinstance(mine, str) or mine not in entity.fields:
        report.unknown(source, path, f"a field of {entity.name}", mine, entity.fields)
        return False
    problem = _incompatible(f"{other.name}.{theirs}", other.fields[theirs], f"{entity.name}.{mine}",
                            entity.fields[mine])
    if problem:
        report.add(source, path, problem)
        return False
    return True


def _incompatible(theirs: str, left: Field, mine: str, right: Field) -> str:
    if left.type != right.type:
        return f"'{theirs}' is a {left.type} field and '{mine}' a {right.type} field: they cannot be equal"
    if left.type in ("multiselect", "location", "file"):
        return f"'{theirs}' and '{mine}' are {left.type} fields, which are not compared for equality"
    if left.type == "reference" and left.to != right.to:
        return f"'{theirs}' and '{mine}' point to different entities ({left.to} and {right.to})"
    if left.type == "select" and not {o.value for o in left.options} & {o.value for o in right.options}:
        return f"'{theirs}' and '{mine}' share no option: they cannot be equal"
    return ""
