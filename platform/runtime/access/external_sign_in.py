"""Who a person vouched for by a single sign-on provider is here.

A provider (OpenID Connect, WeCom, DingTalk) gives an `Identity`: its stable subject and the
claims it sent. The user is found, in this order, by the link an earlier sign-in left in
`atrium_sign_in_links` (provider, subject), then by the configured claim matched against a user
column (`match: {claim, field}`). No user: refused, or a new one when the provider says
`provision: true`, with the role its group claim maps to, its default, or none (recorded in
atrium_people_history beside the administrators' changes). A user without a
role of the blueprint waits for an administrator; a disabled user is refused (`refusal_of`).
A sign-in that fails raises `SignInRefused`, whose `reason` the login page words.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Mapping

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from atrium.errors import AtriumError
from atrium.metadata.model import Blueprint
from atrium.metadata.sign_in_settings import SignInProvider
from atrium.runtime.access.people import LOCALES, USER_NAME
from atrium.runtime.schema.tables import Tables
from atrium.translation import N_, word

MAX_NAME = 100  # the users table's name column
PROVISIONED = N_("{name} signed in through {provider} for the first time and was added ({role})")
NO_ROLE = N_("no role yet")


class SignInRefused(AtriumError):
    """A single sign-on that does not start a session: `reason` is failed (the provider's answer
    did not hold), unknown (no user and no provisioning), disabled, or waiting (no role yet)."""

    status = 403
    code = "sign_in_refused"

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(detail or reason)
        self.reason = reason
        self.status = 400 if reason == "failed" else 403


@dataclass(frozen=True)
class Identity:
    subject: str  # the provider's stable id of the person
    claims: Mapping[str, Any]
    display_name: str | None = None
    email: str | None = None


def _claim(identity: Identity, name: str) -> str | None:
    value = identity.claims.get(name)
    return str(value).strip() if value not in (None, "") else None


def role_for(provider: SignInProvider, identity: Identity, blueprint: Blueprint) -> str:
    """The role a provisioned user gets: the first of the person's groups the mapping names, else
    the default, else "" (none: an administrator gives one)."""
    mapping = provider.roles
    groups = identity.claims.get(mapping.claim) if mapping.claim else None
    if isinstance(groups, str):
        groups = [groups]
    for group in groups if isinstance(groups, list) else ():
        role = mapping.map.get(str(group))
        if role is not None and role in blueprint.roles:
            return role
    return mapping.default if mapping.default is not None and mapping.default in blueprint.roles else ""


def _new_name(connection: Connection, users: sa.Table, identity: Identity, provider: SignInProvider) -> str:
    """A free user name for a provisioned person: the matched value when it is the user name,
    else the email's local part or the subject, made unique with a number."""
    matched = _claim(identity, provider.match_claim)
    if provider.match_field == "name" and matched and USER_NAME.match(matched):
        return matched
    base = (identity.email or "").split("@")[0] or identity.subject
    base = re.sub(r"[^A-Za-z0-9_.@-]", "", base).lstrip("_.@-")[:MAX_NAME - 6] or "user"
    name, n = base, 1
    while connection.execute(sa.select(users.c.id).where(users.c.name == name)).first() is not None:
        n += 1
        name = f"{base}{n}"
    return name


def signed_in_user(connection: Connection, tables: Tables, blueprint: Blueprint, provider: SignInProvider,
                   identity: Identity, now: dt.datetime) -> dict[str, Any]:
    """The user `identity` signs in as (linked, matched or provisioned, in the caller's write
    transaction); raises SignInRefused when it is no one's. Whether that user may sign in is
    `refusal_of`'s to say."""
    users, links = tables.system("atrium_users"), tables.system("atrium_sign_in_links")
    subject = identity.subject[:255]
    link = connection.execute(sa.select(links.c.id, links.c.user_id).where(
        links.c.provider == provider.name, links.c.subject == subject)).first()
    user = None
    if link is not None:
        user = connection.execute(sa.select(users).where(users.c.id == link.user_id)).first()
    if user is None:
        value = _claim(identity, provider.match_claim)
        if value is None:
            raise SignInRefused("failed", f"the provider sent no '{provider.match_claim}'")
        column = users.c[provider.match_field]
        found = connection.execute(sa.select(users).where(
            sa.func.lower(column) == value.lower() if provider.match_field == "email" else column == value)
            .order_by(users.c.id).limit(2)).all()
        if len(found) > 1:
            raise SignInRefused("unknown", f"more than one user has {provider.match_field} {value}")
        user = found[0] if found else None
    if user is None:
        if not provider.provision:
            raise SignInRefused("unknown")
        name, role = _new_name(connection, users, identity, provider), role_for(provider, identity, blueprint)
        values = {"display_name": (identity.display_name or identity.email or identity.subject)[:200],
                  "email": (identity.email or None), "role": role}
        key = connection.execute(users.insert().values(name=name, **values, locale=blueprint.default_locale,
                                                       active=True, created_at=now)).inserted_primary_key
        assert key is not None
        connection.execute(tables.system("atrium_people_history").insert().values(
            at=now, user_id=key[0], user_name=name, action="add_user", target=f"user:{name}",
            summary={locale: word(PROVISIONED, locale, name=name, provider=provider.name,
                                  role=role or word(NO_ROLE, locale)) for locale in LOCALES},
            details={"after": values, "provider": provider.name}))
        user = connection.execute(sa.select(users).where(users.c.id == key[0])).one()
    if link is None:
        connection.execute(links.insert().values(user_id=user.id, provider=provider.name, subject=subject,
                                                 first_at=now, last_at=now))
    else:
        connection.execute(links.update().where(links.c.id == link.id).values(last_at=now, user_id=user.id))
    return dict(user._mapping)


def refusal_of(user: Mapping[str, Any], blueprint: Blueprint) -> str | None:
    """Why `user` may not sign in (disabled; waiting: no role of the blueprint yet), or None. The
    caller still commits the provisioning or the link, so an administrator finds the user."""
    if not user["active"]:
        return "disabled"
    if user["role"] not in blueprint.roles:
        return "waiting"
    return None
