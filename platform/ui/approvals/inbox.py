"""The inbox: /notifications lists the approvals waiting for the signed-in user's decision, then
their notifications (newest first, unread marked), opens one (marking it read) and marks all read;
/notifications/badge is the header's unread count (and waiting approvals) for an HTMX refresh."""
from __future__ import annotations

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from atrium.runtime.automation.notifications import Notifications
from atrium.runtime.schema.database import connect, write_transaction
from atrium.ui.approvals.pages import waiting_items
from atrium.ui.web.edge import whole_number
from atrium.ui.web.guards import login_required
from atrium.ui.web.templating import render
from atrium.ui.web.threads import in_thread, with_form

PAGE_SIZE = 50


def _inbox(request: Request) -> Notifications:
    return Notifications(request.app.state.site.tables)


@login_required
@in_thread
def inbox(request: Request) -> Response:
    site, actor = request.app.state.site, request.state.actor
    before = request.query_params.get("before")
    unread_only = request.query_params.get("unread") == "1"
    with connect(site.engine) as connection:
        items = _inbox(request).list_for(connection, actor.user_id, unread_only=unread_only, limit=PAGE_SIZE + 1,
                                         before_id=whole_number(before, "before", actor.locale))
        unread = _inbox(request).unread_count(connection, actor.user_id)
        waiting = waiting_items(request, connection) if before is None else []  # on the first page
    more = len(items) > PAGE_SIZE
    items = items[:PAGE_SIZE]
    return render(request, "notifications.html", {
        "items": items, "unread": unread, "unread_only": unread_only,
        "older": items[-1].id if more else None, "timezone": site.blueprint.timezone, "approvals": waiting,
        "active_entity": "_notifications"})


@login_required
@in_thread
def open_notification(request: Request) -> Response:
    """Mark one notification read and go where it points (its record, or the inbox)."""
    site, actor = request.app.state.site, request.state.actor
    notification_id = request.path_params["notification_id"]
    with write_transaction(site.engine) as connection:
        found = next((n for n in _inbox(request).list_for(connection, actor.user_id, limit=1,
                                                          before_id=notification_id + 1)
                      if n.id == notification_id), None)
        if found is not None:
            _inbox(request).mark_read(connection, actor.user_id, site.now(), [notification_id])
    target = found.href if found is not None and found.href else "/notifications"
    if not target.startswith("/"):  # only links inside the site: a message cannot send people away
        target = "/notifications"
    return RedirectResponse(target, status_code=303)


@login_required
@with_form
def mark_read(request: Request, form: FormData) -> Response:
    site, actor = request.app.state.site, request.state.actor
    ids = [number for value in form.getlist("id") if (number := whole_number(value, "id", request.state.locale))
           is not None] or None
    with write_transaction(site.engine) as connection:
        _inbox(request).mark_read(connection, actor.user_id, site.now(), ids)
    return RedirectResponse("/notifications", status_code=303)


@login_required
@in_thread
def badge(request: Request) -> Response:
    return render(request, "_inbox_badge.html")


routes = [
    Route("/notifications", inbox, methods=["GET"], name="notifications"),
    Route("/notifications/read", mark_read, methods=["POST"], name="notifications_read"),
    Route("/notifications/badge", badge, methods=["GET"], name="notifications_badge"),
    Route("/notifications/{notification_id:int}", open_notification, methods=["GET"], name="notification_open"),
]
