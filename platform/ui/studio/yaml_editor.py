"""The YAML editor: any document (entity, views, pipeline, report, dashboard, automation, roles,
demo data) as it reads now, base and overlays merged, edited as text.

GET /studio/yaml/{kind}/{name} shows it (`new` as the name starts a new document), POST saves it
(review or apply, like every editor: only what differs from the base is written to the site
overlay), and POST /studio/yaml/{kind}/{name}/check validates the text as it is typed (HTMX,
debounced): YAML syntax first, then the whole site as `atrium check` loads it. A problem in this
document is shown at its line and column in the text being edited."""
from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from atrium.metadata.overlays.documents import render_overlay_yaml
from atrium.metadata.overlays.paths import document_file, plain
from atrium.metadata.problems import Problem
from atrium.metadata.yaml_source import mark_at, parse_yaml
from atrium.runtime.site.change import Proposal
from atrium.ui.studio.flow import applied_redirect, decide, path_steps, problem_text
from atrium.ui.studio.forms import NAME, editor_token, page, watched_of, watched_text
from atrium.ui.studio.setup import studio_of, studio_page
from atrium.ui.studio.words import DOCUMENT_KINDS, NEW_DOCUMENTS
from atrium.ui.web.i18n import word
from atrium.ui.web.page_tools import notice
from atrium.ui.web.templating import render
from atrium.ui.web.threads import in_thread, with_form

KINDS = ("entity", "views", "pipeline", "report", "dashboard", "automation", "roles", "seed")
SINGLE = {"roles": "roles", "seed": "seed"}


def starter(kind: str, name: str, blueprint: Any) -> dict[str, Any]:
    """A small valid document of a kind, for `new`."""
    entity = next(iter(blueprint.entities), "record")
    label = {"en": name.replace("_", " ").capitalize(), "zh": name}
    if kind == "automation":
        return {"name": name, "label": label, "entity": entity, "on": "create", "enabled": False,
                "do": [{"notify": {"to": "creator", "message": {"en": "New record", "zh": "新记录"}}}]}
    if kind == "report":
        return {"name": name, "label": label, "source": entity, "measures": {"records": {"count": "id"}}}
    if kind == "dashboard":
        return {"name": name, "label": label, "roles": [], "widgets": []}
    if kind == "entity":
        return {"name": name, "label": label, "plural": label, "title": "{name}", "search": ["name"],
                "fields": {"name": {"type": "text", "required": True, "label": {"en": "Name", "zh": "名称"}}}}
    return {}


def _document(request: Request, kind: str, name: str) -> Any | None:
    found = studio_of(request).changes.documents().get((kind, SINGLE.get(kind, name)))
    return plain(found.data) if found is not None else None


def _line_errors(text_data: Any, problems: list[Problem], own_file: str, locale: str) -> tuple[list, list]:
    """Problems of this document at their place in the text; the rest as the loader words them."""
    here, elsewhere = [], []
    for problem in problems:
        file = (problem.mark.file if problem.mark else "").replace("\\", "/")
        mark = (mark_at(text_data, path_steps(problem.path))
                if file.endswith(own_file) and text_data is not None else None)
        if mark is not None:
            here.append((word("line {line}, column {column}", locale, line=mark.line, column=mark.column),
                         problem_text(problem, locale)))
        else:
            elsewhere.append((str(problem.mark) if problem.mark else "", problem_text(problem, locale)))
    return here, elsewhere


def _context(request: Request, kind: str, name: str, text: str, new: bool, token: str = "") -> dict[str, Any]:
    locale = request.state.locale
    what = word(DOCUMENT_KINDS[kind], locale)
    key = (kind, SINGLE.get(kind, name))
    return {"heading": f"{what} · {name}" if not new else word(NEW_DOCUMENTS[kind], locale) if kind in
            NEW_DOCUMENTS else what,
            "kind": kind, "name": "" if new else name, "new": new, "text": text,
            "hint": word("The whole {what} as it reads now (base and overlays merged). "
                         "Only what you change is written to the site overlay.", locale, what=what),
            "token": token or editor_token(request, [key]), "watched": watched_text([key]),
            "crumbs": [("/studio", word("Studio", locale))], "lines": [], "elsewhere": []}


@studio_page
@in_thread
def yaml_page(request: Request) -> Response:
    kind, name = request.path_params["kind"], request.path_params["name"]
    if kind not in KINDS:
        return notice(request, "not_found", 404)
    new = name == "new" and kind not in SINGLE
    data = starter(kind, "new_" + kind, request.app.state.site.blueprint) if new else _document(request, kind, name)
    if data is None:
        if kind not in SINGLE:
            return notice(request, "not_found", 404)
        data = {}
    text = render_overlay_yaml(data) if data else ""
    return page(request, "studio/yaml.html", _context(request, kind, name, text, new))


