"""Teams, for the admin: GET /studio/teams shows the team tree (each team under its parent, with
its manager and members) and a form to add a team (POST /studio/teams: name, label, parent,
manager). GET /studio/teams/{id} edits one (POST: label, parent, manager; a team cannot be put
inside itself or one of its sub-teams), POST /studio/teams/{id}/members puts a user in it. A `team`
scope covers the team and its sub-teams, so the tree is what managers see. Each change is recorded
in the studio's history."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from atrium.runtime.access.people import PeopleError
from atrium.runtime.schema.database import connect, write_transaction
from atrium.translation import N_
from atrium.ui.studio.setup import studio_page
from atrium.ui.studio.users_page import people
from atrium.ui.web.edge import id_or_none
from atrium.ui.web.i18n import word
from atrium.ui.web.page_tools import notice
from atrium.ui.web.templating import render
from atrium.ui.web.threads import in_thread, with_form


def _teams(request: Request, connection: Connection) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(teams in tree order, each with `depth`, `manager` and `members`; every user by name)."""
    tables = request.app.state.site.tables
    teams, users = tables.system("atrium_teams"), tables.system("atrium_users")
    everyone = [dict(row._mapping) for row in connection.execute(
        sa.select(users.c.id, users.c.name, users.c.display_name, users.c.team_id, users.c.active)
        .order_by(users.c.name))]
    names = {user["id"]: user["display_name"] or user["name"] for user in everyone}
    rows = [dict(row._mapping) for row in connection.execute(sa.select(teams).order_by(teams.c.name))]
    known = {row["id"] for row in rows}
    children: dict[int | None, list[dict[str, Any]]] = {}
    for row in rows:
        parent = row["parent_id"] if row["parent_id"] in known else None
        children.setdefault(parent, []).append(row)
    ordered: list[dict[str, Any]] = []
    seen: set[int] = set()

    def walk(parent: int | None, depth: int) -> None:
        for row in children.get(parent, []):
            if row["id"] in seen:  # a loop written outside the studio: show each team once
                continue
            seen.add(row["id"])
            ordered.append({**row, "depth": depth, "manager": names.get(row["manager_id"]),
                            "members": [u for u in everyone if u["team_id"] == row["id"]]})
            walk(row["id"], depth + 1)
    walk(None, 0)
    ordered += [{**row, "depth": 0, "manager": names.get(row["manager_id"]),
                 "members": [u for u in everyone if u["team_id"] == row["id"]]}
                for row in rows if row["id"] not in seen]
    return ordered, everyone


def _list(request: Request, status: int = 200, **extra: Any) -> Response:
    locale = request.state.locale
    with connect(request.app.state.site.engine) as connection:
        teams, everyone = _teams(request, connection)
    done = request.query_params.get("added", "")
    return render(request, "studio/teams.html", {
        "heading": word("Teams", locale), "teams": teams, "users": everyone, "errors": {}, "values": {},
        "message": word("Team {name} was added", locale, name=done) if done else None, "applied": None,
        "crumbs": [("/studio", word("Studio", locale))], **extra}, status_code=status)


@studio_page
@in_thread
def teams_page(request: Request) -> Response:
    return _list(request)


@studio_page
@with_form
def add_team(request: Request, form: FormData) -> Response:
    values = {key: str(form.get(key, "")).strip() for key in ("name", "label", "parent", "manager")}
    try:
        with write_transaction(request.app.state.site.engine) as connection:
            people(request)(connection).add_team(values["name"], values["label"], id_or_none(values["parent"]),
                                                 id_or_none(values["manager"]))
    except PeopleError as error:
        return _list(request, 400, errors={error.field: error.text(request.state.locale)}, values=values)
    return RedirectResponse(request.url_for("studio_teams").include_query_params(added=values["name"]),
                            status_code=303)


def _team_page(request: Request, status: int = 200, **extra: Any) -> Response:
    locale = request.state.locale
    team_id = request.path_params["team_id"]
    with connect(request.app.state.site.engine) as connection:
        teams, everyone = _teams(request, connection)
        service = people(request)(connection)
        try:
            inside = service.sub_teams(team_id)
            team = service.team(team_id)
        except PeopleError:
            return notice(request, "not_found", 404)
    shown = next(row for row in teams if row["id"] == team_id)
    done = request.query_params.get("done", "")
    return render(request, "studio/team.html", {
        "heading": word("Team {name}", locale, name=team["label"] or team["name"]), "team": {**team, **shown},
        "parents": [row for row in teams if row["id"] not in inside], "users": everyone, "errors": {},
        "message": word("Saved", locale) if done == "saved" else
        word("{name} joined the team", locale, name=request.query_params.get("name", "")) if done == "joined" else None,
        "applied": None,
        "crumbs": [("/studio", word("Studio", locale)), ("/studio/teams", word("Teams", locale))], **extra},
        status_code=status)


@studio_page
@in_thread
def team_page(request: Request) -> Response:
    return _team_page(request)


@studio_page
@with_form
def save_team(request: Request, form: FormData) -> Response:
    team_id = request.path_params["team_id"]
    try:
        with write_transaction(request.app.state.site.engine) as connection:
            people(request)(connection).change_team(team_id, str(form.get("label", "")).strip(),
                                                    id_or_none(str(form.get("parent", ""))),
                                                    id_or_none(str(form.get("manager", ""))))
    except PeopleError as error:
        if error.field == "team":
            return notice(request, "not_found", 404)
        return _team_page(request, 400, errors={error.field: error.text(request.state.locale)})
    return RedirectResponse(request.url_for("studio_team", team_id=team_id).include_query_params(done="saved"),
                            status_code=303)


@studio_page
@with_form
def add_member(request: Request, form: FormData) -> Response:
    team_id = request.path_params["team_id"]
    user = id_or_none(str(form.get("user", "")))
    try:
        with write_transaction(request.app.state.site.engine) as connection:
            service = people(request)(connection)
            service.team(team_id)
            if user is None:
                raise PeopleError("user", N_("There is no such user"))
            name = service.user(user)["name"]
            service.join_team(user, team_id)
    except PeopleError as error:
        if error.field == "team":
            return notice(request, "not_found", 404)
        return _team_page(request, 400, errors={error.field: error.text(request.state.locale)})
    back = request.url_for("studio_team", team_id=team_id).include_query_params(done="joined", name=name)
    return RedirectResponse(back, status_code=303)


routes = [
    Route("/studio/teams", teams_page, methods=["GET"], name="studio_teams"),
    Route("/studio/teams", add_team, methods=["POST"], name="studio_add_team"),
    Route("/studio/teams/{team_id:int}", team_page, methods=["GET"], name="studio_team"),
    Route("/studio/teams/{team_id:int}", save_team, methods=["POST"], name="studio_save_team"),
    Route("/studio/teams/{team_id:int}/members", add_member, methods=["POST"], name="studio_add_member"),
]
