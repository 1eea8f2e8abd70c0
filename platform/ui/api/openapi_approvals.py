"""The OpenAPI description of approvals (`approval_api.py`): the caller's waiting list and one
approval, approve / reject / withdraw, and asking for approval on the entities the caller can read
that have rules to ask under (`on: request` automations with `require_approval`)."""
from __future__ import annotations

from typing import Any

from atrium.ui.api.openapi_common import MAX_LIMIT, READ_ERRORS, WRITE_ERRORS, id_parameter

ID = [id_parameter()]
LIMIT = {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}}
STATUS = ["pending", "approved", "rejected", "withdrawn", "voided"]


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


APPROVAL = {"$ref": "#/components/schemas/Approval"}
SCHEMAS: dict[str, Any] = {
    "Approval": {"type": "object", "required": ["id", "rule", "entity", "record_id", "status"], "properties": {
        "id": {"type": "integer"},
        "rule": {"type": "string", "description": "The automation that asks for the approval"},
        "label": {"type": "string", "description": "The rule's label in the caller's language"},
        "entity": {"type": "string"}, "record_id": {"type": "integer"},
        "status": {"enum": STATUS},
        "message": {"type": "string", "description": "What the approvers are asked, in the caller's language"},
        "messages": {"type": "object", "additionalProperties": {"type": "string"},
                     "description": "The message in every language (locale → text)"},
        "requested_by": {"type": ["integer", "null"], "description": "A user id; null when a rule asked"},
        "requested_at": {"type": "string", "format": "date-time"},
        "approvers": {"type": "array", "items": {"type": "integer"}, "description": "User ids who may decide"},
        "decided_by": {"type": ["integer", "null"]},
        "decided_at": {"type": ["string", "null"], "format": "date-time"},
        "comment": {"type": ["string", "null"]},
        "voided_by": {"type": ["integer", "null"],
                      "description": "Status voided: the user whose change to the approved record (or to a record "
                                     "the rule's voided_by names) made the approval void; null for a rule's change"},
        "voided_at": {"type": ["string", "null"], "format": "date-time",
                      "description": "When the approval became void; null unless the status is voided"},
        "lock": {"oneOf": [{"type": "boolean"}, {"type": "array", "items": {"type": "string"}}],
                 "description": "true: the record is read-only while pending; a list: those fields are"}}},
    "ApprovalRefused": {"type": "object", "required": ["error", "message"], "properties": {
        "error": {"const": "approval"},
        "message": {"type": "string", "description": "Why, for people, in the caller's language"}}},
}
COMMENT = {"required": False, "content": {"application/json": {"schema": {"type": "object", "properties": {
    "comment": {"type": ["string", "null"], "description": "The approver's comment (some rules require one)"}}}}}}
REFUSED = _json({"anyOf": [{"$ref": "#/components/schemas/ApprovalRefused"}, {"$ref": "#/components/schemas/Error"}]},
                "The approvals service refused (already decided, not pending, ...); nothing changed")


def request_rules(blueprint: Any, entity: str) -> list[str]:
    """The rules a person may ask approval under for records of `entity`."""
    return sorted(name for name, document in blueprint.automations.items()
                  if document.get("entity") == entity and document.get("on") == "request"
                  and any("require_approval" in step for step in document.get("do") or ()))


def has_approvals(blueprint: Any) -> bool:
    return any("require_approval" in step for document in blueprint.automations.values()
               for step in document.get("do") or ())


def approval_paths(describer: Any) -> dict[str, Any]:
    """The approval operations, when the blueprint has rules that ask for approval."""
    if not has_approvals(describer.blueprint):
        return {}
    one = {"parameters": ID}
    listed = _json({"type": "object", "required": ["data"], "properties": {"data": {"type": "array",
                                                                                   "items": APPROVAL}}}, "Newest first")
    paths: dict[str, Any] = {
        "/api/v1/approvals": {"get": {
            "operationId": "list_approvals", "tags": ["approvals"],
            "summary": "Approvals waiting for the caller's decision",
            "parameters": [
                {"name": "mine", "in": "query", "schema": {"enum": ["1"], "default": "1"},
                 "description": "Approvals waiting for the caller's decision (the only list here; a record's "
                                "approvals are at /api/v1/{entity}/{id}/approvals)"},
                {"name": "status", "in": "query", "schema": {"enum": ["pending"]}}, LIMIT],
            "responses": {"200": listed, **READ_ERRORS}}},
        "/api/v1/approvals/{id}": {**one, "get": {
            "operationId": "get_approval", "tags": ["approvals"],
            "summary": "One approval (its approvers, its requester and readers of its record see it)",
            "responses": {"200": _json(APPROVAL, "The approval"), **READ_ERRORS}}},
    }
    for decision, summary in (("approve", "Approve: the rule's `approved` values are written"),
                              ("reject", "Reject: the rule's `rejected` values are written")):
        paths[f"/api/v1/approvals/{{id}}/{decision}"] = {**one, "post": {
            "operationId": f"{decision}_approval", "tags": ["approvals"], "summary": summary,
            "requestBody": COMMENT,
            "responses": {"200": _json(APPROVAL, "Decided"), **WRITE_ERRORS, "409": REFUSED}}}
    paths["/api/v1/approvals/{id}/withdraw"] = {**one, "post": {
        "operationId": "withdraw_approval", "tags": ["approvals"],
        "summary": "Withdraw a pending request (its requester, or an administrator)",
        "responses": {"200": _json(APPROVAL, "Withdrawn"), **WRITE_ERRORS, "409": REFUSED}}}
    for entity in describer.blueprint.entities.values():
        rules = request_rules(describer.blueprint, entity.name)
        if not describer.access.can(describer.actor, entity.name, "read"):
            continue
        paths[f"/api/v1/{entity.name}/{{id}}/approvals"] = {**one, "get": {
            "operationId": f"list_approvals_{entity.name}", "tags": [entity.name, "approvals"],
            "summary": "Every approval of one readable record, newest first",
            "parameters": [{"name": "status", "in": "query", "schema": {"enum": STATUS}}, LIMIT],
            "responses": {"200": listed, **READ_ERRORS}}}
        if not rules:
            continue
        paths[f"/api/v1/{entity.name}/{{id}}/approvals"]["post"] = {
            "operationId": f"request_approval_{entity.name}", "tags": [entity.name, "approvals"],
            "summary": "Ask for approval under one of the entity's rules",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["rule"], "properties": {"rule": {"enum": rules}}}}}},
            "responses": {"201": _json(APPROVAL, "Asked: the approval, pending"), **WRITE_ERRORS, "409": REFUSED}}
    return paths
