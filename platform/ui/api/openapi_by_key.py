"""The OpenAPI paths of records found by their external key (ui/api/by_key.py): read and upsert
one (`/api/v1/{entity}/by-key/{value}`), upsert many (`POST /api/v1/{entity}/by-key`)."""
from __future__ import annotations

from typing import Any

from atrium.metadata.model import Entity
from atrium.ui.api.openapi_common import READ_ERRORS, WRITE_ERRORS

MAX_UPSERTS = 500
BY_KEY_DOC = ("Another system's id for the record: the entity's external key. Without `version` the "
              "body's values win (last writer wins); with `version` a record saved since is refused (409).")


def _with_links(describer: Any, entity: Entity, schema: dict[str, Any]) -> dict[str, Any]:
    """A reference to an entity with an external key may be given as `{"by_key": KEY}`."""
    properties = dict(schema["properties"])
    for field in describer.fields(entity):
        target = describer.blueprint.entities.get(field.to or "")
        if field.type == "reference" and target is not None and target.external_key and field.name in properties:
            properties[field.name] = {"anyOf": [properties[field.name], {
                "type": "object", "required": ["by_key"], "additionalProperties": False,
                "properties": {"by_key": {"type": ["string", "integer"]}},
                "description": f"The {target.name} whose {target.external_key} is this"}]}
    properties["version"] = {"type": "integer", "description": "Refuse (409) if the record was saved since"}
    return {**schema, "properties": properties}


def upsert_schema(describer: Any, entity: Entity) -> dict[str, Any]:
    """One record to upsert: the record's writable fields, none required (a new record's required
    fields are the records service's to ask for, 422)."""
    schema = dict(describer.record_schema(entity))
    schema.pop("required", None)
    schema["title"] = f"A {entity.name} by its {entity.external_key}"
    return _with_links(describer, entity, schema)


def batch_schema(describer: Any, entity: Entity) -> dict[str, Any]:
    item = upsert_schema(describer, entity)
    item = {**item, "required": [entity.external_key]}
    return {"type": "object", "required": ["records"], "additionalProperties": False,
            "properties": {"records": {"type": "array", "minItems": 1, "maxItems": MAX_UPSERTS, "items": item}}}


def by_key_paths(describer: Any, entity: Entity) -> dict[str, Any]:
    name, key = entity.name, entity.external_key
    if key is None or describer.mode(name, key) == "hidden":
        return {}
    can = lambda action: describer.access.can(describer.actor, name, action)  # noqa: E731
    one = {"content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}}
    value = {"name": "value", "in": "path", "required": True, "description": BY_KEY_DOC,
             "schema": {"type": "string", "minLength": 1, "pattern": "^[^/]+$"}}
    item: dict[str, Any] = {"parameters": [value]}
    result: dict[str, Any] = {}
    if can("read"):
        item["get"] = {"operationId": f"get_{name}_by_key", "tags": [name], "summary": f"One {name} by its {key}",
                       "responses": {"200": {"description": "The record", **one}, **READ_ERRORS}}
    if can("read") and can("update"):
        stale = {"409": {"description": "Someone saved the record first (`version` given), or it is locked",
                         "content": {"application/json": {"schema": {"anyOf": [
                             {"$ref": f"#/components/schemas/{name}_stale"},
                             {"$ref": "#/components/schemas/Error"}]}}}}}
        item["put"] = {
            "operationId": f"upsert_{name}", "tags": [name],
            "summary": f"Create or change the {name} whose {key} is this",
            "description": "Idempotent: the same body twice changes nothing the second time. Creating also "
                           "needs the right to create.",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "$ref": f"#/components/schemas/{name}_upsert"}}}},
            "responses": {"200": {"description": "Changed (or already so)", **one},
                          "201": {"description": "Created", **one}, **WRITE_ERRORS, **stale}}
        result[f"/api/v1/{name}/by-key"] = {"post": {
            "operationId": f"upsert_many_{name}", "tags": [name],
            "summary": f"Create or change many {name} records by their {key}",
            "description": "All or nothing: a refused record leaves nothing written, and the answer "
                           "names each refused record by its position (`refused`).",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "$ref": f"#/components/schemas/{name}_upserts"}}}},
            "responses": {"200": {"description": "Each record as saved, in order, and whether it was created",
                                  "content": {"application/json": {"schema": {
                                      "type": "object", "required": ["data", "created", "updated"],
                                      "properties": {
                                          "data": {"type": "array", "items": {"$ref":
                                                                              f"#/components/schemas/{name}"}},
                                          "created": {"type": "array", "items": {"type": "integer"}},
                                          "updated": {"type": "array", "items": {"type": "integer"}}}}}}},
                          **WRITE_ERRORS}}}
    if len(item) > 1:
        result[f"/api/v1/{name}/by-key/{{value}}"] = item
    return result


def by_key_schemas(describer: Any, entity: Entity) -> dict[str, Any]:
    if entity.external_key is None or not describer.access.can(describer.actor, entity.name, "update"):
        return {}
    return {f"{entity.name}_upsert": upsert_schema(describer, entity),
            f"{entity.name}_upserts": batch_schema(describer, entity)}
