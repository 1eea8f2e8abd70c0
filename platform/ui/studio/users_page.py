"""People, for the admin: GET /studio/users lists every user with their open sessions;
POST /studio/users/{id}/sign-out ends all of one user's sessions, /disable disables the user
(every session ends at once and their API tokens stop working), /enable lets them sign in again."""
from __future__ import annotations

import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from atrium.runtime.access.sessions import end_user_sessions
from atrium.runtime.access.users import set_active
from atrium.runtime.schema.database import connect, write_transaction
from atrium.ui.studio.setup import studio_page
from atrium.ui.web.i18n import N_, word
from atrium.ui.web.page_tools import notice
from atrium.ui.web.sign_in import session_policy
from atrium.ui.web.templating import render
from atrium.ui.web.threads import in_thread

DONE = {"signed_out": N_("{name} was signed out everywhere"), "disabled": N_("{name} was disabled and signed out"),
        "enabled": N_("{name} may sign in again"), "self": N_("You cannot disable yourself")}


@studio_page
@in_thread
def users_page(request: Request) -> Response:
    site = request.app.state.site
    users, sessions = site.tables.system("atrium_users"), site.tables.system("atrium_sessions")
    policy, now = session_policy(request), site.now()
    open_sessions = (sa.select(sa.func.count()).where(  # live ones: not yet timed out
        sessions.c.user_id == users.c.id, sessions.c.last_seen_at > now - policy.idle,
        sessions.c.started_at > now - policy.absolute).scalar_subquery().label("sessions"))
    with connect(site.engine) as connection:
        people = [dict(row._mapping) for row in connection.execute(
            sa.select(users.c.id, users.c.name, users.c.display_name, users.c.role, users.c.active, open_sessions)
            .order_by(users.c.name))]
    done, name = request.query_params.get("done", ""), request.query_params.get("name", "")
    message = word(DONE[done], request.state.locale, name=name) if done in DONE else None
    return render(request, "studio/users.html", {
        "heading": word("Users and sessions", request.state.locale), "people": people, "message": message,
        "applied": None,        "crumbs": [("/studio", word("Studio", request.state.locale))]})


def _act(request: Request, action: str) -> Response:
    site, actor = request.app.state.site, request.state.actor
    users = site.tables.system("atrium_users")
    user_id = request.path_params["user_id"]
    with write_transaction(site.engine) as connection:
        name = connection.execute(sa.select(users.c.name).where(users.c.id == user_id)).scalar()
        if name is None:
            return notice(request, "not_found", 404)
        if action == "disabled" and user_id == actor.user_id:
            action = "self"
        elif action == "signed_out":
            end_user_sessions(connection, site.tables, user_id)
        else:
            set_active(connection, site.tables, name, active=action == "enabled")
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
    Route("/studio/users/{user_id:int}/sign-out", sign_out_user, methods=["POST"], name="studio_sign_out_user"),
    Route("/studio/users/{user_id:int}/disable", disable_user, methods=["POST"], name="studio_disable_user"),
    Route("/studio/users/{user_id:int}/enable", enable_user, methods=["POST"], name="studio_enable_user"),
]
