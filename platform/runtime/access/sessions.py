"""Sign-in sessions kept in the database, so that they can be ended.

A browser that signs in gets a random key in its (signed) cookie; the database keeps the key's
SHA-256 in `atrium_sessions` with the user, when it started and when it was last seen. Each
request looks the key up (one primary-key lookup joined to the user's row): a row that is gone,
a user that is disabled, a session idle longer than `SessionPolicy.idle` or older than
`SessionPolicy.absolute` is not signed in. Ending a session deletes its row, so a copied cookie
stops working at once: signing out ends the browser's own session, "sign out everywhere", a
password change (every other session) and disabling a user end all of that user's sessions.

`last_seen_at` is written at most once per `SessionPolicy.touch_every` per session, so a busy
user does not make every page a write; the idle timeout is exact to within that much.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from atrium.runtime.schema.database import SQLITE_BUSY_TIMEOUT_MS, connect
from atrium.runtime.schema.tables import Tables


@dataclass(frozen=True)
class SessionPolicy:
    """How long a session lives: `idle` without a request, `absolute` from sign-in whatever happens."""

    idle: dt.timedelta = dt.timedelta(hours=12)
    absolute: dt.timedelta = dt.timedelta(days=14)
    touch_every: dt.timedelta = dt.timedelta(minutes=1)

    def __post_init__(self) -> None:
        if self.idle <= dt.timedelta(0) or self.absolute <= dt.timedelta(0):
            raise ValueError("session timeouts must be positive")

    @classmethod
    def from_settings(cls, idle_minutes: float | None, absolute_hours: float | None) -> "SessionPolicy":
        default = cls()
        return cls(idle=dt.timedelta(minutes=idle_minutes) if idle_minutes else default.idle,
                   absolute=dt.timedelta(hours=absolute_hours) if absolute_hours else default.absolute)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def start_session(connection: Connection, tables: Tables, user_id: int, now: dt.datetime,
                  policy: SessionPolicy, address: str | None = None) -> str:
    """A new session for the user; the key goes into the cookie, only its hash into the database.
    The user's sessions that timed out without being visited again are cleared on the way."""
    sessions = tables.system("atrium_sessions")
    connection.execute(sessions.delete().where(
        sessions.c.user_id == user_id,
        sa.or_(sessions.c.last_seen_at <= now - policy.idle, sessions.c.started_at <= now - policy.absolute)))
    key = secrets.token_urlsafe(32)
    connection.execute(sessions.insert().values(
        key_hash=key_hash(key), user_id=user_id, started_at=now, last_seen_at=now,
        address=(address or "")[:100] or None))
    return key


def session_user(engine: Engine, tables: Tables, key: str, now: dt.datetime,
                 policy: SessionPolicy, connection: Connection | None = None) -> dict[str, Any] | None:
    """The active user whose live session `key` is, or None. An expired session is ended here.

    `connection` is the request's reading connection, when it has one (else one is taken from
    `engine`); its transaction is ended before the session's row is written, so this connection
    never holds a read snapshot while another writes."""
    sessions, users = tables.system("atrium_sessions"), tables.system("atrium_users")
    hashed = key_hash(key)
    query = (sa.select(sessions.c.started_at.label("session_started_at"),
                       sessions.c.last_seen_at.label("session_last_seen_at"), *users.c)
             .select_from(sessions.join(users, users.c.id == sessions.c.user_id))
             .where(sessions.c.key_hash == hashed, users.c.active.is_(True)))
    if connection is None:
        with engine.connect() as own:
            row = own.execute(query).first()
    else:
        row = connection.execute(query).first()
    if row is None:
        return None
    found = dict(row._mapping)
    started, seen = found.pop("session_started_at"), found.pop("session_last_seen_at")
    expired = now - seen >= policy.idle or now - started >= policy.absolute
    if (expired or now - seen >= policy.touch_every) and connection is not None and connection.in_transaction():
        connection.rollback()
    if expired:
        _unless_busy(engine, sessions.delete().where(sessions.c.key_hash == hashed))
        return None
    if now - seen >= policy.touch_every:
        _unless_busy(engine, sessions.update().where(sessions.c.key_hash == hashed).values(last_seen_at=now))
    return found


BUSY_WAIT_MS = 100


def _unless_busy(engine: Engine, statement: sa.Executable) -> None:
    """Write `statement` now, or skip it when the lock it needs is held (SQLite's write lock
    during a long import or migration, a row or table lock on PostgreSQL): a page never waits
    for a timestamp. The next request tries again, and an expired session is refused whether or
    not its row is gone yet."""
    sqlite = engine.dialect.name == "sqlite"
    with connect(engine, write=True) as connection:
        raw = connection.connection.dbapi_connection if sqlite else None
        if raw is not None:
            raw.execute(f"PRAGMA busy_timeout={BUSY_WAIT_MS}")
        try:
            with connection.begin():
                if not sqlite:
                    connection.exec_driver_sql(f"SET LOCAL lock_timeout = '{BUSY_WAIT_MS}ms'")
                connection.execute(statement)
        except sa.exc.OperationalError as error:
            if not _lock_busy(error):
                raise
        finally:
            if raw is not None:
                raw.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")


def _lock_busy(error: sa.exc.OperationalError) -> bool:
    """SQLite's "database is locked", or PostgreSQL's lock_not_available (55P03)."""
    return "locked" in str(error.orig) or getattr(error.orig, "sqlstate", None) == "55P03"


def end_session(connection: Connection, tables: Tables, key: str) -> None:
    sessions = tables.system("atrium_sessions")
    connection.execute(sessions.delete().where(sessions.c.key_hash == key_hash(key)))


def end_user_sessions(connection: Connection, tables: Tables, user_id: int, keep: str | None = None) -> int:
    """End every session of the user (but `keep`'s, when given); how many were ended."""
    sessions = tables.system("atrium_sessions")
    query = sessions.delete().where(sessions.c.user_id == user_id)
    if keep is not None:
        query = query.where(sessions.c.key_hash != key_hash(keep))
    return connection.execute(query).rowcount


def user_sessions(connection: Connection, tables: Tables, user_id: int) -> list[dict[str, Any]]:
    """The user's sessions, the most recently used first, each with `key_hash` to mark the current one."""
    sessions = tables.system("atrium_sessions")
    rows = connection.execute(sa.select(sessions).where(sessions.c.user_id == user_id)
                              .order_by(sessions.c.last_seen_at.desc()))
    return [dict(row._mapping) for row in rows]
