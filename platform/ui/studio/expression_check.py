"""POST /studio/check-expression: the verdict on an expression as it is typed (HTMX, debounced).

The same checks the loader runs at `atrium check` (`Report.expression`: the parser, the allowed
syntax, every name a field of the record or a known function, with a did-you-mean), over the
names the expression may use where it is written: a field's formula, default and required_when,
and a form section's visible_when, read the record's fields (plus the one being added); a report
metric reads the report's measures and groups."""
from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from atrium.metadata.expression_paths import check_expression_paths
from atrium.metadata.model import SYSTEM_FIELDS
from atrium.metadata.problem_words import problem_words
from atrium.metadata.sources import Report, Source
from atrium.ui.studio.forms import rows
from atrium.ui.studio.report_state import GROUP, MEASURE, METRIC
from atrium.ui.studio.setup import studio_page
from atrium.ui.web.i18n import word
from atrium.ui.web.templating import render
from atrium.ui.web.threads import with_form


def record_names(blueprint: Any, entity: str, extra: str = "") -> set[str]:
    found = blueprint.entities.get(entity)
    names = set(found.fields) if found is not None else set()
    return names | set(SYSTEM_FIELDS) | ({extra} if extra else set())


def report_names(form: Any, which: str) -> set[str]:
    groups = [r.get("name") or r["field"].split(".")[-1] for r in rows(form, "group", GROUP) if r["field"].strip()]
    measures = [r["name"].strip() for r in rows(form, "measure", MEASURE) if r["name"].strip()]
    metrics = []
    for index, row in enumerate(rows(form, "metric", METRIC)):
        if which == f"metric-{index}-expr":
            break
        if row["name"].strip():
            metrics.append(row["name"].strip())
    return set(groups) | set(measures) | set(metrics)


def verdict(text: str, names: set[str], blueprint: Any = None,
            entity: str | None = None, locale: str = "en") -> tuple[bool, str, list[str]]:
    """(ok, message, names used) for one expression; with the blueprint and the entity whose
    records it reads, its dotted paths are checked as the loader checks them."""
    report = Report()
    source = Source("entity", "studio", {}, "studio")
    reads = entity if blueprint is not None and entity in blueprint.entities else None
    expression = report.expression(source, [], text, names, reads)
    if reads is not None:
        check_expression_paths(report, blueprint.entities)
    if report.problems:
        problem = report.problems[0]
        return False, problem_words(problem, locale, with_path=False), []
    used = sorted(set(expression.names) & names) if expression is not None else []
    return True, "", used


@studio_page
@with_form
def check_expression(request: Request, form: FormData) -> Response:
    which = str(form.get("which", "formula"))
    text = str(form.get(which, "") or form.get("text", "")).strip()
    blueprint = request.app.state.site.blueprint
    if form.get("scope") == "report":  # a metric reads the groups, the measures and the metrics before it
        names = report_names(form, which)
    else:
        names = record_names(blueprint, str(form.get("entity", "")), str(form.get("name", "")).strip())
    entity = str(form.get("entity", "")) if form.get("scope") != "report" else None
    ok, message, used = verdict(text, names, blueprint, entity, request.state.locale) if text else (True, "", [])
    return render(request, "studio/_expression.html", {
        "ok": ok, "message": message, "used": used, "empty": not text, "target": f"check-{which}",
        "ok_word": word("OK", request.state.locale)})
