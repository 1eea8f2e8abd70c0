"""Load checks where field secrecy meets other metadata: a field's `reveals:` names its inputs, and a
stage never requires a field that a role allowed to move records into it cannot write."""
from __future__ import annotations

from typing import Mapping

from atrium.metadata.derived_secrecy import hidden_derived, input_keys, is_derived
from atrium.metadata.model import Entity, Pipeline, Role
from atrium.metadata.sources import Report, Source

UNWRITABLE = ("hidden", "readonly")


def check_reveals(sources: Mapping[str, Source], entities: Mapping[str, Entity], report: Report) -> None:
    """`reveals:` is for a derived field, and each name in it is one of that field's inputs."""
    for name, entity in entities.items():
        for field in entity:
            if not field.reveals:
                continue
            path = ["fields", field.name, "reveals"]
            if not is_derived(field):
                report.add(sources[name], path, "reveals is for a formula, a roll-up or a default read "
                           "through a reference: this field shows nothing but itself")
                continue
            keys = input_keys(entities, entity, field)
            for i, revealed in enumerate(field.reveals):
                if revealed not in keys:
                    report.unknown(sources[name], path + [i], f"an input of {name}.{field.name}", revealed, keys)


def check_stage_requirements(sources: Mapping[str, Source], pipelines: Mapping[str, Pipeline],
                             entities: Mapping[str, Entity], roles: Mapping[str, Role], report: Report) -> None:
    """A stage's `requires` names no field that a role which may move records into the stage
    (it may update them and write the stage field) cannot write: it could never enter the stage."""
    derived: dict[str, dict[tuple[str, str], str]] = {}  # by role, computed when first needed
    for name, pipeline in pipelines.items():
        entity = entities.get(pipeline.entity)
        if entity is None or pipeline.field not in entity.fields:
            continue  # the pipeline's own check reports it
        for role in roles.values():
            if not _moves(role, pipeline):
                continue
            if role.name not in derived:
                derived[role.name] = hidden_derived(entities, role)
            for i, stage in enumerate(pipeline.stages):
                for j, required in enumerate(stage.requires):
                    field = entity.fields.get(required)
                    if field is None or field.computed:
                        continue  # unknown: reported elsewhere; computed: the engine fills it, nobody writes it
                    mode = role.fields.get(f"{entity.name}.{required}")
                    if mode not in UNWRITABLE and (entity.name, required) in derived[role.name]:
                        mode = "hidden"
                    if mode in UNWRITABLE:
                        report.add(sources[name], ["stages", i, "requires", j],
                                   f"stage '{stage.name}' requires {required}, which role '{role.name}' "
                                   f"may not write ({mode}) although it may move {entity.name} records into this stage",
                                   f"let {role.name} write {entity.name}.{required} in roles.yaml, "
                                   "or take it out of requires")


def _moves(role: Role, pipeline: Pipeline) -> bool:
    """Whether the role may move records along the pipeline: it updates them and writes the stage."""
    if role.all:
        return False  # a role with `all` writes every field
    return role.grant(pipeline.entity).update != "none" and \
        role.fields.get(f"{pipeline.entity}.{pipeline.field}") not in UNWRITABLE
