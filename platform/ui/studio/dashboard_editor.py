"""Dashboards in the studio: which roles see one, and its widgets (KPI, chart, table, funnel, list):
add, change, reorder, take out. GET /studio/dashboards/new | /studio/dashboards/{name},
POST /studio/dashboards/{name} (`new` for a new dashboard)."""
from __future__ import annotations

import copy
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from atrium.metadata.overlays.paths import plain
from atrium.runtime.site.change import Proposal
from atrium.translation import N_
from atrium.ui.studio.flow import Outcome, applied_redirect, decide
from atrium.ui.studio.forms import (
    NAME,
    editor_token,
    inline_yaml,
    label_of,
    label_texts,
    number_of,
    page,
    rows,
    watched_of,
    watched_text,
    yaml_mapping,
)
from atrium.ui.studio.setup import studio_of, studio_page
from atrium.ui.web.i18n import word
from atrium.ui.web.page_tools import notice
from atrium.ui.web.threads import in_thread, with_form

TYPES = ("kpi", "chart", "table", "funnel", "list", "what_it_takes")
# what_it_takes has no one source: its `achieved` and `steps` are kept in the row's "other" YAML
SOURCE_KEY = {"kpi": "report", "chart": "report", "table": "report", "funnel": "pipeline", "list": "entity"}
COLUMNS = ("type", "source", "value", "target", "label_en", "label_zh", "width", "position", "remove", "other")
OWN = ("type", "report", "pipeline", "entity", "value", "target", "label", "width")
NEW_ROWS = 2


def _widget_state(index: int, widget: dict) -> dict[str, str]:
    label = label_texts(widget.get("label"))
    kind = widget.get("type", "kpi")
    other = {key: value for key, value in widget.items() if key not in OWN}
    return {"type": kind, "source": str(widget.get(SOURCE_KEY.get(kind, "report"), "")),
            "value": str(widget.get("value", "")), "target": inline_yaml(widget.get("target")),
            "label_en": label["en"], "label_zh": label["zh"], "width": str(widget.get("width", "")),
            "position": str((index + 1) * 10), "remove": "", "other": inline_yaml(other) if other else ""}


def _state(document: dict) -> dict[str, Any]:
    label = label_texts(document.get("label"))
    return {"name": document.get("name", ""), "label_en": label["en"], "label_zh": label["zh"],
            "roles": list(document.get("roles") or ()),
            "widgets": [_widget_state(i, w) for i, w in enumerate(document.get("widgets") or ())]}


def _context(request: Request, state: dict, new: bool, token: str = "") -> dict[str, Any]:
    locale = request.state.locale
    blueprint = request.app.state.site.blueprint
    name = state["name"] or "new"
    keys = [("dashboard", name)]
    blank = {"type": "kpi", "source": "", "value": "", "target": "", "label_en": "", "label_zh": "", "width": "",
             "remove": "", "other": "", "new": True}
    widgets = state["widgets"] + [{**blank, "position": str((len(state["widgets"]) + i + 1) * 10)}
                                  for i in range(NEW_ROWS)]
    return {"heading": word("New dashboard", locale) if new else word("Dashboards", locale) + f" · {name}",
            "state": {**state, "widgets": widgets}, "new": new,
            "action": f"/studio/dashboards/{'new' if new else name}",
            "types": TYPES,
            "roles": [(n, r.label.text(locale, blueprint.default_locale)) for n, r in blueprint.roles.items()],
            "sources": sorted(blueprint.reports) + sorted(blueprint.pipelines) + sorted(blueprint.entities),
            "token": token or editor_token(request, keys), "watched": watched_text(keys), "confirm": False,
            "crumbs": [("/studio", word("Studio", locale)), ("/studio#dashboards", word("Dashboards", locale))]}


@studio_page
@in_thread
def dashboard_page(request: Request) -> Response:
    name = request.path_params["name"]
    if name == "new":
        return page(request, "studio/dashboard.html",
                    _context(request, {"name": "", "label_en": "", "label_zh": "", "roles": [], "widgets": []}, True))
    found = studio_of(request).changes.documents().get(("dashboard", name))
    if found is None:
        return notice(request, "not_found", 404)
    return page(request, "studio/dashboard.html", _context(request, _state(plain(found.data)), False))


