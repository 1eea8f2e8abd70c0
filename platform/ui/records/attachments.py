"""The attachments panel of every detail page, and the pages' file endpoints:

    POST /r/{entity}/{id}/files      upload (multipart: `file`, and `field`, a file field or empty)
    GET  /files/{id}                 download (`?inline=1`: shown in the page, for images and PDFs)
    POST /files/{id}/delete          remove

Each goes through the files service (runtime/files), which applies the record's own access: a
file of a record the reader may not see is a 404. An approval's lock freezes the record's values,
not its files: the document under review is what the approver needs to see. The upload is parsed
by Starlette, which spools the file to disk past 1 MB, and copied to the storage in chunks in a
worker thread.
"""
from __future__ import annotations

import re
from typing import Iterator
from urllib.parse import quote

import sqlalchemy as sa
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from atrium.metadata.file_fields import MOST
from atrium.runtime.files.service import ATTACHMENTS, StoredFile
from atrium.runtime.records.service import RecordNotFound, ValidationFailed
from atrium.ui.records.detail_page import detail_context
from atrium.ui.web.guards import login_required
from atrium.ui.web.i18n import word
from atrium.ui.web.page_tools import Kit, record_page
from atrium.ui.web.sessions import form_token_ok
from atrium.ui.web.templating import is_htmx, render
from atrium.ui.web.threads import in_thread, with_form

PAGE_UPLOAD = re.compile(r"^/r/[^/]+/[0-9]+/files/?$")
UPLOAD_PATHS = [PAGE_UPLOAD, re.compile(r"^/api/v1/[^/]+/[0-9]+/files/?$")]
FORM_CHECKED = [PAGE_UPLOAD]  # without JavaScript the CSRF token is in the body: `upload` checks it
MAX_BODY = MOST + 1024 * 1024  # the largest file a field may take, and its multipart envelope


@record_page
@with_form
def upload(request: Request, form: FormData) -> Response:
    if not form_token_ok(request, form):
        return HTMLResponse(word("The form expired; reload the page and try again", request.state.locale),
                            status_code=403)
    kit = Kit(request)
    record_id = kit.record_id()
    upload = form.get("file")
    field = str(form.get("field", "") or "") or None
    try:
        if not isinstance(upload, UploadFile) or not upload.filename:
            kit.secured.get(kit.actor, kit.entity_name, record_id, action="update")
            raise ValidationFailed({field or ATTACHMENTS: [kit.word("Choose a file to upload")]})
        kit.site.files.attach(kit.actor, kit.entity_name, record_id, field, upload.filename, upload.content_type,
                              upload.file)
    except ValidationFailed as failed:
        context = detail_context(kit, record_id)
        context["attachments"]["error"] = "; ".join(text for texts in failed.errors.values() for text in texts)
        return render(request, "detail.html", context, status_code=200 if is_htmx(request) else failed.status)
    finally:
        if isinstance(upload, UploadFile):
            upload.file.close()
    return RedirectResponse(f"/r/{kit.entity_name}/{record_id}#attachments", status_code=303)


def file_id(request: Request) -> int:
    return int(request.path_params["file_id"])


@login_required
@in_thread
def download(request: Request) -> Response:
    stored = request.app.state.site.files.open(request.state.actor, file_id(request))
    return file_response(stored, inline=request.query_params.get("inline") == "1")


def file_response(stored: StoredFile, inline: bool) -> Response:
    """The bytes as they stream from the storage; shown in the page only for images and PDFs."""
    row = stored.row
    disposition = "inline" if inline and stored.inline else "attachment"
    headers = {"Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(row['name'])}",
               "Content-Length": str(row["size"]), "X-Content-Type-Options": "nosniff",
               "Cache-Control": "private, no-store", "Content-Security-Policy": "default-src 'none'; sandbox"}
    if disposition == "inline" and row["content_type"] == "application/pdf":
        del headers["Content-Security-Policy"]  # the browser's PDF viewer does not run in a sandbox
    chunks: Iterator[bytes] = stored.chunks
    return StreamingResponse(chunks, media_type=row["content_type"], headers=headers)


@login_required
@with_form
def delete(request: Request, form: FormData) -> Response:
    site, actor = request.app.state.site, request.state.actor
    with site.engine.connect() as connection:
        table = site.files.table
        row = connection.execute(sa.select(table.c.entity, table.c.record_id)
                                 .where(table.c.id == file_id(request))).first()
    if row is None:
        raise RecordNotFound(file_id(request))
    site.files.remove(actor, file_id(request))
    url = f"/r/{row.entity}/{row.record_id}#attachments"
    if is_htmx(request):
        return Response(status_code=200, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


routes = [
    Route("/r/{entity}/{record_id:int}/files", upload, methods=["POST"], name="record_file_upload"),
    Route("/files/{file_id:int}", download, methods=["GET"], name="file_download"),
    Route("/files/{file_id:int}/delete", delete, methods=["POST"], name="file_delete"),
]
