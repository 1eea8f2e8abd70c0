"""The 360° detail page: the record's fields grouped as in the form, related lists from
`detail.related` (each with its count, first rows, an add button and a link to the filtered
list), the timeline, and pipeline quick actions (next stage, won / lost) that save through
SecuredRecords; a move that needs fields asks for them on the page (stage_ask.py)."""
from __future__ import annotations

from dataclasses import dataclass, field as dataclass_field
from typing import Any, Mapping
from urllib.parse import urlencode, urlsplit

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from atrium.metadata.entities import system_field
from atrium.metadata.model import SYSTEM_FIELDS
from atrium.runtime.query.lists import ListQuery
from atrium.runtime.records.rules import RECORD_ERRORS
from atrium.runtime.records.service import StaleRecord, ValidationFailed
from atrium.ui.approvals.view import record_panel
from atrium.ui.records.attachment_panel import attachment_panel
from atrium.ui.records.follow_up_panel import follow_up_context
from atrium.ui.records.form_lines import FormLines
from atrium.ui.records.form_model import FormModel
from atrium.ui.records.list_page import cells, count_text
from atrium.ui.records.matching_lists import matching_lists
from atrium.ui.records.record_actions import record_actions
from atrium.ui.records.stage_ask import ask_form, askable, asked_names, read_answers
from atrium.ui.records.timeline import timeline
from atrium.ui.records.trash_pages import record_title, remember_deleted
from atrium.ui.web.edge import whole_number
from atrium.ui.web.page_tools import Kit, record_page
from atrium.ui.web.present import Lookups, Shown
from atrium.ui.web.request_connection import request_connection
from atrium.ui.web.templating import is_htmx, render
from atrium.ui.web.threads import in_thread, with_form

RELATED_ROWS = 5
TIMELINE_ROWS = 10  # related records the timeline shows as added


@dataclass
class Related:
    entity: str
    label: str
    count: str
    columns: list
    rows: list
    list_url: str
    add_url: str | None
    newest: list = dataclass_field(default_factory=list)  # the latest records read, for the timeline
    key: str = ""  # the section's id on the page (default: the entity's name)


@dataclass
class Action:
    stage: str
    label: str
    kind: str  # next, won, lost
    color: str | None = None


@dataclass
class DetailSection:
    label: str
    items: list[tuple[str, Shown]] = dataclass_field(default_factory=list)


def sections(kit: Kit, record: Mapping[str, Any], lookups) -> list[DetailSection]:
    """The view's `detail.sections` (else the form's sections) in order, each shown when its
    `visible_when` holds, its fields the reader may see; every other field under "More"."""
    model = FormModel(kit, record)
    full = {f.name: None for f in kit.entity} | dict(record)
    layout = model.layout
    if kit.view.detail_sections:
        layout = [(s.label, s.visible_when, s.columns, [n for n in s.fields if n in kit.entity.fields
                                                        and model.mode(n) != "hidden"])
                  for s in kit.view.detail_sections]
    result, placed = [], set()
    for label, visible_when, _, names in layout:
        placed.update(names)
        if not model.holds(visible_when, full):
            continue
        section = DetailSection(kit.presenter.text(label))
        for name in names:
            field = kit.entity.fields[name]
            if not model.field_visible(name, full):
                continue  # its visible_when does not hold on this record
            section.items.append((kit.presenter.text(field.label),
                                  kit.presenter.show(field, record.get(name), lookups)))
        result.append(section)
    rest = [f for f in kit.entity if f.name not in placed and f.name in record
            and kit.presenter.mode(kit.entity_name, f.name) != "hidden" and model.field_visible(f.name, full)]
    if rest:
        section = DetailSection(kit.word("More"))
        section.items = [(kit.presenter.text(f.label), kit.presenter.show(f, record.get(f.name), lookups))
                         for f in rest]
        result.append(section)
    return result


