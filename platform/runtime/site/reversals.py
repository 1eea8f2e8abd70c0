"""The way back of an undone rename: what the migration renames back so the data stays.

An undo writes back the overlay files as they were before a change. When that change renamed a
field (`renamed_from:` on the field), an entity (`renamed_from:` on the entity) or a stage or option
(`renamed:` on the pipeline or the field), the files before it do not say so: here the two versions
of the metadata are compared and each rename is named the other way round, for the planner
(runtime/schema/migrations.py): the column, the table or the stored values go back with their data.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from atrium.metadata.model import Blueprint, Entity

FieldWays = dict[str, dict[str, str]]  # entity → {field: the name its column has now}


@dataclass
class WayBack:
    fields: FieldWays = field(default_factory=dict)
    entities: dict[str, str] = field(default_factory=dict)  # entity → the name its table has now
    values: dict[tuple[str, str], dict[Any, Any]] = field(default_factory=dict)  # (entity, field) → {now: back}

    def __bool__(self) -> bool:
        return bool(self.fields or self.entities or self.values)


def way_back(renamed: Blueprint | None, before: Blueprint | None) -> WayBack:
    """The renames that undo those `renamed` has and `before` had not."""
    back = WayBack()
    if renamed is None or before is None:
        return back
    for entity in renamed.entities.values():
        previous = entity.renamed_from
        earlier = before.entities.get(entity.name)
        if previous and earlier is None and previous in before.entities:
            back.entities[previous] = entity.name
            earlier = before.entities[previous]
        if earlier is None:
            continue
        for renamed_field in entity:
            old_name = renamed_field.renamed_from
            if old_name and old_name in earlier.fields and renamed_field.name not in earlier.fields:
                back.fields.setdefault(earlier.name, {})[old_name] = renamed_field.name
        _values(renamed, before, entity, earlier, back)
    return back


def _values(renamed: Blueprint, before: Blueprint, entity: Entity, earlier: Entity, back: WayBack) -> None:
    for now in entity:
        was = earlier.fields.get(now.name)
        if was is None:
            continue
        if now.type == "stage":
            pipeline, old_pipeline = renamed.pipelines.get(now.pipeline or ""), before.pipelines.get(was.pipeline or "")
            maps = pipeline.renamed if pipeline else {}
            listed = old_pipeline.stage_names if old_pipeline else ()
            current = pipeline.stage_names if pipeline else ()
        else:
            maps, listed, current = now.renamed, was.option_values, now.option_values
        for old, new in maps.items():
            if old in listed and new not in listed and new in current:
                back.values.setdefault((earlier.name, now.name), {})[new] = old
