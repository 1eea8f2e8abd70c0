"""Approvals in the JSON API, with the same rules as the pages:

    GET  /api/v1/approvals?status=pending&mine=1   what waits for the caller's decision
    GET  /api/v1/approvals?entity=E&record=ID       the older spelling of the record's approvals below
    GET  /api/v1/approvals/{id}                     one approval (404 unless the caller may see it)
    POST /api/v1/{entity}/{id}/approvals {rule}     ask for approval: 201 | 404 | 409 | 422
    POST /api/v1/approvals/{id}/approve {comment}   200 | 403 not an approver | 409 refused | 422
    POST /api/v1/approvals/{id}/reject {comment}
    POST /api/v1/approvals/{id}/withdraw            200 | 403 not the requester | 409

A refusal of the approvals service is 409 `{"error": "approval", "message"}` in the caller's
language; a decision whose fields fail validation is 422 `{"errors": {field: [messages]}}`.
    GET  /api/v1/{entity}/{id}/approvals?status=   every approval of one readable record, newest first

The routes are in ui/api/routing.py (before `/api/v1/{entity}`, which would take them).
"""
from __future__ import annotations

import functools
from typing import Any, Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from atrium.runtime.access.secured import AccessDenied, SecuredRecords
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.records.service import RecordNotFound, ValidationFailed
from atrium.ui.api.calls import UNAUTHORIZED, api_caller, bad_request, json_object, page_limit, parse_id, plain
from atrium.ui.approvals.view import approvals_of, may_see, message_text
from atrium.ui.web.i18n import word
from atrium.ui.web.threads import in_thread, with_body

STATUSES = ("pending", "approved", "rejected", "withdrawn", "voided")
Handler = Callable[[Request, Any, Actor], Awaitable[Response]]


def approval_json(site: Any, approval: Any, locale: str) -> dict[str, Any]:
    default = site.blueprint.default_locale
    return {
        "id": approval.id, "rule": approval.rule,
        "label": approval.label.text(locale, default) if approval.label else approval.rule,
        "entity": approval.entity, "record_id": approval.record_id, "status": approval.status,
        "message": message_text(approval.message, locale, default), "messages": dict(approval.message or {}),
        "requested_by": approval.requested_by, "requested_at": plain(approval.requested_at),
        "approvers": list(approval.approvers),
        "decided_by": approval.decided_by, "decided_at": plain(approval.decided_at), "comment": approval.comment,
        "voided_by": approval.voided_by, "voided_at": plain(approval.voided_at),
        "lock": approval.lock if isinstance(approval.lock, bool) else list(approval.lock),
    }


