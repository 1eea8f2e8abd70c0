"""The OpenAPI description of the files endpoints (api/files.py): a record's files, listed and
uploaded under the record's path, and one file read or removed by its own id."""
from __future__ import annotations

from typing import Any

from atrium.metadata.model import Entity
from atrium.ui.api.openapi_common import MAX_ID, READ_ERRORS, WRITE_ERRORS, id_parameter

FILE_SUMMARY = {"type": "object", "required": ["id", "name", "size", "type"], "properties": {
    "id": {"type": "integer"}, "name": {"type": "string"}, "size": {"type": "integer"},
    "type": {"type": "string", "description": "The MIME type"}}}
FILE_SCHEMA = {"type": "object", "required": ["id", "name", "size", "type", "field", "created_at", "url"],
               "properties": {
                   **FILE_SUMMARY["properties"],  # type: ignore[dict-item]
                   "field": {"type": ["string", "null"], "description": "The file field it fills; null: an "
                             "attachment of the record"},
                   "created_at": {"type": "string", "format": "date-time"},
                   "created_by": {"type": ["integer", "null"]},
                   "url": {"type": "string", "description": "Where the web pages download it (`/files/{id}`); "
                                                           "the API's is `/api/v1/files/{id}`"}}}
FILE_REF = {"$ref": "#/components/schemas/File"}


def file_value_schema() -> dict[str, Any]:
    """A file field's value in a record: its files, set through the files endpoints only."""
    return {"type": "array", "items": FILE_SUMMARY, "readOnly": True,
            "description": "The field's files; attach and remove them through /api/v1/{entity}/{id}/files."}


def record_file_paths(entity: Entity, can_read: bool, can_update: bool, file_fields: list[str]) -> dict[str, Any]:
    name = entity.name
    item: dict[str, Any] = {"parameters": [id_parameter()]}
    if can_read:
        item["get"] = {
            "operationId": f"list_{name}_files", "tags": [name], "summary": f"The files of a {name}",
            "responses": {"200": {"description": "The files the caller may see, oldest first", "content": {
                "application/json": {"schema": {"type": "object", "required": ["data"], "properties": {
                    "data": {"type": "array", "items": FILE_REF}}}}}}, **READ_ERRORS}}
    if can_update:
        field: dict[str, Any] = {"type": "string", "description": "The file field to fill (a one-file field's "
                                 "file is replaced); empty or left out: an attachment of the record"}
        if file_fields:
            field["enum"] = ["", *file_fields]
        item["post"] = {
            "operationId": f"upload_{name}_file", "tags": [name], "summary": f"Attach a file to a {name}",
            "description": "Streamed to the site's storage. The field's `max_size` and `accept` apply; "
                           "a file refused is a 422 naming the field (`attachments` for the record's own).",
            "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                "type": "object", "required": ["file"], "properties": {
                    "file": {"type": "string", "contentMediaType": "application/octet-stream"},
                    "field": field}}}}},
            "responses": {"201": {"description": "Stored", "content": {"application/json": {"schema": FILE_REF}}},
                          **WRITE_ERRORS}}
    return {f"/api/v1/{name}/{{id}}/files": item} if len(item) > 1 else {}


def file_path() -> dict[str, Any]:
    return {"/api/v1/files/{id}": {
        "parameters": [{"name": "id", "in": "path", "required": True,
                        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID}}],
        "get": {"operationId": "download_file", "tags": ["files"], "summary": "A file's bytes",
                "description": "Answered only to a caller who may read the file's record (and field): "
                               "404 for anyone else.",
                "parameters": [{"name": "inline", "in": "query", "schema": {"enum": ["1"]},
                                "description": "`1`: shown in the browser (images and PDFs), else a download"}],
                "responses": {"200": {"description": "The file", "content": {"*/*": {"schema": {
                    "type": "string", "contentMediaType": "application/octet-stream"}}}}, **READ_ERRORS}},
        "delete": {"operationId": "delete_file", "tags": ["files"], "summary": "Remove a file",
                   "description": "Needs the right to update the file's record.",
                   "responses": {"204": {"description": "Removed"}, **WRITE_ERRORS}}}}
