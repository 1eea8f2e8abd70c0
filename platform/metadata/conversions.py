"""`convert:` on an entity → a checked `Conversion`: which records a source record becomes.

Built after every entity exists (targets, links and parents name other entities). Each problem
is reported at its place in the entity's file, like every other cross-check.
"""
from __future__ import annotations

import dataclasses
from types import MappingProxyType
from typing import Any, Mapping

from atrium.metadata.entities import field_names
from atrium.metadata.expressions import Expression
from atrium.metadata.model import Conversion, ConversionTarget, Entity, Label
from atrium.metadata.sources import Report, Source

UNMATCHABLE = ("location", "multiselect", "file")


def link_conversions(sources: Mapping[str, Source], entities: dict[str, Entity], report: Report) -> None:
    """Attach each entity's `convert:` as a Conversion (left out when it has problems)."""
    for name, source in sources.items():
        spec = source.data.get("convert")
        if spec is None or name not in entities:
            continue
        conversion = build_conversion(source, spec, entities, report)
        if conversion is not None:
            entities[name] = dataclasses.replace(entities[name], convert=conversion)


def build_conversion(source: Source, spec: Mapping[str, Any], entities: Mapping[str, Entity],
                     report: Report) -> Conversion | None:
    entity = entities[source.name]
    names = field_names(source)
    before = len(report.problems)
    targets: list[ConversionTarget] = []
    for index, target_spec in enumerate(spec["targets"]):
        target = _target(source, ["convert", "targets", index], target_spec, entity, entities, names,
                         targets, report)
        if target is not None:
            targets.append(target)
    values = {}
    for field, text in spec.get("set", {}).items():
        path = ["convert", "set", field]
        _writable(report, source, path, entity, field, "the source")
        values[field] = report.expression(source, path, text, names)
    when = report.expression(source, ["convert", "when"], spec["when"], names) if "when" in spec else None
    if len(report.problems) != before:
        return None
    return Conversion(label=Label.of(spec.get("label"), "convert"), targets=tuple(targets),
                      set=MappingProxyType(_parsed(values)), when=when)


def _parsed(values: Mapping[str, Expression | None]) -> dict[str, Expression]:
    """The expressions that parsed (for the others the report has a problem, so nothing is built)."""
    return {name: expression for name, expression in values.items() if expression is not None}


def _target(source: Source, path: list[Any], spec: Mapping[str, Any], entity: Entity,
            entities: Mapping[str, Entity], names: set[str], earlier: list[ConversionTarget],
            report: Report) -> ConversionTarget | None:
    target = entities.get(spec["entity"])
    if target is None:
        report.unknown(source, path + ["entity"], "an entity", spec["entity"], entities)
        return None
    name = spec.get("name", target.name)
    if any(other.name == name for other in earlier):
        report.add(source, path + (["name"] if "name" in spec else ["entity"]),
                   f"two targets are named '{name}': give one a `name:` of its own")
    link = entity.fields.get(spec["link"])
    if link is None or link.type != "reference" or link.to != target.name:
        report.add(source, path + ["link"], f"'{spec['link']}' must name a reference field of "
                   f"{entity.name} that points to {target.name}")
    values = {}
    for field, text in spec.get("map", {}).items():
        _writable(report, source, path + ["map", field], target, field, target.name)
        values[field] = report.expression(source, path + ["map", field], text, names)
    by_name = {other.name: other for other in earlier}
    for field, parent in spec.get("parent", {}).items():
        reference = target.fields.get(field)
        if parent not in by_name:
            report.unknown(source, path + ["parent", field], "a target listed before this one",
                           parent, by_name)
        elif reference is None or reference.type != "reference" or reference.to != by_name[parent].entity:
            report.add(source, path + ["parent", field], f"'{field}' must name a reference field of "
                       f"{target.name} that points to {by_name[parent].entity}")
        elif field in values:
            report.add(source, path + ["parent", field], f"'{field}' is also given in map")
    for i, field in enumerate(spec.get("match", ())):
        found = target.fields.get(field)
        if found is None:
            report.unknown(source, path + ["match", i], f"a field of {target.name}", field, target.fields)
        elif found.type in UNMATCHABLE or found.computed and found.rollup is not None:
            report.add(source, path + ["match", i], f"a {found.type} field cannot be compared for duplicates")
    return ConversionTarget(name=name, entity=target.name,
                            label=Label.of(spec["label"]) if "label" in spec else target.label,
                            link=spec["link"], map=MappingProxyType(_parsed(values)),
                            parent=MappingProxyType(dict(spec.get("parent", {}))),
                            match=tuple(spec.get("match", ())), optional=bool(spec.get("optional", False)))


def _writable(report: Report, source: Source, path: list[Any], entity: Entity, field: str, whose: str) -> None:
    found = entity.fields.get(field)
    if found is None:
        report.unknown(source, path, f"a field of {entity.name}", field, entity.fields)
    elif found.computed:
        report.add(source, path, f"'{field}' of {whose} is computed: a conversion cannot set it")
