"""One user, for the admin: GET /studio/users/{id} shows their details, POST /studio/users/{id}
changes display name, email, role (one of roles.yaml's) and team, POST /studio/users/{id}/password
resets the password (typed by the admin, or made up and shown once); every session of the user
ends, so the old password opens nothing. Each change is recorded in the studio's history."""
from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from atrium.runtime.access.people import PeopleError
from atrium.runtime.schema.database import connect, write_transaction
from atrium.ui.studio.setup import studio_page
from atrium.ui.studio.users_page import new_password, people, teams_and_roles
from atrium.ui.web.edge import id_or_none
from atrium.ui.web.i18n import word
from atrium.ui.web.page_tools import notice
from atrium.ui.web.templating import render
from atrium.ui.web.threads import in_thread, with_form


def _page(request: Request, person: dict[str, Any], status: int = 200, **extra: Any) -> Response:
    locale = request.state.locale
    return render(request, "studio/user.html", {
        "heading": word("User {name}", locale, name=person["name"]), "person": person, "errors": {},
        "message": None, "shown_password": None, "applied": None, **teams_and_roles(request),
        "crumbs": [("/studio", word("Studio", locale)), ("/studio/users", word("Users and sessions", locale))],
        **extra}, status_code=status)


def _person(request: Request) -> dict[str, Any] | None:
    with connect(request.app.state.site.engine) as connection:
        try:
            return people(request)(connection).user(request.path_params["user_id"])
        except PeopleError:
            return None


@studio_page
@in_thread
def user_page(request: Request) -> Response:
    person = _person(request)
    if person is None:
        return notice(request, "not_found", 404)
    return _page(request, person)


@studio_page
@with_form
def save_user(request: Request, form: FormData) -> Response:
    person = _person(request)
    if person is None:
        return notice(request, "not_found", 404)
    values = {key: str(form.get(key, "")).strip() for key in ("display_name", "email", "role", "team")}
    try:
        with write_transaction(request.app.state.site.engine) as connection:
            people(request)(connection).change_user(person["id"], values["display_name"], values["email"],
                                                    values["role"], id_or_none(values["team"]))
    except PeopleError as error:
        shown = {**person, **values, "team_id": id_or_none(values["team"])}
        return _page(request, shown, 400, errors={error.field: error.text(request.state.locale)})
    back = request.url_for("studio_users").include_query_params(done="saved", name=person["name"])
    return RedirectResponse(back, status_code=303)


@studio_page
@with_form
def reset_password(request: Request, form: FormData) -> Response:
    person = _person(request)
    if person is None:
        return notice(request, "not_found", 404)
    locale = request.state.locale
    password_hash, made_up, problem = new_password(form, locale)  # argon2 before the transaction
    if problem:
        return _page(request, person, 400, errors={"password": problem})
    with write_transaction(request.app.state.site.engine) as connection:
        people(request)(connection).reset_password(person["id"], password_hash)
    if person["id"] == request.state.actor.user_id:
        request.session.clear()  # the admin's own sessions ended with the others
        return RedirectResponse(request.url_for("login_page"), status_code=303)
    if made_up is None:
        back = request.url_for("studio_users").include_query_params(done="password", name=person["name"])
        return RedirectResponse(back, status_code=303)
    message = word("The password of {name} was reset; they were signed out", locale, name=person["name"])
    return _page(request, person, message=message, shown_password=(person["name"], made_up))


routes = [
    Route("/studio/users/{user_id:int}", user_page, methods=["GET"], name="studio_user"),
    Route("/studio/users/{user_id:int}", save_user, methods=["POST"], name="studio_save_user"),
    Route("/studio/users/{user_id:int}/password", reset_password, methods=["POST"], name="studio_reset_password"),
]
