"""Who the request is from, and CSRF protection for every state change.

The session cookie is Starlette's signed cookie (HttpOnly, SameSite=Lax); it holds the key of a
session kept in the database (runtime/access/sessions.py), looked up on every request, so a
session that was ended, timed out or belongs to a disabled user is signed out at once
(sign_in.py signs in and out). Every POST/PATCH/PUT/DELETE
that arrives with the session cookie must carry the session's CSRF token (form field `csrf_token`
or header `X-CSRF-Token`, which the layout makes htmx send); API calls authenticated by a
Bearer token carry no cookie and need none.
"""
from __future__ import annotations

import hmac
import re
import secrets
from typing import Any, Protocol, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from atrium.runtime.access.sessions import SessionPolicy, session_user
from atrium.runtime.access.users import token_hash
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.schema.database import write_transaction
from atrium.ui.web.i18n import word
from atrium.ui.web.request_connection import request_connection
from atrium.ui.web.sign_in import SESSION_KEY
from atrium.ui.web.threads import with_form

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
# inbound webhooks prove themselves with an HMAC signature over the body, and act as their configured
# user, never as the session's: no cookie lends them authority, so there is no CSRF to check
SIGNED_REQUESTS = re.compile(r"^/api/v1/inbound/[^/]+$")


class SiteRefresher(Protocol):
    """What keeps the app's site at the newest metadata (the studio's SiteRefresh)."""

    def needed(self, state: Any) -> bool: ...

    def __call__(self, state: Any, connection: Connection) -> None: ...


def actor_for(user: dict[str, Any] | None, locale: str) -> Actor | None:
    if user is None:
        return None
    return Actor(user_id=user["id"], name=user["name"], role=user["role"], team_id=user["team_id"],
                 locale=locale)


def load_user(site, connection, **where: Any) -> dict[str, Any] | None:
    users = site.tables.system("atrium_users")
    query = sa.select(users).where(users.c.active.is_(True), *(users.c[k] == v for k, v in where.items()))
    row = connection.execute(query).first()
    return dict(row._mapping) if row else None


def user_from_token(site, connection, header: str) -> dict[str, Any] | None:
    tokens = site.tables.system("atrium_tokens")
    row = connection.execute(sa.select(tokens.c.user_id).where(
        tokens.c.token_hash == token_hash(header.removeprefix("Bearer ").strip()))).first()
    return load_user(site, connection, id=row.user_id) if row else None