def typed_name(form: FormData) -> str:
    """A new document's name: the Name input, or else the `name:` written in its YAML."""
    typed = str(form.get("name", "")).strip()
    if typed:
        return typed
    data, problems = parse_yaml(str(form.get("text", "")), "<input>")
    found = data.get("name") if isinstance(data, dict) and not problems else None
    return found.strip() if isinstance(found, str) else ""


def _parse(kind: str, name: str, text: str) -> tuple[Any, list[Problem]]:
    data, problems = parse_yaml(text, f"{kind}/{name}")
    if not problems and data is not None and not isinstance(data, dict):
        problems = [Problem(None, "", "expected a mapping of keys to values")]
    return data, problems


@studio_page
@with_form
def yaml_save(request: Request, form: FormData) -> Response:
    kind, name = request.path_params["kind"], request.path_params["name"]
    if kind not in KINDS:
        return notice(request, "not_found", 404)
    locale = request.state.locale
    new = name == "new" and kind not in SINGLE
    text = str(form.get("text", ""))
    if new:
        name = typed_name(form)
    context = _context(request, kind, name, text, new, str(form.get("token", "")))
    context["name"] = name if new else context["name"]  # a new document keeps its name through Review
    if new and (not NAME.match(name) or (kind, name) in studio_of(request).changes.documents()):
        context["name_error"] = (word("Use lower-case letters, digits and _ (starting with a letter)", locale)
                                 if not NAME.match(name) else word("That name is already used", locale))
        context["name"] = name
        return page(request, "studio/yaml.html", context)
    data, problems = _parse(kind, name, text)
    if problems or data is None:
        context["lines"] = [(word("line {line}, column {column}", locale, line=p.mark.line, column=p.mark.column)
                             if p.mark else "",
                             problem_text(p, locale)) for p in problems] \
            or [("", word("Not a value YAML can read", locale))]
        return page(request, "studio/yaml.html", context)
    if new and isinstance(data.get("name"), str):
        data["name"] = name  # the name typed above is the document's (and its file's) name
    key = (kind, SINGLE.get(kind, name))
    summary = {loc: word("Edit {what} {name} as YAML", loc, what=word(DOCUMENT_KINDS[kind], loc), name=name)
               for loc in ("en", "zh")}
    # a new document has nothing another admin could have changed under it (its name is checked above)
    proposal = Proposal({key: data}, summary, None if new else (str(form.get("token", "")) or None),
                        watched_of(form) or (key,))
    outcome = decide(request, proposal, str(form.get("intent", "review")), form.get("confirm") == "yes")
    if outcome.applied:
        return applied_redirect(f"/studio/yaml/{kind}/{name}", outcome.applied)
    context["lines"], context["elsewhere"] = _line_errors(data,
                                                          list(outcome.preview.problems) if outcome.preview else [],
                                                          document_file(*key), locale)
    outcome.others = []  # shown by line above
    context["confirm"] = form.get("confirm") == "yes"
    return page(request, "studio/yaml.html", context, outcome)


@studio_page
@with_form
def yaml_check(request: Request, form: FormData) -> Response:
    """The live verdict on the text being typed (an HTMX fragment)."""
    kind, name = request.path_params["kind"], request.path_params["name"]
    locale = request.state.locale
    if kind not in KINDS:
        return notice(request, "not_found", 404)
    if name == "new":
        name = typed_name(form) or "new_" + kind
    data, problems = _parse(kind, name, str(form.get("text", "")))
    if isinstance(data, dict) and isinstance(data.get("name"), str) and kind not in SINGLE:
        data["name"] = name  # checked as it will be written: named after its file
    if problems or data is None:
        lines = [(word("line {line}, column {column}", locale, line=p.mark.line, column=p.mark.column)
                  if p.mark else "", problem_text(p, locale))
                 for p in problems]
        return render(request, "studio/yaml.html", {"lines": lines, "elsewhere": [], "checked": True},
                      block="check")
    key = (kind, SINGLE.get(kind, name))
    preview = studio_of(request).changes.preview(Proposal({key: data}, {}), check_only=True)
    lines, elsewhere = _line_errors(data, preview.problems, document_file(*key), locale)
    return render(request, "studio/yaml.html", {"lines": lines, "elsewhere": elsewhere, "checked": True},
                  block="check")
