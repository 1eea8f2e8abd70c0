"""A user's choice of messages outside the browser: their email address and how often (off, each
notification at once, or a daily digest). Kept on atrium_users; chosen on the account page."""
from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from atrium.runtime.schema.tables import Tables
from atrium.translation import N_

CHOICES = ("off", "each", "daily")
DEFAULT_CHOICE = "each"
# one address, nothing an email header would read as a second one or a display name
EMAIL = re.compile(r"^[^@\s,;<>\"()]+@[^@\s,;<>\"()]+\.[^@\s,;<>\"()]+$")
MAX_EMAIL = 320
PROBLEMS = {
    "email": N_("Must be an email address"),
    "choice": N_("Choose one of the offered options"),
    "needs_email": N_("Give an email address to get notifications by email"),
}


@dataclass(frozen=True)
class MessagePreferences:
    email: str | None
    choice: str  # off, each, daily


def preferences_of(connection: Connection, tables: Tables, user_id: int) -> MessagePreferences:
    users = tables.system("atrium_users")
    row = connection.execute(sa.select(users.c.email, users.c.email_messages).where(users.c.id == user_id)).first()
    if row is None:
        return MessagePreferences(None, DEFAULT_CHOICE)
    return MessagePreferences(row.email, row.email_messages or DEFAULT_CHOICE)


def problems(email: str, choice: str) -> dict[str, str]:
    """Field → msgid of what is wrong with a change of preferences (empty when it may be saved)."""
    found = {}
    if email and (len(email) > MAX_EMAIL or not EMAIL.match(email)):
        found["email"] = PROBLEMS["email"]
    if choice not in CHOICES:
        found["choice"] = PROBLEMS["choice"]
    elif choice != "off" and not email:
        found["email"] = PROBLEMS["needs_email"]
    return found


def set_preferences(connection: Connection, tables: Tables, user_id: int, email: str, choice: str) -> dict[str, str]:
    """Save the user's address and choice; returns the problems instead (and writes nothing)."""
    email = email.strip()
    found = problems(email, choice)
    if found:
        return found
    users = tables.system("atrium_users")
    connection.execute(users.update().where(users.c.id == user_id).values(email=email or None,
                                                                          email_messages=choice))
    return {}
