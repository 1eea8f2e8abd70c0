"""Comments on records: people write them on a record they may read, @mention people who may read
it too (each is told through the in-app inbox, in the same transaction), edit and delete their own
(an administrator, a role with `all`, may delete anyone's); a deleted comment is kept, marked
deleted, and shown to nobody.

Every answer goes through the access layer: a record the caller may not read is not found, with or
without comments. A text that mentions someone unknown or someone who may not read the record is
refused with the reason under `text`, and nothing is written. An edit carries the version the
writer saw; a comment changed since is refused (CommentStale), not overwritten.
"""
from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass
from typing import Any, Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from atrium.runtime.access.secured import AccessDenied, SecuredRecords
from atrium.runtime.automation.messages import message
from atrium.runtime.automation.notifications import Notifications
from atrium.runtime.comments.mentions import MAX_MENTIONS, Mentions, mentioned_names
from atrium.runtime.records.errors import RecordError, RecordNotFound, ValidationFailed
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.schema.database import connect, write_transaction
from atrium.translation import N_, word

MAX_TEXT = 5000  # characters of one comment
PREVIEW = 140  # characters of the comment a notification quotes
TEXT = "text"  # the field a refusal is reported under (the comment box, the API's body member)
MESSAGES = {
    "empty": N_("Write something first"),
    "unknown": N_("No one here is called @{name}"),
    "unreadable": N_("@{name} cannot see this record, so cannot be mentioned here"),
    "too_many": N_("Mention at most {max} people in one comment"),
    "stale": N_("Someone changed this comment after you opened it; reload to see it"),
    "gone": N_("This comment was deleted"),
    "mentioned": N_("{who} mentioned you on {title}: {text}"),
}


def comment_message(key: str, locale: str, **params: Any) -> str:
    return word(MESSAGES[key], locale, **params)


class CommentStale(RecordError):
    """The comment changed after the writer read it; nothing was written."""

    status, code = 409, "stale"


@dataclass(frozen=True)
class Comment:
    id: int
    entity: str
    record_id: int
    author_id: int
    author: str  # the author's display name
    body: str
    mentions: tuple[int, ...]
    created_at: dt.datetime
    edited_at: dt.datetime | None
    version: int
    deleted: bool = False


