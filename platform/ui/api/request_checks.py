"""Requests checked against the caller's own OpenAPI description (ui/api/openapi.py), the one
definition of what the API takes: the list's paging and filter parameters and a record's body on
create and change, before anything else reads them. A parameter that breaks its schema is a 400
naming it; a record body that breaks its schema is a 422 with the field's message, as the records
service's own refusals are. What the schema cannot say (a record that must exist, a rule of the
blueprint) stays the records service's to refuse.

Query parameters arrive as text: each is read as its schema's type first (an integer parameter
takes `12`, a boolean `true` or `false`), then validated as JSON would be.
"""
from __future__ import annotations

import functools
import json
import re
from typing import Any, Iterable, Mapping

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from atrium.runtime.automation.messages import message
from atrium.runtime.records.coercion import CoercionError
from atrium.runtime.records.errors import ValidationFailed
from atrium.ui.api.calls import ApiError
from atrium.ui.web.i18n import word

INTEGER = re.compile(r"^-?[0-9]{1,20}$")
NUMBER = re.compile(r"^-?[0-9]{1,20}(\.[0-9]{1,20})?$")
LINES = "lines"


@functools.lru_cache(maxsize=4096)
def _validator(schema_json: str) -> Draft202012Validator:
    return Draft202012Validator(json.loads(schema_json), format_checker=Draft202012Validator.FORMAT_CHECKER)


def validator(schema: Mapping[str, Any]) -> Draft202012Validator:
    return _validator(json.dumps(schema, sort_keys=True, default=str))


def _types(schema: Mapping[str, Any]) -> list[str]:
    kind = schema.get("type", [])
    return [kind] if isinstance(kind, str) else list(kind)


def from_text(schema: Mapping[str, Any], raw: str) -> Any:
    """A query parameter's text as the value its schema describes (the first of `anyOf` unless empty)."""
    if "anyOf" in schema:
        return raw if raw == "" else from_text(schema["anyOf"][0], raw)
    types = _types(schema)
    if "integer" in types:
        if not INTEGER.match(raw):
            raise CoercionError("not_integer")
        return int(raw)
    if "number" in types:
        if not NUMBER.match(raw):
            raise CoercionError("not_number")
        return float(raw)
    if "boolean" in types:
        if raw not in ("true", "false"):
            raise CoercionError("not_boolean")
        return raw == "true"
    if "enum" in schema and "string" not in types:
        return next((value for value in schema["enum"] if value is not None and str(value) == raw), raw)
    return raw


def describe(error: ValidationError, locale: str) -> str:
    """One schema error in the caller's language, in the words the records service uses."""
    kind, value = error.validator, error.validator_value
    schema: Mapping[str, Any] = error.schema if isinstance(error.schema, Mapping) else {}
    if kind == "anyOf" and error.context:  # a filter's "value, or empty": what is wrong with the value
        first = [e for e in error.context if e.schema_path and e.schema_path[0] == 0]
        if first and isinstance(first[0].schema, Mapping) and "format" not in first[0].schema:
            return describe(first[0], locale)
        formats = [e.schema.get("format") for e in error.context if isinstance(e.schema, Mapping)]
        if "date" in formats:
            return message("not_datetime", locale)
    types = _types(schema)
    if kind == "type" or (kind == "pattern" and ("number" in types or "integer" in types)):
        key = ("not_integer" if "integer" in types else "not_number" if "number" in types
               else "not_boolean" if "boolean" in types else "not_text")
        if kind == "pattern" and "number" in types:  # an exact decimal sent as text
            key = "not_number"
        return message(key, locale)
    if kind == "minimum":
        return message("too_small", locale, min=value)
    if kind == "maximum":
        return message("too_large", locale, max=value)
    if kind == "maxLength":
        return message("too_long", locale, max=value)
    if kind == "enum":
        return message("not_option", locale, value=error.instance)
    if kind in ("format", "pattern"):
        form = {"email": "not_email", "date": "not_date", "date-time": "not_datetime",
                "uri": "not_url"}.get(str(schema.get("format")))
        return message(form, locale) if form else word("This value is not in the form it must take", locale)
    return word("This value is not in the form it must take", locale)


def check_query(parameters: Iterable[Mapping[str, Any]], filters: Mapping[str, Any] | None, params: Any,
                locale: str) -> None:
    """Each query parameter the operation (or its filter object) names, against its schema: 400."""
    schemas = {parameter["name"]: parameter["schema"] for parameter in parameters if parameter.get("in") == "query"}
    named = (filters or {}).get("properties", {})
    for key, raw in params.multi_items():
        schema = schemas.get(key) or named.get(key)
        if schema is None:  # not the document's: the handler says what is wrong with it
            continue
        try:
            value = from_text(schema, raw)
        except CoercionError as error:  # not text of its schema's type
            raise ApiError(400, {"error": "bad_request", "parameter": key,
                                 "message": message(error.key, locale)}) from None
        problem = next(iter(validator(schema).iter_errors(value)), None)
        if problem is not None:
            raise ApiError(400, {"error": "bad_request", "parameter": key, "message": describe(problem, locale)})


def check_record(schema: Mapping[str, Any], data: Mapping[str, Any], fields: Mapping[str, Any],
                 locale: str) -> None:
    """A record's body against its schema: 422 with a message per field (400 for `lines`, whose
    rows the records service checks field by field)."""
    errors: dict[str, list[str]] = {}
    for problem in validator(schema).iter_errors(data):
        path = list(problem.absolute_path)
        if path and path[0] == LINES:
            raise ApiError(400, {"error": "bad_request", "parameter": LINES,
                                 "message": word("'lines' must be an object of rows by grid", locale)})
        if problem.validator == "required" and not path:
            for name in problem.validator_value:
                if name not in data:
                    errors.setdefault(name, [message("required", locale)])
        elif problem.validator == "additionalProperties" and not path:
            for name in data:
                if name not in schema.get("properties", {}):
                    errors.setdefault(str(name), [message("field_not_allowed", locale) if name in fields
                                                  else message("unknown_field", locale, field=name)])
        else:
            errors.setdefault(str(path[0]) if path else "_record", [describe(problem, locale)])
    if errors:
        raise ValidationFailed(errors)


def check_body(schema: Mapping[str, Any], data: Any, locale: str) -> None:
    """Any other JSON body against its schema: 400 naming the member at fault."""
    problem = next(iter(validator(schema).iter_errors(data)), None)
    if problem is not None:
        where = ".".join(str(step) for step in problem.absolute_path)
        raise ApiError(400, {"error": "bad_request", **({"parameter": where} if where else {}),
                             "message": describe(problem, locale)})
