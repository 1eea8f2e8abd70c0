"""Whether a column's type may change without losing a value: the planner's type comparisons.

A column keeps its family (text, integer, numeric, ...) or widens (integer → numeric, date →
datetime, a longer text, more digits); anything else could lose data and is refused, with the
reason (migrations.py plans the change or the refusal).
"""
from __future__ import annotations

import sqlalchemy as sa

FAMILIES = ("boolean", "integer", "float", "numeric", "datetime", "date", "json", "text")
# (from family, to family) changes that keep every value
WIDENINGS = {("integer", "numeric"), ("integer", "float"), ("numeric", "float"),
             ("date", "datetime")}


def family(column_type: sa.types.TypeEngine) -> str:
    for kind, family_name in ((sa.Boolean, "boolean"), (sa.Integer, "integer"), (sa.Float, "float"),
                              (sa.Numeric, "numeric"), (sa.DateTime, "datetime"), (sa.Date, "date"),
                              (sa.JSON, "json"), (sa.String, "text")):
        if isinstance(column_type, kind):
            return family_name
    impl = getattr(column_type, "impl", None)
    if impl is not None:  # TypeDecorator
        return family(impl)
    return type(column_type).__name__.lower()


def _length(column_type: sa.types.TypeEngine) -> int | None:
    """A String's length; None means unbounded (TEXT)."""
    return getattr(column_type, "length", None)


def type_change(table: str, column: str, live: sa.types.TypeEngine,
                 wanted: sa.types.TypeEngine) -> tuple[str | None, str | None]:
    """(description of a safe change, None) or (None, why it is refused); (None, None) if equal."""
    old, new = family(live), family(wanted)
    if old == new == "text":
        old_length, new_length = _length(live), _length(wanted)
        if old_length == new_length or new_length is None and old_length is None:
            return None, None
        if new_length is None or (old_length is not None and new_length > old_length):
            return f"widen {table}.{column} from {old_length} to {new_length or 'unlimited'} characters", None
        return None, None  # a shorter max_length is enforced by the records service, not the column
    if old == new == "numeric":
        old_p, old_s = getattr(live, "precision", None), getattr(live, "scale", None)
        new_p, new_s = getattr(wanted, "precision", None), getattr(wanted, "scale", None)
        if (old_p, old_s) == (new_p, new_s) or old_p is None or new_p is None:
            return None, None
        if new_p >= old_p and (new_s or 0) >= (old_s or 0):
            return f"widen {table}.{column} to {new_p} digits, {new_s} decimals", None
        return None, f"{table}.{column}: narrowing NUMERIC({old_p},{old_s}) to ({new_p},{new_s}) could lose data"
    if old == new:
        return None, None
    if (old, new) in WIDENINGS:
        return f"change {table}.{column} from {old} to {new}", None
    return None, (f"{table}.{column}: changing the column from {old} to {new} could lose data; "
                  f"add a new field (and copy values with an import) instead")
