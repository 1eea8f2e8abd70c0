"""Reminders for periodic reports not submitted by their `due` time.

Run from the scheduler (the server's and `atrium run-scheduled`): once the current period's due
time has passed, each person of the report's roles who has not submitted it gets an in-app
notification (and, by their preferences, an email or robot message: the notifications' fan-out,
runtime/delivery). A lease per report and period (automation/leases.py) makes one worker send
them, once.
"""
from __future__ import annotations

import os
import socket
from typing import Any

import sqlalchemy as sa

from atrium.runtime.automation.leases import take_lease
from atrium.runtime.periodic import calendar
from atrium.runtime.periodic.service import PeriodicReports
from atrium.runtime.schema.database import write_transaction

LEASE = "periodic report {name}"  # its name among the scheduled rules' leases (atrium_automation_runs)
REMINDER = {"en": "Your {label} for {period} is due: please submit it",
            "zh": "您{period}的{label}已到提交时间，请尽快提交"}


class Reminders:
    def __init__(self, site: Any, notifications: Any):
        self.site, self.notifications = site, notifications
        self.worker = f"{socket.gethostname()}:{os.getpid()}"

    def send_due(self) -> int:
        """Remind everyone missing a report whose current period is past due; returns how many."""
        sent = 0
        service = PeriodicReports(self.site)
        now = self.site.now()
        for name, report in sorted(self.site.blueprint.periodic_reports.items()):
            if report.due is None:
                continue
            start = service.current_start(report)
            due = calendar.due_at(report.period, start, report.due, report.due_day, self.site.blueprint.timezone)
            if now < due:
                continue
            if not take_lease(self.site.engine, self.site.tables, LEASE.format(name=name), start.isoformat(),
                              self.worker, now):
                continue
            sent += self.remind(report, start)
        return sent

    def missing(self, connection: Any, report: Any, start: Any) -> list[int]:
        """Active people of the report's roles without a submitted report for the period."""
        users, table = self.site.tables.system("atrium_users"), self.site.tables.system("atrium_periodic_reports")
        submitted = sa.select(table.c.user_id).where(table.c.report == report.name, table.c.period_start == start,
                                                     table.c.status == "submitted")
        return list(connection.execute(sa.select(users.c.id).where(
            users.c.role.in_(report.roles), users.c.active.is_(True), users.c.id.not_in(submitted))
            .order_by(users.c.id)).scalars())

    def remind(self, report: Any, start: Any) -> int:
        runs = self.site.tables.system("atrium_automation_runs")
        now = self.site.now()
        with write_transaction(self.site.engine) as connection:
            people = self.missing(connection, report, start)
            message = {locale: text.format(label=report.label.text(locale, "en"), period=start.isoformat())
                       for locale, text in REMINDER.items()}
            link = f"/my-reports/{report.name}?start={start.isoformat()}"
            self.notifications.send(connection, [{"user_id": person, "message": message, "link": link,
                                                  "rule": LEASE.format(name=report.name)} for person in people], now)
            connection.execute(runs.update().where(runs.c.rule == LEASE.format(name=report.name),
                                                   runs.c.period == start.isoformat())
                               .values(finished_at=now, status="done", records=len(people)))
        return len(people)
