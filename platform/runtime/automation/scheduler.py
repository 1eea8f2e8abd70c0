"""Scheduled rules: `atrium run-scheduled` and the server's own scheduler thread.

A scheduled rule runs once per period (hour, day or week of the blueprint's time zone, from its
`at` time). Whoever runs it first takes the period's lease: a row in atrium_automation_runs,
inserted under a unique (rule, period) constraint, so two workers or two schedulers never run a
rule twice for one period, on SQLite and PostgreSQL alike. A run that was missed is not replayed
period by period: the next run acts on whatever matches then.

A run selects the matching ids with the condition compiler, then works in batches, each in its
own transaction: the batch is checked against `where` again (it may have changed), `when` is
evaluated, and the actions run on the whole batch through the records service. A rule that only
sets and notifies reads just the columns it needs (rule_columns.py) and is written set-wise
(set_writes.py). A batch that fails is retried record by record, so one bad record is logged and
skipped instead of holding back the others. Every run, and every record that failed, is logged
in atrium_automation_log.

Time comes from the site's clock everywhere, so `--now` makes every rule testable.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import sqlalchemy as sa

from atrium.runtime.automation.actions import Item, RuleRun
from atrium.runtime.automation.leases import take_lease
from atrium.runtime.automation.log import AutomationLog, LogEntry
from atrium.runtime.automation.outbox import DeliveryReport
from atrium.runtime.automation.rule_columns import RuleColumns
from atrium.runtime.automation.rules import Rule, build_rules
from atrium.runtime.automation.triggers import (
    EventAutomations,
    describe,
    enter_rule,
    leave_rule,
    matching_ids,
    matching_records,
)
from atrium.runtime.delivery.digest import EmailDigest
from atrium.runtime.periodic.reminders import Reminders
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.schema.database import connect, write_transaction

logger = logging.getLogger("atrium.scheduler")
SWEEP_EVERY = 600.0  # seconds between two sweeps of the files storage's temporary objects


@dataclass(frozen=True)
class RunResult:
    rule: str
    period: str | None
    status: str  # done, failed (some or all records), taken (another worker has the period), not_due
    records: int = 0
    error: str | None = None

    def describe(self) -> str:
        if self.status == "not_due":
            return f"{self.rule}: not due yet"
        if self.status == "taken":
            return f"{self.rule}: {self.period} already run"
        text = f"{self.rule}: {self.period}: {self.records} record(s)"
        return text + (f"; failed: {self.error}" if self.error else "")


class ScheduledRules:
    def __init__(self, site: Any, worker: str | None = None, batch_size: int = 2000):
        self.site = site
        self.service = site.records
        self.automations = self.service.automations or EventAutomations(self.service)
        self.rules = tuple(rule for rule in build_rules(site.blueprint) if rule.schedule is not None)
        self.runs = site.tables.system("atrium_automation_runs")
        self.log = AutomationLog(site.tables)
        self.columns = RuleColumns(self.service)  # what each rule's batches read
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"
        self.batch_size = batch_size
        self.digest = EmailDigest(site, self.automations.outbox)

    def run_due(self, only: Sequence[str] | None = None) -> list[RunResult]:
        """Run every scheduled rule (or those named) that is due now and nobody ran this period."""
        results = []
        for rule in self.rules:
            if only and rule.name not in only:
                continue
            assert rule.schedule is not None  # self.rules keeps the scheduled rules only
            period = rule.schedule.period(self.site.now(), self.site.blueprint.timezone)
            if period is None:
                results.append(RunResult(rule.name, None, "not_due"))
            elif not self._take_lease(rule, period):
                results.append(RunResult(rule.name, period, "taken"))
            else:
                results.append(self._run(rule, period))
        return results

    def deliver_webhooks(self) -> DeliveryReport:
        """Send what the outbox holds that is due: webhooks, emails and robot messages."""
        return self.automations.outbox.deliver_due(self.site.engine)

    def send_reminders(self) -> int:
        """Remind people of periodic reports they have not submitted by the due time (periodic/reminders.py)."""
        return Reminders(self.site, self.automations.notifications).send_due()

    def send_digests(self) -> int:
        """Queue the daily email digests once it is their time (delivery/digest.py)."""
        return self.digest.send_due()

    # --- one run -----------------------------------------------------------------------------

    def _take_lease(self, rule: Rule, period: str) -> bool:
        return take_lease(self.site.engine, self.site.tables, rule.name, period, self.worker, self.site.now())

    def _run(self, rule: Rule, period: str) -> RunResult:
        done = 0
        failures: list[tuple[int | None, str]] = []
        try:
            with connect(self.site.engine) as connection:
                ids = matching_ids(connection, self.service, rule)
            for start in range(0, len(ids), self.batch_size):
                batch = ids[start:start + self.batch_size]
                try:
                    done += self._batch(rule, batch)
                except Exception:
                    for record_id in batch:  # find the record(s) that failed; the others go ahead
                        try:
                            done += self._batch(rule, [record_id])
                        except Exception as error:
                            failures.append((record_id, describe(error)))
        except Exception as error:  # the query itself failed: nothing ran
            logger.exception("scheduled rule %s failed", rule.name)
            failures.append((None, describe(error)))
        summary = None
        if failures:
            first_id, reason = failures[0]
            summary = (f"{len(failures)} record(s) failed; first, record {first_id}: {reason}"
                       if first_id is not None else reason)
        self._finish(rule, period, done, summary, failures)
        return RunResult(rule.name, period, "failed" if failures else "done", done, summary)

    def _batch(self, rule: Rule, ids: Sequence[int]) -> int:
        now = self.site.now()
        actor = Actor(name=f"automation {rule.name}", locale=self.site.blueprint.default_locale)
        columns = self.columns.of(rule)  # None: whole records
        with write_transaction(self.site.engine) as connection:
            records = matching_records(connection, self.service, rule, ids, columns)  # still matching now
            # before and now start as one dict: actions replace `record`, never change it in place
            items = [Item(record, record) for record in sorted(records, key=lambda r: r["id"])]
            if rule.when is not None:
                read = self.service.linked_values.for_expressions(connection, rule.entity,
                                                                  [item.record for item in items], [rule.when])
                items = [item for item, record in zip(items, read, strict=True) if self._holds(rule, actor, record)]
            token = enter_rule(rule.name)  # its own writes do not fire it again
            try:
                self.automations.actions.run(RuleRun(rule, "schedule", connection, actor, now,
                                                     partial=columns is not None), items)
            finally:
                leave_rule(token)
        return len(items)

    def _holds(self, rule: Rule, actor: Actor, record: Mapping[str, Any]) -> bool:
        try:
            return bool(self.service.rules.evaluator.bind(rule.entity, actor).evaluate(rule.when, record))
        except Exception:  # like a check's `when`: a condition that cannot be evaluated does not hold
            return False

    def _finish(self, rule: Rule, period: str, done: int, error: str | None,
                failures: list[tuple[int | None, str]]) -> None:
        now = self.site.now()
        with write_transaction(self.site.engine) as connection:
            connection.execute(self.runs.update().where(self.runs.c.rule == rule.name,
                                                        self.runs.c.period == period).values(
                finished_at=now, status="failed" if failures else "done", records=done, error=error))
            self.log.write(connection, LogEntry(rule.name, "schedule", "failed" if failures else "done", now,
                                                entity=rule.entity, period=period, records=done, detail=error))
            for record_id, reason in failures[:100]:
                if record_id is not None:
                    self.log.write(connection, LogEntry(rule.name, "schedule", "failed", now, entity=rule.entity,
                                                        record_id=record_id, period=period, detail=reason))


def last_runs(connection, tables, rule: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
    runs = tables.system("atrium_automation_runs")
    query = sa.select(runs).order_by(runs.c.id.desc()).limit(limit)
    if rule is not None:
        query = query.where(runs.c.rule == rule)
    return [dict(row._mapping) for row in connection.execute(query)]


class Scheduler:
    """The server's scheduler: a daemon thread that runs due rules and sends queued webhooks.

    It runs on the server's own site, beside the request threads: the services keep no per-call
    state (an evaluation binds its entity and user in an object of its own, evaluation.py).
    """

    def __init__(self, site: Any, interval: float = 30.0):
        self.site = site
        self.rules = ScheduledRules(site)
        self.interval = interval
        self._swept_at: float | None = None  # when uploads a crash left half-done were last settled
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def use(self, site: Any) -> None:
        """Run the rules of new metadata (the studio changed it) from the next tick on."""
        self.site, self.rules = site, ScheduledRules(site)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="atrium-scheduler", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self.rules.automations.outbox.wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def tick(self) -> None:
        for result in self.rules.run_due():
            if result.status in ("done", "failed"):
                logger.info("%s", result.describe())
        purged = self.site.trash.purge_expired()  # the bin's retention (blueprint trash.retention_days)
        if purged:
            logger.info("purged %d record(s) from the recycle bin", purged)
        self.rules.send_reminders()
        self.rules.send_digests()
        self.rules.deliver_webhooks()
        if self._swept_at is None or time.monotonic() - self._swept_at > SWEEP_EVERY:
            self._swept_at = time.monotonic()
            moved, deleted = self.site.files.sweep()  # files/service.py: temporary objects over an hour old
            if moved or deleted:
                logger.info("files: %d upload(s) finished, %d abandoned one(s) removed", moved, deleted)

    def _loop(self) -> None:
        wake = self.rules.automations.outbox.wake
        while not self._stop.is_set():
            wake.clear()
            try:
                self.tick()
            except Exception:  # a bad tick must not end the thread; the next one tries again
                logger.exception("scheduler tick failed")
            wake.wait(self.interval)
