"""The history of the site's metadata (atrium_metadata_history): one row per applied change.

The row's id is the site's metadata version: every server process compares the newest id with
the one its blueprint was loaded at, one indexed read per request, and reloads when it moved
(metadata_watch.py). A row keeps who, when, a summary in each language, the changes in detail and
the overlay folder's files before and after, so any version can be shown as a diff and written
back. The YAML files stay the source of truth; the rows are their log.
"""
from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import Any, Mapping

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from atrium.runtime.schema.tables import system_tables

TABLE = "atrium_metadata_history"


@functools.lru_cache(maxsize=1)
def history_table() -> sa.Table:
    """The table as tables.py defines it (the same in every metadata version)."""
    metadata = sa.MetaData()
    system_tables(metadata)
    return metadata.tables[TABLE]


@dataclass(frozen=True)
class Entry:
    id: int
    at: dt.datetime
    user_id: int | None
    user_name: str | None
    action: str
    summary: Mapping[str, str]
    details: Mapping[str, Any]
    files_before: Mapping[str, str]
    files_after: Mapping[str, str]
    digest_after: str
    undo_of: int | None

    def summary_text(self, locale: str) -> str:
        return self.summary.get(locale) or self.summary.get("en") or next(iter(self.summary.values()), "")

    @property
    def changed_files(self) -> list[str]:
        names = sorted(set(self.files_before) | set(self.files_after))
        return [n for n in names if self.files_before.get(n) != self.files_after.get(n)]


def has_table(connection: Connection) -> bool:
    return sa.inspect(connection).has_table(TABLE)


@functools.lru_cache(maxsize=1)
def _latest_query() -> sa.Select:
    """`latest`'s statement, built once: every request reads it (the studio's watcher)."""
    table = history_table()
    return sa.select(table.c.id, table.c.digest_after).order_by(table.c.id.desc()).limit(1)


def latest(connection: Connection) -> tuple[int, str | None]:
    """(version, digest of the overlay files it wrote); (0, None) before the first change."""
    row = connection.execute(_latest_query()).first()
    return (row.id, row.digest_after) if row else (0, None)


def latest_version(connection: Connection) -> int:
    return connection.execute(sa.select(sa.func.max(history_table().c.id))).scalar() or 0


def record(connection: Connection, *, at: dt.datetime, user_id: int | None,
           user_name: str | None, action: str, summary: Mapping[str, str], details: Mapping[str, Any],
           files_before: Mapping[str, str], files_after: Mapping[str, str], digest_after: str,
           undo_of: int | None = None) -> int:
    result = connection.execute(history_table().insert().values(
        at=at, user_id=user_id, user_name=user_name, action=action, summary=dict(summary),
        details=dict(details), files_before=dict(files_before), files_after=dict(files_after),
        digest_after=digest_after, undo_of=undo_of))
    key = result.inserted_primary_key
    assert key is not None  # an INSERT of one row
    return int(key[0])


def _entry(row: Any) -> Entry:
    return Entry(row.id, row.at, row.user_id, row.user_name, row.action, row.summary or {},
                 row.details or {}, row.files_before or {}, row.files_after or {}, row.digest_after,
                 row.undo_of)


def entries(connection: Connection, limit: int = 50, before: int | None = None) -> list[Entry]:
    """The newest entries first (older than `before` when given)."""
    table = history_table()
    query = sa.select(table).order_by(table.c.id.desc()).limit(limit)
    if before is not None:
        query = query.where(table.c.id < before)
    return [_entry(row) for row in connection.execute(query)]


def entry(connection: Connection, entry_id: int) -> Entry | None:
    table = history_table()
    row = connection.execute(sa.select(table).where(table.c.id == entry_id)).first()
    return _entry(row) if row else None


def last_touching(connection: Connection, files: set[str]) -> Entry | None:
    """The newest entry that changed one of `files`, else the newest (who to name when an edit is stale)."""
    recent = entries(connection, limit=200)
    return next((found for found in recent if files & set(found.changed_files)), recent[0] if recent else None)
