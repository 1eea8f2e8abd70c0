"""Users, teams and API tokens (the system tables every blueprint shares)."""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.engine import Connection

from atrium.errors import AtriumError
from atrium.metadata.model import Blueprint
from atrium.runtime.access.sessions import end_user_sessions
from atrium.runtime.schema.tables import Tables

_hasher = PasswordHasher()


class UserError(AtriumError, ValueError):
    """A user that cannot be added or changed (unknown role or team, name taken ...)."""

    status, code = 400, "user"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def team_id(connection: Connection, tables: Tables, name: str | None) -> int | None:
    if name is None:
        return None
    teams = tables.system("atrium_teams")
    found = connection.execute(sa.select(teams.c.id).where(teams.c.name == name)).scalar()
    if found is None:
        raise UserError(f"no team '{name}' (add it with: atrium team add {name})")
    return found


def add_team(connection: Connection, tables: Tables, name: str, label: str | None = None,
             parent: str | None = None, manager: str | None = None) -> int:
    teams = tables.system("atrium_teams")
    if connection.execute(sa.select(teams.c.id).where(teams.c.name == name)).scalar() is not None:
        raise UserError(f"team '{name}' already exists")
    manager_id = user_id(connection, tables, manager) if manager else None
    key = connection.execute(teams.insert().values(
        name=name, label=label or name, parent_id=team_id(connection, tables, parent),
        manager_id=manager_id)).inserted_primary_key
    assert key is not None  # an INSERT of one row
    return key[0]


def set_team_manager(connection: Connection, tables: Tables, team: str, manager: str) -> None:
    teams = tables.system("atrium_teams")
    connection.execute(teams.update().where(teams.c.name == team)
                       .values(manager_id=user_id(connection, tables, manager)))


def user_id(connection: Connection, tables: Tables, name: str) -> int:
    users = tables.system("atrium_users")
    found = connection.execute(sa.select(users.c.id).where(users.c.name == name)).scalar()
    if found is None:
        raise UserError(f"no user '{name}'")
    return found


def add_user(connection: Connection, tables: Tables, blueprint: Blueprint, name: str, role: str,
             team: str | None = None, password: str | None = None, display_name: str | None = None,
             locale: str | None = None, password_hash: str | None = None) -> int:
    """A new active user. Give `password_hash` (from hash_password, computed before the write
    transaction opens) where others may be waiting on the lock; `password` hashes it here."""
    if role not in blueprint.roles:
        raise UserError(f"no role '{role}'; the blueprint has: {', '.join(blueprint.roles)}")
    users = tables.system("atrium_users")
    if connection.execute(sa.select(users.c.id).where(users.c.name == name)).scalar() is not None:
        raise UserError(f"user '{name}' already exists")
    key = connection.execute(users.insert().values(
        name=name, display_name=display_name or name, role=role,
        team_id=team_id(connection, tables, team),
        password_hash=password_hash or (hash_password(password) if password else None),
        locale=locale or blueprint.default_locale, active=True,
        created_at=dt.datetime.now(dt.timezone.utc))).inserted_primary_key
    assert key is not None  # an INSERT of one row
    return key[0]


def issue_token(connection: Connection, tables: Tables, name: str) -> str:
    """A new API token for a user; only its SHA-256 is stored."""
    token = "atr_" + secrets.token_urlsafe(32)
    connection.execute(tables.system("atrium_tokens").insert().values(
        user_id=user_id(connection, tables, name), token_hash=token_hash(token),
        created_at=dt.datetime.now(dt.timezone.utc)))
    return token


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def find_user(connection: Connection, tables: Tables, name: str) -> dict[str, Any] | None:
    users = tables.system("atrium_users")
    row = connection.execute(sa.select(users).where(users.c.name == name)).first()
    return dict(row._mapping) if row else None


def list_users(connection: Connection, tables: Tables) -> list[dict[str, Any]]:
    users, teams = tables.system("atrium_users"), tables.system("atrium_teams")
    query = (sa.select(users.c.name, users.c.role, teams.c.name.label("team"))
             .select_from(users.outerjoin(teams, users.c.team_id == teams.c.id)).order_by(users.c.id))
    return [dict(row._mapping) for row in connection.execute(query)]


def set_active(connection: Connection, tables: Tables, name: str, active: bool) -> int:
    """Enable or disable a user; disabling ends every session at once (and the user's API tokens
    stop working, since only active users are found by token). How many sessions were ended."""
    users = tables.system("atrium_users")
    found = user_id(connection, tables, name)
    connection.execute(users.update().where(users.c.id == found).values(active=active))
    return 0 if active else end_user_sessions(connection, tables, found)


def set_password_hash(connection: Connection, tables: Tables, user: int, password_hash: str,
                      keep_session: str | None = None) -> int:
    """A new password (hashed before the write transaction opens) ends every session of the user
    but `keep_session` (the browser that changed it); how many were ended."""
    users = tables.system("atrium_users")
    connection.execute(users.update().where(users.c.id == user).values(password_hash=password_hash))
    return end_user_sessions(connection, tables, user, keep=keep_session)


def dummy_hash() -> str:
    """A hash to check a password against when the name is unknown, so that answering takes as
    long as for a known name (the same hasher and parameters as every stored password)."""
    global _dummy
    if _dummy is None:
        _dummy = _hasher.hash(secrets.token_urlsafe(16))
    return _dummy


_dummy: str | None = None
