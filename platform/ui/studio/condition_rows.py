"""A `where` condition as rows of a studio form (field, operator, value) and back; the operators
with their names in the admin's language."""
from __future__ import annotations

from typing import Any, Mapping

from atrium.translation import N_
from atrium.ui.studio.forms import inline_yaml, yaml_value

CONDITION = ("field", "op", "value")
# operator → its name for people (msgids; the Chinese is in the catalog)
OPERATOR_WORDS: dict[str, str] = {
    "eq": N_("equals"),
    "ne": N_("is not"),
    "lt": N_("less than"),
    "lte": N_("at most"),
    "gt": N_("greater than"),
    "gte": N_("at least"),
    "in": N_("is one of"),
    "not_in": N_("is none of"),
    "between": N_("between"),
    "is_set": N_("is filled in (true/false)"),
    "contains": N_("contains"),
    "within": N_("within the period"),
    "until": N_("until the end of the period"),
    "older_than_days": N_("more than N days ago"),
    "newer_than_days": N_("at most N days ago"),
    "not_older_than_days": N_("not more than N days ago"),
    "older_than_hours": N_("more than N hours ago"),
    "within_last_hours": N_("within the last N hours"),
    "stalled": N_("stalled in its stage (true/false)"),
    "in_stage_longer_than_days": N_("in its stage longer than N days"),
}
OPERATORS = tuple(OPERATOR_WORDS)


def condition_rows(where: Mapping[str, Any] | None) -> list[dict[str, str]]:
    """One row per field and operator (a plain value is `equals`)."""
    found = []
    for path, spec in (where or {}).items():
        if isinstance(spec, Mapping):
            found += [{"field": path, "op": op, "value": inline_yaml(value)} for op, value in spec.items()]
        else:
            found.append({"field": path, "op": "eq", "value": inline_yaml(spec)})
    return found


def condition_of(posted: list[dict[str, str]], prefix: str = "cond") -> tuple[dict[str, Any], dict[str, str]]:
    """(the `where` mapping, errors by input) from the posted rows; `equals` alone stays a plain value."""
    where: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for index, row in enumerate(posted):
        path, op = row["field"].strip(), row["op"] or "eq"
        if not path:
            continue
        try:
            value = yaml_value(row["value"])
        except ValueError:
            errors[f"{prefix}-{index}-value"] = N_("Not a value YAML can read")
            continue
        add_condition(where, path, op, value)
    return where, errors


def add_condition(where: dict[str, Any], path: str, op: str, value: Any) -> None:
    """Put one row's `path op value` into `where`: a plain value for the first equality, operators
    side by side when the same field is given more than one row."""
    if op == "eq" and path not in where:
        where[path] = value
        return
    current = where.get(path)
    ops = current if isinstance(current, dict) else ({} if path not in where else {"eq": current})
    ops[op] = value
    where[path] = ops
