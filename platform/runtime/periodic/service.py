"""Periodic reports: open, save and submit one's own; see the reports of the people one's access
reaches, with read receipts and who has not submitted.

    reports = PeriodicReports(site)
    sheet = reports.sheet(actor, "daily")                  # today's, figures computed live
    reports.save(actor, "daily", texts={...}, plan={...})  # a draft
    reports.save(actor, "daily", texts={...}, submit=True)  # figures frozen as they are now
    reports.sheet(manager, "daily", user_id=rep_id)        # read: the manager's receipt is written
    reports.team(manager, "daily")                          # each submitter in reach: status, unread

A figure runs its report (reports/<name>.yaml) through `Reports`, so the viewer's access applies
as everywhere, kept to the submitter's records (the source's owner field) whose `date` lies in the
period. Whose reports a viewer sees is decided by `Access.people_in_reach` over the entities the
figures read: the widest read scope the viewer's role has there (team: the team and sub-teams).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field as dataclass_field
from decimal import Decimal
from typing import Any, Mapping

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from atrium.metadata.field_paths import resolve_path
from atrium.metadata.periodic_reports import PeriodicReport
from atrium.metadata.report_checks import report_entity
from atrium.runtime.periodic import calendar
from atrium.runtime.periodic.errors import (
    NOT_A_NUMBER,
    REQUIRED,
    TOO_LONG,
    PeriodicReportInvalid,
    PeriodicReportLocked,
    PeriodicReportNotFound,
    PeriodicReportStale,
)
from atrium.runtime.query.conditions import ConditionError
from atrium.runtime.query.periods import local_today
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.reports.parts import ReportRequest
from atrium.runtime.reports.runner import Reports
from atrium.runtime.reports.scope import ReportNotFound
from atrium.runtime.schema.database import connect, write_transaction

TEXT_LIMIT = 10000  # characters of one free-text section


@dataclass
class PlanCheck:
    """A number planned in the previous period's report for this one, against what was done."""

    name: str
    planned: Any
    actual: Any
    grade: str | None  # excellent, pass, below; None without thresholds or figures


@dataclass
class Sheet:
    report: PeriodicReport
    user_id: int
    user_name: str
    start: dt.date
    end: dt.date  # the first day after the period
    status: str  # new (nothing saved yet), draft, submitted
    figures: dict[str, Any]
    texts: dict[str, str]
    plan: dict[str, Any]
    editable: bool  # the viewer is the submitter and it is not submitted
    live: bool  # figures computed now (else as submitted)
    id: int | None = None
    version: int = 0
    submitted_at: dt.datetime | None = None
    checks: list[PlanCheck] = dataclass_field(default_factory=list)


@dataclass
class TeamRow:
    user_id: int
    name: str
    status: str  # missing, draft, submitted
    submitted_at: dt.datetime | None = None
    unread: bool = False