def build_widgets(state_rows: list[dict]) -> tuple[list[dict], list[int], dict[str, str]]:
    """(widgets in their new sequence, the form row of each, errors) from the posted rows."""
    errors: dict[str, str] = {}
    kept = []
    for index, row in enumerate(state_rows):
        if row["remove"] == "yes" or (row.get("new") and not row["source"].strip()):
            continue
        try:
            kept.append((number_of(row["position"]) or 0, index, row))
        except ValueError:
            errors[f"widget-{index}-position"] = N_("Not a number")
    kept.sort(key=lambda item: (item[0], item[1]))
    widgets, placed = [], []
    for _, index, row in kept:
        kind = row["type"] if row["type"] in TYPES else "kpi"
        widget: dict[str, Any] = {"type": kind}
        if kind in SOURCE_KEY:
            widget[SOURCE_KEY[kind]] = row["source"].strip()
        for key in ("value", "target"):
            if row[key].strip():
                widget[key] = row[key].strip() if key == "value" else _number_or_text(row[key].strip())
        if (label := label_of(row)) is not None:
            widget["label"] = label
        try:
            if (width := number_of(row["width"])) is not None:
                widget["width"] = int(width)
        except ValueError:
            errors[f"widget-{index}-width"] = N_("Not a number")
        try:
            widget.update({k: v for k, v in yaml_mapping(_as_mapping(row["other"])).items() if k not in OWN})
        except ValueError:
            errors[f"widget-{index}-other"] = N_("Not a value YAML can read")
        widgets.append(widget)
        placed.append(index)
    return widgets, placed, errors


def _as_mapping(text: str) -> str:
    text = text.strip()
    return text if not text or text.startswith("{") or "\n" in text else "{" + text + "}"


def _number_or_text(text: str) -> Any:
    try:
        return number_of(text)
    except ValueError:
        return text


@studio_page
@with_form
def save_dashboard(request: Request, form: FormData) -> Response:
    name = request.path_params["name"]
    new = name == "new"
    locale = request.state.locale
    documents = studio_of(request).changes.documents()
    if not new and ("dashboard", name) not in documents:
        return notice(request, "not_found", 404)
    posted = rows(form, "widget", COLUMNS + ("new",))
    state: dict[str, Any] = {"name": str(form.get("name", "")).strip() if new else name,
                             "label_en": str(form.get("label_en", "")).strip(),
             "label_zh": str(form.get("label_zh", "")).strip(), "roles": form.getlist("roles"),
             "widgets": [row for row in posted if not (row.get("new") and not row["source"].strip())]}
    context = _context(request, state, new, str(form.get("token", "")))
    context["confirm"] = form.get("confirm") == "yes"
    widgets, placed, found = build_widgets(posted)
    errors = {key: [word(text, locale)] for key, text in found.items()}
    if new and (not NAME.match(state["name"]) or ("dashboard", state["name"]) in documents):
        errors["name"] = [(word("Use lower-case letters, digits and _ (starting with a letter)", locale)
                           if not NAME.match(state["name"]) else word("That name is already used", locale))]
    if errors:
        return page(request, "studio/dashboard.html", context, Outcome(errors=errors))
    original = plain(documents[("dashboard", name)].data) if not new else {"name": state["name"]}
    target = copy.deepcopy(original)
    target["name"] = state["name"]
    if (label := label_of(state)) is not None:
        target["label"] = label
    target["roles"] = state["roles"]
    target["widgets"] = widgets

    def mapper(steps: list[Any]) -> str | None:
        if steps[:1] == ["widgets"] and len(steps) > 1 and isinstance(steps[1], int) and steps[1] < len(placed):
            key = steps[2] if len(steps) > 2 else "source"
            key = {"report": "source", "pipeline": "source", "entity": "source", "label": "label_en"}.get(key, key)
            return f"widget-{placed[steps[1]]}-{key if key in COLUMNS else 'other'}"
        return "roles" if steps[:1] == ["roles"] else "label_en" if steps[:1] == ["label"] else None
    what = N_("Add dashboard {dashboard}") if new else N_("Change dashboard {dashboard}")
    summary = {loc: word(what, loc, dashboard=state["name"]) for loc in ("en", "zh")}
    key = ("dashboard", state["name"])
    proposal = Proposal({key: target}, summary, None if new else (str(form.get("token", "")) or None),
                        watched_of(form) or (key,))
    outcome = decide(request, proposal, str(form.get("intent", "review")), form.get("confirm") == "yes", mapper)
    if outcome.applied:
        return applied_redirect(f"/studio/dashboards/{state['name']}", outcome.applied)
    return page(request, "studio/dashboard.html", context, outcome)
