"""The automation log (atrium_automation_log): every scheduled run, and every failure with its reason.

An event rule that fails undoes the change that fired it, so its log line cannot be written in
that transaction: it is written right after the rollback (see `AutomationFailed.after_rollback`).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from atrium.runtime.schema.tables import Tables


@dataclass(frozen=True)
class LogEntry:
    rule: str
    trigger: str  # create, update, delete, schedule
    status: str  # done, failed
    at: dt.datetime
    entity: str | None = None
    record_id: int | None = None
    period: str | None = None
    records: int | None = None
    detail: str | None = None


class AutomationLog:
    def __init__(self, tables: Tables):
        self.table = tables.system("atrium_automation_log")

    def write(self, connection: Connection, entry: LogEntry) -> None:
        connection.execute(self.table.insert().values(
            rule=entry.rule, trigger=entry.trigger, status=entry.status, at=entry.at,
            entity=entry.entity, record_id=entry.record_id, period=entry.period,
            records=entry.records, detail=(entry.detail or "")[:2000] or None))

    def recent(self, connection: Connection, rule: str | None = None, status: str | None = None,
               limit: int = 100) -> list[dict[str, Any]]:
        table = self.table
        query = sa.select(table).order_by(table.c.id.desc()).limit(limit)
        if rule is not None:
            query = query.where(table.c.rule == rule)
        if status is not None:
            query = query.where(table.c.status == status)
        return [dict(row._mapping) for row in connection.execute(query)]