def related_lists(kit: Kit, connection, record: Mapping[str, Any], lookups: Lookups | None = None) -> list[Related]:
    """`lookups`: what the page already loaded for this reader (titles, user names), shared by the
    lists so a customer or an owner shown in several of them is read once."""
    result = []
    lookups = lookups if lookups is not None else Lookups()
    record_id = record["id"]
    in_grids = {grid.key for grid in kit.view.lines}  # shown as a line grid instead
    for link in kit.view.related:
        child, _, via = link.partition(".")
        if link in in_grids or not kit.can("read", child) or kit.presenter.path_field(child, via) is None:
            continue
        # newest first, and enough of them for the timeline's "added" entries too (one read a child)
        page = kit.secured.list(kit.actor, ListQuery(child, where={via: record_id}, sort=("-created_at",),
                                                     limit=TIMELINE_ROWS), connection)
        shown = page.records[:RELATED_ROWS]
        child_kit_view = kit.blueprint.view(child)
        paths = [p for p in (child_kit_view.columns or default_columns_of(kit, child)) if p.split(".")[0] != via][:5]
        columns = kit.presenter.columns(child, paths)
        kit.presenter.load(connection, child, shown, [c.path for c in columns], lookups)
        creatable = kit.can("create", child) and kit.site.access.field_mode(kit.actor, child, via) == "write"
        result.append(Related(child, kit.presenter.text(kit.blueprint.entities[child].plural),
                              count_text(page, None), columns,
                              cells(kit.presenter, child, shown, columns, lookups),
                              f"/r/{child}?{via}={record_id}",
                              new_related_url(kit, child, via, record) if creatable else None, page.records))
    return result


def new_related_url(kit: Kit, child: str, via: str, record: Mapping[str, Any]) -> str:
    """The new child's form with its link to this record set, and to what this record links to
    through a reference of the same name and target (a quote from an order takes the order's
    customer); the save returns here (`from`). Defaults reading the link fill on the form."""
    params = {via: record["id"]}
    for name in _shared_references(kit, child, via):
        if record.get(name) is not None:
            params[name] = record[name]
    return f"/r/{child}/new?{urlencode(params)}&from={via}"


def _shared_references(kit: Kit, child: str, via: str) -> tuple[str, ...]:
    """The child's references (other than `via`) that this entity has too, to the same target, and
    the role may write: they depend on the blueprint and the role only, so kept on the site."""
    kept = vars(kit.site).setdefault("_shared_references", {})
    key = (kit.actor.role, kit.entity_name, child, via)
    found = kept.get(key)
    if found is None:
        found = kept[key] = tuple(
            field.name for field in kit.blueprint.entities[child]
            if field.type == "reference" and field.name != via
            and (mine := kit.entity.fields.get(field.name)) is not None and mine.type == "reference"
            and mine.to == field.to and kit.site.access.field_mode(kit.actor, child, field.name) == "write")
    return found


def default_columns_of(kit: Kit, entity: str) -> list[str]:
    return [f.name for f in kit.blueprint.entities[entity]
            if f.type not in ("textarea", "location", "multiselect", "file")][:6]


def stage_actions(kit: Kit, record: Mapping[str, Any]) -> list[Action]:
    pipeline = kit.blueprint.pipeline_for(kit.entity_name)
    stage = kit.entity.stage_field
    if pipeline is None or stage is None or kit.presenter.mode(kit.entity_name, stage.name) != "write":
        return []
    current = record.get(stage.name)
    names = pipeline.stage_names
    actions = []
    if current in names and pipeline.stage(current).is_open:
        following = [s for s in pipeline.stages[names.index(current) + 1:] if s.is_open]
        if following and pipeline.allows(current, following[0].name):
            actions.append(Action(following[0].name, kit.presenter.text(following[0].label), "next"))
    for target in pipeline.stages:
        if not target.is_open and target.name != current and pipeline.allows(current, target.name):
            actions.append(Action(target.name, kit.presenter.text(target.label), target.outcome or "closed",
                                  target.color))
    return actions


