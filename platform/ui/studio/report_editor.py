"""Reports in the studio: source, conditions, groups (with date buckets), measures, metrics (checked
as they are typed) and the chart, with a live preview of the report on the real data under the
editor's own access scope (the report document made on the fly, run by `Reports.run_document`).

GET /studio/reports/new | /studio/reports/{name}, POST /studio/reports/{name} (`new` for a new
report), POST /studio/reports/{name}/preview (HTMX: the chart and table)."""
from __future__ import annotations

import dataclasses
import json
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from atrium.metadata.overlays.paths import plain
from atrium.runtime.reports.runner import Reports
from atrium.runtime.site.change import Proposal
from atrium.runtime.site.site import Site
from atrium.translation import N_
from atrium.ui.reports import charts
from atrium.ui.reports.tables import table_of
from atrium.ui.studio.condition_rows import OPERATOR_WORDS
from atrium.ui.studio.flow import Outcome, applied_redirect, decide, problem_text
from atrium.ui.studio.forms import NAME, editor_token, page, watched_of, watched_text
from atrium.ui.studio.report_choices import (
    BUCKET_WORDS,
    CHART_WORDS,
    FORMAT_WORDS,
    FUNCTION_WORDS,
    axis_choices,
    choices,
    field_paths,
    row_problems,
)
from atrium.ui.studio.report_state import document_from_state, input_of, state_from_form, state_of, with_blank_rows
from atrium.ui.studio.setup import studio_of, studio_page
from atrium.ui.web.i18n import word
from atrium.ui.web.page_tools import notice
from atrium.ui.web.templating import render
from atrium.ui.web.threads import in_thread, with_form

PREVIEW_ROWS = 20


def _context(request: Request, state: dict, new: bool, token: str = "") -> dict[str, Any]:
    locale = request.state.locale
    blueprint = request.app.state.site.blueprint
    name = state["name"] or "new"
    keys = [("report", name)]
    return {"heading": word("New report", locale) if new else word("Reports", locale) + f" · {name}",
            "state": with_blank_rows(state), "new": new, "action": f"/studio/reports/{'new' if new else name}",
            "entities": [(n, e.label.text(locale, blueprint.default_locale)) for n, e in blueprint.entities.items()],
            "paths": field_paths(blueprint, state["source"], locale), "axes": axis_choices(state),
            "operators": choices(OPERATOR_WORDS, locale), "functions": choices(FUNCTION_WORDS, locale),
            "buckets": choices(BUCKET_WORDS, locale), "formats": choices(FORMAT_WORDS, locale),
            "charts": choices(CHART_WORDS, locale),
            "token": token or editor_token(request, keys), "watched": watched_text(keys), "confirm": False,
            "crumbs": [("/studio", word("Studio", locale)), ("/studio#reports", word("Reports", locale))]}


@studio_page
@in_thread
def report_page(request: Request) -> Response:
    name = request.path_params.get("name", "new")
    blueprint = request.app.state.site.blueprint
    if name == "new":
        state = state_of({"name": "", "source": next(iter(blueprint.entities), ""), "measures": {"records": "count"}})
        return page(request, "studio/report.html", _context(request, state, True))
    found = studio_of(request).changes.documents().get(("report", name))
    if found is None:
        return notice(request, "not_found", 404)
    return page(request, "studio/report.html", _context(request, state_of(plain(found.data)), False))


def _proposal(request: Request, form: Any, name: str, new: bool) -> tuple[dict, dict, dict[str, str]]:
    state = state_from_form(form)
    if not new:
        state["name"] = name
    document, errors = document_from_state(state)
    return state, document, errors


def _placed(state: dict) -> dict[str, list]:
    return {"where": [r["field"].strip() for r in state["conditions"]],
            "measures": [r["name"].strip() for r in state["measures"]],
            "metrics": [r["name"].strip() for r in state["metrics"]]}