def approval_endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Authenticated; what the handler raises (the service's refusals too) is answered by the
    API's error handler (ui/api/errors.py)."""
    @functools.wraps(handler)
    async def endpoint(request: Request) -> Response:
        actor = api_caller(request)
        if actor is None:
            return JSONResponse(UNAUTHORIZED, status_code=401)
        return await handler(request, request.app.state.site, actor)
    return endpoint


def _readable(site: Any, actor: Actor, entity: str, record_id: int) -> bool:
    try:
        SecuredRecords(site).get(actor, entity, record_id)
    except (RecordNotFound, AccessDenied):
        return False
    return True


def _approval(request: Request, site: Any, actor: Actor) -> Any:
    approval = approvals_of(site).get(request.path_params["approval_id"])
    if approval is None or not may_see(site, actor, approval):
        raise RecordNotFound("approval")
    return approval


@approval_endpoint
@in_thread
def list_approvals(request: Request, site: Any, actor: Actor) -> Response:
    params = request.query_params
    service = approvals_of(site)
    status = params.get("status") or None
    if status is not None and status not in STATUSES:
        raise bad_request(actor.locale, "status must be one of pending, approved, rejected, withdrawn, voided",
                          "status")
    limit = page_limit(actor, params.get("limit"))
    if params.get("entity") or params.get("record"):  # the older spelling of GET /api/v1/{entity}/{id}/approvals
        entity, record = params.get("entity", ""), parse_id(params.get("record", ""))
        if record is None:
            raise bad_request(actor.locale, "record must be a record id", "record")
        found = _of_record(site, actor, entity, record)
    else:  # what waits for the caller's decision (mine=1, status=pending: the default and only list)
        if params.get("mine", "1") != "1" or status not in (None, "pending"):
            raise bad_request(actor.locale, "Without entity and record, the list is what waits for your decision "
                                            "(mine=1, status=pending)", "mine")
        found = service.pending_for(actor.user_id, limit=limit)
    return JSONResponse({"data": [approval_json(site, a, actor.locale) for a in found[:limit]
                                  if status is None or a.status == status]})


def _of_record(site: Any, actor: Actor, entity: str, record_id: int) -> list[Any]:
    if entity not in site.blueprint.entities or not _readable(site, actor, entity, record_id):
        raise RecordNotFound(entity)
    return approvals_of(site).of_record(entity, record_id)


@approval_endpoint
@in_thread
def record_approvals(request: Request, site: Any, actor: Actor) -> Response:
    """GET /api/v1/{entity}/{id}/approvals: every approval of one readable record, newest first."""
    params = request.query_params
    status = params.get("status") or None
    if status is not None and status not in STATUSES:
        raise bad_request(actor.locale, "status must be one of pending, approved, rejected, withdrawn, voided",
                          "status")
    limit = page_limit(actor, params.get("limit"))
    found = [a for a in _of_record(site, actor, request.path_params["entity"], request.path_params["record_id"])
             if status is None or a.status == status]
    return JSONResponse({"data": [approval_json(site, a, actor.locale) for a in found[:limit]]})


@approval_endpoint
@in_thread
def get_approval(request: Request, site: Any, actor: Actor) -> Response:
    return JSONResponse(approval_json(site, _approval(request, site, actor), actor.locale))


@approval_endpoint
@with_body
def request_approval(request: Request, site: Any, actor: Actor, body: bytes) -> Response:
    entity, record_id = request.path_params["entity"], request.path_params["record_id"]
    if entity not in site.blueprint.entities or not _readable(site, actor, entity, record_id):
        raise RecordNotFound(entity)
    data = json_object(body, actor.locale)
    rule = data.get("rule")
    if not isinstance(rule, str) or not rule:
        raise ValidationFailed({"rule": [word("'{rule}' is not an approval you can request for this record.",
                                              actor.locale, rule=rule or "")]})
    approval = approvals_of(site).request(rule, entity, record_id, actor)
    location = str(request.url_for("api_approval", approval_id=approval.id))
    return JSONResponse(approval_json(site, approval, actor.locale), status_code=201, headers={"Location": location})


def _comment(body: bytes, actor: Actor) -> str | None:
    if not body.strip():
        return None
    comment = json_object(body, actor.locale).get("comment")
    if comment is not None and not isinstance(comment, str):
        raise bad_request(actor.locale, "comment must be text", "comment")
    return (comment or "").strip() or None


def _decision(decision: str) -> Callable[[Request], Awaitable[Response]]:
    @with_body
    def handler(request: Request, site: Any, actor: Actor, body: bytes) -> Response:
        approval = _approval(request, site, actor)
        decided = approvals_of(site).decide(approval.id, decision, actor, comment=_comment(body, actor))
        return JSONResponse(approval_json(site, decided, actor.locale))
    handler.__name__ = f"{decision}_approval"
    return approval_endpoint(handler)


@approval_endpoint
@in_thread
def withdraw_approval(request: Request, site: Any, actor: Actor) -> Response:
    approval = _approval(request, site, actor)
    return JSONResponse(approval_json(site, approvals_of(site).withdraw(approval.id, actor), actor.locale))


decision_endpoints = {"approve": _decision("approve"), "reject": _decision("reject"), "withdraw": withdraw_approval}
