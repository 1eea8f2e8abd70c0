"""`owner_follows:` on an entity → a checked `OwnerFollows`: whose owner a record's owner follows.

Built after every entity exists (the field points to another entity, which must have an owner).
Each problem is reported at its place in the entity's file, like every other cross-check:

- the entity has an `owner:` (else there is no owner to follow with);
- `field` is a reference field of the entity, to an entity that has an `owner:`;
- `where` is a condition over the entity's fields (field_paths.py checks it);
- followers do not follow each other in a cycle (an order following a customer that follows
  the order would never settle), nor an entity itself.
"""
from __future__ import annotations

import dataclasses
import graphlib
from typing import Any, Mapping

from atrium.metadata.field_paths import check_condition
from atrium.metadata.model import Entity, OwnerFollows, Pipeline, freeze
from atrium.metadata.sources import Report, Source

KEY = "owner_follows"


def link_owner_follows(sources: Mapping[str, Source], entities: dict[str, Entity],
                       pipelines: Mapping[str, Pipeline], report: Report) -> None:
    """Attach each entity's `owner_follows:` (left out when it has problems)."""
    built: dict[str, OwnerFollows] = {}
    for name, source in sources.items():
        spec = source.data.get(KEY)
        if spec is None or name not in entities:
            continue
        follows = _build(source, spec, entities, pipelines, report)
        if follows is not None:
            built[name] = follows
    graph = {name: {entities[name].fields[follows.field].to or ""} for name, follows in built.items()}
    try:
        tuple(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as error:
        cycle = list(error.args[1])
        for name in dict.fromkeys(cycle):
            if name in built:
                report.add(sources[name], [KEY, "field"],
                           "owners follow each other in a cycle: " + " → ".join(cycle))
        return
    for name, follows in built.items():
        entities[name] = dataclasses.replace(entities[name], owner_follows=follows)


def _build(source: Source, spec: Mapping[str, Any], entities: Mapping[str, Entity], pipelines: Mapping[str, Pipeline],
           report: Report) -> OwnerFollows | None:
    entity = entities[source.name]
    before = len(report.problems)
    if entity.owner is None:
        report.add(source, [KEY], f"{entity.name} has no owner: add `owner:` (a user field) for its owner "
                                  "to follow another record's")
    name = spec["field"]
    field = entity.fields.get(name)
    references = [f.name for f in entity if f.type == "reference"]
    if field is None:
        report.unknown(source, [KEY, "field"], f"a field of {entity.name}", name, references)
    elif field.type != "reference":
        report.add(source, [KEY, "field"], f"'{name}' is a {field.type} field; the owner follows a reference "
                                           f"field ({', '.join(references) or 'none here'})")
    elif field.to is None or field.to not in entities:
        report.add(source, [KEY, "field"], f"'{name}' links to no entity")  # `to:` itself is reported too
    elif entities[field.to].owner is None:
        report.add(source, [KEY, "field"], f"'{name}' links to {field.to}, which has no owner to follow")
    where = spec.get("where")
    if where is not None:
        check_condition(report, source, [KEY, "where"], where, entities, entity.name, pipelines)
    if len(report.problems) != before:
        return None
    return OwnerFollows(field=name, where=freeze(where) if where is not None else None,
                        on_release=spec.get("on_release", "keep"))