def detail_context(kit: Kit, record_id: int, messages: list[tuple[str, str]] | None = None) -> dict:
    with request_connection(kit.request.scope, kit.site.engine) as connection:
        record = kit.secured.get(kit.actor, kit.entity_name, record_id, connection)
        names = [f.name for f in kit.entity] + ["created_by", "updated_by"]
        lookups = kit.presenter.load(connection, kit.entity_name, [record], names)
        title = kit.site.queries.titles_of(connection, kit.entity_name, [record], kit.actor).get(
            record_id, f"#{record_id}")
        access = kit.site.access
        can_update = access.permits(connection, kit.actor, kit.entity_name, record, "update")
        can_delete = access.permits(connection, kit.actor, kit.entity_name, record, "delete")
        related = related_lists(kit, connection, record, lookups)
        matching = matching_lists(kit, connection, record, Related)  # same fields, no reference
        grids = FormLines(kit, record_id).read_only(connection)
        approval = record_panel(kit.site, connection, kit.actor, kit.locale, kit.entity_name, record, title,
                                can_update)
        entries = timeline(kit, connection, record_id, {r.entity: r.newest for r in related}, approval.history,
                           lookups)
        extra = record_actions(kit, connection, record)  # claim, release, convert
        follow_ups = follow_up_context(kit, connection, record, can_update)  # log follow-up, check in
        files = attachment_panel(kit, connection, record, can_update)
    if approval.locked:  # read-only while it waits: the page does not offer what would be refused
        can_update = can_delete = False  # files stay open: a reviewer needs the document (attachments.py)
        extra.update(can_claim=False, can_release=False, convert_label=None)
        follow_ups["check_in"] = None
    stage_locked = kit.entity.stage_field is not None and kit.entity.stage_field.name in approval.locked_fields
    system = {name: kit.presenter.show(_system_field(name), record.get(name), lookups)
              for name in ("created_at", "created_by", "updated_at", "updated_by")}
    return {"entity": kit.entity, "entity_name": kit.entity_name, "active_entity": kit.entity_name,
            "record": record, "title": title, "sections": sections(kit, record, lookups),
            "related": related + matching, "grids": grids, "timeline": entries, "can_update": can_update,
            "can_delete": can_delete,
            "actions": stage_actions(kit, record) if can_update and not stage_locked else [],
            "messages": messages or [], "approval": approval,
            "system": system, "stage": _stage_shown(kit, record, lookups), "attachments": files, **extra,
            **follow_ups}


def _system_field(name: str):
    return system_field(name)


def _stage_shown(kit: Kit, record: Mapping[str, Any], lookups) -> Shown | None:
    stage = kit.entity.stage_field
    if stage is None or stage.name not in record:
        return None
    return kit.presenter.show(stage, record.get(stage.name), lookups)


@record_page
@in_thread
def detail(request: Request) -> Response:
    kit = Kit(request)
    with request_connection(request.scope, kit.site.engine):  # the page and its header's badges share it
        return render(request, "detail.html", detail_context(kit, kit.record_id()))


def messages_of(kit: Kit, errors: Mapping[str, list[str]]) -> list[tuple[str, str]]:
    result = []
    for name, texts in errors.items():
        field = kit.entity.fields.get(name)
        label = kit.presenter.text(field.label) if field is not None and name not in SYSTEM_FIELDS else ""
        result += [("" if name == RECORD_ERRORS else label, text) for text in texts]
    return result