class IdentityMiddleware:
    """Sets request.state.user / actor / locale / csrf_token, and refuses unsafe requests without
    a valid CSRF token.

    A multipart post to one of `form_checked` (a file upload from a page without JavaScript) is
    let through unread, marked `csrf_in_form`: its endpoint checks the form's token with
    `form_token_ok` once Starlette has spooled the file to disk, so the file is never read whole
    into memory here."""

    def __init__(self, app: ASGIApp, form_checked: Sequence[re.Pattern[str]] = (),
                 refresh_site: SiteRefresher | None = None):
        self.app = app
        self.form_checked = tuple(form_checked)
        self.refresh_site = refresh_site

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        app_state = scope["app"].state
        session = scope.get("session", {})
        authorization = request.headers.get("Authorization", "")
        via_token = authorization.startswith("Bearer ")
        user = None
        signed = via_token or SESSION_KEY in session  # an anonymous request needs no user query
        refresh = self.refresh_site is not None and self.refresh_site.needed(app_state)
        if signed or refresh:  # otherwise no query at all, nor a thread
            user = await run_in_threadpool(self._identify, scope, refresh, authorization,
                                           session.get(SESSION_KEY) if signed else None,
                                           getattr(app_state, "session_policy", None) or SessionPolicy())
            if user is None and signed and not via_token:
                session.pop(SESSION_KEY, None)  # ended or timed out: the cookie forgets it
        site = app_state.site
        locales = site.blueprint.locales
        locale = session.get("locale") or (user or {}).get("locale") or site.blueprint.default_locale
        if request.query_params.get("lang") in locales:
            locale = request.query_params["lang"]
            session["locale"] = locale
        if locale not in locales:
            locale = site.blueprint.default_locale
        fresh = "csrf_token" not in session  # then no token sent can match: the body is not read
        if fresh:
            session["csrf_token"] = secrets.token_urlsafe(32)
        state = scope.setdefault("state", {})
        state.update(user=user, actor=actor_for(user, locale), locale=locale,
                     csrf_token=session["csrf_token"], via_token=via_token)
        if request.method in UNSAFE and not via_token and not SIGNED_REQUESTS.match(scope["path"]):
            header = request.headers.get("X-CSRF-Token")
            if header is not None and not fresh:  # the body is left unread: an upload streams on to the endpoint
                accepted = bool(header) and hmac.compare_digest(header.encode(), session["csrf_token"].encode())
            elif not fresh and request.headers.get("content-type", "").startswith("multipart/form-data") \
                    and any(pattern.match(scope["path"]) for pattern in self.form_checked):
                state["csrf_in_form"] = accepted = True  # the endpoint checks it: form_token_ok
            else:
                body = b"" if fresh else await request.body()
                receive = _replay(body)  # the endpoint reads the body again
                accepted = not fresh and await self._csrf_ok(Request(scope, _replay(body)), session)
            if not accepted:
                response: Response
                if request.url.path.startswith("/api/"):
                    response = JSONResponse({"error": "csrf"}, status_code=403)
                else:
                    response = HTMLResponse(word("The form expired; reload the page and try again", locale),
                                            status_code=403)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _identify(self, scope: Scope, refresh: bool, authorization: str, key: Any,
                  policy: SessionPolicy) -> dict[str, Any] | None:
        """The site brought to the newest metadata (when the app watches it), then the request's
        user, on one connection."""
        app_state = scope["app"].state
        with request_connection(scope, app_state.site.engine) as connection:
            if refresh and self.refresh_site is not None:
                self.refresh_site(app_state, connection)
            site = app_state.site
            if authorization.startswith("Bearer "):
                return user_from_token(site, connection, authorization)
            if key is None:
                return None
            return session_user(site.engine, site.tables, str(key), site.now(), policy, connection=connection)

    @staticmethod
    async def _csrf_ok(request: Request, session: dict) -> bool:
        sent: str | UploadFile | None = request.headers.get("X-CSRF-Token")
        if sent is None and request.headers.get("content-type", "").startswith(
                ("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            sent = form.get("csrf_token")
        expected = session.get("csrf_token", "")
        return bool(sent) and bool(expected) and hmac.compare_digest(str(sent), expected)


def form_token_ok(request: Request, form: FormData) -> bool:
    """The form's CSRF token, where the middleware left it to the endpoint (`csrf_in_form`)."""
    if not getattr(request.state, "csrf_in_form", False):
        return True
    sent, expected = form.get("csrf_token"), request.session.get("csrf_token", "")
    return isinstance(sent, str) and bool(sent) and bool(expected) \
        and hmac.compare_digest(sent.encode(), expected.encode())


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> dict:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}
    return receive


@with_form
def set_language(request: Request, form: FormData) -> Response:
    site = request.app.state.site
    locale = str(form.get("locale", ""))
    if locale in site.blueprint.locales:
        request.session["locale"] = locale
        if request.state.user is not None:
            users = site.tables.system("atrium_users")
            with write_transaction(site.engine) as connection:  # remembered for the next sign-in too
                connection.execute(users.update().where(users.c.id == request.state.user["id"])
                                   .values(locale=locale))
    back = request.headers.get("referer", "/")
    return RedirectResponse(back if back.startswith(str(request.base_url)) else "/", status_code=303)


routes = [
    Route("/language", set_language, methods=["POST"], name="set_language"),
]
