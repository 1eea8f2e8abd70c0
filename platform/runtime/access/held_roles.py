"""A role taken out of roles.yaml while users still hold it: refused, naming the users.

A user whose role no longer exists could not sign in to anything they could before, and nothing
would say why; so a change that removes a role (the permissions grid, the YAML editor, an undo)
is refused until those users have another role (Studio → Users). Disabled users count too: they
could be enabled again."""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from atrium.metadata.model import Blueprint
from atrium.runtime.schema.tables import system_tables
from atrium.translation import N_, word

SHOWN_USERS = 5  # names given in a refusal; the rest are counted

HELD_ROLE = N_("Role '{role}' cannot be removed: {count} user(s) hold it ({users}). Give them another "
               "role first (Studio → Users).")


@dataclass(frozen=True)
class HeldRole:
    role: str
    users: tuple[str, ...]

    def text(self, locale: str | None) -> str:
        names = ", ".join(self.users[:SHOWN_USERS]) + (" …" if len(self.users) > SHOWN_USERS else "")
        return word(HELD_ROLE, locale, role=self.role, count=len(self.users), users=names)


def held_roles(connection: Connection, before: Blueprint, after: Blueprint) -> list[HeldRole]:
    """The roles `before` has and `after` does not that users still hold."""
    gone = [name for name in before.roles if name not in after.roles]
    if not gone or not sa.inspect(connection).has_table("atrium_users"):
        return []
    metadata = sa.MetaData()
    system_tables(metadata)
    users = metadata.tables["atrium_users"]
    held: dict[str, list[str]] = {}
    for name, role in connection.execute(sa.select(users.c.name, users.c.role)
                                         .where(users.c.role.in_(gone)).order_by(users.c.name)):
        held.setdefault(role, []).append(name)
    return [HeldRole(role, tuple(held[role])) for role in gone if role in held]