@record_page
@with_form
def move_stage(request: Request, form: FormData) -> Response:
    """A quick action: the record to another stage, through the same rules as the form. A move
    refused only for fields it needs answers with a form asking for exactly those (stage_ask.py):
    to HTMX the fragment alone, else the record page holding it; the form posts back here."""
    kit = Kit(request)
    stage = kit.entity.stage_field
    if stage is None:
        return render(request, "notice.html", {"title": kit.word("Not found")}, status_code=404)
    version = str(form.get("version", "")).strip()
    to = str(form.get("stage", ""))
    from_list = form.get("back") == "list"  # a row action of the list: back to the list after
    current = kit.secured.get(kit.actor, kit.entity_name, kit.record_id(), action="update")
    model = FormModel(kit, current)
    answers = read_answers(kit, model, form, stage.name)
    errors: Mapping[str, list[str]] = answers.errors
    if not errors:
        try:
            kit.secured.update(kit.actor, kit.entity_name, kit.record_id(), {**answers.changes, stage.name: to},
                               version=whole_number(version, "version", kit.locale))
        except ValidationFailed as failed:
            if not askable(kit, model, failed.errors, stage.name):
                context = detail_context(kit, kit.record_id(), messages_of(kit, failed.errors))
                context["fix_link"] = True
                return _refused(request, context, failed.status)
            errors = failed.errors
        except StaleRecord as stale:
            return _refused(request, detail_context(kit, kit.record_id(), [("", str(stale))]), stale.status)
        else:
            url = back_url(request, kit) if from_list else f"/r/{kit.entity_name}/{kit.record_id()}"
            if is_htmx(request):
                return Response(status_code=200, headers={"HX-Redirect": url})
            return RedirectResponse(url, status_code=303)
    pipeline = kit.blueprint.pipeline_for(kit.entity_name)
    target = pipeline.stage(to) if pipeline is not None else None
    base = f"/r/{kit.entity_name}/{kit.record_id()}"
    with kit.site.engine.connect() as connection:
        title = kit.site.queries.titles(connection, kit.entity_name, [kit.record_id()]).get(
            kit.record_id(), f"#{kit.record_id()}")
    heading = kit.word("To move {title} to {stage}, fill in:", title=title,
                       stage=kit.presenter.text(target.label) if target is not None else to)
    ask = ask_form(kit, model, current, heading, f"{base}/stage", to, version,
                   asked_names(kit, errors, answers.asked), answers, errors,
                   back_url(request, kit) if from_list else base)
    ask.back = "list" if from_list else ""
    if is_htmx(request):
        return render(request, "_stage_ask.html", {"ask": ask})
    context = detail_context(kit, kit.record_id())
    context["ask"] = ask
    return render(request, "detail.html", context, status_code=422)


def _refused(request: Request, context: dict, status: int) -> Response:
    """The record page with the messages; to HTMX (which asked for the question's box) the page's
    main part, swapped in place of the page's own."""
    if is_htmx(request):
        return render(request, "detail.html", context,
                      headers={"HX-Retarget": "#main", "HX-Reswap": "outerHTML", "HX-Reselect": "#main"})
    return render(request, "detail.html", context, status_code=status)


def back_url(request: Request, kit: Kit) -> str:
    """The list the move was made from (htmx names the page in HX-Current-URL), else the plain list."""
    listing = f"/r/{kit.entity_name}"
    current = urlsplit(request.headers.get("HX-Current-URL", ""))
    if current.path == listing:
        return listing + (f"?{current.query}" if current.query else "")
    return listing


@record_page
@in_thread
def delete(request: Request) -> Response:
    kit = Kit(request)
    try:
        record = kit.secured.get(kit.actor, kit.entity_name, kit.record_id(), action="delete")
        title = record_title(kit, record)
        remember_deleted(kit, kit.secured.delete(kit.actor, kit.entity_name, kit.record_id()), title)
    except ValidationFailed as failed:
        context = detail_context(kit, kit.record_id(), messages_of(kit, failed.errors))
        return render(request, "detail.html", context, status_code=200 if is_htmx(request) else failed.status)
    if is_htmx(request):
        return Response(status_code=200, headers={"HX-Redirect": f"/r/{kit.entity_name}"})
    return RedirectResponse(f"/r/{kit.entity_name}", status_code=303)
