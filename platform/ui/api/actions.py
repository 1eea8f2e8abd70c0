"""Record actions in the JSON API: claim and release (entities with a public pool) and convert
(entities with `convert:`), with the same rules as the pages.

    POST /api/v1/{entity}/{id}/claim     200 record | 409 {"error": "pool", "reason", "message"}
    POST /api/v1/{entity}/{id}/release   200 record ({"id"} alone once the caller cannot see it)
    GET  /api/v1/{entity}/{id}/convert   200 {"targets": {name: {values, linked, candidates}}}
    POST /api/v1/{entity}/{id}/convert   201 {"source", "created", "linked"} | 409 duplicates or
                                         already converted | 422 {"errors": {"target.field": [...]}}
    POST /api/v1/{entity}/bulk           200 {"updated": n} (or the CSV / .xlsx file for export) | 403/404/409/422
                                         {"error", "message", "refused": {id: reason}}, nothing changed

A bulk body names the records, by `"ids"` (at most 500) or by `"where"` (the list's filters as an
object: `{"stage": "won", "amount__gt": 100, "owner__in": [3, 4], "q": "acme"}`, evaluated when
the action runs, under the caller's access; at most 10,000 matches), and one change:
`{"ids": [3, 4], "set": {"owner": 7}}` gives them the same values, `{"action": "assign", "to": 7}`
a new owner, `{"action": "release"}` / `"claim"` gives them back to / takes them from the public
pool, `"delete"` deletes them; all or nothing (runtime/access/bulk_changes.py).
`{"action": "export"}` answers them as CSV through the exporter (runtime/io/exporter.py), or as an
.xlsx with typed cells with `"format": "xlsx"`.

A convert body says per target what the user decided (all keys optional):
`{"targets": {"account": {"use": 12}, "person": {"values": {"name": "..."}},
"deal": {"include": false}}}`; `"allow_duplicate": true` creates despite similar records.
"""
from __future__ import annotations

import io
from typing import Any, Mapping

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from atrium.metadata.model import Entity
from atrium.runtime.access.bulk_changes import ACTIONS, BulkChanges, Selection
from atrium.runtime.io.exporter import Exporter
from atrium.runtime.io.xlsx_export import MEDIA_TYPE as XLSX
from atrium.runtime.pool.conversion import Choice, Conversions, conversion_of
from atrium.runtime.pool.service import PublicPool, pool_of
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.site.site import Site
from atrium.ui.api.calls import ApiError, api_endpoint, bad_request, json_object, plans_json, to_json
from atrium.ui.api.openapi import Describer
from atrium.ui.api.openapi_actions import BULK_ACTIONS, bulk_schema, choices
from atrium.ui.api.records import Filters
from atrium.ui.api.request_checks import check_body
from atrium.ui.api.where_param import query_value
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
    data = json_object(body, actor.locale)
    check_body(choices(entity), data, actor.locale)
    decided = _choices(data, conversion, actor.locale)
    result = Conversions(site).convert(actor, entity.name, request.path_params["record_id"], decided)
    return JSONResponse({"source": to_json(entity, result.source), "created": result.created,
                         "linked": result.linked}, status_code=201)


def _selection(site: Site, actor: Actor, entity: Entity, ids: Any, where: Any) -> Selection:
    """`ids`, or `where` (the list's filters as an object, `q` the quick search) parsed now and
    evaluated by the action under the caller's access when it runs."""
    if ids is not None:
        if not isinstance(ids, list):
            raise bad_request(actor.locale, "The body must be a JSON object", "ids")
        return Selection(ids=ids)
    if not isinstance(where, Mapping):
        raise bad_request(actor.locale, "The body must be a JSON object", "where")
    search = where.get("q", "")
    if not isinstance(search, str):
        raise bad_request(actor.locale, "The body must be a JSON object", "where")
    condition: dict[str, Any] = _filters(site, actor, entity, {k: v for k, v in where.items() if k not in ("q", "any")})
    if "any" in where:  # either of several sets of the list's filters (OR of ANDs)
        either = where["any"]
        if not isinstance(either, list) or not either or not all(isinstance(part, Mapping) for part in either):
            raise bad_request(actor.locale, "The body must be a JSON object", "where.any")
        condition["any"] = [_filters(site, actor, entity, part) for part in either]
    return Selection(where=condition, search=search.strip()[:200])


def _filters(site: Site, actor: Actor, entity: Entity, where: Mapping[str, Any]) -> dict[str, Any]:
    """The list's filters given as an object, as a condition (each checked like the query string)."""
    params = QueryParams([(str(key), query_value(value)) for key, value in where.items()])
    return Filters(site, actor, entity).checked(params, Describer(site, actor).filter_schema(entity))


def _export(site: Site, actor: Actor, entity: Entity, selection: Selection, output: Any) -> Response:
    if output not in (None, "csv", "xlsx"):
        raise bad_request(actor.locale, "'{action}' is not a bulk action", "format", action=str(output))
    with site.engine.connect() as connection:
        ids = BulkChanges(site).selected(connection, actor, entity.name, selection)
    if output == "xlsx":  # typed cells: dates as dates, money as numbers, labels in the caller's language
        return Response(Exporter(site, actor, entity.name).xlsx(where={"id": {"in": ids or [0]}}), media_type=XLSX,
                        headers={"Content-Disposition": f'attachment; filename="{entity.name}.xlsx"'})
    out = io.StringIO()
    Exporter(site, actor, entity.name).write_csv(out, where={"id": {"in": ids or [0]}})
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{entity.name}.csv"'})


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
    if action is not None and action not in (*ACTIONS, "assign", "export"):
        raise bad_request(actor.locale, "'{action}' is not a bulk action", "action", action=str(action))
    selection = _selection(site, actor, entity, ids, where)  # a bad filter is named before the body's shape
    filters = list(Describer(site, actor).filter_schema(entity)["properties"])
    # every action passes the shape check: one the role may not take is refused (403) by the action itself
    check_body(bulk_schema(filters, list(BULK_ACTIONS)), data, actor.locale)
    changes = BulkChanges(site)
    if action == "export":
        return _export(site, actor, entity, selection, data.get("format"))
    if action == "assign":
        to = data.get("to")
        if not entity.owner or isinstance(to, bool) or not isinstance(to, int):
            raise bad_request(actor.locale, "Choose whom to assign them to", "to")
        values = {entity.owner: to}
    if values is not None:
        return JSONResponse({"updated": changes.set(actor, entity.name, selection, values)})
    return JSONResponse({"updated": changes.act(actor, entity.name, selection, str(action))})

