"""The OpenAPI description of the record actions (`api_actions.py`): claim and release for the
entities whose pool the caller may claim from, convert for the conversions the caller may run."""
from __future__ import annotations

from typing import Any

from atrium.metadata.model import Entity
from atrium.runtime.io.xlsx_export import MEDIA_TYPE as XLSX
from atrium.ui.api.openapi_common import MAX_ID, READ_ERRORS, WRITE_ERRORS, id_parameter

ID = [id_parameter()]


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


def choices(entity: Entity) -> dict[str, Any]:
    """A conversion's body: per target (by name) what the user decided."""
    targets = [target.name for target in entity.convert.targets] if entity.convert is not None else []
    return {"type": "object", "properties": {"targets": {"type": "object", "additionalProperties": False,
                                                         "properties": {name: CHOICE for name in targets}}}}


CHOICE = {"type": "object", "properties": {
    "include": {"type": "boolean", "default": True, "description": "false leaves out an optional target"},
    "use": {"type": "integer", "minimum": 1, "maximum": MAX_ID,
            "description": "Link this existing record instead of creating one"},
    "values": {"type": "object", "description": "Field → value, replacing the mapped values"},
    "allow_duplicate": {"type": "boolean", "default": False,
                        "description": "Create even though similar records exist"}}}


def bulk_schema(filters: list[str], actions: list[str]) -> dict[str, Any]:
    """A bulk change's body; `where` names the list's filters (`filters`), `action` one of `actions`."""
    return {"type": "object", "description": "Which records (`ids` or `where`) and what to do (`set` or `action`)",
            "properties": {
                "ids": {"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
                        "minItems": 1, "maxItems": 500},
                "where": {"type": "object", "propertyNames": {"enum": [*filters, "q", "any"]},
                          "properties": {"any": {
                              "type": "array", "minItems": 1, "maxItems": 20,
                              "items": {"type": "object", "propertyNames": {"enum": filters}},
                              "description": "Records matching at least one of these sets of filters (OR), "
                                             "beside the other filters (AND)"}},
                          "description": "Instead of ids: the list's filters (field, field__op → value; a list for "
                                         "__in; `q` the quick search; `any` a list of such filter sets, one of "
                                         "which must hold), evaluated when the action runs under the caller's "
                                         "access; at most 10000 matches"},
                "set": {"type": "object", "minProperties": 1,
                        "description": "Field → value, the same for every record"},
                "action": {"enum": actions, "description": "; ".join(f"{a}: {BULK_ACTIONS[a]}" for a in actions)},
                "to": {"type": "integer", "minimum": 1, "maximum": MAX_ID,
                       "description": "assign: the user who gets the records"},
                "format": {"enum": ["csv", "xlsx"], "default": "csv",
                           "description": "export: the file's format (xlsx: typed cells)"}},
            # the records by ids or by where, and one change: set or action
            "allOf": [{"oneOf": [{"required": ["ids"]}, {"required": ["where"]}]},
                      {"oneOf": [{"required": ["set"]}, {"required": ["action"]}]}]}


BULK_REFUSED = {"anyOf": [
    {"type": "object", "required": ["error", "message", "refused"], "properties": {
        "error": {"type": "string"}, "message": {"type": "string"},
        "refused": {"type": "object", "description": "Record id → why (a text, or field → texts)",
                    "additionalProperties": {}}}},
    {"$ref": "#/components/schemas/Error"}, {"$ref": "#/components/schemas/ValidationErrors"}]}


BULK_ACTIONS = {"assign": "give every record to the user `to` (the owner field)",
                "release": "give every record back to the public pool",
                "claim": "take every record from the public pool (the pool's limits count them all)",
                "delete": "delete every record (each reference's on_delete applies)",
                "export": "answer the records as a file (`format`: csv or xlsx), nothing changes"}


def bulk_actions(access: Any, actor: Any, entity: Entity) -> list[str]:
    """The bulk actions this caller's role may take on the entity's records."""
    name = entity.name
    owner = entity.owner
    actions = []
    if owner and access.can(actor, name, "update") and access.field_mode(actor, name, owner) == "write":
        actions.append("assign")
    if entity.pool is not None and access.can(actor, name, "update"):
        actions.append("release")
    if entity.pool is not None and access.claims(actor, name):
        actions.append("claim")
    if access.can(actor, name, "delete"):
        actions.append("delete")
    return actions + ["export"]


def bulk_path(access: Any, actor: Any, entity: Entity, filters: list[str]) -> dict[str, Any]:
    refused = _json(BULK_REFUSED, "Refused (these records, why); nothing was changed")
    body = bulk_schema(filters, bulk_actions(access, actor, entity))
    return {"post": {
        "operationId": f"bulk_{entity.name}", "tags": [entity.name],
        "summary": "Act on many records at once, all or nothing: the same values (set), a reassignment, "
                   "a release or claim, a delete, or an export",
        "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
        "responses": {"200": {"description": "How many records changed (`updated`), or the exported file",
                              "content": {"application/json": {"schema": {
                                  "type": "object", "required": ["updated"],
                                  "properties": {"updated": {"type": "integer"}}}},
                                  "text/csv": {"schema": {"type": "string"}},
                                  XLSX: {"schema": {"type": "string", "format": "binary"}}}},
                      **WRITE_ERRORS, "403": refused, "404": refused, "409": refused, "422": refused}}}


def action_paths(describer: Any, entity: Entity) -> dict[str, Any]:
    access, actor, name = describer.access, describer.actor, entity.name
    record = {"$ref": f"#/components/schemas/{name}"}
    errors = {**WRITE_ERRORS, "404": READ_ERRORS["404"]}
    paths: dict[str, Any] = {}
    # a record released out of the caller's sight comes back as its id alone
    released = {"anyOf": [record, {"type": "object", "required": ["id"], "additionalProperties": False,
                                   "properties": {"id": {"type": "integer"}}}]}
    if access.can(actor, name, "read"):  # export is a bulk action every reader may take
        paths[f"/api/v1/{name}/bulk"] = bulk_path(access, actor, entity,
                                                  list(describer.filter_schema(entity)["properties"]))
    if entity.pool is not None and access.claims(actor, name):
        for action, summary in (("claim", "Claim a record from the public pool"),
                                ("release", "Give a record back to the public pool")):
            paths[f"/api/v1/{name}/{{id}}/{action}"] = {"parameters": ID, "post": {
                "operationId": f"{action}_{name}", "tags": [name], "summary": summary,
                "responses": {"200": _json(released if action == "release" else record, "The record as it is now"),
                              **errors, "409": _json({"anyOf": [POOL_REFUSED, {"$ref": "#/components/schemas/Error"}]},
                                                     "The pool's rules refused")}}}
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
                          **READ_ERRORS}}, "post": {
            "operationId": f"convert_{name}", "tags": [name], "summary": f"Convert into {targets}, all or nothing",
            "requestBody": {"required": True, "content": {"application/json": {"schema": choices(entity)}}},
            "responses": {"201": _json(result, "Converted: the records made and linked"), **errors,
                          "409": _json({"anyOf": [{"type": "object", "required": ["error"], "properties": {
                              "error": {"enum": ["duplicates", "converted", "not_now"]}, "message": {"type": "string"},
                              "targets": PLAN}}, {"$ref": "#/components/schemas/Error"}]},
                              "Similar records exist, or the record cannot be converted (again)")}}}
    return paths
