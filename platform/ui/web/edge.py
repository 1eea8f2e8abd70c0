"""Malformed input stops at the edge: a value that no page, no API call and no database column
can mean is answered 400 before it reaches a handler or SQL, never with a 500.

One place for what the pages and the JSON API share:

- `EdgeGuard`, a middleware in front of every route: the path and the query string may not hold a
  NUL byte (PostgreSQL refuses it in a text, and closes nothing gracefully when it meets one), and
  a path segment made of digits (a record, approval, notification or history id) must fit the
  database's 64-bit integer. It answers through the app's own AtriumError handler, so the API
  gets its JSON error (`{"error": "bad_request", "message", "parameter"}`) and the pages the plain
  notice page, in the reader's language.
- `whole_number`, for the ids and counts handlers read from a query string or a form (`before`,
  `record`, `version`, a chosen record): digits only, within the same range, else `MalformedInput`.
- `check_json`, for every JSON body the API reads: no NUL in any string, no integer beyond 64
  bits, no NaN or infinity (Python's JSON reader takes `1e999999`, `NaN` and `Infinity`).
- `check_form`, for every form a page reads: no NUL in any field.

Values typed by a field (filters, record values) are checked by the records' coercion, which both
surfaces call; keyset cursors by their decoder (runtime/query/lists.py): each refuses with a 400
of its own.
"""
from __future__ import annotations

import math
import re
from typing import Any, Mapping
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from atrium.errors import AtriumError
from atrium.translation import N_, negotiate, word

ID_MAX = 2 ** 63 - 1  # BIGINT, the type of every id and integer column on both databases
ID_MIN = -(2 ** 63)
DIGITS = re.compile(r"[0-9]{1,20}")
NUL = "\x00"

NUL_TEXT = N_("A NUL character (\\0) is not allowed")
NOT_ID = N_("Not a valid id or number: it must be a whole number from {low} to {high}")
TOO_LARGE = N_("A number in the body is too large (at most {high})")
NOT_FINITE = N_("A number in the body is not a finite number")


class MalformedInput(AtriumError):
    """A value no handler can mean: 400, naming the parameter (in the reader's language)."""

    status, code = 400, "bad_request"

    def __init__(self, locale: str, parameter: str, msgid: str, **params: Any):
        super().__init__(word(msgid, locale, **params))
        self.parameter = parameter

    def payload(self) -> dict[str, Any]:
        return {"error": self.code, "message": str(self), "parameter": self.parameter}


# --- what handlers call ----------------------------------------------------------------------

def whole_number(text: Any, parameter: str, locale: str, low: int = 0, high: int = ID_MAX) -> int | None:
    """A query or form value as a whole number from `low` to `high`; empty or absent is None."""
    if text is None or (isinstance(text, str) and text.strip() == ""):
        return None
    raw = text.strip() if isinstance(text, str) else ""
    number = int(raw) if DIGITS.fullmatch(raw) else None
    if number is None or not low <= number <= high:
        raise MalformedInput(locale, parameter, NOT_ID, low=low, high=high)
    return number


def id_or_none(text: Any) -> int | None:
    """A value that may name a record (a picker's choice shown again) as an id, or None."""
    raw = str(text).strip() if isinstance(text, str | int) and not isinstance(text, bool) else ""
    number = int(raw) if DIGITS.fullmatch(raw) else None
    return number if number is not None and number <= ID_MAX else None


def check_json(data: Any, locale: str, parameter: str = "body") -> None:
    """Every string, key and number of a parsed JSON body (iteratively: depth costs no stack)."""
    pending: list[tuple[str, Any]] = [(parameter, data)]
    while pending:
        where, value = pending.pop()
        if isinstance(value, str):
            if NUL in value:
                raise MalformedInput(locale, where, NUL_TEXT)
        elif isinstance(value, bool) or value is None:
            continue
        elif isinstance(value, int):
            if not ID_MIN <= value <= ID_MAX:
                raise MalformedInput(locale, where, TOO_LARGE, high=ID_MAX)
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise MalformedInput(locale, where, NOT_FINITE)
        elif isinstance(value, Mapping):
            for key, item in value.items():
                if NUL in key:
                    raise MalformedInput(locale, where, NUL_TEXT)
                pending.append((key if where == parameter else f"{where}.{key}", item))
        elif isinstance(value, list):
            pending.extend((where, item) for item in value)


def check_form(form: Any, locale: str) -> None:
    """No NUL in a form's names or text values (an uploaded file is the importer's to judge)."""
    for key, value in form.multi_items():
        if NUL in key or (isinstance(value, str) and NUL in value):
            raise MalformedInput(locale, key.replace(NUL, ""), NUL_TEXT)


# --- the middleware ----------------------------------------------------------------------------

def malformed_target(path: str, query: str, locale: str) -> MalformedInput | None:
    """What is wrong with a request's path or query string, if anything."""
    if NUL in path:
        return MalformedInput(locale, "path", NUL_TEXT)
    for segment in path.split("/"):
        if segment.isascii() and segment.isdigit() and (len(segment) > 19 or int(segment) > ID_MAX):
            return MalformedInput(locale, "path", NOT_ID, low=0, high=ID_MAX)
    for key, value in parse_qsl(query, keep_blank_values=True):
        if NUL in key or NUL in value:
            return MalformedInput(locale, key.replace(NUL, ""), NUL_TEXT)
    return None


class EdgeGuard:
    """Refuses a malformed path or query string with the app's own answer to an AtriumError. Sits
    inside the identity middleware, so the answer is in the reader's language."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        query = scope.get("query_string", b"").decode("latin-1")
        problem = malformed_target(scope["path"], query, _locale(request))
        if problem is None:
            await self.app(scope, receive, send)
            return
        handler = scope["app"].exception_handlers[AtriumError]
        response = handler(request, problem)
        await response(scope, receive, send)


def _locale(request: Request) -> str:
    """The API's language rule (Accept-Language first), the pages' (the reader's own) otherwise."""
    default = getattr(request.state, "locale", None) or "en"
    if request.url.path.startswith("/api/"):
        locales = request.app.state.site.blueprint.locales
        return negotiate(request.headers.get("accept-language", ""), locales) or default
    return default
