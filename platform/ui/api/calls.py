"""What every JSON API endpoint shares: who is calling and in which language, the guard that
checks the entity and the role's right before a handler runs, reading a JSON body, writing
records as JSON, and the 400 answers (`ApiError`, `bad_request`)."""
from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
from decimal import Decimal
from typing import Any, Awaitable, Callable, Mapping

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from atrium.errors import AtriumError
from atrium.metadata.model import Entity
from atrium.runtime.access.secured import AccessDenied
from atrium.runtime.pool.conversion import TargetPlan
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.records.service import RecordNotFound
from atrium.translation import negotiate
from atrium.ui.api.openapi_common import DEFAULT_LIMIT, MAX_ID, MAX_LIMIT
from atrium.ui.web.edge import check_json
from atrium.ui.web.i18n import word

STEPS = {"money": Decimal("0.01"), "percent": Decimal("0.0001")}
UNAUTHORIZED = {"error": "unauthorized"}


class ApiError(AtriumError):
    """An answer the API shapes itself (a 400 naming the parameter): `body` is sent as it is."""

    def __init__(self, status: int, body: dict[str, Any]):
        super().__init__(body)
        self.status, self.body = status, body

    def payload(self) -> dict[str, Any]:
        return self.body


def bad_request(locale: str, msgid: str, parameter: str | None = None, **params: Any) -> ApiError:
    body = {"error": "bad_request", "message": word(msgid, locale, **params)}
    if parameter is not None:
        body["parameter"] = parameter
    return ApiError(400, body)


# --- who is calling, in which language ---------------------------------------------------------

def caller_locale(request: Request) -> str:
    """The first Accept-Language the blueprint speaks (by q-value), else the user's language."""
    locales = request.app.state.site.blueprint.locales
    return negotiate(request.headers.get("accept-language", ""), locales) or request.state.locale


Handler = Callable[[Request, Any, Actor, Entity], Awaitable[Response]]


def api_caller(request: Request) -> Actor | None:
    """The signed-in caller in the language they asked for, or None (answer 401)."""
    if request.state.actor is None:
        return None
    return dataclasses.replace(request.state.actor, locale=caller_locale(request))


def api_endpoint(action: str) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
    """Authenticated, the entity known, the role allowed `action` on it. What the handler raises
    is answered by the API's error handler (ui/api/errors.py)."""
    def decorate(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        @functools.wraps(handler)
        async def endpoint(request: Request) -> Response:
            actor = api_caller(request)
            if actor is None:
                return JSONResponse(UNAUTHORIZED, status_code=401)
            site = request.app.state.site
            entity = site.blueprint.entities.get(request.path_params["entity"])
            if entity is None:
                raise RecordNotFound(request.path_params["entity"])
            if not site.access.can(actor, entity.name, action):
                raise AccessDenied(entity.name)
            return await handler(request, site, actor, entity)
        return endpoint
    return decorate


# --- records as JSON ----------------------------------------------------------------------------

def plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")  # exact, never 1E+2
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


def to_json(entity: Entity, record: Mapping[str, Any]) -> dict[str, Any]:
    """System fields first, then the entity's fields as the blueprint lists them (hidden ones already gone)."""
    keys = [k for k in ("id", "version", "created_at", "updated_at", "created_by", "updated_by") if k in record]
    result = {key: plain(record[key]) for key in keys}
    for field in entity:
        if field.name in record:
            value = record[field.name]
            if field.type in STEPS and value is not None:  # exact decimals, as the column keeps them
                value = Decimal(str(value)).quantize(STEPS[field.type])
            result[field.name] = plain(value)
    return result


def plans_json(plans: list[TargetPlan]) -> dict[str, Any]:
    """A conversion's targets: the values each would get, and the records it could link instead."""
    return {plan.target.name: {"entity": plan.target.entity, "optional": plan.target.optional,
                               "values": plain(plan.values), "linked": plan.linked,
                               "candidates": [{"id": c.id, "title": c.title} for c in plan.candidates]}
            for plan in plans}


def json_object(body: bytes, locale: str) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise bad_request(locale, "The body is not valid JSON") from None
    if not isinstance(data, dict):
        raise bad_request(locale, "The body must be a JSON object")
    check_json(data, locale)
    return data


def page_limit(actor: Actor, raw: str | None) -> int:
    """`limit` as the document says: a whole number from 1 to MAX_LIMIT (more is refused, not cut)."""
    if raw is None:
        return DEFAULT_LIMIT
    text = raw.strip()
    if not (text.isascii() and text.isdigit() and len(text) <= 4 and 1 <= int(text) <= MAX_LIMIT):
        raise bad_request(actor.locale, "limit must be a whole number from 1 to {max}", "limit", max=MAX_LIMIT)
    return int(text)


def parse_id(raw: str) -> int | None:
    """An id as the document says: a whole number from 1 to the largest BIGINT, else None."""
    if not raw.isascii() or not raw.isdigit() or len(raw) > 19:
        return None
    value = int(raw)
    return value if 1 <= value <= MAX_ID else None