def _plain(value: Any) -> Any:
    """A figure as JSON keeps it: money and decimals as numbers."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def grade(item: Any, actual: Any) -> str | None:
    if actual is None or (item.passing is None and item.excellent is None):
        return None
    if item.excellent is not None and actual >= item.excellent:
        return "excellent"
    if item.passing is None or actual >= item.passing:
        return "pass"
    return "below"


class PeriodicReports:
    def __init__(self, site: Any):
        self.site = site
        self.blueprint = site.blueprint
        self.reports = Reports(site)
        self.table = site.tables.system("atrium_periodic_reports")
        self.reads = site.tables.system("atrium_periodic_report_reads")
        self.users = site.tables.system("atrium_users")

    # --- what exists for whom ---------------------------------------------------------------------

    def submitted_by(self, actor: Actor) -> list[PeriodicReport]:
        """The reports the actor's role submits, in name order."""
        return [r for _, r in sorted(self.blueprint.periodic_reports.items()) if actor.role in r.roles]

    def definition(self, actor: Actor, name: str) -> PeriodicReport:
        report = self.blueprint.periodic_reports.get(name)
        if report is None or actor.user_id is None:
            raise PeriodicReportNotFound(actor.locale)
        return report

    def today(self) -> dt.date:
        return local_today(self.site.now(), self.blueprint.timezone)

    def current_start(self, report: PeriodicReport) -> dt.date:
        return calendar.period_start(report.period, self.today())

    def start_of(self, actor: Actor, report: PeriodicReport, start: dt.date | None) -> dt.date:
        """The period asked for (its first day), or the current one; a period yet to come is not there."""
        current = self.current_start(report)
        if start is None:
            return current
        if start > current or not calendar.is_start(report.period, start):
            raise PeriodicReportNotFound(actor.locale)
        return start

    def entities(self, report: PeriodicReport) -> list[str]:
        """The entities the figures read: whose records decide whose reports a viewer sees."""
        found = []
        for figure in report.figures:
            entity = report_entity(self.blueprint.reports[figure.report].data, self.blueprint.pipelines)
            if entity is not None and entity not in found:
                found.append(entity)
        return found

    def concerns(self, actor: Actor, report: PeriodicReport) -> bool:
        """Whether the actor submits the report or may read others' (a read scope beyond their own
        records over the entities its figures read): what menus and the API document show."""
        if actor.role in report.roles:
            return True
        return any(self.site.access.scope(actor, entity, "read") in ("team", "all") for entity in self.entities(report))

    def reach(self, connection: Connection, actor: Actor, report: PeriodicReport) -> set[int] | None:
        return self.site.access.people_in_reach(connection, actor, self.entities(report))

    # --- one sheet --------------------------------------------------------------------------------

    def sheet(self, actor: Actor, name: str, start: dt.date | None = None, user_id: int | None = None) -> Sheet:
        """A submitter's report for a period (the actor's own and the current period by default).
        Opening someone else's submitted report records that the actor has read it."""
        report = self.definition(actor, name)
        start = self.start_of(actor, report, start)
        user_id = user_id if user_id is not None else actor.user_id or 0
        with write_transaction(self.site.engine) as connection:
            person = self._submitter(connection, actor, report, user_id)
            row = self._row(connection, report, user_id, start)
            if row is not None and row.status == "submitted" and user_id != actor.user_id:
                self._mark_read(connection, row.id, actor)
            return self._sheet(connection, actor, report, person, start, row)

    def _submitter(self, connection: Connection, actor: Actor, report: PeriodicReport, user_id: int) -> Any:
        person = connection.execute(sa.select(self.users.c.id, self.users.c.name, self.users.c.display_name,
                                              self.users.c.role).where(self.users.c.id == user_id)).first()
        if person is None or person.role not in report.roles:
            raise PeriodicReportNotFound(actor.locale)
        if user_id != actor.user_id:
            reach = self.reach(connection, actor, report)
            if reach is not None and user_id not in reach:
                raise PeriodicReportNotFound(actor.locale)
        return person

    def _row(self, connection: Connection, report: PeriodicReport, user_id: int, start: dt.date) -> Any:
        t = self.table
        return connection.execute(sa.select(t).where(t.c.report == report.name, t.c.user_id == user_id,
                                                     t.c.period_start == start)).first()

    def _sheet(self, connection: Connection, actor: Actor, report: PeriodicReport, person: Any,
               start: dt.date, row: Any) -> Sheet:
        submitted = row is not None and row.status == "submitted"
        figures = dict(row.figures or {}) if submitted else self.figures(connection, actor, report, person.id, start)
        sheet = Sheet(report, person.id, person.display_name or person.name, start,
                      calendar.period_end(report.period, start), row.status if row is not None else "new",
                      figures, dict(row.texts or {}) if row is not None else {},
                      dict(row.plan or {}) if row is not None else {},
                      editable=not submitted and person.id == actor.user_id, live=not submitted,
                      id=row.id if row is not None else None, version=row.version if row is not None else 0,
                      submitted_at=row.submitted_at if row is not None else None)
        previous = self._row(connection, report, person.id, calendar.previous_start(report.period, start))
        for item in report.plan:
            planned = (previous.plan or {}).get(item.name) if previous is not None else None
            if planned is None:
                continue
            actual = figures.get(item.actual) if item.actual else None
            sheet.checks.append(PlanCheck(item.name, planned, actual, grade(item, actual)))
        return sheet

    def figures(self, connection: Connection, actor: Actor, report: PeriodicReport, user_id: int,
                start: dt.date) -> dict[str, Any]:
        """Each figure for the submitter's records in the period, as the actor may see them."""
        values: dict[str, Any] = {}
        for figure in report.figures:
            document = self.blueprint.reports[figure.report]
            entity = report_entity(document.data, self.blueprint.pipelines)
            field = resolve_path(self.blueprint.entities, entity or "", figure.date)
            assert not isinstance(field, str)  # the loader checked the path
            low, high = calendar.bounds(report.period, start, field.type, self.blueprint.timezone)
            request = ReportRequest(filters={figure.date: {"gte": low, "lt": high}}, owners=(user_id,))
            try:
                result = self.reports.run(actor, figure.report, request, connection)
            except (ReportNotFound, ConditionError):
                values[figure.name] = None
                continue
            row = result.totals or (result.rows[0] if result.rows else {})
            values[figure.name] = _plain(row.get(figure.value))
        return values

    # --- writing one's own -----------------------------------------------------------------------

    def save(self, actor: Actor, name: str, texts: Mapping[str, Any] | None = None,
             plan: Mapping[str, Any] | None = None, submit: bool = False, start: dt.date | None = None,
             version: int | None = None) -> Sheet:
        """Save the actor's report as a draft, or submit it (its figures kept as they are now).
        A submitted report is refused (PeriodicReportLocked); `version`, when given, must be the one read."""
        report = self.definition(actor, name)
        if actor.role not in report.roles:
            raise PeriodicReportNotFound(actor.locale)
        start = self.start_of(actor, report, start)
        clean_texts, clean_plan = self._checked(actor, report, texts or {}, plan or {}, submit)
        now = self.site.now()
        t = self.table
        with write_transaction(self.site.engine) as connection:
            row = self._row(connection, report, actor.user_id or 0, start)
            if row is not None and row.status == "submitted":
                raise PeriodicReportLocked(actor.locale)
            if version is not None and version != (row.version if row is not None else 0):
                raise PeriodicReportStale(actor.locale)
            values: dict[str, Any] = {"texts": clean_texts, "plan": clean_plan, "updated_at": now,
                                      "status": "submitted" if submit else "draft"}
            if submit:
                values.update(figures=self.figures(connection, actor, report, actor.user_id or 0, start),
                              submitted_at=now)
            if row is None:
                connection.execute(t.insert().values(report=report.name, user_id=actor.user_id, period_start=start,
                                                     created_at=now, version=1, **values))
            else:
                done = connection.execute(t.update().where(t.c.id == row.id, t.c.version == row.version,
                                                           t.c.status == "draft")
                                          .values(version=row.version + 1, **values)).rowcount
                if done != 1:
                    raise PeriodicReportStale(actor.locale)
        return self.sheet(actor, name, start)

    def _checked(self, actor: Actor, report: PeriodicReport, texts: Mapping[str, Any], plan: Mapping[str, Any],
                 submit: bool) -> tuple[dict[str, str], dict[str, Any]]:
        errors: dict[str, list[str]] = {}
        clean_texts: dict[str, str] = {}
        for section in report.texts:
            value = texts.get(section.name)
            text = "" if value is None else str(value).strip()
            if len(text) > TEXT_LIMIT:
                errors[f"texts.{section.name}"] = [TOO_LONG.text(actor.locale, "en").format(limit=TEXT_LIMIT)]
            elif submit and section.required and not text:
                errors[f"texts.{section.name}"] = [REQUIRED.text(actor.locale, "en")]
            if text:
                clean_texts[section.name] = text
        clean_plan: dict[str, Any] = {}
        for item in report.plan:
            value = plan.get(item.name)
            if value is None or (isinstance(value, str) and not value.strip()):
                continue
            try:
                number = Decimal(str(value).strip()) if not isinstance(value, bool) else None
            except ArithmeticError:
                number = None
            if number is None or not number.is_finite() or number < 0:
                errors[f"plan.{item.name}"] = [NOT_A_NUMBER.text(actor.locale, "en")]
                continue
            clean_plan[item.name] = _plain(number)
        if errors:
            raise PeriodicReportInvalid(errors)
        return clean_texts, clean_plan

    # --- managers ---------------------------------------------------------------------------------

    def team(self, actor: Actor, name: str, start: dt.date | None = None) -> list[TeamRow]:
        """Everyone the actor's access reaches who submits this report (not the actor), with the
        period's status: missing, draft or submitted (unread when the actor has not opened it)."""
        report = self.definition(actor, name)
        start = self.start_of(actor, report, start)
        t, u, r = self.table, self.users, self.reads
        with connect(self.site.engine) as connection:
            reach = self.reach(connection, actor, report)
            query = sa.select(u.c.id, u.c.name, u.c.display_name).where(
                u.c.role.in_(report.roles), u.c.active.is_(True), u.c.id != (actor.user_id or 0))
            if reach is not None:
                query = query.where(u.c.id.in_(sorted(reach)))
            people = connection.execute(query.order_by(u.c.display_name, u.c.name)).all()
            rows = {row.user_id: row for row in connection.execute(
                sa.select(t.c.id, t.c.user_id, t.c.status, t.c.submitted_at, r.c.id.label("read"))
                .outerjoin(r, sa.and_(r.c.submission_id == t.c.id, r.c.reader_id == (actor.user_id or 0)))
                .where(t.c.report == report.name, t.c.period_start == start,
                       t.c.user_id.in_([p.id for p in people])))}
        result = []
        for person in people:
            row = rows.get(person.id)
            status = "missing" if row is None or row.status != "submitted" else "submitted"
            if row is not None and row.status == "draft":
                status = "draft"
            result.append(TeamRow(person.id, person.display_name or person.name, status,
                                  row.submitted_at if row is not None else None,
                                  unread=status == "submitted" and row is not None and row.read is None))
        return result

    def unread_count(self, actor: Actor) -> int:
        """Submitted reports of people in the actor's reach that the actor has not opened (every report)."""
        if actor.user_id is None:
            return 0
        t, u, r = self.table, self.users, self.reads
        total = 0
        with connect(self.site.engine) as connection:
            for report in self.blueprint.periodic_reports.values():
                reach = self.reach(connection, actor, report)
                if reach is not None and reach <= {actor.user_id}:
                    continue
                query = (sa.select(sa.func.count()).select_from(t.join(u, u.c.id == t.c.user_id))
                         .outerjoin(r, sa.and_(r.c.submission_id == t.c.id, r.c.reader_id == actor.user_id))
                         .where(t.c.report == report.name, t.c.status == "submitted", r.c.id.is_(None),
                                t.c.user_id != actor.user_id, u.c.role.in_(report.roles)))
                if reach is not None:
                    query = query.where(t.c.user_id.in_(sorted(reach)))
                total += connection.execute(query).scalar() or 0
        return total

    def _mark_read(self, connection: Connection, submission_id: int, actor: Actor) -> None:
        r = self.reads
        seen = connection.execute(sa.select(r.c.id).where(r.c.submission_id == submission_id,
                                                          r.c.reader_id == actor.user_id)).first()
        if seen is None:
            connection.execute(r.insert().values(submission_id=submission_id, reader_id=actor.user_id,
                                                 read_at=self.site.now()))
