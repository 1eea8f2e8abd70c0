"""Records by another system's id (the entity's `external_key`), for integrations:

- `GET /api/v1/{entity}/by-key/{value}`: the record, 404 when none holds the key or the caller
  may not see it;
- `PUT /api/v1/{entity}/by-key/{value}`: create (201) or change (200) the record holding the key;
  the same body twice changes nothing the second time. Without `version` the body wins (last
  writer wins); with it, a record saved since is refused 409 as a PATCH by id is;
- `POST /api/v1/{entity}/by-key` with `{"records": [...]}`, each carrying the key: all or
  nothing, 422 with `refused` naming each refused record by its position.
The writes go through runtime/access/external_keys.py, so validation, access, history and
automations are those of every other save.
"""
from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from atrium.metadata.model import Entity
from atrium.runtime.access import external_keys
from atrium.runtime.automation.messages import message
from atrium.runtime.records.coercion import CoercionError, coerce
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.records.service import ValidationFailed
from atrium.runtime.schema.database import connect, write_transaction
from atrium.runtime.site.site import Site
from atrium.ui.api.calls import api_endpoint, json_object, to_json
from atrium.ui.api.openapi import Describer
from atrium.ui.api.openapi_by_key import batch_schema, upsert_schema
from atrium.ui.api.records import INTEGER, writable_values
from atrium.ui.api.request_checks import check_body, check_record
from atrium.ui.web.threads import in_thread, with_body


def _version(actor: Actor, data: dict[str, Any]) -> int | None:
    raw = data.pop("version", None)
    if raw is None or raw == "":
        return None
    try:
        return coerce(INTEGER, raw)
    except CoercionError as error:
        raise ValidationFailed({"version": [message(error.key, actor.locale, **error.params)]}) from None


def _keyed(site: Site, actor: Actor, entity: Entity) -> None:
    """404 for an entity without a key, or whose key the caller's role hides (as the document says)."""
    key = external_keys.key_field(entity)
    if site.access.field_mode(actor, entity.name, key) == "hidden":
        raise external_keys.NoExternalKey(entity.name)


def _values(entity: Entity, data: dict[str, Any]) -> dict[str, Any]:
    """What the body sets: system fields and computed fields (sent back as read) left out."""
    return {name: value for name, value in writable_values(data).items()
            if not (name in entity.fields and entity.fields[name].computed)}


@api_endpoint("read")
@in_thread
def get_by_key(request: Request, site: Site, actor: Actor, entity: Entity) -> Response:
    _keyed(site, actor, entity)
    with connect(site.engine) as connection:
        record = external_keys.read(site, actor, entity, request.path_params["value"], connection)
    return JSONResponse(to_json(entity, record))


@api_endpoint("update")
@with_body
def put_by_key(request: Request, site: Site, actor: Actor, entity: Entity, body: bytes) -> Response:
    _keyed(site, actor, entity)  # 404 before reading a body for an entity without a key
    data = json_object(body, actor.locale)
    check_record(upsert_schema(Describer(site, actor), entity), data, entity.fields, actor.locale)
    version = _version(actor, data)
    with write_transaction(site.engine) as connection:
        done = external_keys.upsert(site, actor, entity, request.path_params["value"], _values(entity, data),
                                    connection, version=version)
    return JSONResponse(to_json(entity, done.record), status_code=201 if done.created else 200)


@api_endpoint("update")
@with_body
def upsert_many(request: Request, site: Site, actor: Actor, entity: Entity, body: bytes) -> Response:
    _keyed(site, actor, entity)
    data = json_object(body, actor.locale)
    check_body(batch_schema(Describer(site, actor), entity), data, actor.locale)
    rows = []
    for row in data["records"]:
        row = dict(row)
        row.pop("version", None)  # a batch is last-writer-wins
        rows.append(_values(entity, row))
    with write_transaction(site.engine) as connection:
        done = external_keys.upsert_many(site, actor, entity, rows, connection)
    return JSONResponse({"data": [to_json(entity, d.record) for d in done],
                         "created": [d.record["id"] for d in done if d.created],
                         "updated": [d.record["id"] for d in done if not d.created]})
