"""In-app notifications: each user's inbox (atrium_notifications).

Automations write notifications inside the transaction of the change that caused them, so a
notification exists exactly when its change was saved; its email and robot messages are queued
in the outbox in the same transaction (runtime/delivery), never sent there. A message is kept in
every locale the rule wrote it in and shown in the reader's language.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Protocol, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from atrium.metadata.model import Label
from atrium.runtime.schema.bulk_statements import Same, execute_columns
from atrium.runtime.schema.tables import Tables


@dataclass(frozen=True)
class Notification:
    id: int
    user_id: int
    message: Label
    entity: str | None
    record_id: int | None
    link: str | None
    rule: str | None
    created_at: dt.datetime
    read_at: dt.datetime | None

    def text(self, locale: str, default_locale: str = "") -> str:
        return self.message.text(locale, default_locale)

    @property
    def href(self) -> str | None:
        """Where the notification points: its own link, else the record's page."""
        if self.link:
            return self.link
        if self.entity and self.record_id is not None:
            return f"/r/{self.entity}/{self.record_id}"
        return None


class FanOut(Protocol):
    def queue(self, connection: Connection, rows: Iterable[Mapping[str, Any]]) -> int: ...


class Notifications:
    def __init__(self, tables: Tables, fan_out: FanOut | None = None):
        self.table = tables.system("atrium_notifications")
        # email and group robots (runtime/delivery/fan_out.py): queued with the inbox rows
        self.fan_out = fan_out

    def send(self, connection: Connection, rows: Iterable[Mapping[str, Any]], at: dt.datetime) -> int:
        """Insert notifications: each row has user_id, message (locale → text) and optionally
        entity, record_id, link and rule."""
        batch = list(rows)
        for start in range(0, len(batch), 5000):
            part = batch[start:start + 5000]
            execute_columns(connection, self.table.insert(), len(part), {
                "user_id": [row["user_id"] for row in part], "message": [row["message"] for row in part],
                **{name: [row.get(name) for row in part] for name in ("entity", "record_id", "link", "rule")},
                "created_at": Same(at), "read_at": Same(None)})
        if self.fan_out is not None and batch:
            self.fan_out.queue(connection, batch)
        return len(batch)

    def list_for(self, connection: Connection, user_id: int, unread_only: bool = False,
                 limit: int = 50, before_id: int | None = None) -> list[Notification]:
        """The user's notifications, newest first (page on with `before_id`)."""
        table = self.table
        query = sa.select(table).where(table.c.user_id == user_id)
        if unread_only:
            query = query.where(table.c.read_at.is_(None))
        if before_id is not None:
            query = query.where(table.c.id < before_id)
        query = query.order_by(table.c.id.desc()).limit(limit)
        return [self._of(row._mapping) for row in connection.execute(query)]

    def unread_count(self, connection: Connection, user_id: int) -> int:
        table = self.table
        return connection.execute(sa.select(sa.func.count()).select_from(table).where(
            table.c.user_id == user_id, table.c.read_at.is_(None))).scalar() or 0

    def mark_read(self, connection: Connection, user_id: int, at: dt.datetime,
                  ids: Sequence[int] | None = None) -> int:
        """Mark some (or, without `ids`, all) of the user's unread notifications read; a user can
        only ever touch their own."""
        table = self.table
        statement = table.update().where(table.c.user_id == user_id, table.c.read_at.is_(None))
        if ids is not None:
            statement = statement.where(table.c.id.in_(list(ids)))
        return connection.execute(statement.values(read_at=at)).rowcount

    @staticmethod
    def _of(row: Mapping[str, Any] | sa.RowMapping) -> Notification:
        return Notification(id=row["id"], user_id=row["user_id"], message=Label.of(row["message"] or ""),
                            entity=row["entity"], record_id=row["record_id"], link=row["link"],
                            rule=row["rule"], created_at=row["created_at"], read_at=row["read_at"])
