"""Filters through a reference (`account.tier: gold`) as a list of the linked ids.

A list filtered on a linked record's field joins that record and checks it row by row. On PostgreSQL
the planner then scans the list's table in storage order, probing each row's linked record (10,000
probes for 1,001 matches, measured at 1,000,000 rows), as nothing tells it the linked entity's own
indexes find the few linked ids first. `account = ANY(the readable gold accounts' ids)` reads those
ids once, from the linked entity's indexes, and then the list's (account) index.

Only conditions no missing link can meet become such a list: in the join a missing link reads as
empty values, which `is_set: false` or `ne` would match and an id list would not.
"""
from __future__ import annotations

from typing import Any, Mapping

from atrium.metadata.condition_tree import LOGICAL
from atrium.metadata.model import Entity

# operators no empty value meets (conditions.py `_operator`)
REJECTING = frozenset({"in", "lt", "lte", "gt", "gte", "between", "contains", "within", "until",
                       "older_than_days", "newer_than_days", "older_than_hours", "within_last_hours"})


def rejects_missing(spec: Any) -> bool:
    """Whether no empty value meets the condition (so neither does a missing link)."""
    if not isinstance(spec, Mapping):
        return spec is not None
    if not spec:
        return False
    return all(operator in REJECTING or operator == "eq" and value is not None
               or operator == "is_set" and value is True for operator, value in spec.items())


def split(entity: Entity, where: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """(the conditions left as they are, {reference field: its linked record's conditions}) for the
    top-level conditions one step through a reference to another entity that no missing link meets."""
    rest: dict[str, Any] = {}
    linked: dict[str, dict[str, Any]] = {}
    for path, spec in where.items():
        step, _, tail = path.partition(".")
        field = entity.fields.get(step)
        if path not in LOGICAL and tail and "." not in tail and field is not None \
                and field.type == "reference" and field.to != entity.name and rejects_missing(spec):
            linked.setdefault(step, {})[tail] = spec
        else:
            rest[path] = spec
    return rest, linked
