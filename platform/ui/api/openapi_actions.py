"""The OpenAPI description of the record actions (`api_actions.py`): claim and release for the
entities whose pool the caller may claim from, convert for the conversions the caller may run."""
from __future__ import annotations

from typing import Any

from atrium.metadata.model import Entity

ID = [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/responses/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


POOL_REFUSED = {"type": "object", "required": ["error", "reason", "message"], "properties": {
    "error": {"const": "pool"},
    "reason": {"enum": ["taken", "yours", "locked", "max_owned", "daily_cap", "cooldown", "in_pool"],
               "description": "The rule that refused: someone claimed it first, already yours, locked, "
                              "most owned per user, claims per day, cooldown of the previous owner, "
                              "already in the pool (release)"},
    "message": {"type": "string", "description": "For people, in the caller's language"}}}
PLAN = {"type": "object", "additionalProperties": {"type": "object", "properties": {
    "entity": {"type": "string"}, "optional": {"type": "boolean"},
    "values": {"type": "object", "description": "The target's values mapped from the source"},
    "linked": {"type": ["integer", "null"], "description": "The record the source already links"},
    "candidates": {"type": "array", "items": {"type": "object", "properties": {
        "id": {"type": "integer"}, "title": {"type": "string"}}},
        "description": "Look-alikes the caller may read (records the caller may not read are never told of)"}}}}
CHOICES = {"type": "object", "properties": {"targets": {"type": "object", "additionalProperties": {
    "type": "object", "properties": {
        "include": {"type": "boolean", "default": True, "description": "false leaves out an optional target"},
        "use": {"type": "integer", "description": "Link this existing record instead of creating one"},
        "values": {"type": "object", "description": "Field → value, replacing the mapped values"},
        "allow_duplicate": {"type": "boolean", "default": False,
                            "description": "Create even though similar records exist"}}}}}}


BULK = {"type": "object", "properties": {
    "ids": {"type": "array", "items": {"type": "integer"}, "minItems": 1, "maxItems": 500},
    "where": {"type": "object", "description": "Instead of ids: the list's filters (field, field__op → value; "
                                               "a list for __in), at most 500 matches"},
    "set": {"type": "object", "description": "Field → value, the same for every record (e.g. the owner)"},
    "action": {"enum": ["release"], "description": "Give every record back to the public pool"}}}
BULK_REFUSED = {"type": "object", "required": ["error", "message", "refused"], "properties": {
    "error": {"type": "string"}, "message": {"type": "string"},
    "refused": {"type": "object", "description": "Record id → why (a text, or field → texts)",
                "additionalProperties": {}}}}


def bulk_path(entity: Entity) -> dict[str, Any]:
    refused = _json(BULK_REFUSED, "Refused (these records, why); nothing was changed")
    return {"post": {
        "operationId": f"bulk_{entity.name}", "tags": [entity.name],
        "summary": "Change many records at once, all or nothing: the same values (set) or a release (action)",
        "requestBody": {"required": True, "content": {"application/json": {"schema": BULK}}},
        "responses": {"200": _json({"type": "object", "properties": {"updated": {"type": "integer"}}},
                                   "How many records changed"), "400": _ref("BadRequest"),
                      "401": _ref("Unauthorized"), "403": refused, "404": refused, "409": refused,
                      "422": refused}}}


def action_paths(describer: Any, entity: Entity) -> dict[str, Any]:
    access, actor, name = describer.access, describer.actor, entity.name
    record = {"$ref": f"#/components/schemas/{name}"}
    errors = {"401": _ref("Unauthorized"), "403": _ref("Forbidden"), "404": _ref("NotFound")}
    paths: dict[str, Any] = {}
    if access.can(actor, name, "update"):
        paths[f"/api/v1/{name}/bulk"] = bulk_path(entity)
    if entity.pool is not None and access.claims(actor, name):
        for action, summary in (("claim", "Claim a record from the public pool"),
                                ("release", "Give a record back to the public pool")):
            paths[f"/api/v1/{name}/{{id}}/{action}"] = {"parameters": ID, "post": {
                "operationId": f"{action}_{name}", "tags": [name], "summary": summary,
                "responses": {"200": _json(record, "The record as it is now"), **errors,
                              "409": _json(POOL_REFUSED, "The pool's rules refused"),
                              "422": _ref("ValidationFailed")}}}
    conversion = entity.convert
    if conversion is not None and access.can(actor, name, "update"):
        result = {"type": "object", "properties": {
            "source": record, "created": {"type": "object", "additionalProperties": {"type": "integer"}},
            "linked": {"type": "object", "additionalProperties": {"type": "integer"}}}}
        targets = ", ".join(t.name + (" (optional)" if t.optional else "") for t in conversion.targets)
        paths[f"/api/v1/{name}/{{id}}/convert"] = {"parameters": ID, "get": {
            "operationId": f"convert_plan_{name}", "tags": [name],
            "summary": f"What converting would make: {targets}",
            "responses": {"200": _json({"type": "object", "properties": {"targets": PLAN}}, "Each target"),
                          **errors}}, "post": {
            "operationId": f"convert_{name}", "tags": [name], "summary": f"Convert into {targets}, all or nothing",
            "requestBody": {"required": True, "content": {"application/json": {"schema": CHOICES}}},
            "responses": {"201": _json(result, "Converted: the records made and linked"), **errors,
                          "409": _json({"type": "object", "properties": {
                              "error": {"enum": ["duplicates", "converted", "not_now"]}, "message": {"type": "string"},
                              "targets": PLAN}}, "Similar records exist, or the record cannot be converted (again)"),
                          "422": _ref("ValidationFailed")}}}
    return paths
