"""Approvals in the pages: ask for approval from a record page, approve / reject (with a comment)
or withdraw from the record page's panel, from the inbox or from /approvals, and /approvals
itself (waiting for me, requested by me, decided). Every POST carries the session's CSRF token
(checked by the middleware); the approvals service decides who may do what, and its refusals
are shown where the user acted, in their language, with nothing changed."""
from __future__ import annotations

from typing import Any, Mapping

import sqlalchemy as sa
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from atrium.runtime.approvals.service import ApprovalRefused
from atrium.runtime.records.service import RecordNotFound, ValidationFailed
from atrium.runtime.schema.database import connect
from atrium.ui.approvals.view import ApprovalItem, approvals_of, may_see, present
from atrium.ui.records.detail_page import detail_context
from atrium.ui.web.guards import login_required
from atrium.ui.web.page_tools import Kit, notice, record_page
from atrium.ui.web.templating import context_for, environment, is_htmx, render
from atrium.ui.web.threads import in_thread, with_form

LIST_SIZE = 100
TABS = ("waiting", "requested", "decided")


def validation_texts(site: Any, entity: str, errors: Mapping[str, list[str]], locale: str) -> list[str]:
    """A decision's field errors as lines: 'Field: message' (the record's own errors alone)."""
    model = site.blueprint.entities.get(entity)
    lines = []
    for name, texts in errors.items():
        field = model.fields.get(name) if model is not None else None
        label = field.label.text(locale, site.blueprint.default_locale) if field is not None else ""
        lines += [f"{label}: {text}" if label else text for text in texts]
    return lines


def _back(request: Request, location: str) -> Response:
    if is_htmx(request):
        return Response(status_code=200, headers={"HX-Redirect": location})
    return RedirectResponse(location, status_code=303)


# --- from the record page ------------------------------------------------------------------------

def _record_refused(kit: Kit, texts: list[str], status: int) -> Response:
    context = detail_context(kit, kit.record_id())
    context["approval"].errors.extend(texts)
    return render(kit.request, "detail.html", context, status_code=200 if is_htmx(kit.request) else status)


@record_page
@with_form
def request_approval(request: Request, form: FormData) -> Response:
    """POST /r/{entity}/{id}/approvals (rule=...): ask for approval under an `on: request` rule."""
    kit = Kit(request)
    record_id = kit.record_id()
    kit.secured.get(kit.actor, kit.entity_name, record_id)  # the record must be readable (else 404)
    rule = str(form.get("rule", ""))
    try:
        approvals_of(kit.site).request(rule, kit.entity_name, record_id, kit.actor)
    except ValidationFailed as failed:
        texts = validation_texts(kit.site, kit.entity_name, failed.errors, kit.locale)
        return _record_refused(kit, texts, failed.status)
    except ApprovalRefused as refused:
        return _record_refused(kit, [str(refused)], refused.status)
    return _back(request, f"/r/{kit.entity_name}/{record_id}")


def _approval_of_record(kit: Kit) -> Any:
    approval = approvals_of(kit.site).get(int(kit.request.path_params["approval_id"]))
    if approval is None or approval.entity != kit.entity_name or approval.record_id != kit.record_id():
        raise RecordNotFound(kit.entity_name)
    return approval


@record_page
@with_form
def decide_on_record(request: Request, form: FormData) -> Response:
    kit = Kit(request)
    approval = _approval_of_record(kit)
    decision, comment = str(form.get("decision", "")), str(form.get("comment", "")).strip() or None
    try:
        approvals_of(kit.site).decide(approval.id, decision, kit.actor, comment=comment)
    except ValidationFailed as failed:
        texts = validation_texts(kit.site, kit.entity_name, failed.errors, kit.locale)
        return _record_refused(kit, texts, failed.status)
    except ApprovalRefused as refused:
        return _record_refused(kit, [str(refused)], refused.status)
    return _back(request, f"/r/{kit.entity_name}/{kit.record_id()}")


@record_page
@in_thread
def withdraw_on_record(request: Request) -> Response:
    kit = Kit(request)
    approval = _approval_of_record(kit)
    try:
        approvals_of(kit.site).withdraw(approval.id, kit.actor)
    except ApprovalRefused as refused:
        return _record_refused(kit, [str(refused)], refused.status)
    return _back(request, f"/r/{kit.entity_name}/{kit.record_id()}")


# --- from the inbox and /approvals ---------------------------------------------------------------

ROW = environment.from_string('{% from "_approvals.html" import approval_row with context %}'
                              '{{ approval_row(item) }}')


def _row(request: Request, approval: Any, errors: list[str] | None = None) -> Response:
    site, actor = request.app.state.site, request.state.actor
    with connect(site.engine) as connection:
        item, = present(site, connection, actor, request.state.locale, [approval])
    item.error = errors or []
    html = ROW.render(context_for(request, {"item": item}))
    return HTMLResponse(html, headers={"Vary": "HX-Request, Cookie"})


