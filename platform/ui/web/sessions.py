"""Signing in and out, who the request is from, and CSRF protection for every state change.

Sessions are Starlette's signed cookies (HttpOnly, SameSite=Lax). Every POST/PATCH/PUT/DELETE
that arrives with the session cookie must carry the session's CSRF token (form field `csrf_token`
or header `X-CSRF-Token`, which the layout makes htmx send); API calls authenticated by a
Bearer token carry no cookie and need none.
"""
from __future__ import annotations

import datetime as dt
import hmac
import secrets
from typing import Any

import sqlalchemy as sa
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from atrium.runtime.access.users import token_hash, verify_password
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.schema.database import write_transaction
from atrium.ui.web.i18n import word
from atrium.ui.web.templating import render
from atrium.ui.web.threads import with_form

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
SLOW_AFTER = 5  # failed logins before each further attempt must wait
MAX_DELAY = 300


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
    a valid CSRF token."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        site = scope["app"].state.site
        session = scope.get("session", {})
        authorization = request.headers.get("Authorization", "")
        via_token = authorization.startswith("Bearer ")
        user = None
        if via_token or "user_id" in session:  # an anonymous request needs no query, nor a thread
            user = await run_in_threadpool(self._user, site, authorization, session.get("user_id"))
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
        if request.method in UNSAFE and not via_token:
            body = b"" if fresh else await request.body()
            receive = _replay(body)  # the endpoint reads the body again
            if fresh or not await self._csrf_ok(Request(scope, _replay(body)), session):
                response: Response
                if request.url.path.startswith("/api/"):
                    response = JSONResponse({"error": "csrf"}, status_code=403)
                else:
                    response = HTMLResponse(word("The form expired; reload the page and try again", locale),
                                            status_code=403)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    @staticmethod
    def _user(site, authorization: str, user_id: int | None) -> dict[str, Any] | None:
        with site.engine.connect() as connection:
            if authorization.startswith("Bearer "):
                return user_from_token(site, connection, authorization)
            return load_user(site, connection, id=user_id)

    @staticmethod
    async def _csrf_ok(request: Request, session: dict) -> bool:
        sent: str | UploadFile | None = request.headers.get("X-CSRF-Token")
        if sent is None and request.headers.get("content-type", "").startswith(
                ("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            sent = form.get("csrf_token")
        expected = session.get("csrf_token", "")
        return bool(sent) and bool(expected) and hmac.compare_digest(str(sent), expected)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> dict:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}
    return receive


def _delay(user: dict[str, Any], now: dt.datetime) -> int:
    """Seconds the account must still wait before another attempt counts."""
    failures = user.get("failed_logins") or 0
    if failures < SLOW_AFTER or user.get("last_failed_at") is None:
        return 0
    wait = min(MAX_DELAY, 2 ** (failures - SLOW_AFTER + 1))
    last = user["last_failed_at"]
    last = last if last.tzinfo else last.replace(tzinfo=dt.timezone.utc)
    return max(0, int(wait - (now - last).total_seconds()))


def login_page(request: Request) -> Response:
    if request.state.user is not None:
        return RedirectResponse(request.url_for("home"), status_code=303)
    return render(request, "login.html", {"error": None, "name": ""})


@with_form
def login(request: Request, form: FormData) -> Response:
    """The argon2 check (most of a second) runs before the write transaction, which then only
    records the outcome: a sign-in never holds the write lock while it hashes."""
    site = request.app.state.site
    name = str(form.get("name", "")).strip()
    password = str(form.get("password", ""))
    locale = request.state.locale
    users = site.tables.system("atrium_users")
    now = site.now()
    with site.engine.connect() as connection:
        user = load_user(site, connection, name=name)
    if user is not None and (wait := _delay(user, now)):
        return render(request, "login.html",
                      {"error": word("Too many failed attempts; try again in {seconds} seconds", locale, seconds=wait),
                       "name": name},
                      status_code=429)
    verified = user is not None and verify_password(user["password_hash"], password)
    with write_transaction(site.engine) as connection:
        current = load_user(site, connection, id=user["id"]) if user is not None else None
        if current is not None and (wait := _delay(current, now)):  # others failed while this one hashed
            return render(request, "login.html",
                          {"error": word("Too many failed attempts; try again in {seconds} seconds", locale,
                                         seconds=wait), "name": name},
                          status_code=429)
        if current is None or not verified:
            if current is not None:
                connection.execute(users.update().where(users.c.id == current["id"]).values(
                    failed_logins=(current.get("failed_logins") or 0) + 1, last_failed_at=now))
            return render(request, "login.html", {"error": word("Wrong user name or password", locale), "name": name},
                          status_code=400)
        if current.get("failed_logins"):
            connection.execute(users.update().where(users.c.id == current["id"]).values(failed_logins=0))
    request.session.clear()  # a new session id on sign-in: no fixation
    request.session.update(user_id=current["id"], locale=current.get("locale") or locale,
                           csrf_token=secrets.token_urlsafe(32))
    target = str(form.get("next") or "")
    return RedirectResponse(target if target.startswith("/") and not target.startswith("//")
                            else request.url_for("home"), status_code=303)


def logout(request: Request) -> Response:
    request.session.clear()
    return RedirectResponse(request.url_for("login_page"), status_code=303)


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
    Route("/login", login_page, methods=["GET"], name="login_page"),
    Route("/login", login, methods=["POST"], name="login"),
    Route("/logout", logout, methods=["POST"], name="logout"),
    Route("/language", set_language, methods=["POST"], name="set_language"),
]
