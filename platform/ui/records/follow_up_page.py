"""The detail page's follow-up actions (`follow_up.log:` and `check_in:` in the metadata):

- "Log follow-up" on a parent record: one click opens it, a second picks the kind (call, visit,
  WeChat...) and saves, with an optional note typed in between; the follow-up is created through
  the records service and moves the parent's field at once.
- "Check in" on a record: stamps the time; check_in.js asks the browser for the place on the
  click and sends it only if the person allows it (never required: refused or unavailable, the
  time alone is saved).

Both save and return to the page; a refusal shows the page again with the messages beside.
"""
from __future__ import annotations

from typing import Mapping

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from atrium.metadata.model import SYSTEM_FIELDS, Entity
from atrium.runtime.records.follow_up_actions import check_in, log_follow_up
from atrium.runtime.records.rules import RECORD_ERRORS
from atrium.runtime.records.service import RecordNotFound, StaleRecord, ValidationFailed
from atrium.ui.records.detail_page import detail_context
from atrium.ui.web.edge import whole_number
from atrium.ui.web.page_tools import Kit, record_page
from atrium.ui.web.templating import render
from atrium.ui.web.threads import with_form


def refusal_messages(kit: Kit, entity: Entity, errors: Mapping[str, list[str]]) -> list[tuple[str, str]]:
    """Field errors of `entity` as (field label, message), the record's own with no label."""
    result = []
    for name, texts in errors.items():
        field = entity.fields.get(name)
        label = kit.presenter.text(field.label) if field is not None and name not in SYSTEM_FIELDS else ""
        result += [("" if name == RECORD_ERRORS else label, text) for text in texts]
    return result


def _refused(request: Request, kit: Kit, messages: list[tuple[str, str]], status: int) -> Response:
    return render(request, "detail.html", detail_context(kit, kit.record_id(), messages), status_code=status)


@record_page
@with_form
def log(request: Request, form: FormData) -> Response:
    """POST /r/{entity}/{id}/follow-up/{child}: `kind` and `note` from the menu."""
    kit = Kit(request)
    child = kit.blueprint.entities.get(request.path_params["child"])
    if child is None or child.follow_up is None or child.follow_up.log is None \
            or child.follow_up.parent != kit.entity_name:
        raise RecordNotFound(kit.word("Not found"))
    try:
        log_follow_up(kit.secured, kit.actor, child, kit.record_id(), form.get("kind") or None,
                      str(form.get("note") or ""))
    except ValidationFailed as failed:
        return _refused(request, kit, refusal_messages(kit, child, failed.errors), failed.status)
    return RedirectResponse(f"/r/{kit.entity_name}/{kit.record_id()}", status_code=303)


@record_page
@with_form
def record_check_in(request: Request, form: FormData) -> Response:
    """POST /r/{entity}/{id}/check-in: `version`, and `lat`/`lng` when the browser shared them."""
    kit = Kit(request)
    if kit.entity.check_in is None:
        raise RecordNotFound(kit.word("Not found"))
    version = whole_number(str(form.get("version", "")).strip(), "version", kit.locale)
    try:
        check_in(kit.secured, kit.actor, kit.entity, kit.record_id(), version,
                 str(form.get("lat") or "").strip(), str(form.get("lng") or "").strip())
    except ValidationFailed as failed:
        return _refused(request, kit, refusal_messages(kit, kit.entity, failed.errors), failed.status)
    except StaleRecord as stale:
        return _refused(request, kit, [("", str(stale))], stale.status)
    return RedirectResponse(f"/r/{kit.entity_name}/{kit.record_id()}", status_code=303)
