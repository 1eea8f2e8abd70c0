"""How many sign-in attempts a client may make: per address, per account and per (account, address).

Each attempt is counted *before* its password is checked, in one short write transaction of
three atomic upserts (`INSERT ... ON CONFLICT DO UPDATE ... RETURNING` on SQLite and PostgreSQL),
so parallel attempts each see their own count and no more than the limit ever reach argon2; the
check itself runs after the commit, never inside a write transaction. A successful sign-in takes
its attempt back and clears the (account, address) count.

Counts are a sliding window: a counter per fixed window of `WINDOW` seconds, the previous
window's weighted by how much of it still overlaps the last `WINDOW` seconds. An attempt is
refused when, counting itself,
- its address made more than `ADDRESS_LIMIT` attempts (many names tried from one place), or
- its address made more than `ACCOUNT_LIMIT` attempts on this account (one account hammered), or
- the account had more than `ACCOUNT_TOTAL_LIMIT` attempts from all addresses together and this
  address more than `UNDER_ATTACK_TRIES` on it (an account attacked from many places).
So an attacker cannot lock the owner out: a client that is not the one failing still signs in
with the right password, even while the account is under attack from elsewhere. Whether the
name exists plays no part: unknown names are counted and refused exactly like known ones.

The address is the request's client host. Behind a reverse proxy that is the proxy's address;
run uvicorn with `--proxy-headers --forwarded-allow-ips=<the proxy's address>` so that it is the
client's (X-Forwarded-For is not trusted by default).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import math
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from atrium.runtime.schema.database import write_transaction
from atrium.runtime.schema.tables import Tables

WINDOW = 15 * 60  # seconds
ADDRESS_LIMIT = 20
ACCOUNT_LIMIT = 5
ACCOUNT_TOTAL_LIMIT = 20
UNDER_ATTACK_TRIES = 2


@dataclass(frozen=True)
class Count:
    """A key's attempts: `current` in window `bucket`, `previous` in the window before."""

    current: int
    previous: int
    bucket: int

    def estimate(self, seconds: float) -> float:
        """Attempts in the last WINDOW seconds, as of `seconds` (epoch)."""
        overlap = 1 - (seconds - self.bucket * WINDOW) / WINDOW
        return self.current + self.previous * max(0.0, overlap)

    def wait(self, seconds: float, limit: float) -> float:
        """Seconds until the estimate is back within `limit` (attempts stop)."""
        elapsed = seconds - self.bucket * WINDOW
        if self.current <= limit:
            if self.previous == 0:
                return 0.0
            return max(0.0, (1 - (limit - self.current) / self.previous) * WINDOW - elapsed)
        return (WINDOW - elapsed) + (1 - limit / self.current) * WINDOW  # in the next window


@dataclass(frozen=True)
class Attempt:
    """One counted attempt: its keys, its window, and how long it must wait (0: it may go on)."""

    keys: tuple[str, str, str]  # address, account, pair
    bucket: int
    wait_seconds: int

    @property
    def refused(self) -> bool:
        return self.wait_seconds > 0


def keys(name: str, address: str) -> tuple[str, str, str]:
    def digest(text: str) -> str:
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:60]
    account = name.strip().casefold()
    return "a:" + digest(address), "u:" + digest(account), "p:" + digest(account + "\0" + address)


def _seconds(now: dt.datetime) -> float:
    return now.timestamp()


def _count(connection: Connection, table: sa.Table, key: str, bucket: int) -> Count:
    """Add one attempt to `key` atomically and return its counts (the row is locked until commit)."""
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    first = insert(table).values(key=key, bucket=bucket, current=1, previous=0)
    upsert = first.on_conflict_do_update(index_elements=[table.c.key], set_={
        # every expression reads the row as it was before this update
        "previous": sa.case((table.c.bucket == bucket, table.c.previous),
                            (table.c.bucket == bucket - 1, table.c.current), else_=0),
        "current": sa.case((table.c.bucket == bucket, table.c.current + 1), else_=1),
        "bucket": bucket,
    })
    row = connection.execute(upsert.returning(table.c.current, table.c.previous)).one()
    return Count(row.current, row.previous, bucket)


def attempt(engine: Engine, tables: Tables, name: str, address: str, now: dt.datetime) -> Attempt:
    """Count an attempt to sign in as `name` from `address`; committed before any password check."""
    table = tables.system("atrium_sign_in_counts")
    seconds = _seconds(now)
    bucket = int(seconds // WINDOW)
    address_key, account_key, pair_key = keys(name, address)
    with write_transaction(engine) as connection:  # the same order everywhere: no deadlock
        by_address = _count(connection, table, address_key, bucket)
        by_account = _count(connection, table, account_key, bucket)
        by_pair = _count(connection, table, pair_key, bucket)
    waits = [0.0]
    if by_address.estimate(seconds) > ADDRESS_LIMIT:
        waits.append(by_address.wait(seconds, ADDRESS_LIMIT))
    if by_pair.estimate(seconds) > ACCOUNT_LIMIT:
        waits.append(by_pair.wait(seconds, ACCOUNT_LIMIT))
    if by_account.estimate(seconds) > ACCOUNT_TOTAL_LIMIT and by_pair.estimate(seconds) > UNDER_ATTACK_TRIES:
        waits.append(min(by_pair.wait(seconds, UNDER_ATTACK_TRIES),  # whichever clears first
                         by_account.wait(seconds, ACCOUNT_TOTAL_LIMIT)))
    wait = max(waits)
    return Attempt((address_key, account_key, pair_key), bucket, math.ceil(wait) if wait > 0 else 0)


def succeeded(connection: Connection, tables: Tables, counted: Attempt) -> None:
    """A right password: its attempt no longer counts against the address or the account, and the
    address starts afresh on this account."""
    table = tables.system("atrium_sign_in_counts")
    address_key, account_key, pair_key = counted.keys
    connection.execute(table.update().where(table.c.key.in_([address_key, account_key]),
                                            table.c.bucket == counted.bucket, table.c.current > 0)
                       .values(current=table.c.current - 1))
    connection.execute(table.delete().where(table.c.key == pair_key))


def forget_old(engine: Engine, tables: Tables, now: dt.datetime) -> None:
    """Drop counts no window reaches any more. Rows another sign-in holds are skipped, never
    waited for (on PostgreSQL), so this can run beside sign-ins without deadlocking with them."""
    table = tables.system("atrium_sign_in_counts")
    stale = (sa.select(table.c.key).where(table.c.bucket < int(_seconds(now) // WINDOW) - 1)
             .with_for_update(skip_locked=True).limit(1000))
    with write_transaction(engine) as connection:
        connection.execute(table.delete().where(table.c.key.in_(stale.scalar_subquery())))
