"""Signing in and out.

A sign-in is counted by the throttle first (runtime/access/sign_in_throttle.py: per address, per
account and per pair, committed before anything else), then the password is checked with argon2
outside any write transaction, against the user's hash or, for a name that is unknown, disabled
or without a password, against a dummy hash: a wrong password and an unknown name get the same
status, the same page and take the same time. Only then does a short write transaction start
the session (runtime/access/sessions.py) and take the attempt back.

Signing out ends this browser's session only; "sign out everywhere" (account.py) ends them all.
Single sign-on buttons (sso.py) are listed on the same page; blueprint.yaml `sign_in.passwords:
false` leaves only them, unless the server's environment says ATRIUM_PASSWORD_SIGN_IN=on
(docs/sign-in.md).
"""
from __future__ import annotations

import os
import secrets
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from atrium.metadata.sign_in_settings import SignInSettings
from atrium.runtime.access import sign_in_throttle
from atrium.runtime.access.sessions import SessionPolicy, end_session, start_session
from atrium.runtime.access.users import dummy_hash, verify_password
from atrium.runtime.schema.database import write_transaction
from atrium.ui.web.i18n import word
from atrium.ui.web.templating import render
from atrium.ui.web.threads import with_form

SESSION_KEY = "session_key"  # the cookie's entry holding the session's key
MAX_NAME = 100  # the user name column's size: a longer name is no one's


def session_policy(request: Request) -> SessionPolicy:
    return getattr(request.app.state, "session_policy", None) or SessionPolicy()


def client_address(request: Request) -> str:
    """The client's host as the server sees it (behind a proxy: see sign_in_throttle's note)."""
    return request.client.host if request.client else ""


PASSWORDS_OVERRIDE = "ATRIUM_PASSWORD_SIGN_IN"  # "on": passwords accepted whatever sign_in.passwords says


def local_path(target: str) -> str:
    """`target` when it is a path on this site, else "" (never another site: no open redirect)."""
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else ""


def passwords_on(request: Request) -> bool:
    """Whether local passwords are accepted: blueprint.yaml `sign_in.passwords`, or the break-glass
    environment variable ATRIUM_PASSWORD_SIGN_IN=on (with `atrium user password NAME`)."""
    settings = request.app.state.site.blueprint.sign_in or SignInSettings()
    return settings.passwords or os.environ.get(PASSWORDS_OVERRIDE, "").lower() in ("on", "1", "true", "yes")


def login_context(request: Request, error: str | None, name: str) -> dict[str, Any]:
    """The login page: the password form when passwords are on, and a button per provider."""
    settings = request.app.state.site.blueprint.sign_in or SignInSettings()
    target = local_path(request.query_params.get("next", ""))
    query = "?" + urlencode({"next": target}) if target else ""
    providers = [{"name": p.name, "label": p.label, "kind": p.kind,
                  "href": str(request.url_for("sso_start", provider=p.name).path) + query}
                 for p in settings.providers]
    return {"error": error, "name": name, "passwords": passwords_on(request), "providers": providers}


def login_page(request: Request) -> Response:
    if request.state.user is not None:
        return RedirectResponse(request.url_for("home"), status_code=303)
    return render(request, "login.html", login_context(request, None, ""))


def _find(site: Any, name: str) -> dict[str, Any] | None:
    users = site.tables.system("atrium_users")
    if not name or len(name) > MAX_NAME or "\x00" in name:  # no one's (and PostgreSQL refuses NUL)
        return None
    with site.engine.connect() as connection:
        row = connection.execute(sa.select(users).where(users.c.name == name, users.c.active.is_(True))).first()
    return dict(row._mapping) if row else None


@with_form
def login(request: Request, form: FormData) -> Response:
    site = request.app.state.site
    name = str(form.get("name", "")).strip()
    password = str(form.get("password", ""))
    locale = request.state.locale
    if not passwords_on(request):
        return render(request, "login.html", login_context(
            request, word("Passwords are switched off on this site: sign in with a button below", locale), ""),
            status_code=403)
    address = client_address(request)
    now = site.now()
    counted = sign_in_throttle.attempt(site.engine, site.tables, name, address, now)
    if counted.refused:
        return render(request, "login.html", login_context(request, word(
            "Too many failed attempts; try again in {seconds} seconds", locale, seconds=counted.wait_seconds),
            name), status_code=429)
    user = _find(site, name)
    stored = user.get("password_hash") if user is not None else None
    verified = verify_password(stored or dummy_hash(), password) and stored is not None
    sign_in_throttle.forget_old(site.engine, site.tables, now)  # after a check, never on a refusal's fast path
    if user is None or not verified:
        return render(request, "login.html", login_context(request, word("Wrong user name or password", locale),
                                                           name), status_code=400)
    with write_transaction(site.engine) as connection:
        sign_in_throttle.succeeded(connection, site.tables, counted)
        key = start_session(connection, site.tables, user["id"], now, session_policy(request), address)
    request.session.clear()  # a new session on sign-in: no fixation
    request.session.update({SESSION_KEY: key, "locale": user.get("locale") or locale,
                            "csrf_token": secrets.token_urlsafe(32)})
    return RedirectResponse(local_path(str(form.get("next") or "")) or request.url_for("home"), status_code=303)


def logout(request: Request) -> Response:
    """Ends this browser's session in the database, so a copy of its cookie no longer works."""
    site = request.app.state.site
    key = request.session.get(SESSION_KEY)
    if key:
        with write_transaction(site.engine) as connection:
            end_session(connection, site.tables, str(key))
    request.session.clear()
    return RedirectResponse(request.url_for("login_page"), status_code=303)


routes = [
    Route("/login", login_page, methods=["GET"], name="login_page"),
    Route("/login", login, methods=["POST"], name="login"),
    Route("/logout", logout, methods=["POST"], name="logout"),
]
