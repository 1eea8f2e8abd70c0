"""The JSON API (`/api/v1/...`): the same records, validation and access rules as the pages.

Every call goes through `SecuredRecords`, so a record the caller may not see is a 404 here as
everywhere, and hidden fields are neither shown nor accepted. Errors have one shape per kind:
400 `{"error": "bad_request", "message", "parameter"?}`, 401 `{"error": "unauthorized"}`,
403 `{"error": "forbidden" | "csrf", "message"?}`, 404 `{"error": "not_found"}`,
409 `{"error": "stale", "message", "current": record}`, 422 `{"errors": {field: [messages]}}`,
with messages in the caller's language (Accept-Language, else the user's).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
from decimal import Decimal
from typing import Any, Awaitable, Callable, Mapping

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from atrium.metadata.model import SYSTEM_FIELDS, Entity, Field, Label
from atrium.metadata.references import resolve_path
from atrium.runtime.records.coercion import CoercionError, coerce
from atrium.runtime.query.conditions import ConditionError
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.automation.messages import message
from atrium.runtime.query.periods import local_today, period_range
from atrium.runtime.query.lists import ListQuery
from atrium.runtime.records.service import RecordNotFound, StaleRecord, ValidationFailed
from atrium.runtime.reports.compiler import ReportRequest
from atrium.runtime.reports.runner import Reports
from atrium.runtime.reports.scope import ReportNotFound
from atrium.runtime.access.secured import AccessDenied, SecuredRecords
from atrium.translation import negotiate
from atrium.ui.web.i18n import word
from atrium.ui.api.openapi import document
from atrium.ui.api.openapi_common import DEFAULT_LIMIT, MAX_LIMIT, OPERATORS, RESERVED

SORTABLE_SYSTEM = ("id", "created_at", "updated_at")
ALL_OPERATORS = frozenset().union(*OPERATORS.values())
BOOLEAN = Field(name="value", type="boolean", label=Label.of("value"))
INTEGER = Field(name="value", type="integer", label=Label.of("value"))
MAX_DAYS = 36500
STEPS = {"money": Decimal("0.01"), "percent": Decimal("0.0001")}
UNAUTHORIZED = {"error": "unauthorized"}


class ApiError(Exception):
    def __init__(self, status: int, body: dict[str, Any]):
        super().__init__(body)
        self.status, self.body = status, body


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
# what every endpoint answers the same way
COMMON_ERRORS = (ApiError, RecordNotFound, AccessDenied, ValidationFailed)


def api_caller(request: Request) -> Actor | None:
    """The signed-in caller in the language they asked for, or None (answer 401)."""
    if request.state.actor is None:
        return None
    return dataclasses.replace(request.state.actor, locale=caller_locale(request))


def common_error(error: Exception, locale: str) -> JSONResponse:
    """One of COMMON_ERRORS as JSON."""
    if isinstance(error, ApiError):
        return JSONResponse(error.body, status_code=error.status)
    if isinstance(error, RecordNotFound):
        return JSONResponse({"error": "not_found"}, status_code=404)
    if isinstance(error, AccessDenied):
        return JSONResponse({"error": "forbidden", "message": word("You may not do that", locale)}, status_code=403)
    return JSONResponse({"errors": error.errors}, status_code=422)


def api_endpoint(action: str) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
    """Authenticated, the entity known, the role allowed `action` on it; runtime errors → JSON."""
    def decorate(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        @functools.wraps(handler)
        async def endpoint(request: Request) -> Response:
            actor = api_caller(request)
            if actor is None:
                return JSONResponse(UNAUTHORIZED, status_code=401)
            site = request.app.state.site
            entity = site.blueprint.entities.get(request.path_params["entity"])
            try:
                if entity is None:
                    raise RecordNotFound(request.path_params["entity"])
                if not site.access.can(actor, entity.name, action):
                    raise AccessDenied(entity.name)
                return await handler(request, site, actor, entity)
            except StaleRecord as error:
                current = SecuredRecords(site).visible(actor, entity.name, error.current)
                return JSONResponse({"error": "stale", "message": str(error),
                                     "current": to_json(entity, current)}, status_code=409)
            except COMMON_ERRORS as error:
                return common_error(error, actor.locale)
            except ConditionError as error:  # a cursor or path the runtime refused
                return JSONResponse({"error": "bad_request", "message": str(error)}, status_code=400)
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


async def json_object(request: Request, locale: str) -> dict[str, Any]:
    body = await request.body()
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise bad_request(locale, "The body is not valid JSON") from None
    if not isinstance(data, dict):
        raise bad_request(locale, "The body must be a JSON object")
    return data


def writable_values(data: Mapping[str, Any]) -> dict[str, Any]:
    """The body without system fields: a record read from the API can be sent back as it is."""
    return {key: value for key, value in data.items() if key not in SYSTEM_FIELDS}


# --- the query string → the condition language ---------------------------------------------------

class Filters:
    """Parses `field=v`, `field__op=v` and dotted paths into a condition, typed by the field."""

    def __init__(self, site: Any, actor: Actor, entity: Entity):
        self.site, self.actor, self.entity = site, actor, entity
        self.blueprint = site.blueprint

    def parse(self, params: Any) -> dict[str, dict[str, Any]]:
        where: dict[str, dict[str, Any]] = {}
        for key, raw in params.multi_items():
            if key in RESERVED or (key == "lang" and key not in self.entity.fields):  # ?lang= is the UI's
                continue
            path, operator = key, "eq"
            if "__" in key:
                path, _, operator = key.rpartition("__")
            field = self.field(path, key)
            if operator not in ALL_OPERATORS:
                raise bad_request(self.actor.locale, "'{operator}' is not a filter operator", key, operator=operator)
            if operator not in OPERATORS.get(field.type, ()):
                raise bad_request(self.actor.locale, "The operator '{operator}' does not apply to a {type} field", key,
                                  operator=operator, type=field.type)
            if operator in where.get(path, {}):
                raise bad_request(self.actor.locale, "This filter is given twice; use field__in=a,b for several values", key)
            where.setdefault(path, {})[operator] = self.value(field, operator, raw, key)
        return where

    def field(self, path: str, key: str) -> Field:
        """The field a path ends at; unknown, hidden, or through an entity the caller cannot read → 400."""
        resolved = resolve_path(self.blueprint.entities, self.entity.name, path)
        current = self.entity
        for step in path.split("."):
            if isinstance(resolved, str) or self.site.access.field_mode(self.actor, current.name, step) == "hidden":
                raise bad_request(self.actor.locale, "There is no field '{field}' to filter by", key, field=path)
            link = current.fields.get(step)
            if link is not None and link.type == "reference":
                if not self.site.access.can(self.actor, link.to, "read"):
                    raise bad_request(self.actor.locale, "There is no field '{field}' to filter by", key, field=path)
                current = self.blueprint.entities[link.to]
        return resolved  # type: ignore[return-value]

    def value(self, field: Field, operator: str, raw: str, key: str) -> Any:
        locale, timezone = self.actor.locale, self.blueprint.timezone
        try:
            if operator == "is_set":
                return coerce(BOOLEAN, raw)
            if operator in ("older_than_days", "newer_than_days", "older_than_hours", "within_last_hours"):
                most = MAX_DAYS * 24 if operator.endswith("_hours") else MAX_DAYS
                count = coerce(INTEGER, raw)
                if count is None or not 0 <= count <= most:
                    raise CoercionError("too_large", max=most)
                return count
            if operator in ("within", "until"):
                try:
                    period_range(raw, local_today(self.site.now(), timezone))
                except (ValueError, KeyError, OverflowError):
                    raise bad_request(locale, "'{period}' is not a period (e.g. this_month, last_30_days)", key, period=raw) from None
                return raw
            if operator == "contains" and field.type != "multiselect":
                return raw
            if operator in ("in", "not_in"):
                values = [self.scalar(field, part) for part in raw.split(",") if part.strip()]
                if not values:
                    raise CoercionError("required")
                return values
            value = self.scalar(field, raw)
            if value is None and operator not in ("eq", "ne"):
                raise CoercionError("required")
            return value
        except CoercionError as error:
            raise ApiError(400, {"error": "bad_request", "parameter": key,
                                 "message": message(error.key, locale, **error.params)}) from None

    def scalar(self, field: Field, raw: str) -> Any:
        if field.type == "multiselect":
            field = dataclasses.replace(field, type="select")
        value = coerce(field, raw, self.blueprint.timezone)
        if field.type == "stage" and value is not None:
            pipeline = self.blueprint.pipelines.get(field.pipeline or "")
            if pipeline and value not in pipeline.stage_names:
                raise CoercionError("not_stage", value=value)
        return value


def sort_keys(site: Any, actor: Actor, entity: Entity, raw: str) -> list[str]:
    keys = [part.strip() for part in raw.split(",") if part.strip()]
    for key in keys:
        name = key.lstrip("-+")
        field = entity.fields.get(name)
        sortable = (name in SORTABLE_SYSTEM or field is not None and field.type not in ("multiselect", "location")
                    and site.access.field_mode(actor, entity.name, name) != "hidden")
        if not sortable:
            raise bad_request(actor.locale, "Cannot sort by '{field}'", "sort", field=name)
    return keys


def page_limit(actor: Actor, raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    try:
        limit = int(raw)
    except ValueError:
        raise bad_request(actor.locale, "limit must be a whole number from 1 to {max}", "limit", max=MAX_LIMIT) from None
    if limit < 1:
        raise bad_request(actor.locale, "limit must be a whole number from 1 to {max}", "limit", max=MAX_LIMIT)
    return min(limit, MAX_LIMIT)


# --- endpoints ----------------------------------------------------------------------------------

@api_endpoint("read")
async def list_records(request: Request, site: Any, actor: Actor, entity: Entity) -> Response:
    params = request.query_params
    query = ListQuery(entity.name, where=Filters(site, actor, entity).parse(params), search=params.get("q", ""),
                      sort=sort_keys(site, actor, entity, params.get("sort", "")),
                      limit=page_limit(actor, params.get("limit")), after=params.get("after") or None)
    page = SecuredRecords(site).list(actor, query)
    return JSONResponse({"data": [to_json(entity, r) for r in page.records], "next": page.next_cursor,
                         "count": page.count, "count_capped": page.count_capped})


@api_endpoint("create")
async def create_record(request: Request, site: Any, actor: Actor, entity: Entity) -> Response:
    values = writable_values(await json_object(request, actor.locale))
    record = SecuredRecords(site).create(actor, entity.name, values)
    location = str(request.url_for("api_record", entity=entity.name, record_id=record["id"]))
    return JSONResponse(to_json(entity, record), status_code=201, headers={"Location": location})


@api_endpoint("read")
async def get_record(request: Request, site: Any, actor: Actor, entity: Entity) -> Response:
    record = SecuredRecords(site).get(actor, entity.name, request.path_params["record_id"])
    return JSONResponse(to_json(entity, record))


@api_endpoint("update")
async def update_record(request: Request, site: Any, actor: Actor, entity: Entity) -> Response:
    data = await json_object(request, actor.locale)
    version = data.get("version")
    if version is None or version == "":
        raise ValidationFailed({"version": [message("required", actor.locale)]})
    try:
        version = coerce(INTEGER, version)
    except CoercionError as error:
        raise ValidationFailed({"version": [message(error.key, actor.locale, **error.params)]}) from None
    secured, record_id = SecuredRecords(site), request.path_params["record_id"]
    values = writable_values(data)
    computed = [name for name in values if name in entity.fields and entity.fields[name].computed]
    if computed:  # computed values sent back unchanged are fine; the records service refuses changes
        current = secured.get(actor, entity.name, record_id)
        for name in computed:
            try:
                if coerce(entity.fields[name], values[name], site.blueprint.timezone) == current.get(name):
                    del values[name]
            except CoercionError:
                pass
    record = secured.update(actor, entity.name, record_id, values, version=version)
    return JSONResponse(to_json(entity, record))


@api_endpoint("delete")
async def delete_record(request: Request, site: Any, actor: Actor, entity: Entity) -> Response:
    SecuredRecords(site).delete(actor, entity.name, request.path_params["record_id"])
    return Response(status_code=204)


async def run_report(request: Request) -> Response:
    """GET /api/v1/reports/{name}: the rows, totals and columns of a report under the caller's
    scope; `period` replaces the report's period, `limit` its row count. Unknown and forbidden
    reports are both 404."""
    if request.state.actor is None:
        return JSONResponse(UNAUTHORIZED, status_code=401)
    site = request.app.state.site
    actor = dataclasses.replace(request.state.actor, locale=caller_locale(request))
    params = request.query_params
    try:
        period = params.get("period") or None
        if period is not None:
            try:
                period_range(period, local_today(site.now(), site.blueprint.timezone))
            except (ValueError, KeyError, OverflowError):
                raise bad_request(actor.locale, "'{period}' is not a period (e.g. this_month, last_30_days)", "period", period=period) from None
        limit = page_limit(actor, params["limit"]) if "limit" in params else None
        result = Reports(site).run(actor, request.path_params["name"], ReportRequest(period=period, limit=limit))
    except ApiError as error:
        return JSONResponse(error.body, status_code=error.status)
    except ReportNotFound:
        return JSONResponse({"error": "not_found"}, status_code=404)
    except ConditionError as error:
        return JSONResponse({"error": "bad_request", "message": str(error)}, status_code=400)
    return JSONResponse(result.to_json(actor.locale))


async def openapi_json(request: Request) -> Response:
    if request.state.actor is None:
        return JSONResponse(UNAUTHORIZED, status_code=401)
    return JSONResponse(document(request.app.state.site, request.state.actor))


routes = [
    Route("/api/v1/openapi.json", openapi_json, methods=["GET"], name="api_openapi"),
    Route("/api/v1/{entity}", list_records, methods=["GET"], name="api_list"),
    Route("/api/v1/{entity}", create_record, methods=["POST"], name="api_create"),
    Route("/api/v1/{entity}/{record_id:int}", get_record, methods=["GET"], name="api_record"),
    Route("/api/v1/{entity}/{record_id:int}", update_record, methods=["PATCH"], name="api_update"),
    Route("/api/v1/{entity}/{record_id:int}", delete_record, methods=["DELETE"], name="api_delete"),
    Route("/api/v1/reports/{name}", run_report, methods=["GET"], name="api_report"),
]

# claim, release and convert: they use the helpers above, so they are added once those exist
from atrium.ui.api.actions import routes as action_routes  # noqa: E402
routes += action_routes
