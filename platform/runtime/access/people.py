"""The admin's changes to users and teams (the studio's people pages), each checked and recorded.

Users and teams are data, not metadata: they live in atrium_users and atrium_teams, not in YAML.
Every change made here is written together with a row of atrium_people_history in the caller's
transaction (who, when, what, a summary in each language, the values before and after, never a
password), so the studio's history shows who changed which user or team, beside the metadata
changes. A role must be one of the blueprint's roles (roles.yaml); a team's parent may not be the
team itself or one of its sub-teams. Passwords arrive hashed: argon2 runs before the transaction.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Mapping

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from atrium.metadata.model import Blueprint
from atrium.runtime.access.sessions import end_user_sessions
from atrium.runtime.access.users import UserError
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.schema.tables import Tables
from atrium.translation import N_, word

USER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}$")
TEAM_NAME = re.compile(r"^[a-z][a-z0-9_]{0,99}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
LOCALES = ("en", "zh")

SUMMARIES = {
    "add_user": N_("Added user {name} ({role})"),
    "change_user": N_("Changed user {name}: {what}"),
    "password": N_("Reset the password of {name}"),
    "disable": N_("Disabled {name} (signed out everywhere)"),
    "enable": N_("Enabled {name}"),
    "sign_out": N_("Signed {name} out everywhere"),
    "add_team": N_("Added team {name}"),
    "change_team": N_("Changed team {name}: {what}"),
    "join_team": N_("Put {name} in team {team}"),
}
WHAT = {"display_name": N_("name"), "email": N_("email"), "role": N_("role"), "team": N_("team"),
        "label": N_("label"), "parent": N_("parent team"), "manager": N_("manager")}


class PeopleError(UserError):
    """A change the admin asked for that cannot be made; `msgid` and `params` say why in any
    language, `field` names the form input it belongs to."""

    def __init__(self, field: str, msgid: str, **params: Any):
        self.field, self.msgid, self.params = field, msgid, params
        super().__init__(word(msgid, "en", **params))

    def text(self, locale: str) -> str:
        return word(self.msgid, locale, **self.params)


@dataclass(frozen=True)
class PeopleEntry:
    id: int
    at: dt.datetime
    user_name: str | None
    action: str
    target: str
    summary: Mapping[str, str]
    details: Mapping[str, Any]

    def summary_text(self, locale: str) -> str:
        return self.summary.get(locale) or self.summary.get("en") or ""


class People:
    """Users and teams as the admin changes them, on one connection inside a write transaction."""

    def __init__(self, connection: Connection, tables: Tables, blueprint: Blueprint, actor: Actor,
                 at: dt.datetime):
        self.connection, self.tables, self.blueprint, self.actor, self.at = connection, tables, blueprint, actor, at
        self.users, self.teams = tables.system("atrium_users"), tables.system("atrium_teams")

    # --- users -------------------------------------------------------------------------------

    def add_user(self, name: str, display_name: str, email: str, role: str, team_id: int | None,
                 password_hash: str) -> int:
        if not USER_NAME.match(name):
            raise PeopleError("name", N_("A user name is letters, digits and . _ @ - (up to 100)"))
        if self._user_named(name) is not None:
            raise PeopleError("name", N_("There is already a user named {name}"), name=name)
        self._check_role(role)
        self._check_email(email)
        team = self._team_name(team_id)
        key = self.connection.execute(self.users.insert().values(
            name=name, display_name=display_name or name, email=email or None, role=role, team_id=team_id,
            password_hash=password_hash, locale=self.blueprint.default_locale, active=True,
            created_at=self.at)).inserted_primary_key
        assert key is not None  # an INSERT of one row
        self._record("add_user", f"user:{name}", {"name": name, "role": role},
                     {"after": {"display_name": display_name or name, "email": email or None, "role": role,
                                "team": team}})
        return int(key[0])

    def change_user(self, user_id: int, display_name: str, email: str, role: str, team_id: int | None) -> bool:
        """Change what differs; whether anything did."""
        before = self.user(user_id)
        self._check_role(role)
        self._check_email(email)
        after = {"display_name": display_name or before["name"], "email": email or None, "role": role,
                 "team": self._team_name(team_id)}
        old = {key: before[key] for key in ("display_name", "email", "role", "team")}
        changed = [key for key in after if after[key] != old[key]]
        if not changed:
            return False
        self.connection.execute(self.users.update().where(self.users.c.id == user_id).values(
            display_name=after["display_name"], email=after["email"], role=role, team_id=team_id))
        self._record("change_user", f"user:{before['name']}", {"name": before["name"]},
                     {"before": {k: old[k] for k in changed}, "after": {k: after[k] for k in changed}},
                     what=changed)
        return True

    def reset_password(self, user_id: int, password_hash: str) -> int:
        """A new password; every session of the user ends. How many ended."""
        found = self.user(user_id)
        self.connection.execute(self.users.update().where(self.users.c.id == user_id)
                                .values(password_hash=password_hash))
        ended = end_user_sessions(self.connection, self.tables, user_id)
        self._record("password", f"user:{found['name']}", {"name": found["name"]}, {"sessions_ended": ended})
        return ended

    def set_active(self, user_id: int, active: bool) -> int:
        """Enable or disable; disabling ends every session (and API tokens stop working)."""
        found = self.user(user_id)
        if not active and user_id == self.actor.user_id:
            raise PeopleError("active", N_("You cannot disable yourself"))
        self.connection.execute(self.users.update().where(self.users.c.id == user_id).values(active=active))
        ended = 0 if active else end_user_sessions(self.connection, self.tables, user_id)
        if bool(found["active"]) != active:
            self._record("enable" if active else "disable", f"user:{found['name']}", {"name": found["name"]},
                         {"sessions_ended": ended})
        return ended

    def sign_out(self, user_id: int) -> int:
        found = self.user(user_id)
        ended = end_user_sessions(self.connection, self.tables, user_id)
        self._record("sign_out", f"user:{found['name']}", {"name": found["name"]}, {"sessions_ended": ended})
        return ended

    def join_team(self, user_id: int, team_id: int) -> None:
        found, team = self.user(user_id), self._team_name(team_id)
        if found["team"] == team:
            return
        self.connection.execute(self.users.update().where(self.users.c.id == user_id).values(team_id=team_id))
        self._record("join_team", f"user:{found['name']}", {"name": found["name"], "team": team},
                     {"before": {"team": found["team"]}, "after": {"team": team}})

    def user(self, user_id: int) -> dict[str, Any]:
        query = (sa.select(self.users, self.teams.c.name.label("team"))
                 .select_from(self.users.outerjoin(self.teams, self.users.c.team_id == self.teams.c.id))
                 .where(self.users.c.id == user_id))
        row = self.connection.execute(query).first()
        if row is None:
            raise PeopleError("user", N_("There is no such user"))
        return dict(row._mapping)

    # --- teams -------------------------------------------------------------------------------

    def add_team(self, name: str, label: str, parent_id: int | None, manager_id: int | None) -> int:
        if not TEAM_NAME.match(name):
            raise PeopleError("name", N_("A team name is lower-case letters, digits and _ (starting with a letter)"))
        if self.connection.execute(sa.select(self.teams.c.id).where(self.teams.c.name == name)).first():
            raise PeopleError("name", N_("There is already a team named {name}"), name=name)
        parent, manager = self._team_name(parent_id), self._user_name(manager_id)
        key = self.connection.execute(self.teams.insert().values(
            name=name, label=label or name, parent_id=parent_id, manager_id=manager_id)).inserted_primary_key
        assert key is not None  # an INSERT of one row
        self._record("add_team", f"team:{name}", {"name": name},
                     {"after": {"label": label or name, "parent": parent, "manager": manager}})
        return int(key[0])

    def change_team(self, team_id: int, label: str, parent_id: int | None, manager_id: int | None) -> bool:
        before = self.team(team_id)
        if parent_id is not None and parent_id in self.sub_teams(team_id):
            raise PeopleError("parent", N_("A team cannot be inside itself or one of its sub-teams"))
        after = {"label": label or before["name"], "parent": self._team_name(parent_id),
                 "manager": self._user_name(manager_id)}
        changed = [key for key in after if after[key] != before[key]]
        if not changed:
            return False
        self.connection.execute(self.teams.update().where(self.teams.c.id == team_id).values(
            label=after["label"], parent_id=parent_id, manager_id=manager_id))
        self._record("change_team", f"team:{before['name']}", {"name": before["name"]},
                     {"before": {k: before[k] for k in changed}, "after": {k: after[k] for k in changed}},
                     what=changed)
        return True

    def team(self, team_id: int) -> dict[str, Any]:
        row = self.connection.execute(sa.select(self.teams).where(self.teams.c.id == team_id)).first()
        if row is None:
            raise PeopleError("team", N_("There is no such team"))
        found = dict(row._mapping)
        found["parent"] = self._team_name(found["parent_id"])
        found["manager"] = self._user_name(found["manager_id"])
        return found

    def sub_teams(self, team_id: int) -> set[int]:
        """The team and every team below it."""
        parents = {row.id: row.parent_id for row in self.connection.execute(
            sa.select(self.teams.c.id, self.teams.c.parent_id))}
        covered, grown = {team_id}, True
        while grown:
            more = covered | {team for team, parent in parents.items() if parent in covered}
            grown, covered = more != covered, more
        return covered

    # --- checks and the record -----------------------------------------------------------------

    def _check_role(self, role: str) -> None:
        if role not in self.blueprint.roles:
            raise PeopleError("role", N_("There is no role '{role}'; roles.yaml has: {roles}"),
                              role=role, roles=", ".join(self.blueprint.roles))

    @staticmethod
    def _check_email(email: str) -> None:
        if email and (len(email) > 320 or not EMAIL.match(email)):
            raise PeopleError("email", N_("This is not an email address"))

    def _user_named(self, name: str) -> int | None:
        return self.connection.execute(sa.select(self.users.c.id).where(self.users.c.name == name)).scalar()

    def _user_name(self, user_id: int | None) -> str | None:
        if user_id is None:
            return None
        found = self.connection.execute(sa.select(self.users.c.name).where(self.users.c.id == user_id)).scalar()
        if found is None:
            raise PeopleError("manager", N_("There is no such user"))
        return found

    def _team_name(self, team_id: int | None) -> str | None:
        if team_id is None:
            return None
        found = self.connection.execute(sa.select(self.teams.c.name).where(self.teams.c.id == team_id)).scalar()
        if found is None:
            raise PeopleError("team", N_("There is no such team"))
        return found

    def _record(self, action: str, target: str, params: Mapping[str, Any], details: Mapping[str, Any],
                what: list[str] | None = None) -> None:
        summary = {}
        for locale in LOCALES:
            listed = ", ".join(word(WHAT[key], locale) for key in what or ())
            summary[locale] = word(SUMMARIES[action], locale, what=listed, **params)
        self.connection.execute(self.tables.system("atrium_people_history").insert().values(
            at=self.at, user_id=self.actor.user_id, user_name=self.actor.name, action=action, target=target,
            summary=summary, details=dict(details)))


def people_entries(connection: Connection, tables: Tables, limit: int = 50) -> list[PeopleEntry]:
    """The newest changes to users and teams first."""
    table = tables.system("atrium_people_history")
    if not sa.inspect(connection).has_table(table.name):
        return []
    rows = connection.execute(sa.select(table).order_by(table.c.id.desc()).limit(limit))
    return [PeopleEntry(row.id, row.at, row.user_name, row.action, row.target, row.summary or {}, row.details or {})
            for row in rows]
