"""Record actions in the JSON API: claim and release (entities with a public pool) and convert
(entities with `convert:`), with the same rules as the pages.

    POST /api/v1/{entity}/{id}/claim     200 record | 409 {"error": "pool", "reason", "message"}
    POST /api/v1/{entity}/{id}/release   200 record ({"id"} alone once the caller cannot see it)
    GET  /api/v1/{entity}/{id}/convert   200 {"targets": {name: {values, linked, candidates}}}
    POST /api/v1/{entity}/{id}/convert   201 {"source", "created", "linked"} | 409 duplicates or
                                         already converted | 422 {"errors": {"target.field": [...]}}
    POST /api/v1/{entity}/bulk           200 {"updated": n} | 403/404/409/422
                                         {"error", "message", "refused": {id: reason}}, nothing changed

A bulk body names the records, by `"ids"` or by `"where"` (the list's filters as an object:
`{"stage": "won", "amount__gt": 100, "owner__in": [3, 4]}`, at most 500 matches), and one change:
`{"ids": [3, 4], "set": {"owner": 7}}` gives them the same values (a reassignment),
`{"ids": [3, 4], "action": "release"}` gives them back to the public pool; all or nothing
(runtime/access/bulk_changes.py).

A convert body says per target what the user decided (all keys optional):
`{"targets": {"account": {"use": 12}, "person": {"values": {"name": "..."}},
"deal": {"include": false}}}`; `"allow_duplicate": true` creates despite similar records.
"""
from __future__ import annotations

from typing import Any, Mapping

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from atrium.metadata.model import Entity
from atrium.runtime.access.bulk_changes import MAX_IDS, BulkChanges
from atrium.runtime.access.secured import SecuredRecords
from atrium.runtime.automation.messages import message
from atrium.runtime.pool.conversion import Choice, Conversions, conversion_of
from atrium.runtime.pool.service import PublicPool, pool_of
from atrium.runtime.query.lists import ListQuery
from atrium.runtime.records.errors import ValidationFailed
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.site.site import Site
from atrium.ui.api.calls import ApiError, api_endpoint, bad_request, json_object, plans_json, to_json
from atrium.ui.api.records import Filters
from atrium.ui.web.threads import in_thread, with_body


@api_endpoint("read")
@in_thread
def claim(request: Request, site: Site, actor: Actor, entity: Entity) -> Response:
    pool_of(site.blueprint, entity.name, actor.locale)
    record = PublicPool(site).claim(actor, entity.name, request.path_params["record_id"])
    return JSONResponse(to_json(entity, record))


@api_endpoint("read")
@in_thread
def release(request: Request, site: Site, actor: Actor, entity: Entity) -> Response:
    pool_of(site.blueprint, entity.name, actor.locale)
    record = PublicPool(site).release(actor, entity.name, request.path_params["record_id"])
    return JSONResponse(to_json(entity, record) if set(record) != {"id"} else record)


@api_endpoint("update")
@in_thread
def convert_plan(request: Request, site: Site, actor: Actor, entity: Entity) -> Response:
    conversion_of(site.blueprint, entity.name, actor.locale)
    plans = Conversions(site).plan(actor, entity.name, request.path_params["record_id"])
    return JSONResponse({"targets": plans_json(plans)})


def _choices(data: Mapping[str, Any], conversion: Any, locale: str) -> dict[str, Choice]:
    targets = data.get("targets", {})
    if not isinstance(targets, Mapping):
        raise bad_request(locale, "The body must be a JSON object", "targets")
    choices = {}
    for name, spec in targets.items():
        if conversion.target(name) is None:
            raise ApiError(400, {"error": "bad_request", "parameter": "targets",
                                 "message": f"'{name}' is not a target of this conversion"})
        if not isinstance(spec, Mapping) or not isinstance(spec.get("values", {}), Mapping):
            raise bad_request(locale, "The body must be a JSON object", f"targets.{name}")
        use = spec.get("use")
        if use is not None and (isinstance(use, bool) or not isinstance(use, int)):
            raise ApiError(400, {"error": "bad_request", "parameter": f"targets.{name}.use",
                                 "message": "use must be a record id"})
        choices[name] = Choice(include=bool(spec.get("include", True)), use=use,
                               values=dict(spec.get("values", {})),
                               allow_duplicate=bool(spec.get("allow_duplicate", False)))
    return choices


@api_endpoint("update")
@with_body
def convert(request: Request, site: Site, actor: Actor, entity: Entity, body: bytes) -> Response:
    _, conversion = conversion_of(site.blueprint, entity.name, actor.locale)
    choices = _choices(json_object(body, actor.locale), conversion, actor.locale)
    result = Conversions(site).convert(actor, entity.name, request.path_params["record_id"], choices)
    return JSONResponse({"source": to_json(entity, result.source), "created": result.created,
                         "linked": result.linked}, status_code=201)


def _param(value: Any) -> str:
    """A `where` value as the list's query string would carry it (a list: values joined by commas)."""
    if isinstance(value, list):
        return ",".join(_param(item) for item in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _matching(site: Site, actor: Actor, entity: Entity, where: Any) -> list[int]:
    """The ids of the records the caller may read that match `where` (the list's filters); more
    than MAX_IDS → 422."""
    if not isinstance(where, Mapping):
        raise bad_request(actor.locale, "The body must be a JSON object", "where")
    params = QueryParams([(str(key), _param(value)) for key, value in where.items()])
    page = SecuredRecords(site).list(actor, ListQuery(entity.name, where=Filters(site, actor, entity).parse(params),
                                                      sort=["id"], limit=MAX_IDS))
    if page.next_cursor is not None:
        raise ValidationFailed({"where": [message("bulk_bad_ids", actor.locale, max=MAX_IDS)]})
    return [record["id"] for record in page.records]


@api_endpoint("read")
@with_body
def bulk(request: Request, site: Site, actor: Actor, entity: Entity, body: bytes) -> Response:
    data = json_object(body, actor.locale)
    ids, where, values, action = data.get("ids"), data.get("where"), data.get("set"), data.get("action")
    if (ids is None) == (where is None):
        raise bad_request(actor.locale, "Give either ids or where", "ids")
    if (values is None) == (action is None):
        raise bad_request(actor.locale, "Give either set or action", "set")
    if values is not None and (not isinstance(values, Mapping) or not values):
        raise bad_request(actor.locale, "The body must be a JSON object", "set")
    if action is not None and action != "release":
        raise bad_request(actor.locale, "'{action}' is not a bulk action", "action", action=str(action))
    if ids is None:
        ids = _matching(site, actor, entity, where)
        if not ids:
            return JSONResponse({"updated": 0})
    elif not isinstance(ids, list):
        raise bad_request(actor.locale, "The body must be a JSON object", "ids")
    changes = BulkChanges(site)
    if values is not None:
        return JSONResponse({"updated": changes.set(actor, entity.name, ids, values)})
    return JSONResponse({"updated": changes.release(actor, entity.name, ids)})


ID = "/api/v1/{entity}/{record_id:int}"
routes = [
    Route("/api/v1/{entity}/bulk", bulk, methods=["POST"], name="api_bulk"),
    Route(ID + "/claim", claim, methods=["POST"], name="api_claim"),
    Route(ID + "/release", release, methods=["POST"], name="api_release"),
    Route(ID + "/convert", convert_plan, methods=["GET"], name="api_convert_plan"),
    Route(ID + "/convert", convert, methods=["POST"], name="api_convert"),
]
