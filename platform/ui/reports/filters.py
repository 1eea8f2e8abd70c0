"""The filters of report pages and dashboards, read from and written to the URL: `period` (a
relative period that replaces the report's own) and `owner` (whose records: `me`, `team-<id>` for
a team and its sub-teams, `user-<id>` for one person). They only narrow what the viewer's role
already lets them see: the access scope is applied underneath whatever is chosen here."""
from __future__ import annotations

from dataclasses import dataclass, field as dataclass_field
from typing import Any, Mapping
from urllib.parse import urlencode

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from atrium.errors import AtriumError
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.site.site import Site
from atrium.ui.reports.words import PERIODS
from atrium.ui.web.i18n import PERIOD_WORDS, word


class BadFilter(AtriumError, ValueError):
    """A filter value that is not among the choices; `text` says so in the reader's language."""

    status, code = 400, "bad_request"

    def __init__(self, text: str):
        super().__init__(text)
        self.text = text


@dataclass
class Filters:
    period: str | None = None
    owner: str = ""
    owners: tuple[int, ...] | None = None  # the users the owner filter keeps (None: no filter)
    period_choices: list[tuple[str, str]] = dataclass_field(default_factory=list)
    owner_choices: list[tuple[str, str]] = dataclass_field(default_factory=list)

    def query(self, **more: Any) -> str:
        """The filters as a query string (for links, HTMX widget requests and CSV export)."""
        values = {"period": self.period or "", "owner": self.owner, **more}
        return urlencode({k: v for k, v in values.items() if v})

    @property
    def key(self) -> tuple:
        return (self.period or "", self.owners)


def widest_read(site: Site, actor: Actor, entities: Any) -> str:
    """The widest read scope the actor has over `entities`: none, own, team or all."""
    reach = ("none", "own", "team", "all")
    scopes = [site.access.scope(actor, name, "read") for name in entities]
    return max(scopes, key=reach.index, default="none")


def read_filters(site: Site, connection: Connection, actor: Actor, params: Mapping[str, str], locale: str,
                 entities: Any, with_period: bool = True) -> Filters:
    """The filters in `params`, checked, with the choices to offer (BadFilter for a value that is
    not among them)."""
    filters = Filters()
    if with_period:
        filters.period_choices = [("", word("As the report defines", locale))] + [
            (name, word(PERIOD_WORDS[name], locale)) for name in PERIODS]
        period = (params.get("period") or "").strip()
        if period:
            if period not in PERIODS:
                raise BadFilter(word("'{period}' is not a period", locale, period=period))
            filters.period = period
    scope = widest_read(site, actor, entities)
    people = _people(site, connection, actor, scope)
    if people or scope in ("team", "all"):
        filters.owner_choices = [("", word("Everyone I can see", locale)), ("me", word("Only mine", locale))]
        teams = _teams(site, connection, actor, scope)
        filters.owner_choices += [(f"team-{team_id}", word("Team {team}", locale, team=name))
                                  for team_id, name, _ in teams]
        filters.owner_choices += [(f"user-{user_id}", name) for user_id, name in people if user_id != actor.user_id]
    owner = (params.get("owner") or "").strip()
    if owner:
        if owner != "me" and owner not in {value for value, _ in filters.owner_choices}:
            raise BadFilter(word("'{owner}' is not a team or person you can see", locale, owner=owner))
        filters.owner = owner
        filters.owners = _owners_of(site, connection, actor, owner)
    return filters


def _owners_of(site: Site, connection: Connection, actor: Actor, owner: str) -> tuple[int, ...]:
    if owner == "me":
        return (actor.user_id,) if actor.user_id is not None else ()
    kind, _, number = owner.partition("-")
    if kind == "user":
        return (int(number),)
    members = site.access.team_members(connection, Actor(user_id=None, role=actor.role, team_id=int(number)))
    return tuple(members)


def _teams(site: Site, connection: Connection, actor: Actor, scope: str) -> list[tuple[int, str, int | None]]:
    """(id, name, parent) of the teams the viewer may filter by: every team with an `all` scope,
    the viewer's team and its sub-teams with a `team` scope."""
    if scope not in ("team", "all"):
        return []
    teams = site.tables.system("atrium_teams")
    rows = [(r.id, r.label or r.name, r.parent_id) for r in connection.execute(
        sa.select(teams.c.id, teams.c.name, teams.c.label, teams.c.parent_id).order_by(teams.c.name))]
    if scope == "all":
        return rows
    covered = site.access.teams_in_reach(connection, actor)
    return [row for row in rows if row[0] in covered]


def _people(site: Site, connection: Connection, actor: Actor, scope: str) -> list[tuple[int, str]]:
    """(id, name) of the people whose records the viewer may see and filter by."""
    if scope not in ("team", "all"):
        return []
    users = site.tables.system("atrium_users")
    query = sa.select(users.c.id, users.c.display_name, users.c.name).where(users.c.active.is_(True))
    if scope == "team":
        query = query.where(users.c.id.in_(site.access.team_members(connection, actor)))
    return [(r.id, r.display_name or r.name) for r in connection.execute(query.order_by(users.c.name))]
