"""The signed-in user's own account: the sessions they have open, "sign out everywhere", a
new password (which ends every other session: a browser signed in by someone who knew the old
password is signed out at once), and whether notifications also come by email (each at once, a
daily digest, or none: runtime/delivery)."""
from __future__ import annotations

from typing import Mapping

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from atrium.runtime.access import sign_in_throttle
from atrium.runtime.access.sessions import end_user_sessions, key_hash, user_sessions
from atrium.runtime.access.users import hash_password, set_password_hash, verify_password
from atrium.runtime.delivery.preferences import MAX_EMAIL, MessagePreferences, preferences_of, set_preferences
from atrium.runtime.schema.database import connect, write_transaction
from atrium.ui.web.guards import login_required
from atrium.ui.web.i18n import N_, word
from atrium.ui.web.sign_in import SESSION_KEY, client_address, session_policy
from atrium.ui.web.templating import render
from atrium.ui.web.threads import in_thread, with_form

MIN_PASSWORD = 8
MAX_PASSWORD = 200  # argon2 hashes whatever it is given: the work stays bounded
PASSWORD_PROBLEMS = {
    "current": N_("The current password is wrong"),
    "short": N_("The new password needs at least {count} characters"),
    "long": N_("The new password may have at most {count} characters"),
    "repeat": N_("The two new passwords differ"),
}


def _page(request: Request, error: str | None = None, done: str | None = None, status: int = 200,
          message_errors: Mapping[str, str] | None = None, typed: MessagePreferences | None = None) -> Response:
    site, user = request.app.state.site, request.state.user
    policy, now = session_policy(request), site.now()
    with connect(site.engine) as connection:
        sessions = [s for s in user_sessions(connection, site.tables, user["id"])  # live ones only
                    if now - s["last_seen_at"] < policy.idle and now - s["started_at"] < policy.absolute]
        preferences = typed or preferences_of(connection, site.tables, user["id"])
    current = key_hash(str(request.session.get(SESSION_KEY, "")))
    locale = request.state.locale
    return render(request, "account.html", {
        "sessions": [{**s, "current": s["key_hash"] == current} for s in sessions],
        "timezone": site.blueprint.timezone, "error": error, "done": done,
        "min_password": MIN_PASSWORD, "preferences": preferences,
        "email_offered": site.blueprint.messages is not None and site.blueprint.messages.email is not None,
        "message_errors": {name: word(msgid, locale) for name, msgid in (message_errors or {}).items()}},
        status_code=status)


@login_required
@in_thread
def account(request: Request) -> Response:
    done = {"password": word("Your password was changed; your other sessions were ended", request.state.locale),
            "messages": word("Your choice of emails was saved", request.state.locale)}
    return _page(request, done=done.get(request.query_params.get("done", "")))


def _problem(request: Request, form: FormData) -> str | None:
    """What is wrong with a password change, in the reader's words; None when it may go ahead.
    The current password is checked last (argon2, outside any write transaction), and counted by
    the sign-in throttle like a sign-in, so a left-open browser cannot be used to guess it."""
    new, repeat = str(form.get("new_password", "")), str(form.get("repeat_password", ""))
    locale = request.state.locale
    if len(new) < MIN_PASSWORD:
        return word(PASSWORD_PROBLEMS["short"], locale, count=MIN_PASSWORD)
    if len(new) > MAX_PASSWORD:
        return word(PASSWORD_PROBLEMS["long"], locale, count=MAX_PASSWORD)
    if new != repeat:
        return word(PASSWORD_PROBLEMS["repeat"], locale)
    site, user = request.app.state.site, request.state.user
    counted = sign_in_throttle.attempt(site.engine, site.tables, user["name"], client_address(request), site.now())
    if counted.refused:
        return word("Too many failed attempts; try again in {seconds} seconds", locale, seconds=counted.wait_seconds)
    current = str(form.get("current_password", ""))[:MAX_PASSWORD * 5]
    if not verify_password(user.get("password_hash"), current):
        return word(PASSWORD_PROBLEMS["current"], locale)
    with write_transaction(site.engine) as connection:
        sign_in_throttle.succeeded(connection, site.tables, counted)
    return None


@login_required
@with_form
def change_password(request: Request, form: FormData) -> Response:
    problem = _problem(request, form)
    if problem is not None:
        return _page(request, error=problem, status=400)
    site, user = request.app.state.site, request.state.user
    new_hash = hash_password(str(form.get("new_password", "")))  # before the write transaction
    with write_transaction(site.engine) as connection:
        set_password_hash(connection, site.tables, user["id"], new_hash,
                          keep_session=str(request.session.get(SESSION_KEY, "")))
    return RedirectResponse(request.url_for("account").include_query_params(done="password"), status_code=303)


@login_required
@with_form
def save_messages(request: Request, form: FormData) -> Response:
    site, user = request.app.state.site, request.state.user
    email, choice = str(form.get("email", ""))[:MAX_EMAIL * 2].strip(), str(form.get("choice", ""))
    with write_transaction(site.engine) as connection:
        found = set_preferences(connection, site.tables, user["id"], email, choice)
    if found:  # shown beside the fields, as typed; nothing was written
        return _page(request, message_errors=found, typed=MessagePreferences(email, choice), status=400)
    return RedirectResponse(request.url_for("account").include_query_params(done="messages"), status_code=303)


@login_required
@in_thread
def sign_out_everywhere(request: Request) -> Response:
    site, user = request.app.state.site, request.state.user
    with write_transaction(site.engine) as connection:
        end_user_sessions(connection, site.tables, user["id"])
    request.session.clear()
    return RedirectResponse(request.url_for("login_page"), status_code=303)


routes = [
    Route("/account", account, methods=["GET"], name="account"),
    Route("/account/password", change_password, methods=["POST"], name="change_password"),
    Route("/account/messages", save_messages, methods=["POST"], name="save_messages"),
    Route("/account/sign-out-everywhere", sign_out_everywhere, methods=["POST"], name="sign_out_everywhere"),
]