class Comments:
    def __init__(self, site: Any, notifications: Notifications | None = None):
        self.site = site
        self.table = site.tables.system("atrium_comments")
        self.users = site.tables.system("atrium_users")
        self.mentions = Mentions(site)
        self._kept: dict[int, sa.Select] = {}  # a record's comments, by limit: built once, run with parameters
        automations = getattr(site.records, "automations", None)
        # the inbox automations write to, so whatever delivers their notifications elsewhere delivers these too
        self.notifications = notifications or (automations.notifications if automations is not None
                                               else Notifications(site.tables))

    # --- reading ---------------------------------------------------------------------------

    def of_record(self, actor: Actor, entity: str, record_id: int, connection: Connection | None = None,
             limit: int = 200) -> list[Comment]:
        """The record's comments, newest first (RecordNotFound unless the actor may read the record)."""
        with self._connect(connection) as conn:
            SecuredRecords(self.site).get(actor, entity, record_id, conn)
            return self._read(conn, entity, record_id, limit=limit)

    def may_edit(self, actor: Actor, comment: Comment) -> bool:
        return actor.user_id is not None and comment.author_id == actor.user_id

    def may_delete(self, actor: Actor, comment: Comment) -> bool:
        return self.may_edit(actor, comment) or self.site.access.sees_everything(actor)

    # --- writing ---------------------------------------------------------------------------

    def add(self, actor: Actor, entity: str, record_id: int, text: str) -> Comment:
        body = self._checked_text(actor, text)
        now = self.site.now()
        with write_transaction(self.site.engine) as conn:
            SecuredRecords(self.site).get(actor, entity, record_id, conn)
            if actor.user_id is None:
                raise AccessDenied(entity)
            people = self._mentioned(conn, actor, entity, record_id, body)
            key = conn.execute(self.table.insert().values(
                entity=entity, record_id=record_id, author_id=actor.user_id, body=body,
                mentions=[p.id for p in people], created_at=now, version=1)).inserted_primary_key
            assert key is not None  # a single-row insert reports its key
            self._notify(conn, actor, entity, record_id, body, people, now)
            return self._read(conn, entity, record_id, comment_id=key[0])[0]

    def edit(self, actor: Actor, entity: str, record_id: int, comment_id: int, text: str,
             version: int | None) -> Comment:
        """The author's new text; people it newly mentions are told, those already told are not."""
        body = self._checked_text(actor, text)
        now = self.site.now()
        with write_transaction(self.site.engine) as conn:
            comment = self._own(conn, actor, entity, record_id, comment_id)
            if not self.may_edit(actor, comment):
                raise AccessDenied(entity)
            people = self._mentioned(conn, actor, entity, record_id, body)
            table = self.table
            changed = conn.execute(table.update().where(
                table.c.id == comment_id, table.c.version == (version if version is not None else comment.version),
                table.c.deleted_at.is_(None)).values(
                body=body, mentions=sorted({p.id for p in people} | set(comment.mentions)), edited_at=now,
                version=table.c.version + 1)).rowcount
            if changed != 1:
                raise CommentStale(comment_message("stale", actor.locale))
            self._notify(conn, actor, entity, record_id, body,
                         [p for p in people if p.id not in comment.mentions], now)
            return self._read(conn, entity, record_id, comment_id=comment_id)[0]

    def delete(self, actor: Actor, entity: str, record_id: int, comment_id: int) -> None:
        """Marks the comment deleted (kept in the table, shown to nobody)."""
        with write_transaction(self.site.engine) as conn:
            comment = self._own(conn, actor, entity, record_id, comment_id)
            if not self.may_delete(actor, comment):
                raise AccessDenied(entity)
            conn.execute(self.table.update().where(self.table.c.id == comment_id).values(
                deleted_at=self.site.now(), deleted_by=actor.user_id, version=self.table.c.version + 1))

    # --- the parts ---------------------------------------------------------------------------

    def _checked_text(self, actor: Actor, text: Any) -> str:
        if not isinstance(text, str):
            raise ValidationFailed({TEXT: [message("not_text", actor.locale)]})
        body = text.strip()
        if not body:
            raise ValidationFailed({TEXT: [comment_message("empty", actor.locale)]})
        if len(body) > MAX_TEXT:
            raise ValidationFailed({TEXT: [message("too_long", actor.locale, max=MAX_TEXT)]})
        return body

    def _mentioned(self, conn: Connection, actor: Actor, entity: str, record_id: int, body: str) -> list[Any]:
        """The users the text mentions; any one unknown or unable to read the record refuses it all."""
        names = mentioned_names(body)
        if len(names) > MAX_MENTIONS:
            raise ValidationFailed({TEXT: [comment_message("too_many", actor.locale, max=MAX_MENTIONS)]})
        people = self.mentions.people(conn, names)
        errors = []
        for name in names:
            person = people.get(name)
            if person is None:
                errors.append(comment_message("unknown", actor.locale, name=name))
            elif not self.mentions.may_read(conn, person, entity, record_id):
                errors.append(comment_message("unreadable", actor.locale, name=name))
        if errors:
            raise ValidationFailed({TEXT: errors})
        return [people[name] for name in names]

    def _notify(self, conn: Connection, actor: Actor, entity: str, record_id: int, body: str,
                people: list[Any], now: dt.datetime) -> None:
        told = [p for p in people if p.id != actor.user_id]  # no one is told of their own mention
        if not told:
            return
        title = self.site.queries.titles(conn, entity, [record_id]).get(record_id, f"#{record_id}")
        author = conn.execute(sa.select(self.users.c.display_name, self.users.c.name).where(
            self.users.c.id == actor.user_id)).first()
        who = (author.display_name or author.name) if author is not None else actor.name
        quoted = body if len(body) <= PREVIEW else body[:PREVIEW - 1] + "…"
        text = {locale: comment_message("mentioned", locale, who=who, title=title, text=quoted)
                for locale in self.site.blueprint.locales}
        self.notifications.send(conn, [{"user_id": p.id, "message": text, "entity": entity,
                                        "record_id": record_id} for p in told], now)

    def _own(self, conn: Connection, actor: Actor, entity: str, record_id: int, comment_id: int) -> Comment:
        """The comment, on a record the actor may read (else RecordNotFound), not deleted."""
        SecuredRecords(self.site).get(actor, entity, record_id, conn)
        found = self._read(conn, entity, record_id, comment_id=comment_id, deleted=True)
        if not found:
            raise RecordNotFound(message("not_found", actor.locale))
        if found[0].deleted:
            raise CommentStale(comment_message("gone", actor.locale))
        return found[0]

    def _read(self, conn: Connection, entity: str, record_id: int, comment_id: int | None = None,
              limit: int = 200, deleted: bool = False) -> list[Comment]:
        if comment_id is None and not deleted:  # a record's comments: every detail page reads them
            query = self._kept.get(limit)
            if query is None:
                if len(self._kept) >= 16:  # limits are a few constants; a caller's own starts again
                    self._kept.clear()
                query = self._kept[limit] = self._query(sa.bindparam("of_entity", type_=self.table.c.entity.type),
                                                        sa.bindparam("of_record_id", type_=self.table.c.record_id.type),
                                                        None, limit, deleted)
            rows = conn.execute(query, {"of_entity": entity, "of_record_id": record_id})
        else:
            rows = conn.execute(self._query(entity, record_id, comment_id, limit, deleted))
        return [Comment(row.id, row.entity, row.record_id, row.author_id, row.display_name or row.name, row.body,
                        tuple(row.mentions or ()), _aware(row.created_at),
                        _aware(row.edited_at) if row.edited_at else None, row.version, row.deleted_at is not None)
                for row in rows]

    def _query(self, entity: Any, record_id: Any, comment_id: int | None, limit: int, deleted: bool) -> sa.Select:
        table, users = self.table, self.users
        query = (sa.select(table, users.c.display_name, users.c.name)
                 .select_from(table.join(users, users.c.id == table.c.author_id))
                 .where(table.c.entity == entity, table.c.record_id == record_id))
        if comment_id is not None:
            query = query.where(table.c.id == comment_id)
        if not deleted:
            query = query.where(table.c.deleted_at.is_(None))
        return query.order_by(table.c.created_at.desc(), table.c.id.desc()).limit(limit)

    def _connect(self, connection: Connection | None):
        return contextlib.nullcontext(connection) if connection is not None else connect(self.site.engine)


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def remove_comments_of(site: Any, connection: Connection, entity: str, record_ids: Iterable[int]) -> int:
    """Remove the comments of records being removed for good (a purge from the recycle bin), in the
    caller's transaction; a record merely deleted into the bin keeps them. How many went."""
    ids = list(record_ids)
    table = site.tables.system("atrium_comments")
    removed = 0
    for start in range(0, len(ids), 500):
        removed += connection.execute(table.delete().where(
            table.c.entity == entity, table.c.record_id.in_(ids[start:start + 500]))).rowcount
    return removed
