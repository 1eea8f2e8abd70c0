"""What the outbox could not send, for the admin: GET /studio/outbox lists the webhooks, emails and
robot messages that failed or wait for a retry, with the last error of each; POST
/studio/outbox/{id}/retry sends one again at the next delivery (after its cause was mended).
Beside them, the latest inbound webhook deliveries (runtime/access/inbound.py), accepted or refused."""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from atrium.runtime.access.inbound import deliveries
from atrium.runtime.automation.outbox import QUEUED
from atrium.runtime.schema.database import after_commit, connect, write_transaction
from atrium.ui.studio.setup import studio_page
from atrium.ui.web.i18n import word
from atrium.ui.web.page_tools import notice
from atrium.ui.web.templating import render
from atrium.ui.web.threads import in_thread

LIMIT = 200


def _outbox(request: Request):
    return request.app.state.site.records.automations.outbox


@studio_page
@in_thread
def outbox_page(request: Request) -> Response:
    site = request.app.state.site
    with connect(site.engine) as connection:
        rows = _outbox(request).troubles(connection, LIMIT)
    retried = request.query_params.get("retried", "")
    message = word("Message #{id} will be sent again shortly", request.state.locale, id=retried) \
        if retried.isdigit() else None
    return render(request, "studio/outbox.html", {
        "heading": word("Messages not sent", request.state.locale), "rows": rows, "message": message,
        "inbound": deliveries(site, LIMIT) if site.blueprint.integrations else None,
        "applied": None, "crumbs": [("/studio", word("Studio", request.state.locale))]})


@studio_page
@in_thread
def retry_message(request: Request) -> Response:
    site, message_id = request.app.state.site, request.path_params["message_id"]
    with write_transaction(site.engine) as connection:
        if not _outbox(request).retry(connection, [message_id]):
            return notice(request, "not_found", 404)
        after_commit(connection, QUEUED.set)  # the scheduler sends it now, not at its next tick
    return RedirectResponse(request.url_for("studio_outbox").include_query_params(retried=message_id),
                            status_code=303)


routes = [
    Route("/studio/outbox", outbox_page, methods=["GET"], name="studio_outbox"),
    Route("/studio/outbox/{message_id:int}/retry", retry_message, methods=["POST"], name="studio_retry_message"),
]
