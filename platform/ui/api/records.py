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
import re
from typing import Any, Mapping

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from atrium.metadata.model import SYSTEM_FIELDS, Entity, Field, Label
from atrium.metadata.references import resolve_path
from atrium.runtime.access.line_saves import save_with_lines
from atrium.runtime.access.secured import SecuredRecords
from atrium.runtime.automation.messages import message
from atrium.runtime.query.lists import ListQuery
from atrium.runtime.query.periods import local_today, period_range
from atrium.runtime.records.coercion import CoercionError, coerce
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.records.service import ValidationFailed
from atrium.runtime.reports.compiler import ReportRequest
from atrium.runtime.reports.runner import Reports
from atrium.runtime.site.site import Site
from atrium.ui.api.calls import (
    UNAUTHORIZED,
    ApiError,
    api_endpoint,
    bad_request,
    caller_locale,
    json_object,
    page_limit,
    to_json,
)
from atrium.ui.api.openapi import Describer, document
from atrium.ui.api.openapi_common import (
    ALLOW_DUPLICATE,
    MAX_DAYS,
    OPERATORS,
    PERIOD,
    RESERVED,
    WHERE_PARAMETER,
    paging,
)
from atrium.ui.api.record_lines import LINES, parse_lines, with_lines
from atrium.ui.api.request_checks import check_query, check_record
from atrium.ui.api.where_param import parse_where
from atrium.ui.web.threads import in_thread, with_body

SORTABLE_SYSTEM = ("id", "created_at", "updated_at")
ALL_OPERATORS = frozenset().union(*OPERATORS.values())
BOOLEAN = Field(name="value", type="boolean", label=Label.of("value"))
INTEGER = Field(name="value", type="integer", label=Label.of("value"))


# --- records as JSON ----------------------------------------------------------------------------

def writable_values(data: Mapping[str, Any]) -> dict[str, Any]:
    """The body without system fields: a record read from the API can be sent back as it is."""
    return {key: value for key, value in data.items() if key not in SYSTEM_FIELDS and key != ALLOW_DUPLICATE}


def checks_duplicates(entity: Entity, data: Mapping[str, Any]) -> bool:
    """Whether a save is refused (409) when records like it exist: unless the body allows it."""
    return entity.duplicates is not None and data.get(ALLOW_DUPLICATE) is not True


# --- the query string → the condition language ---------------------------------------------------

