"""The OpenAPI description of comments (`comments.py`): list and add, on every entity the caller
may read."""
from __future__ import annotations

from typing import Any

from atrium.runtime.comments.service import MAX_TEXT
from atrium.ui.api.openapi_common import MAX_LIMIT, READ_ERRORS, WRITE_ERRORS, id_parameter

COMMENT = {"$ref": "#/components/schemas/Comment"}
SCHEMAS: dict[str, Any] = {
    "Comment": {"type": "object", "required": ["id", "entity", "record_id", "author_id", "text", "created_at"],
                "properties": {
                    "id": {"type": "integer"}, "entity": {"type": "string"}, "record_id": {"type": "integer"},
                    "author_id": {"type": "integer"},
                    "author": {"type": "string", "description": "The author's display name"},
                    "text": {"type": "string"},
                    "mentions": {"type": "array", "items": {"type": "integer"},
                                 "description": "Ids of the users the text mentions (`@name`), each told"},
                    "created_at": {"type": "string", "format": "date-time"},
                    "edited_at": {"type": ["string", "null"], "format": "date-time"},
                    "version": {"type": "integer", "description": "Goes up with each edit"}}},
}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def comment_paths(describer: Any) -> dict[str, Any]:
    """`/api/v1/{entity}/{id}/comments` for each entity the caller may read."""
    paths: dict[str, Any] = {}
    for entity in describer.blueprint.entities.values():
        if not describer.access.can(describer.actor, entity.name, "read"):
            continue
        paths[f"/api/v1/{entity.name}/{{id}}/comments"] = {"parameters": [id_parameter()], "get": {
            "operationId": f"list_comments_{entity.name}", "tags": [entity.name, "comments"],
            "summary": "The record's comments, newest first",
            "parameters": [{"name": "limit", "in": "query",
                            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}}],
            "responses": {"200": _json({"type": "object", "required": ["data"], "properties": {
                "data": {"type": "array", "items": COMMENT}}}, "Newest first"), **READ_ERRORS}}, "post": {
            "operationId": f"add_comment_{entity.name}", "tags": [entity.name, "comments"],
            "summary": "Comment on the record; each `@name` in the text is told in their inbox. A mention of "
                       "someone unknown or who may not read the record is refused (422, nothing saved)",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["text"], "properties": {
                    "text": {"type": "string", "minLength": 1, "maxLength": MAX_TEXT,
                             "description": "The comment; `@name` (a user's sign-in name) mentions someone"}}}}}},
            "responses": {"201": _json(COMMENT, "The comment"), **WRITE_ERRORS}}}
    return paths
