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
    "file": (),
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
# The values the columns hold (runtime/records/coercion.py LIMITS, INTEGER_LIMIT): a BIGINT, money
# below 10^13 to the cent, a percent below 10^5 to 0.0001, a number below 10^15.
MAX_ID = 2 ** 63 - 1
EXACT = {"money": (r"^-?[0-9]{1,13}(\.[0-9]{1,2})?$", 9999999999999.99),
         "percent": (r"^-?[0-9]{1,5}(\.[0-9]{1,4})?$", 99999.9999)}
MAX_NUMBER = 99999999999999
MAX_DAYS = 36500  # `older_than_days` and the like: a hundred years (in hours for the `_hours` ones)
LISTED = "[^,\\s]"  # a comma-separated list (`__in`, `__not_in`) names at least one value


def response_ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/responses/{name}"}


def paging(sortable: list[str]) -> list[dict[str, Any]]:
    key = "[-+]?(" + "|".join(sorted(sortable, key=len, reverse=True)) + ")"
    return [
        {"name": "q", "in": "query", "description": "Quick search over the entity's search fields",
         "schema": {"type": "string"}},
        {"name": "sort", "in": "query", "description": "Fields, comma-separated; `-` sorts descending "
         "(e.g. `-amount,name`). Default: the list view's sort",
         "schema": {"type": "string", "pattern": rf"^\s*({key}\s*(,\s*{key}\s*)*)?$"}},
        {"name": "limit", "in": "query", "description": f"Records per page (default {DEFAULT_LIMIT}, "
         f"at most {MAX_LIMIT})", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT,
                                             "default": DEFAULT_LIMIT}},
        {"name": "after", "in": "query", "description": "The `next` cursor of the previous page",
         "schema": {"type": "string"}},
    ]


WHERE_PARAMETER: dict[str, Any] = {
    "name": "where", "in": "query",
    "description": "A condition in the metadata's own language, as JSON, applied together with the other "
                   "filters: field entries (`{\"stage\": \"won\"}`, `{\"amount\": {\"gte\": 1000}}`, "
                   "`{\"account.tier\": {\"in\": [\"a\", \"b\"]}}`) all hold, `any: [...]` holds when one "
                   "of its conditions does (OR), `all: [...]` when each does; they nest up to 4 deep, 50 "
                   "entries at most. Each entry takes the operators and values of the same filter in the "
                   "query string; an unknown or hidden field, an operator that does not apply or a bad value "
                   "is a 400 naming `where`. E.g. "
                   "`where={\"any\": [{\"stage\": {\"in\": [\"won\", \"lost\"]}}, "
                   "{\"amount\": {\"gte\": 1000}}]}`",
    "schema": {"type": "string", "minLength": 2, "maxLength": 8000}}


def id_parameter() -> dict[str, Any]:
    """The `{id}` of a path: a record's (or an approval's) id."""
    return {"name": "id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1,
                                                                      "maximum": MAX_ID}}


def error_response(description: str, schema: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}


# the body member that saves a record although records like it exist (runtime/duplicates/finder.py)
ALLOW_DUPLICATE = "allow_duplicate"
COMMON_SCHEMAS: dict[str, Any] = {
    "Error": {"type": "object", "required": ["error"], "properties": {
        "error": {"type": "string", "description": "bad_request, unauthorized, forbidden, csrf, not_found, "
                                                   "method_not_allowed, too_large, stale, approval, pool, "
                                                   "duplicates, automation ..."},
        "message": {"type": "string", "description": "For people, in the caller's language"},
        "parameter": {"type": "string", "description": "The parameter (or body member) at fault, if any"},
        "reason": {"type": "string", "description": "The rule that refused, where there are several"}}},
    "Duplicates": {"type": "object", "required": ["error", "duplicates"], "properties": {
        "error": {"const": "duplicates"}, "message": {"type": "string"},
        "duplicates": {"type": "object", "required": ["entity", "candidates", "more", "hidden"], "properties": {
            "entity": {"type": "string"},
            "candidates": {"type": "array", "description": "Similar records the caller may read",
                           "items": {"type": "object", "required": ["id", "title"], "properties": {
                               "id": {"type": "integer"}, "title": {"type": "string"}}}},
            "more": {"type": "integer", "description": "Readable similar records beyond those listed"},
            "hidden": {"type": "integer", "description": "Similar records the caller may not read (counted, "
                                                        "not shown)"}}}}},
    "ValidationErrors": {"type": "object", "required": ["errors"], "properties": {
        "errors": {"type": "object", "description": "Field name (or `_record`) → messages in the "
                   "caller's language", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
        "lines": {"type": "object", "description": "Per line grid, the bad rows by index → field → messages"}}},
}
COMMON_RESPONSES: dict[str, Any] = {
    "BadRequest": error_response("Malformed JSON, a body that is not an object, a malformed id, or a bad "
                                 "filter, sort, limit or cursor", "Error"),
    "Unauthorized": error_response("No valid token or session", "Error"),
    "Forbidden": error_response("The role may not do this on this entity at all (or the CSRF header is "
                        "missing on a cookie-authenticated change)", "Error"),
    "NotFound": error_response("No such record, or one the caller may not see (the same answer for both)", "Error"),
    "ValidationFailed": {"description": "Field errors (or a rule of the blueprint refused); nothing was saved",
                         "content": {"application/json": {"schema": {"anyOf": [
                             {"$ref": "#/components/schemas/ValidationErrors"},
                             {"$ref": "#/components/schemas/Error"}]}}}},
    "Conflict": error_response("The record's state refuses this now (stale, locked by an approval, "
                               "already decided ...); nothing changed", "Error"),
    "TooLarge": {"description": "The request body is larger than the site accepts (answered before the API "
                                "reads it, as plain text)"},
}
# What any operation may answer besides its own: a malformed id or parameter, no caller, a role
# (or a missing CSRF header) that refuses, nothing there. Writes add 409, 413 and 422.
READ_ERRORS: dict[str, Any] = {"400": response_ref("BadRequest"), "401": response_ref("Unauthorized"),
               "403": response_ref("Forbidden"), "404": response_ref("NotFound")}
WRITE_ERRORS: dict[str, Any] = {**READ_ERRORS, "409": response_ref("Conflict"), "413": response_ref("TooLarge"),
                "422": response_ref("ValidationFailed")}
