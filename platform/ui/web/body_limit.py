"""Request bodies bounded before anything reads them (the CSRF check, a form, a JSON body).

An ordinary form post or JSON call may carry `limit` bytes; only the upload endpoints (paths
matching one of `uploads`) get `upload_limit`, and only from a signed-in session: an anonymous
post is held to the small limit wherever it goes. A body announced larger than its limit
(Content-Length) is refused with 413 before a byte of it is read; one that streams past it
(chunked) is refused as soon as it does, and the rest is not read.
"""
from __future__ import annotations

import html
import re
from typing import Sequence

from starlette.datastructures import Headers
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from atrium.errors import AtriumError
from atrium.ui.web.i18n import word
from atrium.ui.web.sign_in import SESSION_KEY

FORM_LIMIT = 1024 * 1024  # bytes: the largest ordinary form or JSON body


class BodyTooLarge(AtriumError):
    """Raised from `receive` when the body goes past its limit; the middleware answers 413."""

    status, code = 413, "too_large"


class BodyLimit:
    def __init__(self, app: ASGIApp, upload_limit: int, uploads: Sequence[re.Pattern[str]] = (),
                 limit: int = FORM_LIMIT, attachments: Sequence[re.Pattern[str]] = (), attachment_limit: int = 0):
        self.app = app
        self.limit = limit
        self.upload_limit = upload_limit
        self.uploads = tuple(uploads)
        # files attached to records: a larger limit, from a session or an API token (the endpoint
        # answers a wrong token 401 before it reads a byte of the body)
        self.attachments, self.attachment_limit = tuple(attachments), attachment_limit

    def limit_for(self, scope: Scope) -> int:
        signed_in = SESSION_KEY in scope.get("session", {})
        if signed_in and any(pattern.match(scope["path"]) for pattern in self.uploads):
            return self.upload_limit
        bearer = Headers(scope=scope).get("authorization", "").startswith("Bearer ")
        if (signed_in or bearer) and any(pattern.match(scope["path"]) for pattern in self.attachments):
            return self.attachment_limit
        return self.limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope)
        length = Headers(scope=scope).get("content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            await self.refuse(scope, receive, send, limit)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge()
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except BodyTooLarge:
            if started:
                raise
            await self.refuse(scope, receive, send, limit)

    async def refuse(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        """413, in the session's language; the connection closes, so the rest of the body is not read."""
        site = scope["app"].state.site
        locale = scope.get("session", {}).get("locale") or site.blueprint.default_locale
        if locale not in site.blueprint.locales:
            locale = site.blueprint.default_locale
        text = word("The request is larger than {size} KB", locale, size=limit // 1024)
        response: Response
        if scope["path"].startswith("/api/"):
            response = JSONResponse({"error": "too_large", "message": text}, status_code=413)
        else:
            response = HTMLResponse(f"<!doctype html><title>413</title><p>{html.escape(text)}</p>", status_code=413)
        response.headers["Connection"] = "close"
        await response(scope, receive, send)
