"""The files of a record through the JSON API (runtime/files), under the record's own access:

    GET    /api/v1/{entity}/{id}/files     the record's files the caller may see
    POST   /api/v1/{entity}/{id}/files     multipart: `file`, and `field` (a file field; empty: an attachment)
    GET    /api/v1/files/{id}              the file's bytes (`?inline=1` for an image or PDF to show)
    DELETE /api/v1/files/{id}              remove it (the right to update its record)
"""
from __future__ import annotations

from typing import Any, Mapping

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from atrium.metadata.model import Entity
from atrium.runtime.files.service import ATTACHMENTS, file_url
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.records.service import ValidationFailed
from atrium.runtime.site.site import Site
from atrium.translation import word
from atrium.ui.api.calls import UNAUTHORIZED, api_caller, api_endpoint, bad_request, plain
from atrium.ui.records.attachments import file_response
from atrium.ui.web.threads import RUNS_IN_THREAD, in_thread


def file_json(row: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "name": row["name"], "size": row["size"], "type": row["content_type"],
            "field": row["field"], "created_at": plain(row["created_at"]), "created_by": row["created_by"],
            "url": file_url(row["id"])}


@api_endpoint("read")
@in_thread
def list_files(request: Request, site: Site, actor: Actor, entity: Entity) -> Response:
    rows = site.files.of_record(actor, entity.name, request.path_params["record_id"])
    return JSONResponse({"data": [file_json(row) for row in rows]})


@api_endpoint("update")
async def upload_file(request: Request, site: Site, actor: Actor, entity: Entity) -> Response:
    """The multipart body is parsed on the loop (Starlette spools the file to disk past 1 MB);
    the copy to the storage runs in a worker thread."""
    try:
        form = await request.form(max_files=1, max_fields=2)
    except HTTPException:
        raise bad_request(actor.locale, "The body must be multipart/form-data with a file") from None
    try:
        upload, field = form.get("file"), form.get("field")
        if field is not None and not isinstance(field, str):
            raise bad_request(actor.locale, "The body must be multipart/form-data with a file", "field")
        return await run_in_threadpool(_store, site, actor, entity, request.path_params["record_id"],
                                       upload, field or None)
    finally:
        await form.close()


setattr(upload_file, RUNS_IN_THREAD, True)  # the storing is threaded (tests/ui/test_event_loop.py)


def _store(site: Site, actor: Actor, entity: Entity, record_id: int, upload: Any, field: str | None) -> Response:
    if not isinstance(upload, UploadFile) or not upload.filename:
        site.files.secured.get(actor, entity.name, record_id, action="update")
        raise ValidationFailed({field or ATTACHMENTS: [word("Choose a file to upload", actor.locale)]})
    row = site.files.attach(actor, entity.name, record_id, field, upload.filename, upload.content_type, upload.file)
    return JSONResponse(file_json(row), status_code=201)


async def download_file(request: Request) -> Response:
    actor = api_caller(request)
    if actor is None:
        return JSONResponse(UNAUTHORIZED, status_code=401)
    return await run_in_threadpool(_download, request, actor)


def _download(request: Request, actor: Actor) -> Response:
    inline = request.query_params.get("inline")
    if inline not in (None, "1"):
        raise bad_request(actor.locale, "inline is 1 or left out", "inline")
    stored = request.app.state.site.files.open(actor, request.path_params["file_id"])
    return file_response(stored, inline=inline == "1")


async def delete_file(request: Request) -> Response:
    actor = api_caller(request)
    if actor is None:
        return JSONResponse(UNAUTHORIZED, status_code=401)
    await run_in_threadpool(request.app.state.site.files.remove, actor, request.path_params["file_id"])
    return Response(status_code=204)


for _endpoint in (download_file, delete_file):
    setattr(_endpoint, RUNS_IN_THREAD, True)
