"""Inbound webhooks: another system POSTs signed JSON; its items become upserts by external key.

Order of work, so that an unsigned request costs nothing and reveals nothing:
1. the body's size (refused unread past the integration's limit, 413);
2. the signature: the HMAC-SHA256 of the raw body (or of `{timestamp}.{body}` with a timestamp
   header, itself within the tolerance) compared in constant time (`hmac.compare_digest`), 401;
3. only then the JSON is parsed and mapped (400 when it does not have the declared shape);
4. the upserts run in one transaction as the integration's `run_as` user through
   external_keys.upsert_many (validation, access, history, automations), all or nothing (422).
Every delivery, accepted or refused, is a row of `atrium_inbound` (never the body or the key).
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import os
from dataclasses import dataclass, field
from typing import Any, Mapping

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from atrium.errors import AtriumError
from atrium.metadata.integrations import Inbound
from atrium.runtime.access import external_keys
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.schema.database import connect, write_transaction
from atrium.translation import N_, word

PREFIX = "sha256="
TOO_LARGE = N_("The body is too large")


class InboundRefused(AtriumError):
    """A delivery refused before anything was written: `status` says why (400, 401, 413, 422).
    `str()` is the English text (kept with the delivery); the answer is in `locale`."""

    def __init__(self, status: int, code: str, msgid: str, details: Mapping[str, Any] | None = None,
                 **params: Any):
        super().__init__(word(msgid, "en", **params))
        self.status, self.code, self.details = status, code, dict(details or {})
        self.msgid, self.params, self.locale = msgid, params, "en"

    def payload(self) -> dict[str, Any]:
        return {"error": self.code, "message": word(self.msgid, self.locale, **self.params), **self.details}


@dataclass
class Received:
    created: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"created": self.created, "updated": self.updated}


def sign(secret: str, body: bytes, timestamp: str | None = None, encoding: str = "hex") -> str:
    """What a sender puts in the signature header (without the optional `sha256=` prefix)."""
    signed = body if timestamp is None else timestamp.encode() + b"." + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).digest()
    return digest.hex() if encoding == "hex" else base64.b64encode(digest).decode()


def verify(spec: Inbound, headers: Mapping[str, str], body: bytes, now: dt.datetime) -> None:
    """Raise InboundRefused(401) unless the request carries a valid, fresh signature."""
    secret = os.environ.get(spec.secret)
    given = headers.get(spec.header.lower(), headers.get(spec.header, ""))
    if given.startswith(PREFIX):
        given = given[len(PREFIX):]
    timestamp = None
    if spec.timestamp_header:
        timestamp = headers.get(spec.timestamp_header.lower(), headers.get(spec.timestamp_header, ""))
        if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12) or \
                abs(now.timestamp() - int(timestamp)) > spec.tolerance_seconds:
            raise InboundRefused(401, "unauthorized", N_("The timestamp is missing or too far from the server's clock"))
    try:
        given_bytes = bytes.fromhex(given) if spec.encoding == "hex" else base64.b64decode(given, validate=True)
    except (ValueError, binascii.Error):
        given_bytes = b""
    expected = bytes.fromhex(sign(secret, body, timestamp)) if secret else b"\0" * 32
    # compared even without a key (a constant-time refusal either way)
    if not hmac.compare_digest(expected, given_bytes) or not secret:
        raise InboundRefused(401, "unauthorized", N_("The signature does not match"))


def at_path(data: Any, path: str) -> Any:
    """The value at a dotted JSON path, None when a step is missing."""
    for step in path.split("."):
        if isinstance(data, Mapping):
            data = data.get(step)
        elif isinstance(data, list) and step.isdigit() and int(step) < len(data):
            data = data[int(step)]
        else:
            return None
    return data


def mapped(spec: Inbound, key_field: str, body: bytes) -> list[dict[str, Any]]:
    """The payload as rows to upsert: each item's key and mapped fields (a missing path is left out)."""
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        raise InboundRefused(400, "bad_request", N_("The body is not valid JSON")) from None
    items = at_path(payload, spec.records) if spec.records else [payload]
    if not isinstance(items, list) or not items or not all(isinstance(item, Mapping) for item in items):
        raise InboundRefused(400, "bad_request", N_("'{path}' is not a list of objects"), path=spec.records or "$")
    rows = []
    for item in items:
        key = at_path(item, spec.key)
        if key is None or isinstance(key, (dict, list, bool)):
            raise InboundRefused(400, "bad_request", N_("An item has no key at '{path}'"), path=spec.key)
        row = {name: at_path(item, path) for name, path in spec.fields.items() if at_path(item, path) is not None}
        rows.append({**row, key_field: key})
    return rows


def run_as(connection: Connection, site: Any, spec: Inbound) -> Actor:
    users = site.tables.system("atrium_users")
    user = connection.execute(sa.select(users).where(users.c.name == spec.run_as, users.c.active.is_(True))).first()
    if user is None:
        raise InboundRefused(422, "no_user", N_("The user '{name}' this integration runs as does not exist"),
                             name=spec.run_as)
    return Actor(user_id=user.id, name=user.name, role=user.role, team_id=user.team_id,
                 locale=site.blueprint.default_locale)


def receive(site: Any, spec: Inbound, headers: Mapping[str, str], body: bytes, locale: str = "en") -> Received:
    """Verify, map and upsert one delivery, and record it (whatever the outcome); a refusal is
    answered in `locale`."""
    received, status, error = Received(), 200, None
    try:
        if len(body) > spec.max_body:
            raise InboundRefused(413, "too_large", TOO_LARGE)
        verify(spec, headers, body, site.now())
        entity = site.blueprint.entities[spec.entity]
        rows = mapped(spec, external_keys.key_field(entity), body)
        with write_transaction(site.engine) as connection:
            actor = run_as(connection, site, spec)
            for done in external_keys.upsert_many(site, actor, entity, rows, connection):
                (received.created if done.created else received.updated).append(done.record["id"])
        return received
    except external_keys.UpsertsRefused as refused:
        status, error = 422, str(refused)
        raise InboundRefused(422, "refused", N_("{count} record(s) have errors; nothing was saved"),
                             {"refused": refused.payload()["refused"]}, count=len(refused.refused)) from None
    except InboundRefused as refused:
        status, error, refused.locale = refused.status, str(refused), locale
        raise
    except AtriumError as refused:
        status, error = refused.status, str(refused)
        raise
    finally:
        record(site, spec.name, status, len(body), received, error)


def record(site: Any, name: str, status: int, size: int, received: Received, error: str | None) -> None:
    table = site.tables.system("atrium_inbound")
    with write_transaction(site.engine) as connection:
        connection.execute(table.insert().values(endpoint=name, received_at=site.now(), status=status, size=size,
                                                 created=len(received.created), updated=len(received.updated),
                                                 error=(error or None) and error[:1000]))


def deliveries(site: Any, limit: int = 100) -> list[dict[str, Any]]:
    """The latest deliveries, newest first, for the admin."""
    table = site.tables.system("atrium_inbound")
    with connect(site.engine) as connection:
        rows = connection.execute(sa.select(table).order_by(table.c.id.desc()).limit(limit))
        return [dict(row._mapping) for row in rows]
