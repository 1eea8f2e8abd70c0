"""Comments on the detail page: the box under the timeline, edit and delete of a comment in it,
and the @name completion the box asks for as one types (only people who may read the record).

The forms post plainly and come back to the record's page (303); a refusal (an empty text, a
mention of someone who may not read the record, a stale edit) shows the page again with the
reason beside the box and the text as it was typed, and nothing saved.
"""
from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from atrium.runtime.comments.mentions import typed_prefix
from atrium.runtime.comments.service import TEXT, CommentStale
from atrium.runtime.records.service import ValidationFailed
from atrium.ui.records.detail_page import detail_context
from atrium.ui.web.edge import whole_number
from atrium.ui.web.page_tools import Kit, record_page
from atrium.ui.web.templating import render
from atrium.ui.web.threads import in_thread, with_form

COMPLETIONS = 8  # people the completion offers at once


def _back(kit: Kit, anchor: str = "comments") -> Response:
    return RedirectResponse(f"/r/{kit.entity_name}/{kit.record_id()}#{anchor}", status_code=303)


def _refused(request: Request, kit: Kit, status: int, **box: Any) -> Response:
    """The record's page again, the reason beside the box that was sent."""
    context = detail_context(kit, kit.record_id())
    context.update(box)
    return render(request, "detail.html", context, status_code=status)


@record_page
@with_form
def add(request: Request, form: FormData) -> Response:
    kit = Kit(request)
    text = str(form.get(TEXT, ""))
    try:
        kit.site.comments.add(kit.actor, kit.entity_name, kit.record_id(), text)
    except ValidationFailed as failed:
        return _refused(request, kit, failed.status, comment_text=text, comment_errors=failed.errors.get(TEXT, []))
    return _back(kit)


@record_page
@with_form
def edit(request: Request, form: FormData) -> Response:
    kit = Kit(request)
    comment_id = int(request.path_params["comment_id"])
    text = str(form.get(TEXT, ""))
    version = whole_number(str(form.get("version", "")).strip(), "version", kit.locale)
    try:
        kit.site.comments.edit(kit.actor, kit.entity_name, kit.record_id(), comment_id, text, version)
    except (ValidationFailed, CommentStale) as refused:
        errors = refused.errors.get(TEXT, []) if isinstance(refused, ValidationFailed) else [str(refused)]
        return _refused(request, kit, refused.status, editing={comment_id: (text, errors)})
    return _back(kit, f"comment-{comment_id}")


@record_page
@in_thread
def delete(request: Request) -> Response:
    kit = Kit(request)
    try:
        kit.site.comments.delete(kit.actor, kit.entity_name, kit.record_id(), int(request.path_params["comment_id"]))
    except CommentStale:
        pass  # deleted already: the page shows it gone
    return _back(kit)


@record_page
@in_thread
def mentions(request: Request) -> Response:
    """The people a `@` being typed at the end of the box may name: readers of the record only."""
    kit = Kit(request)
    prefix = typed_prefix(str(request.query_params.get(TEXT, ""))[-200:])
    people = []
    if prefix is not None:
        with kit.site.engine.connect() as connection:
            kit.secured.get(kit.actor, kit.entity_name, kit.record_id(), connection)
            people = kit.site.comments.mentions.readers(connection, kit.entity_name, kit.record_id(), prefix,
                                                        COMPLETIONS, exclude=kit.actor.user_id)
    return render(request, "_mentions.html", {"people": people, "typed": prefix})
