"""Single sign-on: `GET /login/{provider}` sends the browser to the provider, and
`GET /login/{provider}/callback` signs it in.

What a sign-in must keep across the round trip (state, nonce, PKCE verifier, where to go next)
is kept in this browser's signed pre-sign-in session, taken out at the callback so it is used
once. The session is started by the same `start_session` as a password sign-in (same cookie
policy, a fresh cookie, the session listed on the account page). The calls to the provider
block: both endpoints are plain `def`, so Starlette runs them in its threadpool.
"""
from __future__ import annotations

import os
import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from atrium.metadata.sign_in_settings import SignInProvider, SignInSettings
from atrium.runtime.access import oidc, work_app_sign_in
from atrium.runtime.access.external_sign_in import SignInRefused, refusal_of, signed_in_user
from atrium.runtime.access.sessions import start_session
from atrium.runtime.schema.database import write_transaction
from atrium.translation import N_
from atrium.ui.web.i18n import word
from atrium.ui.web.sign_in import SESSION_KEY, client_address, local_path, session_policy
from atrium.ui.web.templating import render

PENDING_KEY = "sign_in_pending"
REFUSALS = {
    "failed": N_("The sign-in could not be completed; please try again"),
    "unknown": N_("There is no user here for your account; ask an administrator to add you"),
    "disabled": N_("Your account is disabled"),
    "waiting": N_("Your account was created and is waiting for an administrator to give you a role"),
}


def settings_of(request: Request) -> SignInSettings:
    return request.app.state.site.blueprint.sign_in or SignInSettings()


def _provider(request: Request) -> SignInProvider | None:
    return settings_of(request).provider(request.path_params["provider"])


def _callback_address(request: Request, provider: SignInProvider) -> str:
    return str(request.url_for("sso_callback", provider=provider.name))


def refused(request: Request, reason: str) -> Response:
    text = word(REFUSALS.get(reason, REFUSALS["failed"]), request.state.locale)
    status = 400 if reason == "failed" else 403
    return render(request, "sign_in_refused.html", {"title": text, "reason": reason}, status_code=status)


def sso_start(request: Request) -> Response:
    provider = _provider(request)
    if provider is None:
        return render(request, "notice.html", {"title": word("Not found", request.state.locale)}, status_code=404)
    try:
        if provider.kind == "oidc":
            url, pending = oidc.begin(provider, _callback_address(request, provider), os.environ)
        else:
            url, pending = work_app_sign_in.begin(provider, _callback_address(request, provider))
    except SignInRefused as refusal:
        return refused(request, refusal.reason)
    request.session[PENDING_KEY] = {**pending, "provider": provider.name,
                                    "next": local_path(request.query_params.get("next", ""))}
    return RedirectResponse(url, status_code=303)


def sso_callback(request: Request) -> Response:
    provider = _provider(request)
    pending: dict[str, Any] = request.session.pop(PENDING_KEY, None) or {}  # used once, whatever happens
    if provider is None:
        return render(request, "notice.html", {"title": word("Not found", request.state.locale)}, status_code=404)
    site = request.app.state.site
    params = dict(request.query_params)
    try:
        if pending.get("provider") != provider.name:
            raise SignInRefused("failed", "no sign-in with this provider was started in this browser")
        if provider.kind == "oidc":
            identity = oidc.finish(provider, _callback_address(request, provider), pending, params, os.environ)
        else:
            identity = work_app_sign_in.finish(provider, pending, params, os.environ)
        now = site.now()
        with write_transaction(site.engine) as connection:
            user = signed_in_user(connection, site.tables, site.blueprint, provider, identity, now)
            reason = refusal_of(user, site.blueprint)  # the link (and a provisioned user) is kept
            if reason is None:
                key = start_session(connection, site.tables, user["id"], now, session_policy(request),
                                    client_address(request))
    except SignInRefused as refusal:
        return refused(request, refusal.reason)
    if reason is not None:
        return refused(request, reason)
    locale = user.get("locale") or request.state.locale
    request.session.clear()  # a new session on sign-in: no fixation
    request.session.update({SESSION_KEY: key, "locale": locale, "csrf_token": secrets.token_urlsafe(32)})
    return RedirectResponse(pending.get("next") or request.url_for("home"), status_code=303)


routes = [
    Route("/login/{provider}", sso_start, methods=["GET"], name="sso_start"),
    Route("/login/{provider}/callback", sso_callback, methods=["GET"], name="sso_callback"),
]
