"""The seed plan's field generators (seed.yaml `fields:`) checked against the blueprint and turned
into tuples the drafter draws from: `("choice", values, cumulative weights)`, `("range", low,
high, share_of)`, `("date", days_before, days_after, from)`, ... A value the plan writes as people
do (a demo user's name, an option, a stage) becomes what the field stores, or a SeedPlanError
says where the plan went wrong.
"""
from __future__ import annotations

import itertools
from typing import Any

from atrium.metadata.model import Entity, Field
from atrium.runtime.seed.context import Context, SeedPlanError
from atrium.runtime.seed.values import named

NUMERIC = ("integer", "number", "money", "percent")


def compile_generator(c: Context, entity: Entity, field: Field, spec: Any) -> tuple:
    where = f"seed plan: {entity.name}.{field.name}"
    if isinstance(spec, str):
        named(c.values, spec)  # fails early on an unknown name
        return ("named", spec)
    if "choice" in spec:
        choices = [plan_value(c, entity, field, value, where) for value in spec["choice"]]
        weights = spec.get("weights")
        if weights is not None and len(weights) != len(choices):
            raise SeedPlanError(f"{where}: {len(choices)} choices but {len(weights)} weights")
        cumulative = list(itertools.accumulate(weights)) if weights else None
        return ("choice", choices, cumulative)
    if "range" in spec:
        low, high = sorted(spec["range"])
        share_of = spec.get("of")
        return ("range", low, high, None if share_of is None else _numeric_path(c, entity, share_of, where))
    if "date_within" in spec:
        window = spec["date_within"]
        source = window.get("from", "today")
        if source not in ("today", "created") and source not in entity.fields:
            raise SeedPlanError(f"{where}: date_within.from is 'today', 'created' or a field, not {source!r}")
        return ("date", window.get("days_before", 0), window.get("days_after", 0), source)
    if "value" in spec:
        return ("value", plan_value(c, entity, field, spec["value"], where))
    if "ref" in spec:
        if field.type != "reference" or spec["ref"] != field.to:
            raise SeedPlanError(f"{where}: ref {spec['ref']!r} on a field that points to {field.to!r}")
        return ("ref", spec["ref"], spec.get("at_most"))
    if "same_as" in spec:
        path = tuple(spec["same_as"].split("."))
        current = entity
        for step in path[:-1]:
            link = current.fields.get(step)
            if link is None or link.type != "reference":
                raise SeedPlanError(f"{where}: same_as {spec['same_as']!r}: {step!r} is no reference field")
            assert link.to is not None  # a loaded blueprint's reference always names its entity
            current = c.blueprint.entities[link.to]
        if path[-1] not in current.fields:
            raise SeedPlanError(f"{where}: same_as: {current.name} has no field {path[-1]!r}")
        return ("same_as", path)
    if "sequence" in spec:
        return ("sequence", spec["sequence"])
    raise SeedPlanError(f"{where}: no generator")


def plan_value(c: Context, entity: Entity, field: Field, value: Any, where: str) -> Any:
    """A value as the plan writes it → as the field stores it (user name → user id)."""
    if isinstance(value, tuple):
        value = list(value)
    if value is None or value == []:
        return None
    if field.type == "user":
        if value not in c.users:
            raise SeedPlanError(f"{where}: {value!r} is not a demo user ({', '.join(c.users)})")
        return c.users[value]
    pipeline = c.blueprint.pipeline_for(entity.name)
    if field.type == "stage" and pipeline and pipeline.stage(value) is None:
        raise SeedPlanError(f"{where}: {value!r} is not a stage of {pipeline.name}")
    if field.type in ("select", "multiselect"):
        for item in value if isinstance(value, list) else [value]:
            if item not in field.option_values:
                raise SeedPlanError(f"{where}: {item!r} is not an option ({field.option_values})")
    return value


def _numeric_path(c: Context, entity: Entity, path: str, where: str) -> tuple[str, ...]:
    """`amount`, or `instalment.planned_amount`: references of this record, then a numeric field."""
    steps = tuple(path.split("."))
    current = entity
    for i, step in enumerate(steps):
        field = current.fields.get(step)
        last = i == len(steps) - 1
        if field is None or (last and field.type not in NUMERIC) or (not last and field.type != "reference"):
            raise SeedPlanError(f"{where}: range.of: {path!r} is not a numeric field of {entity.name} "
                                f"(or of a record it points to)")
        if not last:
            assert field.to is not None  # a loaded blueprint's reference always names its entity
            current = c.blueprint.entities[field.to]
    return steps
