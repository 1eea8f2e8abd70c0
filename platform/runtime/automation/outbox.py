"""Webhooks through an outbox: written with the change, sent after it commits, retried until received.

A webhook action inserts a row into atrium_outbox in the record's own transaction, so a request
exists exactly when its change was saved and survives a crash or a receiver that is down.
Delivery happens outside any record transaction: a deliverer claims due rows (a short lease, so
two workers never send the same row at once), POSTs each, and marks it delivered on a 2xx answer
or schedules a retry with exponential back-off. A receiver sees every delivery once in normal
operation; if a worker dies between the POST and its bookkeeping the row is sent again after
the claim expires, with the same `X-Atrium-Delivery` id so the receiver can recognise it.

The signing key is never stored: the row keeps the name of the environment variable, read when
the request is sent. A signed request carries `X-Atrium-Timestamp` (Unix seconds when it was sent)
and `X-Atrium-Signature: sha256=<hex HMAC-SHA256 of "{timestamp}.{body}">`.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from atrium.runtime.schema.database import connect, write_transaction
from atrium.runtime.schema.tables import Tables

FIRST_RETRY_SECONDS = 30
LONGEST_RETRY_SECONDS = 6 * 3600
MAX_ATTEMPTS = 30  # about a week of retries; the row is then kept as 'failed', never deleted
CLAIM_SECONDS = 120
TIMEOUT_SECONDS = 10
# Set after a commit that queued requests in this process; the server's scheduler waits on it.
QUEUED = threading.Event()


@dataclass(frozen=True)
class Answer:
    status: int | None  # HTTP status, or None when there was no answer
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


Sender = Callable[[str, bytes, Mapping[str, str]], Answer]


def post_json(url: str, body: bytes, headers: Mapping[str, str]) -> Answer:
    request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            return Answer(response.status)
    except urllib.error.HTTPError as error:
        return Answer(error.code, f"HTTP {error.code}")
    except (urllib.error.URLError, OSError, ValueError) as error:
        return Answer(None, str(getattr(error, "reason", error)) or type(error).__name__)


def signature(secret: str, body: bytes, timestamp: int) -> str:
    """`sha256=` and the hex HMAC-SHA256 of `{timestamp}.{body}`: the time is signed with the body,
    so a receiver that refuses old timestamps cannot be sent a captured request again."""
    signed = str(timestamp).encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def retry_delay(attempts: int) -> dt.timedelta:
    """30 s after the first failure, doubling each time, at most six hours."""
    return dt.timedelta(seconds=min(FIRST_RETRY_SECONDS * 2 ** max(attempts - 1, 0), LONGEST_RETRY_SECONDS))


@dataclass(frozen=True)
class DeliveryReport:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0


Channel = Callable[[Mapping[str, Any]], Answer]  # sends one outbox row of its channel


class Outbox:
    def __init__(self, tables: Tables, clock: Callable[[], dt.datetime], send: Sender = post_json,
                 channels: Mapping[str, Channel] | None = None):
        self.table = tables.system("atrium_outbox")
        self.clock = clock
        self.send = send
        # besides webhooks (no channel): email and robot messages (runtime/delivery), by channel name
        self.channels = dict(channels or {})
        self.wake = QUEUED

    def enqueue(self, connection: Connection, rows: Iterable[Mapping[str, Any]]) -> int:
        """Queue requests in the caller's transaction: rule, url, body (JSON-ready data) and
        optionally secret_env, entity, record_id and channel (a webhook without one)."""
        now = self.clock()
        batch = [{"rule": row["rule"], "entity": row.get("entity"), "record_id": row.get("record_id"),
                  "channel": row.get("channel"), "url": row["url"], "secret_env": row.get("secret_env"),
                  "body": json.dumps(row["body"], ensure_ascii=False, separators=(",", ":"), default=str),
                  "status": "pending", "attempts": 0, "created_at": now, "next_attempt_at": now}
                 for row in rows]
        if batch:
            connection.execute(self.table.insert(), batch)
        return len(batch)

    def deliver_due(self, engine: Engine, limit: int = 100) -> DeliveryReport:
        """Send the requests that are due, each claimed first so no other worker sends it too."""
        delivered = retrying = failed = 0
        for row in self._claim(engine, limit):
            answer = self._post(row)
            with write_transaction(engine) as connection:
                outcome = self._record(connection, row, answer)
            delivered += outcome == "delivered"
            retrying += outcome == "pending"
            failed += outcome == "failed"
        return DeliveryReport(delivered, retrying, failed)

    def pending(self, connection: Connection) -> int:
        return connection.execute(sa.select(sa.func.count()).select_from(self.table)
                                  .where(self.table.c.status == "pending")).scalar() or 0

    def troubles(self, connection: Connection, limit: int = 100) -> list[dict[str, Any]]:
        """What has not gone out although it was tried: failing and retrying (pending with an
        error) or given up, newest first - for an administrator (`atrium outbox`)."""
        table = self.table
        query = (sa.select(table.c.id, table.c.channel, table.c.rule, table.c.url, table.c.status, table.c.attempts,
                           table.c.created_at, table.c.next_attempt_at, table.c.last_status, table.c.last_error)
                 .where(sa.or_(table.c.status == "failed",
                               sa.and_(table.c.status == "pending", table.c.attempts > 0)))
                 .order_by(table.c.id.desc()).limit(limit))
        return [dict(row._mapping) for row in connection.execute(query)]

    def retry(self, connection: Connection, ids: Iterable[int]) -> int:
        """Send these again at the next delivery (after the cause of their failure was mended)."""
        table = self.table
        return connection.execute(table.update().where(table.c.id.in_(list(ids)), table.c.status != "delivered")
                                  .values(status="pending", next_attempt_at=self.clock(), claimed_until=None)
                                  ).rowcount

    def _claim(self, engine: Engine, limit: int) -> list[dict[str, Any]]:
        table, now = self.table, self.clock()
        with connect(engine) as connection:
            due = connection.execute(sa.select(table.c.id).where(
                table.c.status == "pending", table.c.next_attempt_at <= now,
                sa.or_(table.c.claimed_until.is_(None), table.c.claimed_until < now))
                .order_by(table.c.id).limit(limit)).scalars().all()
        claimed = []
        with write_transaction(engine) as connection:
            for row_id in due:
                # the compare-and-set is the claim: only one worker's UPDATE matches the row
                taken = connection.execute(table.update().where(
                    table.c.id == row_id, table.c.status == "pending",
                    sa.or_(table.c.claimed_until.is_(None), table.c.claimed_until < now))
                    .values(claimed_until=now + dt.timedelta(seconds=CLAIM_SECONDS))).rowcount
                if taken == 1:
                    claimed.append(row_id)
            rows = connection.execute(sa.select(table).where(table.c.id.in_(claimed))
                                      .order_by(table.c.id)).all() if claimed else []
        return [dict(row._mapping) for row in rows]

    def _post(self, row: Mapping[str, Any]) -> Answer:
        if row.get("channel"):
            channel = self.channels.get(row["channel"])
            if channel is None:  # the site no longer configures it: kept and retried, visible as failing
                return Answer(None, f"no {row['channel']} is configured for this site")
            return channel(row)
        body = row["body"].encode()
        headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "Atrium-Webhook/1",
                   "X-Atrium-Delivery": str(row["id"]), "X-Atrium-Rule": row["rule"]}
        if row["secret_env"]:
            secret = os.environ.get(row["secret_env"])
            if not secret:  # sending unsigned would let anyone forge these requests
                return Answer(None, f"environment variable {row['secret_env']} is not set")
            timestamp = int(self.clock().timestamp())
            headers["X-Atrium-Timestamp"] = str(timestamp)
            headers["X-Atrium-Signature"] = signature(secret, body, timestamp)
        return self.send(row["url"], body, headers)

    def _record(self, connection: Connection, row: Mapping[str, Any], answer: Answer) -> str:
        table, now = self.table, self.clock()
        attempts = row["attempts"] + 1
        if answer.ok:
            values: dict[str, Any] = {"status": "delivered", "delivered_at": now, "last_error": None}
        elif attempts >= MAX_ATTEMPTS:
            values = {"status": "failed", "last_error": (answer.error or "")[:1000]}
        else:
            values = {"status": "pending", "next_attempt_at": now + retry_delay(attempts),
                      "last_error": (answer.error or f"HTTP {answer.status}")[:1000]}
        connection.execute(table.update().where(table.c.id == row["id"]).values(
            attempts=attempts, last_status=answer.status, claimed_until=None, **values))
        return values["status"]
