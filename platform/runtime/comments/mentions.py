"""@mentions in a comment's text, and who may be mentioned on a record.

A mention is `@` and a user's sign-in name (`@manager`, `@wang.fang`), at the start of the text or
after a space, so an email address (`li@example.com`) is not one. A sentence's full stop after
the name is not part of it. Only users who may read the record can be mentioned, decided by the
same access layer a detail page asks (`Access.allows` for that user).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from atrium.runtime.records.evaluation import Actor

MENTION = re.compile(r"(?:^|(?<=\s))@([\w-]+(?:\.[\w-]+)*)")
TYPED = re.compile(r"(?:^|(?<=\s))@([\w.-]*)$")  # a mention being typed at the end of the text
MAX_MENTIONS = 20  # people one comment may name


@dataclass(frozen=True)
class Person:
    id: int
    name: str  # what follows the @
    display: str


def mentioned_names(text: str) -> list[str]:
    """The names the text mentions, each once, in order."""
    names: list[str] = []
    for match in MENTION.finditer(text):
        if match.group(1) not in names:
            names.append(match.group(1))
    return names


def typed_prefix(text: str) -> str | None:
    """The part of a name typed after a final `@` (None when the text does not end in a mention)."""
    match = TYPED.search(text)
    return match.group(1) if match else None


def actor_of(row: Any, locale: str) -> Actor:
    return Actor(user_id=row.id, name=row.name, role=row.role, team_id=row.team_id, locale=row.locale or locale)


class Mentions:
    def __init__(self, site: Any):
        self.site = site
        self.users = site.tables.system("atrium_users")

    def people(self, connection: Connection, names: list[str]) -> dict[str, Any]:
        """Active users by sign-in name (those of `names` that exist)."""
        if not names:
            return {}
        rows = connection.execute(sa.select(self.users).where(self.users.c.name.in_(names),
                                                              self.users.c.active.is_(True)))
        return {row.name: row for row in rows}

    def may_read(self, connection: Connection, user: Any, entity: str, record_id: int) -> bool:
        actor = actor_of(user, self.site.blueprint.default_locale)
        return self.site.access.allows(connection, actor, entity, record_id, "read")

    def readers(self, connection: Connection, entity: str, record_id: int, prefix: str = "",
                limit: int = 8, exclude: int | None = None) -> list[Person]:
        """Active users who may read the record, whose name or display name starts with `prefix`
        (any letter case), by name, at most `limit`."""
        table = self.users
        query = sa.select(table).where(table.c.active.is_(True)).order_by(table.c.name)
        if prefix:
            pattern = prefix.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            query = query.where(sa.or_(sa.func.lower(table.c.name).like(pattern, escape="\\"),
                                       sa.func.lower(table.c.display_name).like(pattern, escape="\\")))
        found: list[Person] = []
        for row in connection.execute(query).fetchall():  # a site's people: hundreds, not millions
            if row.id != exclude and self.may_read(connection, row, entity, record_id):
                found.append(Person(row.id, row.name, row.display_name or row.name))
                if len(found) >= limit:
                    break
        return found
