"""The recycle bin as people use it: list, restore and purge, under its access rules.

A user sees and acts on the deletions they made; a role with `all` (administrators) on everyone's.
Restoring also needs the right to create the entity. One listed entry is one delete (its record,
the one the user deleted); the records its delete cascaded to share its batch and come back or go
away with it. An entry someone may not reach is reported as not found, like a record.

Every purge goes through `purge_entries`, the one place a bin entry leaves for good (what is kept
beside a record, such as its files, is removed there).
"""
from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from atrium.errors import AtriumError
from atrium.runtime.automation.messages import message
from atrium.runtime.comments.service import remove_comments_of
from atrium.runtime.files.service import remove_files_of
from atrium.runtime.records.errors import RecordNotFound
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.schema.database import connect, write_transaction
from atrium.runtime.trash.binning import TRASH, row_of
from atrium.runtime.trash.restore import restore_entries


class RestoreForbidden(AtriumError):
    """The actor may not create records of the entity, so may not bring one back."""

    status, code = 403, "forbidden"


def purge_entries(site: Any, connection: Connection, entries: Sequence[Mapping[str, Any]]) -> int:
    """Remove these bin entries for good; the number removed. The one way out of the bin."""
    trash = site.tables.system(TRASH)
    ids = [entry["id"] for entry in entries]
    by_entity: dict[str, list[int]] = {}
    for entry in entries:
        by_entity.setdefault(entry["entity"], []).append(entry["record_id"])
    for entity, record_ids in by_entity.items():  # a binned record kept its files and comments until now
        remove_files_of(site, connection, entity, record_ids)
        remove_comments_of(site, connection, entity, record_ids)
    removed = 0
    for start in range(0, len(ids), 500):
        removed += connection.execute(trash.delete().where(trash.c.id.in_(ids[start:start + 500]))).rowcount
    return removed


class Trash:
    def __init__(self, site: Any):
        self.site = site
        self.table = site.tables.system(TRASH)

    # --- reading -----------------------------------------------------------------------------

    def entries(self, actor: Actor, limit: int = 200, connection: Connection | None = None) -> list[dict[str, Any]]:
        """The deletions the actor may see, newest first: entry id, entity, record id, title, who,
        when, and how many records the delete took with it."""
        trash, users = self.table, self.site.tables.system("atrium_users")
        sizes = (sa.select(trash.c.batch, sa.func.count().label("records")).group_by(trash.c.batch).subquery())
        query = (sa.select(trash, sa.func.coalesce(users.c.display_name, users.c.name).label("deleted_by_name"),
                           sizes.c.records)
                 .join(sizes, sizes.c.batch == trash.c.batch)
                 .outerjoin(users, users.c.id == trash.c.deleted_by)
                 .where(trash.c.root.is_(True), self._reach(actor))
                 .order_by(trash.c.deleted_at.desc(), trash.c.id.desc()).limit(limit))
        with self._connect(connection) as conn:
            rows = [dict(row._mapping) for row in conn.execute(query)]
            for row in rows:
                row["title"] = self._title(conn, actor, row)
                row["cascaded"] = row.pop("records") - 1
        return [{key: value for key, value in row.items() if key not in ("record_values", "links")} for row in rows]

    def _title(self, connection: Connection, actor: Actor, entry: Mapping[str, Any]) -> str:
        name = entry["entity"]
        if name not in self.site.blueprint.entities:
            return f"#{entry['record_id']}"
        row = row_of(self.site.tables[name], entry["record_values"])
        return self.site.queries.titles_of(connection, name, [row], actor)[row["id"]]

    def _reach(self, actor: Actor) -> sa.ColumnElement:
        if self.site.access.is_system(actor) or self.site.access.sees_everything(actor):
            return sa.true()
        return self.table.c.deleted_by == actor.user_id

    def batch(self, connection: Connection, actor: Actor, entry_id: int | None = None,
              record: tuple[str, int] | None = None) -> list[dict[str, Any]]:
        """The batch of a bin entry (by its id, or the newest holding the record), if the actor
        may reach it; else RecordNotFound."""
        trash = self.table
        where = (trash.c.id == entry_id if record is None
                 else sa.and_(trash.c.entity == record[0], trash.c.record_id == record[1]))
        found = connection.execute(sa.select(trash.c.batch).where(where, self._reach(actor))
                                   .order_by(trash.c.id.desc()).limit(1)).scalar()
        if found is None:
            raise RecordNotFound(message("not_found", actor.locale))
        return [dict(row._mapping) for row in connection.execute(
            sa.select(trash).where(trash.c.batch == found).order_by(trash.c.id))]

    # --- writing -----------------------------------------------------------------------------

    def restore(self, actor: Actor, entry_id: int | None = None, record: tuple[str, int] | None = None,
                connection: Connection | None = None) -> dict[str, Any]:
        """Bring a deletion back; returns the root entry (entity, record_id). RecordNotFound,
        RestoreForbidden or RestoreRefused (why) when it cannot, and then nothing changes."""
        with self._connect(connection, write=True) as conn:
            entries = self.batch(conn, actor, entry_id, record)
            root = next((e for e in entries if e["root"]), entries[-1])
            if not self.site.access.is_system(actor) and not all(
                    self.site.access.can(actor, name, "create") for name in {e["entity"] for e in entries}
                    if name in self.site.blueprint.entities):
                raise RestoreForbidden(message("restore_forbidden", actor.locale))
            restore_entries(self.site.records, conn, entries, actor)
            purge = self.site.tables.system(TRASH)
            conn.execute(purge.delete().where(purge.c.batch == root["batch"]))  # back in place: no longer binned
        return {"entity": root["entity"], "record_id": root["record_id"]}

    def purge(self, actor: Actor, entry_id: int, connection: Connection | None = None) -> int:
        """Empty one deletion (its whole batch) out of the bin for good."""
        with self._connect(connection, write=True) as conn:
            return purge_entries(self.site, conn, self.batch(conn, actor, entry_id))

    def purge_older(self, days: float, now: dt.datetime | None = None) -> int:
        """Purge every deletion made more than `days` ago (the scheduler: the blueprint's
        trash retention; `atrium trash purge --older-than`). Idempotent: several workers may run it."""
        cutoff = (now or self.site.now()) - dt.timedelta(days=days)
        trash = self.table
        with write_transaction(self.site.engine) as conn:
            old = [dict(row._mapping) for row in conn.execute(
                sa.select(trash).where(trash.c.deleted_at < cutoff).with_for_update()
                if conn.dialect.name == "postgresql" else sa.select(trash).where(trash.c.deleted_at < cutoff))]
            return purge_entries(self.site, conn, old)

    def purge_expired(self) -> int:
        """What the scheduler runs each tick: deletions past the blueprint's retention."""
        return self.purge_older(self.site.blueprint.trash_retention_days)

    def _connect(self, connection: Connection | None, write: bool = False):
        if connection is not None:
            return contextlib.nullcontext(connection)
        return write_transaction(self.site.engine) if write else connect(self.site.engine)
