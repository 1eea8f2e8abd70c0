"""The JSON API's one answer to errors: any AtriumError an endpoint raises is sent as its `status`
and `payload()` (400 bad_request, 403 forbidden, 404 not_found, 409 stale / pool / approval /
duplicates, 422 {"errors": ...}), in the caller's language. Two bodies need the request: a stale
record comes back as the caller may see it now, duplicates with the targets' plans."""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from atrium.errors import AtriumError
from atrium.runtime.access.secured import SecuredRecords
from atrium.runtime.pool.conversion import DuplicatesFound
from atrium.runtime.query.lists import INVALID_CURSOR, InvalidCursor
from atrium.runtime.records.service import StaleRecord
from atrium.ui.api.calls import api_caller, plans_json, to_json
from atrium.ui.web.i18n import word


def api_error(request: Request, error: AtriumError) -> JSONResponse:
    body = error.payload()
    actor = api_caller(request)
    if isinstance(error, StaleRecord) and actor is not None:
        site = request.app.state.site
        entity = site.blueprint.entities.get(request.path_params.get("entity", ""))
        if entity is not None:
            body["current"] = to_json(entity, SecuredRecords(site).visible(actor, entity.name, error.current))
    elif isinstance(error, DuplicatesFound):
        body["targets"] = plans_json(error.plans)
    elif isinstance(error, InvalidCursor):
        locale = actor.locale if actor is not None else request.state.locale
        body.update(message=word(INVALID_CURSOR, locale), parameter=InvalidCursor.parameter)
    elif error.private and error.code == "forbidden":  # says why in words, unlike a 404 that says nothing
        body["message"] = word("You may not do that", actor.locale if actor is not None else request.state.locale)
    return JSONResponse(body, status_code=error.status)
