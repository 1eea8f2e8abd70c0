"""periodic_reports/<name>.yaml → `PeriodicReport`: a report people submit each day, week or month.

    name: daily
    label: {en: Daily report, zh: 日报}
    period: day                   # day | week | month, in the blueprint's time zone
    roles: [sales_rep]            # who submits it
    due: "18:00"                  # reminders to those who have not submitted, after this local time
    figures:                      # filled in from the data: `report`'s `value` for the submitter's own
      - {name: calls, label: {en: Calls, zh: 电话}, report: calls_made, value: calls, date: called_at}
    texts:
      - {name: done, label: {en: Done, zh: 完成情况}}
    plan:                         # numbers committed for the next period, compared later with `actual`
      - {name: calls, label: {en: Calls planned, zh: 计划电话}, actual: calls, pass: 3, excellent: 5}

Each reference is checked here (report, measure or metric, a date field of the report's source,
names unique, roles that exist), every problem at its file:line:col.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from atrium.metadata.field_paths import resolve_path
from atrium.metadata.model import Document, Entity, Label, Pipeline, Role
from atrium.metadata.references import report_columns
from atrium.metadata.report_checks import report_entity
from atrium.metadata.sources import Report, Source

DATE_TYPES = ("date", "datetime")


@dataclass(frozen=True)
class Figure:
    name: str
    label: Label
    report: str
    value: str
    date: str  # a date or date-time path of the report's source, kept to the period


@dataclass(frozen=True)
class TextSection:
    name: str
    label: Label
    required: bool = False


@dataclass(frozen=True)
class PlanItem:
    name: str
    label: Label
    actual: str | None = None  # a figure of the next period's report
    passing: float | None = None
    excellent: float | None = None


@dataclass(frozen=True)
class PeriodicReport:
    name: str
    label: Label
    period: str  # day, week, month
    roles: tuple[str, ...]
    figures: tuple[Figure, ...] = ()
    texts: tuple[TextSection, ...] = ()
    plan: tuple[PlanItem, ...] = ()
    due: str | None = None  # HH:MM local time
    due_day: Any = None  # week: mon..sun; month: 1-28

    def figure(self, name: str) -> Figure | None:
        return next((f for f in self.figures if f.name == name), None)


def _unique(source: Source, report: Report, key: str) -> None:
    seen: set[str] = set()
    for index, item in enumerate(source.data.get(key) or ()):
        if item["name"] in seen:
            report.add(source, [key, index, "name"], f"'{item['name']}' is named twice in {key}")
        seen.add(item["name"])


def build_periodic_report(source: Source, entities: Mapping[str, Entity], pipelines: Mapping[str, Pipeline],
                          reports: Mapping[str, Document], roles: Mapping[str, Role],
                          report: Report) -> PeriodicReport:
    data = source.data
    for index, role in enumerate(data["roles"]):
        if role not in roles:
            report.unknown(source, ["roles", index], "a role", role, roles)
    for key in ("figures", "texts", "plan"):
        _unique(source, report, key)
    figures = []
    for index, spec in enumerate(data.get("figures") or ()):
        path: list[str | int] = ["figures", index]
        figures.append(Figure(spec["name"], Label.of(spec.get("label"), spec["name"]), spec["report"],
                              spec["value"], spec["date"]))
        document = reports.get(spec["report"])
        if document is None:
            report.unknown(source, path + ["report"], "a report", spec["report"], reports)
            continue
        if document.get("type", "summary") != "summary" or document.get("group_by"):
            report.add(source, path + ["report"], f"report '{spec['report']}' must be a summary without "
                       "group_by: a figure is one number")
        if spec["value"] not in report_columns(document):
            report.unknown(source, path + ["value"], "a measure or metric of the report", spec["value"],
                           report_columns(document))
        entity = report_entity(document.data, pipelines)
        if entity is not None and entity in entities:
            field = resolve_path(entities, entity, spec["date"])
            if isinstance(field, str):
                report.add(source, path + ["date"], field)
            elif field.type not in DATE_TYPES:
                report.add(source, path + ["date"], f"'{spec['date']}' is a {field.type} field; the period "
                           "applies to a date or date-time field")
    names = {f.name for f in figures}
    plan = []
    for index, spec in enumerate(data.get("plan") or ()):
        if spec.get("actual") is not None and spec["actual"] not in names:
            report.unknown(source, ["plan", index, "actual"], "a figure of this report", spec["actual"], names)
        if spec.get("pass") is not None and spec.get("excellent") is not None and spec["excellent"] < spec["pass"]:
            report.add(source, ["plan", index, "excellent"], "'excellent' is below 'pass'")
        plan.append(PlanItem(spec["name"], Label.of(spec.get("label"), spec["name"]), spec.get("actual"),
                             spec.get("pass"), spec.get("excellent")))
    if data.get("due_day") is not None and data["period"] == "day":
        report.add(source, ["due_day"], "a daily report is due every day: 'due_day' is for weekly and monthly ones")
    if isinstance(data.get("due_day"), str) and data["period"] == "month":
        report.add(source, ["due_day"], "a monthly report's 'due_day' is a day of the month (1-28)")
    if isinstance(data.get("due_day"), int) and data["period"] == "week":
        report.add(source, ["due_day"], "a weekly report's 'due_day' is a weekday (mon ... sun)")
    texts = tuple(TextSection(s["name"], Label.of(s.get("label"), s["name"]), s.get("required", False))
                  for s in data.get("texts") or ())
    return PeriodicReport(source.name, Label.of(data.get("label"), source.name), data["period"],
                          tuple(data["roles"]), tuple(figures), texts, tuple(plan), data.get("due"),
                          data.get("due_day"))
