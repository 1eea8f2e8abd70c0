"""The recycle bin in the JSON API (runtime/trash), and its OpenAPI description.

    GET  /api/v1/trash?limit=              200 {"data": [entry]}: the caller's deletions (an
                                           administrator's: everyone's), newest first
    POST /api/v1/{entity}/{id}/restore     200 the record back (its id alone if the caller cannot
                                           read it) | 403 may not create | 404 not in the caller's
                                           bin | 409 {"error": "restore_refused", "message"}
"""
from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from atrium.metadata.model import Entity
from atrium.runtime.access.secured import SecuredRecords
from atrium.runtime.records.errors import RecordNotFound
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.site.site import Site
from atrium.ui.api.calls import UNAUTHORIZED, api_caller, api_endpoint, plain, to_json
from atrium.ui.api.openapi_common import READ_ERRORS, WRITE_ERRORS, id_parameter
from atrium.ui.web.edge import whole_number
from atrium.ui.web.threads import in_thread

DEFAULT_LIMIT, MAX_LIMIT = 100, 500
FIELDS = ("id", "entity", "record_id", "title", "deleted_by", "deleted_by_name", "deleted_at", "cascaded")


@in_thread
def list_trash(request: Request) -> Response:
    actor = api_caller(request)
    if actor is None:
        return JSONResponse(UNAUTHORIZED, status_code=401)
    limit = whole_number(request.query_params.get("limit"), "limit", actor.locale, low=1, high=MAX_LIMIT)
    entries = request.app.state.site.trash.entries(actor, limit or DEFAULT_LIMIT)
    return JSONResponse({"data": [{key: plain(entry[key]) for key in FIELDS} for entry in entries]})


@api_endpoint("create")
@in_thread
def restore(request: Request, site: Site, actor: Actor, entity: Entity) -> Response:
    record_id = request.path_params["record_id"]
    site.trash.restore(actor, record=(entity.name, record_id))
    try:
        return JSONResponse(to_json(entity, SecuredRecords(site).get(actor, entity.name, record_id)))
    except RecordNotFound:  # back, but out of the caller's sight (its owner's scope)
        return JSONResponse({"id": record_id})


ENTRY = {"type": "object", "required": list(FIELDS), "properties": {
    "id": {"type": "integer", "description": "The bin entry (`atrium trash restore ID`)"},
    "entity": {"type": "string"}, "record_id": {"type": "integer", "description": "The deleted record's id, "
                                                "which a restore gives back"},
    "title": {"type": "string", "description": "How the record showed in links"},
    "deleted_by": {"type": ["integer", "null"]}, "deleted_by_name": {"type": ["string", "null"]},
    "deleted_at": {"type": "string", "format": "date-time"},
    "cascaded": {"type": "integer", "description": "Records its delete took with it (restored with it)"}}}


def trash_paths(describer: Any) -> dict[str, Any]:
    """GET /api/v1/trash for every caller; POST .../restore on the entities the caller may create."""
    paths: dict[str, Any] = {"/api/v1/trash": {"get": {
        "tags": ["trash"], "operationId": "list_trash", "summary": "Deleted records in the recycle bin",
        "description": "The caller's own deletions (an administrator's: everyone's), newest first; each is "
                       "restorable until purged after the blueprint's retention (`trash.retention_days`).",
        "parameters": [{"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                                   "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}}],
        "responses": {"200": {"description": "The entries", "content": {"application/json": {"schema": {
            "type": "object", "required": ["data"], "properties": {"data": {"type": "array", "items": ENTRY}}}}}},
            **READ_ERRORS}}}}
    for entity in describer.blueprint.entities.values():
        if not describer.access.can(describer.actor, entity.name, "create"):
            continue
        record = {"$ref": f"#/components/schemas/{entity.name}"}
        paths[f"/api/v1/{entity.name}/{{id}}/restore"] = {"parameters": [id_parameter()], "post": {
            "operationId": f"restore_{entity.name}", "tags": [entity.name],
            "summary": "Restore a deleted record from the recycle bin, with what its delete took with it",
            "description": "The same id, values and links come back, or nothing does: 409 says why (a linked "
                           "record was purged since, a unique value is taken).",
            "responses": {"200": {"description": "The record as it is back (its id alone when the caller "
                                                 "cannot read it)", "content": {"application/json": {"schema": {
                                                     "anyOf": [record, {"type": "object", "required": ["id"],
                                                                        "properties": {"id": {"type": "integer"}}}]}}}},
                          **WRITE_ERRORS}}}
    return paths
