"""What every part of the OpenAPI description shares: paging and limits, filter operators, the
common errors and the references to them."""
from __future__ import annotations

from typing import Any

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
RESERVED = ("q", "sort", "limit", "after")  # query parameters that are not filters

_CHOICE = ("eq", "ne", "in", "not_in", "is_set")
_ORDERED = ("eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "is_set")
_TEMPORAL = ("eq", "ne", "gt", "gte", "lt", "lte", "within", "until", "older_than_days", "newer_than_days",
             "not_older_than_days", "is_set")
OPERATORS: dict[str, tuple[str, ...]] = {
    **{kind: ("eq", "ne", "in", "not_in", "contains", "is_set")
       for kind in ("text", "textarea", "email", "phone", "url", "autonumber")},
    "select": _CHOICE, "stage": _CHOICE, "reference": _CHOICE, "user": _CHOICE,
    "integer": _ORDERED, "number": _ORDERED, "money": _ORDERED, "percent": _ORDERED,
    "date": _TEMPORAL, "datetime": _TEMPORAL + ("older_than_hours", "within_last_hours"),
    "boolean": ("eq", "ne", "is_set"),
    "multiselect": ("eq", "in", "contains", "is_set"),  # eq/contains: has the value; in: has any
    "location": (),
}
OPERATOR_TEXT = {
    "eq": "equals (empty: is not set)", "ne": "differs from", "in": "one of (comma-separated)",
    "not_in": "none of (comma-separated)", "gt": "greater than", "gte": "at least",
    "lt": "less than", "lte": "at most", "contains": "contains (case-insensitive)",
    "within": "within a relative period", "older_than_days": "more than N days ago",
    "newer_than_days": "within the last N days",
    "not_older_than_days": "no date, or at most N days ago (the future included)",
    "is_set": "has a value (true) or not (false)",
    "until": "up to the end of a relative period", "older_than_hours": "more than N hours ago",
    "within_last_hours": "within the last N hours",
}
PERIOD = r"^(today|yesterday|tomorrow|(this|last|next)_(week|month|quarter|year)|(last|next)_[0-9]+_days)$"
DECIMAL = r"^-?[0-9]+(\.[0-9]+)?$"


def response_ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/responses/{name}"}


def paging() -> list[dict[str, Any]]:
    return [
        {"name": "q", "in": "query", "description": "Quick search over the entity's search fields",
         "schema": {"type": "string"}},
        {"name": "sort", "in": "query", "description": "Fields, comma-separated; `-` sorts descending "
         "(e.g. `-amount,name`). Default: the list view's sort", "schema": {"type": "string"}},
        {"name": "limit", "in": "query", "description": f"Records per page (default {DEFAULT_LIMIT}, "
         f"at most {MAX_LIMIT})", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT,
                                             "default": DEFAULT_LIMIT}},
        {"name": "after", "in": "query", "description": "The `next` cursor of the previous page",
         "schema": {"type": "string"}},
    ]


def error_response(description: str, schema: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}


COMMON_SCHEMAS: dict[str, Any] = {
    "Error": {"type": "object", "required": ["error"], "properties": {
        "error": {"type": "string", "description": "bad_request, unauthorized, forbidden, csrf, not_found"},
        "message": {"type": "string", "description": "For people, in the caller's language"},
        "parameter": {"type": "string", "description": "The query parameter at fault, if any"}}},
    "ValidationErrors": {"type": "object", "required": ["errors"], "properties": {
        "errors": {"type": "object", "description": "Field name (or `_record`) → messages in the "
                   "caller's language", "additionalProperties": {"type": "array", "items": {"type": "string"}}}}},
}
COMMON_RESPONSES: dict[str, Any] = {
    "BadRequest": error_response("Malformed JSON, a body that is not an object, or a bad filter, sort, "
                         "limit or cursor", "Error"),
    "Unauthorized": error_response("No valid token or session", "Error"),
    "Forbidden": error_response("The role may not do this on this entity at all (or the CSRF header is "
                        "missing on a cookie-authenticated change)", "Error"),
    "NotFound": error_response("No such record, or one the caller may not see (the same answer for both)", "Error"),
    "ValidationFailed": error_response("Field errors; nothing was saved", "ValidationErrors"),
}
