"""The signed-in guard every page and API endpoint sits behind: pages send a visitor to the
login page, the API answers 401. Page modules import it from here, never from app.py, which
imports them."""
from __future__ import annotations

import functools
from typing import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

Endpoint = Callable[[Request], Awaitable[Response]]


def login_required(endpoint: Endpoint) -> Endpoint:
    """Pages send a visitor to the login page; the API answers 401."""
    @functools.wraps(endpoint)
    async def guarded(request: Request) -> Response:
        if request.state.actor is None:
            if request.url.path.startswith("/api/"):
                return JSONResponse({"error": "unauthorized"}, status_code=401)
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            login = request.url_for("login_page").include_query_params(next=target)
            if request.headers.get("HX-Request"):
                return Response(status_code=204, headers={"HX-Redirect": str(login)})
            return RedirectResponse(login, status_code=303)
        return await endpoint(request)
    return guarded
