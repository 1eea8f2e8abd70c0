"""Pages of periodic reports (runtime/periodic):

    GET  /my-reports                         the reports the user submits and the teams' they read
    GET  /my-reports/{name}?start=&user=     one report: the user's own current one by default
    POST /my-reports/{name}                  save a draft or submit (form, CSRF): 303 back, or the
                                             page again with the field errors (422)
    GET  /my-reports/{name}/team?start=      who submitted, who has not (missing), unread in bold

Refusals (an unknown report, a period to come, someone the user's access does not reach) are the
notice page's 404, as elsewhere.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from atrium.runtime.periodic import calendar
from atrium.runtime.periodic.errors import PeriodicReportInvalid, PeriodicReportNotFound
from atrium.runtime.periodic.service import PeriodicReports
from atrium.translation import N_
from atrium.ui.web.edge import whole_number
from atrium.ui.web.guards import login_required
from atrium.ui.web.templating import render
from atrium.ui.web.threads import in_thread, with_form

GRADE_WORDS = {"excellent": N_("Excellent"), "pass": N_("Pass"), "below": N_("Below target")}


def _start(request: Request, value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise PeriodicReportNotFound(request.state.actor.locale) from None


@login_required
@in_thread
def index(request: Request) -> Response:
    site, actor = request.app.state.site, request.state.actor
    service = PeriodicReports(site)
    own = [(report, service.current_start(report)) for report in service.submitted_by(actor)]
    teams = []
    for name, report in sorted(site.blueprint.periodic_reports.items()):
        rows = service.team(actor, name)
        if rows:
            teams.append((report, sum(row.status == "missing" for row in rows),
                          sum(row.unread for row in rows)))
    return render(request, "periodic_reports.html", {"own": own, "teams": teams,
                                                     "unread": service.unread_count(actor),
                                                     "active_entity": "_periodic"})


def _page(request: Request, name: str, start: dt.date | None, user_id: int | None,
          errors: dict[str, list[str]] | None = None, typed: dict[str, Any] | None = None,
          status_code: int = 200) -> Response:
    site, actor = request.app.state.site, request.state.actor
    service = PeriodicReports(site)
    sheet = service.sheet(actor, name, start, user_id)
    report = sheet.report
    previous = calendar.previous_start(report.period, sheet.start)
    following = calendar.next_start(report.period, sheet.start)
    return render(request, "periodic_report.html", {
        "sheet": sheet, "report": report, "errors": errors or {}, "typed": typed or {},
        "previous": previous, "following": following if following <= service.current_start(report) else None,
        "reader": sheet.user_id != actor.user_id, "grades": GRADE_WORDS,
        "last_day": sheet.end - dt.timedelta(days=1), "active_entity": f"_periodic:{name}"},
        status_code=status_code)


@login_required
@in_thread
def sheet_page(request: Request) -> Response:
    locale, name = request.state.locale, request.path_params["name"]
    user = whole_number(request.query_params.get("user"), "user", locale)
    report = request.app.state.site.blueprint.periodic_reports.get(name)
    if user is None and report is not None and request.state.actor.role not in report.roles:
        start = _start(request, request.query_params.get("start"))
        query = f"?start={start.isoformat()}" if start is not None else ""
        return RedirectResponse(f"/my-reports/{name}/team{query}", status_code=303)  # a reader, not a submitter
    return _page(request, request.path_params["name"], _start(request, request.query_params.get("start")), user)


@login_required
@with_form
def save(request: Request, form: FormData) -> Response:
    site, actor = request.app.state.site, request.state.actor
    name = request.path_params["name"]
    report = site.blueprint.periodic_reports.get(name)
    if report is None:
        raise PeriodicReportNotFound(actor.locale)
    start = _start(request, str(form.get("start") or ""))
    texts = {section.name: str(form.get(f"texts.{section.name}") or "") for section in report.texts}
    plan = {item.name: str(form.get(f"plan.{item.name}") or "") for item in report.plan}
    version = whole_number(str(form.get("version") or "") or None, "version", actor.locale)
    try:
        sheet = PeriodicReports(site).save(actor, name, texts, plan, submit=form.get("action") == "submit",
                                           start=start, version=version)
    except PeriodicReportInvalid as invalid:
        return _page(request, name, start, None, invalid.errors, {"texts": texts, "plan": plan}, 422)
    return RedirectResponse(f"/my-reports/{name}?start={sheet.start.isoformat()}", status_code=303)


@login_required
@in_thread
def team_page(request: Request) -> Response:
    site, actor = request.app.state.site, request.state.actor
    name = request.path_params["name"]
    service = PeriodicReports(site)
    report = service.definition(actor, name)
    start = service.start_of(actor, report, _start(request, request.query_params.get("start")))
    rows = service.team(actor, name, start)
    following = calendar.next_start(report.period, start)
    return render(request, "periodic_team.html", {
        "report": report, "start": start, "rows": rows, "missing": [r for r in rows if r.status == "missing"],
        "unread": sum(r.unread for r in rows), "previous": calendar.previous_start(report.period, start),
        "following": following if following <= service.current_start(report) else None,
        "active_entity": f"_periodic:{name}"})


routes = [
    Route("/my-reports", index, methods=["GET"], name="periodic_reports"),
    Route("/my-reports/{name}", sheet_page, methods=["GET"], name="periodic_report"),
    Route("/my-reports/{name}", save, methods=["POST"], name="periodic_report_save"),
    Route("/my-reports/{name}/team", team_page, methods=["GET"], name="periodic_report_team"),
]
