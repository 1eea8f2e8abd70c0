"""People, for the admin: GET /studio/users lists every user with their team and open sessions, and
a form to add one (POST /studio/users: name, display name, email, role from roles.yaml, team, and
a password the admin types or one made up and shown once). POST /studio/users/{id}/sign-out ends
all of one user's sessions, /disable disables the user (every session ends at once and their API
tokens stop working), /enable lets them sign in again. Each change is recorded in the studio's
history (runtime/access/people.py)."""
from __future__ import annotations

import secrets
from typing import Any, Callable

import sqlalchemy as sa
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from atrium.runtime.access.people import People, PeopleError
from atrium.runtime.access.users import hash_password
from atrium.runtime.schema.database import connect, write_transaction
from atrium.ui.studio.setup import studio_page
from atrium.ui.web.edge import id_or_none
from atrium.ui.web.i18n import N_, word
from atrium.ui.web.page_tools import notice
from atrium.ui.web.sign_in import session_policy
from atrium.ui.web.templating import render
from atrium.ui.web.threads import in_thread, with_form

MIN_PASSWORD, MAX_PASSWORD = 8, 200
DONE = {"signed_out": N_("{name} was signed out everywhere"), "disabled": N_("{name} was disabled and signed out"),
        "enabled": N_("{name} may sign in again"), "self": N_("You cannot disable yourself"),
        "saved": N_("{name} was saved"), "password": N_("The password of {name} was reset; they were signed out"),
        "joined": N_("{name} joined the team")}


def people(request: Request, at: Any = None) -> Callable[[Any], People]:
    """The people service on a connection, acting as the signed-in admin."""
    site = request.app.state.site
    return lambda connection: People(connection, site.tables, site.blueprint, request.state.actor, at or site.now())


def teams_and_roles(request: Request) -> dict[str, Any]:
    """The choices of the user forms: teams (id, name, label) and roles (name, label) from roles.yaml."""
    site = request.app.state.site
    teams = site.tables.system("atrium_teams")
    with connect(site.engine) as connection:
        team_rows = [dict(row._mapping) for row in connection.execute(
            sa.select(teams.c.id, teams.c.name, teams.c.label).order_by(teams.c.name))]
    return {"teams": team_rows, "roles": list(site.blueprint.roles.items())}


def new_password(form: FormData, locale: str) -> tuple[str, str | None, str | None]:
    """(hash, the password to show once when it was made up here, a problem with the typed one)."""
    typed = str(form.get("password", ""))
    if typed and len(typed) < MIN_PASSWORD:
        return "", None, word("The password needs at least {count} characters", locale, count=MIN_PASSWORD)
    if len(typed) > MAX_PASSWORD:
        return "", None, word("The password may have at most {count} characters", locale, count=MAX_PASSWORD)
    made_up = None if typed else secrets.token_urlsafe(9)
    return hash_password(typed or made_up or ""), made_up, None


def _list(request: Request, status: int = 200, **extra: Any) -> Response:
    site = request.app.state.site
    users, teams = site.tables.system("atrium_users"), site.tables.system("atrium_teams")
    sessions = site.tables.system("atrium_sessions")
    policy, now = session_policy(request), site.now()
    open_sessions = (sa.select(sa.func.count()).where(  # live ones: not yet timed out
        sessions.c.user_id == users.c.id, sessions.c.last_seen_at > now - policy.idle,
        sessions.c.started_at > now - policy.absolute).scalar_subquery().label("sessions"))
    with connect(site.engine) as connection:
        rows = [dict(row._mapping) for row in connection.execute(
            sa.select(users.c.id, users.c.name, users.c.display_name, users.c.role, users.c.active, users.c.email,
                      teams.c.label.label("team"), open_sessions)
            .select_from(users.outerjoin(teams, users.c.team_id == teams.c.id)).order_by(users.c.name))]
    done, name = request.query_params.get("done", ""), request.query_params.get("name", "")
    message = word(DONE[done], request.state.locale, name=name) if done in DONE else None
    return render(request, "studio/users.html", {
        "heading": word("Users and sessions", request.state.locale), "people": rows, "message": message,
        "applied": None, "crumbs": [("/studio", word("Studio", request.state.locale))],
        "errors": {}, "values": {}, "shown_password": None, **teams_and_roles(request), **extra},
        status_code=status)


@studio_page
@in_thread
def users_page(request: Request) -> Response:
    return _list(request)


@studio_page
@with_form
def add_user(request: Request, form: FormData) -> Response:
    locale = request.state.locale
    values = {key: str(form.get(key, "")).strip() for key in ("name", "display_name", "email", "role", "team")}
    password_hash, made_up, problem = new_password(form, locale)  # argon2 before the transaction
    if problem:
        return _list(request, 400, errors={"password": problem}, values=values)
    try:
        with write_transaction(request.app.state.site.engine) as connection:
            people(request)(connection).add_user(values["name"], values["display_name"], values["email"],
                                                 values["role"], id_or_none(values["team"]), password_hash)
    except PeopleError as error:
        return _list(request, 400, errors={error.field: error.text(locale)}, values=values)
    message = word("{name} was added", locale, name=values["name"])
    if made_up is None:
        return _list(request, message=message)
    return _list(request, message=message, shown_password=(values["name"], made_up))


def _act(request: Request, action: str) -> Response:
    site, actor = request.app.state.site, request.state.actor
    user_id = request.path_params["user_id"]
    try:
        with write_transaction(site.engine) as connection:
            service = people(request)(connection)
            name = service.user(user_id)["name"]
            if action == "disabled" and user_id == actor.user_id:
                action = "self"
            elif action == "signed_out":
                service.sign_out(user_id)
            else:
                service.set_active(user_id, active=action == "enabled")
    except PeopleError:
        return notice(request, "not_found", 404)
    back = request.url_for("studio_users").include_query_params(done=action, name=name)
    if user_id == actor.user_id and action == "signed_out":
        request.session.clear()  # their own sessions included this one
        back = request.url_for("login_page")
    return RedirectResponse(back, status_code=303)


@studio_page
@in_thread
def sign_out_user(request: Request) -> Response:
    return _act(request, "signed_out")


@studio_page
@in_thread
def disable_user(request: Request) -> Response:
    return _act(request, "disabled")


@studio_page
@in_thread
def enable_user(request: Request) -> Response:
    return _act(request, "enabled")


routes = [
    Route("/studio/users", users_page, methods=["GET"], name="studio_users"),
    Route("/studio/users", add_user, methods=["POST"], name="studio_add_user"),
    Route("/studio/users/{user_id:int}/sign-out", sign_out_user, methods=["POST"], name="studio_sign_out_user"),
    Route("/studio/users/{user_id:int}/disable", disable_user, methods=["POST"], name="studio_disable_user"),
    Route("/studio/users/{user_id:int}/enable", enable_user, methods=["POST"], name="studio_enable_user"),
]
