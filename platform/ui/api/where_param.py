"""The list's `where=` query parameter: a condition in the metadata's own language, as JSON, so a
caller can say OR (`any:`) and nest it (`all:`) where the query string's filters all apply:

    GET /api/v1/{entity}?where={"any": [{"stage": {"in": ["won", "lost"]}}, {"amount": {"gte": 1000}}]}

Each field entry is checked exactly as the same filter in the query string (`stage__in=won,lost`):
an unknown or hidden field, an operator that does not apply, a value of the wrong type is a 400
naming `where` and the entry. The whole condition applies together with the other filters (AND).
"""
from __future__ import annotations

import json
from typing import Any, Callable, Mapping

from starlette.datastructures import QueryParams

from atrium.metadata.condition_tree import LOGICAL
from atrium.ui.api.calls import ApiError, bad_request

MAX_DEPTH = 4  # any/all nested this deep at most
MAX_ENTRIES = 50  # field entries in one condition
MAX_TEXT = 8000  # characters of JSON

Parse = Callable[[QueryParams], dict[str, Any]]  # query-string filters → a condition, checked


def query_value(value: Any) -> str:
    """A condition's value as the query string carries it (a list: values joined by commas)."""
    if isinstance(value, list):
        return ",".join(query_value(item) for item in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def parse_where(raw: str, parse: Parse, locale: str, reserved: tuple[str, ...]) -> dict[str, Any]:
    """The `where=` text as a condition; every problem is a 400 with `parameter: where`."""
    try:
        data = json.loads(raw) if len(raw) <= MAX_TEXT else None
    except (ValueError, RecursionError):
        data = None
    if not isinstance(data, Mapping) or not data:
        raise bad_request(locale, "The where parameter must be a JSON object: field conditions, and any/all "
                                  "lists of them", "where")
    count = [0]
    return _node(data, "where", 0, count, parse, locale, reserved)


def _node(node: Mapping[str, Any], at: str, depth: int, count: list[int], parse: Parse, locale: str,
          reserved: tuple[str, ...]) -> dict[str, Any]:
    if depth > MAX_DEPTH:
        raise bad_request(locale, "The condition nests any/all more than {depth} deep", "where", depth=MAX_DEPTH)
    condition: dict[str, Any] = {}
    pairs: list[tuple[str, str]] = []
    for key, spec in node.items():
        if key in LOGICAL:
            if not isinstance(spec, list) or not spec or not all(isinstance(part, Mapping) and part for part in spec):
                raise bad_request(locale, "'{key}' takes a list of conditions", "where", key=f"{at}.{key}")
            condition[key] = [_node(part, f"{at}.{key}[{i}]", depth + 1, count, parse, locale, reserved)
                              for i, part in enumerate(spec)]
            continue
        if key in reserved or "__" in key:
            raise bad_request(locale, "There is no field '{field}' to filter by", "where", field=key)
        operators = spec if isinstance(spec, Mapping) else {"eq": spec}
        if not operators:
            raise bad_request(locale, "This value is not in the form it must take", "where")
        for operator, value in operators.items():
            if isinstance(value, Mapping):
                raise bad_request(locale, "This value is not in the form it must take", "where")
            pairs.append((key if operator == "eq" else f"{key}__{operator}", query_value(value)))
    count[0] += len(pairs)
    if count[0] > MAX_ENTRIES:
        raise bad_request(locale, "The condition has more than {count} entries", "where", count=MAX_ENTRIES)
    try:
        fields = parse(QueryParams(pairs))
    except ApiError as error:  # the filter's own message, said of the where parameter's entry
        entry = error.body.get("parameter")
        body = {**error.body, "parameter": "where"}
        if entry:
            body["message"] = f"{at}: {entry}: {error.body.get('message', '')}"
        raise ApiError(error.status, body) from None
    return {**fields, **condition}