class Filters:
    """Parses `field=v`, `field__op=v` and dotted paths into a condition, typed by the field."""

    def __init__(self, site: Site, actor: Actor, entity: Entity):
        self.site, self.actor, self.entity = site, actor, entity
        self.blueprint = site.blueprint

    def parse(self, params: Any) -> dict[str, dict[str, Any]]:
        where: dict[str, dict[str, Any]] = {}
        for key, raw in params.multi_items():
            if key in passed_over(self.entity):  # ?lang= is the UI's, ?where= a condition of its own
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
                raise bad_request(self.actor.locale, "This filter is given twice; use field__in=a,b for several values",
                                  key)
            where.setdefault(path, {})[operator] = self.value(field, operator, raw, key)
        return where

    def checked(self, params: Any, schema: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
        """`parse`, each value also held to the document's filter schema (as the query string is)."""
        condition = self.parse(params)
        check_query((), schema, params, self.actor.locale)
        return condition

    def field(self, path: str, key: str) -> Field:
        """The field a path ends at; unknown, hidden, or through an entity the caller cannot read → 400."""
        resolved = resolve_path(self.blueprint.entities, self.entity.name, path)
        current = self.entity
        for step in path.split("."):
            if isinstance(resolved, str) or self.site.access.field_mode(self.actor, current.name, step) == "hidden":
                raise bad_request(self.actor.locale, "There is no field '{field}' to filter by", key, field=path)
            link = current.fields.get(step)
            if link is not None and link.type == "reference":
                assert link.to is not None  # resolve_path went through it: it names an entity
                if not self.site.access.can(self.actor, link.to, "read"):
                    raise bad_request(self.actor.locale, "There is no field '{field}' to filter by", key, field=path)
                current = self.blueprint.entities[link.to]
        return resolved  # type: ignore[return-value]

    def value(self, field: Field, operator: str, raw: str, key: str) -> Any:
        locale, timezone = self.actor.locale, self.blueprint.timezone
        try:
            if operator == "is_set":
                return coerce(BOOLEAN, raw)
            if operator in ("older_than_days", "newer_than_days", "not_older_than_days", "older_than_hours",
                            "within_last_hours"):
                most = MAX_DAYS * 24 if operator.endswith("_hours") else MAX_DAYS
                count = coerce(INTEGER, raw)
                if count is None or not 0 <= count <= most:
                    raise CoercionError("too_large", max=most)
                return count
            if operator in ("within", "until"):
                try:
                    period_range(raw, local_today(self.site.now(), timezone))
                except (ValueError, KeyError, OverflowError):
                    raise bad_request(locale, "'{period}' is not a period (e.g. this_month, last_30_days)", key,
                                      period=raw) from None
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


def sort_keys(site: Site, actor: Actor, entity: Entity, raw: str) -> list[str]:
    keys = [part.strip() for part in raw.split(",") if part.strip()]
    for key in keys:
        name = key.lstrip("-+")
        field = entity.fields.get(name)
        sortable = (name in SORTABLE_SYSTEM or field is not None
                    and field.type not in ("multiselect", "location", "file")
                    and site.access.field_mode(actor, entity.name, name) != "hidden")
        if not sortable:
            raise bad_request(actor.locale, "Cannot sort by '{field}'", "sort", field=name)
    return keys


def passed_over(entity: Entity) -> tuple[str, ...]:
    """The names `Filters.parse` passes over: a field entry of `where=` may not be one of them."""
    return (*RESERVED, *(name for name in ("lang", "where") if name not in entity.fields))


# --- endpoints ----------------------------------------------------------------------------------

@api_endpoint("read")
@in_thread
def list_records(request: Request, site: Site, actor: Actor, entity: Entity) -> Response:
    params = request.query_params
    filters = Filters(site, actor, entity)
    where: dict[str, Any] = filters.parse(params)
    sort = sort_keys(site, actor, entity, params.get("sort", ""))
    limit = page_limit(actor, params.get("limit"))
    describer = Describer(site, actor)  # what the parsing above let through, held to the document
    schema = describer.filter_schema(entity)
    check_query([*paging(describer.sortable(entity)), WHERE_PARAMETER], schema, params, actor.locale)
    if "where" in params and "where" not in entity.fields:  # OR and nesting: the metadata's condition language
        condition = parse_where(params["where"], lambda pairs: filters.checked(pairs, schema), actor.locale,
                                passed_over(entity))
        where = {**where, "all": [condition]}
    query = ListQuery(entity.name, where=where, search=params.get("q", ""), sort=sort, limit=limit,
                      after=params.get("after") or None)
    page = SecuredRecords(site).list(actor, query)
    return JSONResponse({"data": [to_json(entity, r) for r in page.records], "next": page.next_cursor,
                         "count": page.count, "count_capped": page.count_capped})


@api_endpoint("create")
@with_body
def create_record(request: Request, site: Site, actor: Actor, entity: Entity, body: bytes) -> Response:
    data = json_object(body, actor.locale)
    check_record(Describer(site, actor).record_schema(entity), data, entity.fields, actor.locale)
    values, lines = writable_values(data), parse_lines(site, actor, entity, data)
    check = checks_duplicates(entity, data)
    if lines is None:
        record = SecuredRecords(site).create(actor, entity.name, values, check_duplicates=check)
    else:
        values.pop(LINES, None)
        record = save_with_lines(SecuredRecords(site), actor, entity.name, None, values, lines,
                                 check_duplicates=check)
    location = str(request.url_for("api_record", entity=entity.name, record_id=record["id"]))
    return JSONResponse(with_lines(site, actor, entity, record), status_code=201, headers={"Location": location})


@api_endpoint("read")
@in_thread
def get_record(request: Request, site: Site, actor: Actor, entity: Entity) -> Response:
    record = SecuredRecords(site).get(actor, entity.name, request.path_params["record_id"])
    return JSONResponse(with_lines(site, actor, entity, record))


@api_endpoint("update")
@with_body
def update_record(request: Request, site: Site, actor: Actor, entity: Entity, body: bytes) -> Response:
    data = json_object(body, actor.locale)
    check_record(Describer(site, actor).patch_schema(entity), data, entity.fields, actor.locale)
    version = data.get("version")
    if version is None or version == "":
        raise ValidationFailed({"version": [message("required", actor.locale)]})
    try:
        version = coerce(INTEGER, version)
    except CoercionError as error:
        raise ValidationFailed({"version": [message(error.key, actor.locale, **error.params)]}) from None
    secured, record_id = SecuredRecords(site), request.path_params["record_id"]
    values, lines = writable_values(data), parse_lines(site, actor, entity, data)
    if lines is not None:
        values.pop(LINES, None)
    computed = [name for name in values if name in entity.fields and entity.fields[name].computed]
    if computed:  # computed values sent back unchanged are fine; the records service refuses changes
        current = secured.get(actor, entity.name, record_id)
        for name in computed:
            try:
                if coerce(entity.fields[name], values[name], site.blueprint.timezone) == current.get(name):
                    del values[name]
            except CoercionError:
                pass
    check = checks_duplicates(entity, data)
    if lines is None:
        record = secured.update(actor, entity.name, record_id, values, version=version, check_duplicates=check)
    else:
        record = save_with_lines(secured, actor, entity.name, record_id, values, lines, version=version,
                                 check_duplicates=check)
    return JSONResponse(with_lines(site, actor, entity, record))


@api_endpoint("delete")
@in_thread
def delete_record(request: Request, site: Site, actor: Actor, entity: Entity) -> Response:
    SecuredRecords(site).delete(actor, entity.name, request.path_params["record_id"])
    return Response(status_code=204)


@in_thread
def run_report(request: Request) -> Response:
    """GET /api/v1/reports/{name}: the rows, totals and columns of a report under the caller's
    scope; `period` replaces the report's period, `limit` its row count. Unknown and forbidden
    reports are both 404."""
    if request.state.actor is None:
        return JSONResponse(UNAUTHORIZED, status_code=401)
    site = request.app.state.site
    actor = dataclasses.replace(request.state.actor, locale=caller_locale(request))
    params = request.query_params
    period = params.get("period")
    if period is not None:
        try:
            if not re.match(PERIOD, period):
                raise ValueError(period)
            period_range(period, local_today(site.now(), site.blueprint.timezone))
        except (ValueError, KeyError, OverflowError):
            raise bad_request(actor.locale, "'{period}' is not a period (e.g. this_month, last_30_days)", "period",
                              period=period) from None
    limit = page_limit(actor, params["limit"]) if "limit" in params else None
    result = Reports(site).run(actor, request.path_params["name"], ReportRequest(period=period, limit=limit))
    return JSONResponse(result.to_json(actor.locale))


@in_thread
def openapi_json(request: Request) -> Response:
    if request.state.actor is None:
        return JSONResponse(UNAUTHORIZED, status_code=401)
    return JSONResponse(document(request.app.state.site, request.state.actor))