@studio_page
@with_form
def save_report(request: Request, form: FormData) -> Response:
    name = request.path_params["name"]
    new = name == "new"
    locale = request.state.locale
    if not new and ("report", name) not in studio_of(request).changes.documents():
        return notice(request, "not_found", 404)
    state, document, found = _proposal(request, form, name, new)
    context = _context(request, state, new, str(form.get("token", "")))
    context["confirm"] = form.get("confirm") == "yes"
    errors = {key: [word(text, locale)] for key, text in found.items()}
    rows_wrong = row_problems(request.app.state.site.blueprint, state, document, locale)
    if new and (not NAME.match(state["name"]) or ("report", state["name"]) in studio_of(request).changes.documents()):
        errors["name"] = [(word("Use lower-case letters, digits and _ (starting with a letter)", locale)
                           if not NAME.match(state["name"]) else word("That name is already used", locale))]
    if "name" in errors:  # no proposal without a name to file it under
        return page(request, "studio/report.html", context,
                    Outcome(errors={**{key: [text] for key, text in rows_wrong.items()}, **errors}))
    what = N_("Add report {report}") if new else N_("Change report {report}")
    summary = {loc: word(what, loc, report=state["name"]) for loc in ("en", "zh")}
    key = ("report", state["name"])
    proposal = Proposal({key: document}, summary, None if new else (str(form.get("token", "")) or None),
                        watched_of(form) or (key,))
    # with the form's own mistakes the change is only reviewed, so the check's problems show beside them
    intent = "review" if errors or rows_wrong else str(form.get("intent", "review"))
    outcome = decide(request, proposal, intent, form.get("confirm") == "yes", input_of(_placed(state)))
    for input_name, texts in errors.items():
        outcome.errors.setdefault(input_name, []).extend(texts)
    for input_name, text in rows_wrong.items():  # what the check could not reach (a shape error stops it)
        if not outcome.errors.get(input_name):
            outcome.errors[input_name] = [text]
    if outcome.applied:
        return applied_redirect(f"/studio/reports/{state['name']}", outcome.applied)
    return page(request, "studio/report.html", context, outcome)


@studio_page
@with_form
def preview_report(request: Request, form: FormData) -> Response:
    """The report as the form now says, run on the real data under the editor's scope."""
    name = request.path_params["name"]
    locale = request.state.locale
    state, document, errors = _proposal(request, form, name, name == "new")
    report_name = state["name"] if NAME.match(state["name"] or "") else "preview"
    document["name"] = report_name
    context: dict[str, Any] = {"problems": [], "chart": None, "table": None, "payload": "{}", "kpi": None}
    problems = [word(text, locale) for text in errors.values()]
    problems += row_problems(request.app.state.site.blueprint, state, document, locale).values()
    if problems:
        context["problems"] = problems
        return render(request, "studio/_report_preview.html", context)
    preview = studio_of(request).changes.preview(Proposal({("report", report_name): document}, {}), check_only=True)
    if preview.blueprint is None:
        context["problems"] = [problem_text(p, locale) for p in preview.problems][:8]
        return render(request, "studio/_report_preview.html", context)
    site = request.app.state.site
    candidate = Site.open(preview.blueprint, "", engine=site.engine, clock=site.clock)
    blueprint = candidate.blueprint
    built = blueprint.reports[report_name]
    actor = dataclasses.replace(request.state.actor, locale=locale)
    try:
        result = Reports(candidate).run_document(actor, built)
    except Exception as error:  # noqa: BLE001  a report the data cannot answer: say why, in place
        context["problems"] = [word("The preview could not run", locale) + f": {error}"]
        return render(request, "studio/_report_preview.html", context)
    chart = charts.build(result, built, locale, blueprint)
    source = built.get("source") or blueprint.pipelines[built["pipeline"]].entity
    context.update(table=table_of(result, locale, blueprint.default_locale, source, limit=PREVIEW_ROWS),
                   chart=chart if chart.kind in charts.CHARTED else None,
                   title=result.label.text(locale, blueprint.default_locale),
                   payload=json.dumps(chart.payload(locale, blueprint.currency), ensure_ascii=False))
    if chart.kind == "kpi":
        columns = charts.value_columns(result, charts.spec_of(built))
        column = columns[0] if columns else None
        context["kpi"] = {"value": charts.kpi_value(result, column), "format": charts.format_of(column),
                          "label": column.label.text(locale, blueprint.default_locale) if column else ""}
    return render(request, "studio/_report_preview.html", context)
