"""Periodic reports in the JSON API (runtime/periodic), with the same rules as the pages:

    GET /api/v1/periodic-reports                        the reports the caller submits or reads: 200
    GET /api/v1/periodic-reports/{name}?start=&user=    one report (the caller's own, the current
                                                        period by default); figures live while a draft: 200 | 404
    PUT /api/v1/periodic-reports/{name}?start=          save the caller's own {texts, plan, submit, version}:
                                                        200 | 404 | 409 (submitted, stale) | 422
    GET /api/v1/periodic-reports/{name}/team?start=     the people the caller's access reaches: status, unread
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from atrium.metadata.periodic_reports import PeriodicReport
from atrium.runtime.periodic.service import TEXT_LIMIT, PeriodicReports, Sheet, TeamRow
from atrium.runtime.records.evaluation import Actor
from atrium.ui.api.approvals import approval_endpoint
from atrium.ui.api.calls import bad_request, json_object, parse_id, plain
from atrium.ui.web.threads import in_thread, with_body


def label_json(site: Any, label: Any) -> dict[str, str]:
    return {locale: label.text(locale, site.blueprint.default_locale) for locale in site.blueprint.locales}


def report_json(site: Any, report: PeriodicReport, current: dt.date) -> dict[str, Any]:
    return {"name": report.name, "label": label_json(site, report.label), "period": report.period,
            "current_start": current.isoformat(), "due": report.due,
            "figures": [{"name": f.name, "label": label_json(site, f.label)} for f in report.figures],
            "texts": [{"name": t.name, "label": label_json(site, t.label), "required": t.required}
                      for t in report.texts],
            "plan": [{"name": p.name, "label": label_json(site, p.label), "actual": p.actual, "pass": p.passing,
                      "excellent": p.excellent} for p in report.plan]}


def sheet_json(sheet: Sheet) -> dict[str, Any]:
    return {"report": sheet.report.name, "user_id": sheet.user_id, "user": sheet.user_name,
            "start": sheet.start.isoformat(), "end": sheet.end.isoformat(), "status": sheet.status,
            "editable": sheet.editable, "live": sheet.live, "version": sheet.version,
            "submitted_at": plain(sheet.submitted_at), "figures": sheet.figures, "texts": sheet.texts,
            "plan": sheet.plan,
            "plan_checks": [{"name": c.name, "planned": c.planned, "actual": c.actual, "grade": c.grade}
                            for c in sheet.checks]}


def team_json(row: TeamRow) -> dict[str, Any]:
    return {"user_id": row.user_id, "user": row.name, "status": row.status,
            "submitted_at": plain(row.submitted_at), "unread": row.unread}


def start_param(request: Request, actor: Actor) -> dt.date | None:
    value = request.query_params.get("start")
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise bad_request(actor.locale, "Not a date: {value}", "start", value=value[:40]) from None


@approval_endpoint
@in_thread
def list_reports(request: Request, site: Any, actor: Actor) -> Response:
    service = PeriodicReports(site)
    shown = [report_json(site, report, service.current_start(report))
             for name, report in sorted(site.blueprint.periodic_reports.items())
             if service.concerns(actor, report)]
    return JSONResponse({"data": shown, "unread": service.unread_count(actor)})


@approval_endpoint
@in_thread
def get_report(request: Request, site: Any, actor: Actor) -> Response:
    user = request.query_params.get("user")
    user_id = None
    if user is not None:
        user_id = parse_id(user)
        if user_id is None:
            raise bad_request(actor.locale, "An id is a whole number from 1 to {max}", "user", max=2 ** 63 - 1)
    sheet = PeriodicReports(site).sheet(actor, request.path_params["name"], start_param(request, actor), user_id)
    return JSONResponse(sheet_json(sheet))


@approval_endpoint
@with_body
def put_report(request: Request, site: Any, actor: Actor, body: bytes) -> Response:
    data = json_object(body, actor.locale)
    for key, value in data.items():
        if not _typed(key, value):
            raise bad_request(actor.locale, "{name} has the wrong type", key, name=key)
    sheet = PeriodicReports(site).save(actor, request.path_params["name"], data.get("texts"), data.get("plan"),
                                       bool(data.get("submit")), start_param(request, actor), data.get("version"))
    return JSONResponse(sheet_json(sheet))


def _typed(key: str, value: Any) -> bool:
    """A body member as the document describes it (anything else is a 400 naming it)."""
    if key == "texts":
        return isinstance(value, dict) and all(item is None or (isinstance(item, str) and len(item) <= TEXT_LIMIT)
                                               for item in value.values())
    if key == "plan":
        return isinstance(value, dict) and all(
            item is None or (isinstance(item, (int, float, str)) and not isinstance(item, bool))
            for item in value.values())
    if key == "submit":
        return isinstance(value, bool)
    if key == "version":
        return isinstance(value, int) and not isinstance(value, bool)
    return False


@approval_endpoint
@in_thread
def team(request: Request, site: Any, actor: Actor) -> Response:
    rows = PeriodicReports(site).team(actor, request.path_params["name"], start_param(request, actor))
    return JSONResponse({"data": [team_json(row) for row in rows]})