def _inbox_refused(request: Request, approval: Any, texts: list[str], status: int) -> Response:
    if is_htmx(request):
        return _row(request, approval, texts)  # 200: htmx swaps only successful answers
    return _page(request, "waiting", {approval.id: texts}, status)


def _inbox_back(request: Request) -> Response:
    back = request.headers.get("referer", "")
    base = str(request.base_url)
    return RedirectResponse(back if back.startswith(base) else "/approvals", status_code=303)


def _approval(request: Request) -> Any | None:
    approval = approvals_of(request.app.state.site).get(request.path_params["approval_id"])
    return approval if approval is not None and may_see(request.app.state.site, request.state.actor, approval) else None


@with_form
def decide(request: Request, form: FormData) -> Response:
    """POST /approvals/{id}/decide (decision=approve|reject, comment): an HTMX row answers with
    itself, showing the outcome or the refusal."""
    approval = _approval(request)
    if approval is None:
        return notice(request, "approval_gone", 404)
    decision, comment = str(form.get("decision", "")), str(form.get("comment", "")).strip() or None
    site, actor, locale = request.app.state.site, request.state.actor, request.state.locale
    service = approvals_of(site)
    try:
        decided = service.decide(approval.id, decision, actor, comment=comment)
    except ValidationFailed as failed:
        return _inbox_refused(request, approval, validation_texts(site, approval.entity, failed.errors, locale),
                              failed.status)
    except ApprovalRefused as refused:
        return _inbox_refused(request, service.get(approval.id) or approval, [str(refused)], refused.status)
    return _row(request, decided) if is_htmx(request) else _inbox_back(request)


@in_thread
def withdraw(request: Request) -> Response:
    approval = _approval(request)
    if approval is None:
        return notice(request, "approval_gone", 404)
    service = approvals_of(request.app.state.site)
    try:
        withdrawn = service.withdraw(approval.id, request.state.actor)
    except ApprovalRefused as refused:
        return _inbox_refused(request, service.get(approval.id) or approval, [str(refused)], refused.status)
    return _row(request, withdrawn) if is_htmx(request) else _inbox_back(request)


def waiting_items(request: Request, connection: Any, limit: int = LIST_SIZE) -> list[ApprovalItem]:
    """The approvals waiting for the signed-in user's decision, for the inbox and /approvals."""
    site, actor = request.app.state.site, request.state.actor
    if approvals_of(site) is None:
        return []
    found = approvals_of(site).pending_for(actor.user_id, connection, limit=limit)
    return present(site, connection, actor, request.state.locale, found)


def _tab_items(request: Request, tab: str, connection: Any) -> list[ApprovalItem]:
    site, actor = request.app.state.site, request.state.actor
    service = approvals_of(site)
    if tab == "waiting":
        return waiting_items(request, connection)
    table = service.table
    if tab == "requested":
        where = table.c.requested_by == actor.user_id
    else:  # what the user approved, rejected or withdrew
        where = sa.and_(table.c.decided_by == actor.user_id, table.c.status != "pending")
    # the store reads its rows into Approvals (_select); it has no public list by person yet
    found = service._select(connection, sa.select(table).where(where).order_by(table.c.id.desc()).limit(LIST_SIZE))
    return present(site, connection, actor, request.state.locale, found)


def _page(request: Request, tab: str, errors: Mapping[int, list[str]] | None = None,
          status: int = 200) -> Response:
    site = request.app.state.site
    with connect(site.engine) as connection:
        items = _tab_items(request, tab, connection)
    errors = dict(errors or {})
    for item in items:
        item.error = errors.pop(item.id, [])
    return render(request, "approvals.html", {"items": items, "tab": tab, "tabs": TABS, "active_entity": "_approvals",
                                              "messages": [t for texts in errors.values() for t in texts]},
                  status_code=status)


@in_thread
def approvals_page(request: Request) -> Response:
    tab = request.query_params.get("tab", "waiting")
    return _page(request, tab if tab in TABS else "waiting")


ID = "/r/{entity}/{record_id:int}/approvals"
routes = [
    Route(ID, request_approval, methods=["POST"], name="approval_request"),
    Route(ID + "/{approval_id:int}/decide", decide_on_record, methods=["POST"], name="approval_decide_record"),
    Route(ID + "/{approval_id:int}/withdraw", withdraw_on_record, methods=["POST"], name="approval_withdraw_record"),
    Route("/approvals", login_required(approvals_page), methods=["GET"], name="approvals"),
    Route("/approvals/{approval_id:int}/decide", login_required(decide), methods=["POST"], name="approval_decide"),
    Route("/approvals/{approval_id:int}/withdraw", login_required(withdraw), methods=["POST"],
          name="approval_withdraw"),
]
