"""Notifications fanned out to email and group robots: outbox rows written with the inbox rows.

`Notifications.send` calls `MessageFanOut.queue` in the transaction of the change that notified,
so an email or robot message exists exactly when its notification does, and the change itself
only inserts rows: the outbox sends them after the commit (a slow or broken mail server never
slows or fails a save) and retries them with back-off.

A notification goes by email at once to a recipient who chose `each` and has an address; one who
chose `daily` gets it in the digest (digest.py); `off` gets none. A robot gets each notification
whose kind (rule) and recipient's team it wants; a message several people get is posted once,
naming them all.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from atrium.metadata.model import Blueprint
from atrium.runtime.automation.outbox import Outbox
from atrium.runtime.delivery.compose import Composer, notification_href
from atrium.runtime.delivery.email import EMAIL_PREFIX
from atrium.runtime.delivery.preferences import DEFAULT_CHOICE
from atrium.runtime.delivery.robots import ROBOT_PREFIX
from atrium.runtime.schema.database import after_commit
from atrium.runtime.schema.tables import Tables

KIND = "notification"  # the outbox row's rule when the notification has none


class MessageFanOut:
    def __init__(self, blueprint: Blueprint, tables: Tables, outbox: Outbox):
        self.blueprint, self.tables, self.outbox = blueprint, tables, outbox
        self.settings = blueprint.messages
        self.composer = Composer(blueprint) if self.settings is not None else None

    @property
    def active(self) -> bool:
        return self.settings is not None and (self.settings.email is not None or bool(self.settings.robots))

    def queue(self, connection: Connection, rows: Iterable[Mapping[str, Any]]) -> int:
        """Queue the email and robot messages of these inbox rows in the caller's transaction."""
        if not self.active:
            return 0
        assert self.settings is not None and self.composer is not None
        batch = list(rows)
        people = self._people(connection, {row["user_id"] for row in batch})
        queued: list[dict[str, Any]] = []
        if self.settings.email is not None:
            for row in batch:
                person = people.get(row["user_id"])
                if person and person["email"] and person["active"] and \
                        (person["email_messages"] or DEFAULT_CHOICE) == "each":
                    locale = self.composer.locale(person["locale"])
                    queued.append(self._row(row, "email", EMAIL_PREFIX + person["email"],
                                            {"to": person["email"], **self.composer.email(row, locale)}))
        for robot in self.settings.robots:
            locale = self.composer.locale(robot.locale)
            posts: dict[tuple, tuple[Mapping[str, Any], list[str]]] = {}
            for row in batch:
                person = people.get(row["user_id"])
                if person is None or not person["active"] or not robot.wants(row.get("rule"), person["team"]):
                    continue
                key = (self.composer.text(row["message"], locale), notification_href(row), row.get("rule"))
                posts.setdefault(key, (row, []))[1].append(person["display_name"] or person["name"])
            queued += [self._row(row, "robot", ROBOT_PREFIX + robot.name, self.composer.robot(row, names, locale))
                       for row, names in posts.values()]
        if queued:
            self.outbox.enqueue(connection, queued)
            after_commit(connection, self.outbox.wake.set)
        return len(queued)

    def _people(self, connection: Connection, ids: set[int]) -> dict[int, dict[str, Any]]:
        users, teams = self.tables.system("atrium_users"), self.tables.system("atrium_teams")
        found: dict[int, dict[str, Any]] = {}
        ordered = sorted(ids)
        for start in range(0, len(ordered), 1000):
            query = (sa.select(users.c.id, users.c.name, users.c.display_name, users.c.email, users.c.email_messages,
                               users.c.locale, users.c.active, teams.c.name.label("team"))
                     .select_from(users.outerjoin(teams, users.c.team_id == teams.c.id))
                     .where(users.c.id.in_(ordered[start:start + 1000])))
            found.update({row.id: dict(row._mapping) for row in connection.execute(query)})
        return found

    @staticmethod
    def _row(row: Mapping[str, Any], channel: str, url: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return {"rule": row.get("rule") or KIND, "entity": row.get("entity"), "record_id": row.get("record_id"),
                "channel": channel, "url": url, "body": body}
