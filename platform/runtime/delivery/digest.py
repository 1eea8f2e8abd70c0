"""The daily email digest: one email a day to each person who chose `daily`, listing the
notifications they got since the last one.

It runs from the scheduler (the server's and `atrium run-scheduled`) once the site's local time
passes `messages.email.digest_at`; the day's lease (leases.py) makes one worker send it. The
digest is queued in the outbox like every email and sent from there, retried if the server fails.
"""
from __future__ import annotations

import datetime as dt
import os
import socket
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from atrium.runtime.automation.leases import take_lease
from atrium.runtime.automation.outbox import Outbox
from atrium.runtime.delivery.compose import Composer
from atrium.runtime.delivery.email import EMAIL_PREFIX
from atrium.runtime.schema.database import after_commit, write_transaction

DIGEST_LEASE = "email digest"  # its name among the scheduled rules' leases (atrium_automation_runs)
FIRST_DIGEST_SPAN = dt.timedelta(days=1)  # what a first digest looks back over


class EmailDigest:
    def __init__(self, site: Any, outbox: Outbox):
        self.site, self.outbox = site, outbox
        self.settings = site.blueprint.messages
        self.worker = f"{socket.gethostname()}:{os.getpid()}"
        self.handled: str | None = None  # the last day this process took or found taken: no write per tick

    def send_due(self) -> int:
        """Queue today's digests if it is time and nobody has; returns how many were queued."""
        if self.settings is None or self.settings.email is None:
            return 0
        now = self.site.now()
        local = now.astimezone(ZoneInfo(self.site.blueprint.timezone))
        hour, minute = (int(part) for part in self.settings.email.digest_at.split(":"))
        if local.time() < dt.time(hour, minute):
            return 0
        period = local.date().isoformat()
        if period == self.handled:
            return 0
        self.handled = period
        if not take_lease(self.site.engine, self.site.tables, DIGEST_LEASE, period, self.worker, now):
            return 0
        runs = self.site.tables.system("atrium_automation_runs")
        with write_transaction(self.site.engine) as connection:
            sent = self.queue(connection, now)
            connection.execute(runs.update().where(runs.c.rule == DIGEST_LEASE, runs.c.period == period)
                               .values(finished_at=now, status="done", records=sent))
        return sent

    def queue(self, connection: Connection, now: dt.datetime) -> int:
        """Queue a digest for each `daily` person with notifications since their last one."""
        tables = self.site.tables
        users, notes = tables.system("atrium_users"), tables.system("atrium_notifications")
        composer = Composer(self.site.blueprint)
        people = connection.execute(sa.select(users.c.id, users.c.email, users.c.locale, users.c.digest_until).where(
            users.c.email_messages == "daily", users.c.email.is_not(None), users.c.active.is_(True))
            .order_by(users.c.id)).all()
        queued = []
        for person in people:
            since = person.digest_until or now - FIRST_DIGEST_SPAN
            rows = [dict(row._mapping) for row in connection.execute(
                sa.select(notes).where(notes.c.user_id == person.id, notes.c.created_at > since,
                                       notes.c.created_at <= now).order_by(notes.c.id))]
            if not rows:
                continue
            mail = composer.digest(rows, composer.locale(person.locale))
            queued.append({"rule": DIGEST_LEASE, "channel": "email", "url": EMAIL_PREFIX + person.email,
                           "body": {"to": person.email, **mail}})
            connection.execute(users.update().where(users.c.id == person.id).values(digest_until=now))
        if queued:
            self.outbox.enqueue(connection, queued)
            after_commit(connection, self.outbox.wake.set)
        return len(queued)
