"""Dotted field paths (`account.tier`) and the conditions written over them (`where:`), checked
against the entities: what views, dashboards, automations, reports, targets and the seed plan's
requests all check, so references.py, report_checks.py and approval_checks.py import it from here.
"""
from __future__ import annotations

from typing import Any, Mapping

from atrium.metadata.condition_tree import leaves
from atrium.metadata.entities import system_field
from atrium.metadata.model import SYSTEM_FIELDS, Entity, Field, Pipeline
from atrium.metadata.problems import did_you_mean, valid_names
from atrium.metadata.sources import Report, Source
from atrium.metadata.yaml_source import PathStep


def resolve_path(entities: Mapping[str, Entity], entity: str, path: str) -> Field | str:
    """The field a dotted path (`account.tier`) ends at, or why it does not resolve."""
    current = entities[entity]
    steps = path.split(".")
    for index, step in enumerate(steps):
        field = current.fields.get(step) or (system_field(step) if step in SYSTEM_FIELDS else None)
        if field is None:
            return f"'{step}' is not a field of {current.name}"
        if index == len(steps) - 1:
            return field
        if field.type != "reference" or field.to is None or field.to not in entities:
            return f"'{step}' is not a reference, so '{path}' cannot go through it"
        current = entities[field.to]
    raise AssertionError("unreachable")


def check_path(report: Report, source: Source, where: list[PathStep], entities: Mapping[str, Entity],
               entity: str, path: str, key: bool = False) -> Field | None:
    """The field `path` ends at, or None after reporting why not (with `key`, at the mapping key
    that names the path, as in a condition, rather than at its value)."""
    result = resolve_path(entities, entity, path)
    if isinstance(result, str):
        step, at = _failing_step(entities, entity, path)
        candidates = valid_names(entities[at].fields)
        hint = did_you_mean(step, candidates) if step not in candidates else ""
        report.add(source, where, result, hint, valid=candidates, key=key)
        return None
    return result


def _failing_step(entities: Mapping[str, Entity], entity: str, path: str) -> tuple[str, str]:
    """The step of a dotted path that does not resolve and the entity it was looked for in: the
    hint for `customer.hospital_grad` names the customer's fields, not the order's."""
    current = entity
    for step in path.split("."):
        field = entities[current].fields.get(step)
        if field is None or field.type != "reference" or field.to not in entities:
            return step, current
        current = field.to or current
    return path, entity


def entity_names(entities: Mapping[str, Entity], entity: str) -> set[str]:
    return set(entities[entity].fields) | set(SYSTEM_FIELDS)


STAGE_OPERATORS = ("stalled", "in_stage_longer_than_days")
HOUR_OPERATORS = ("older_than_hours", "within_last_hours")


def check_condition(report: Report, source: Source, where: list[PathStep], condition: Mapping[str, Any],
                    entities: Mapping[str, Entity], entity: str,
                    pipelines: Mapping[str, Pipeline] | None = None) -> None:
    for at, path, spec in leaves(condition, tuple(where)):
        field = check_path(report, source, at, entities, entity, path, key=True)
        if field is None or not isinstance(spec, Mapping):
            continue
        for operator in HOUR_OPERATORS:
            if operator in spec and field.type != "datetime":
                report.add(source, at + [operator],
                           f"'{operator}' applies to date-time fields; '{path}' is a {field.type} field"
                           + (", which has no hours (use older_than_days or within)" if field.type == "date" else ""))
        for operator in STAGE_OPERATORS:
            if operator not in spec:
                continue
            if field.type != "stage":
                report.add(source, at + [operator], f"'{operator}' applies to stage fields only")
            elif operator == "stalled" and pipelines is not None:
                pipeline = pipelines.get(field.pipeline or "")
                if pipeline is not None and pipeline.stall_after_days is None:
                    report.add(source, at + [operator],
                               f"pipeline '{pipeline.name}' has no stall_after_days, so nothing is ever stalled")
