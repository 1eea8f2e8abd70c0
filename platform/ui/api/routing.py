"""The JSON API's routing table, kept to the OpenAPI document (ui/api/openapi.py).

Each path of the API is one route that takes every method and dispatches itself, so that:
- an id in the path is checked before anything runs: not a whole number from 1 to 2^63-1 is a
  400 naming the parameter (never Starlette's text/plain 404, never a database overflow);
- a method the path does not have is a 405 whose `Allow` lists the methods the caller's document
  has for that path (so does POST of an approval on an entity with no rule to ask under), and
  OPTIONS answers 204 with the same `Allow` (both 404 for a path the caller's document lacks);
- a method the path has but the caller's role may not use is the handler's 403, as the document's
  Forbidden says, and any other path under /api/ is a JSON 404.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from atrium.ui.api import actions, approvals, by_key, comments, files, inbound, periodic_reports, records, trash
from atrium.ui.api.calls import UNAUTHORIZED, api_caller, bad_request, parse_id
from atrium.ui.api.openapi import document
from atrium.ui.api.openapi_common import MAX_ID
from atrium.ui.search import api as search_api
from atrium.ui.web.i18n import word
from atrium.ui.web.threads import RUNS_IN_THREAD, runs_in_thread

Endpoint = Callable[[Request], Awaitable[Response]]
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
NOT_FOUND = {"error": "not_found"}
IDS = ("record_id", "approval_id", "file_id")


@dataclass(frozen=True)
class ApiPath:
    path: str  # Starlette's template; ids are `{record_id}` / `{approval_id}` / `{file_id}`, checked here
    documented: str  # the document's key for it, with path parameters filled in but ids as `{id}`
    handlers: dict[str, Endpoint]
    name: str
    as_documented: bool = False  # a method the caller's document does not list here is a 405, not the handler's


def _documented(template: str, params: dict[str, Any]) -> str:
    kept = (*IDS, "value")  # an external key stays `{value}` in the document, as ids stay `{id}`
    return template.format(**{key: value for key, value in params.items() if key not in kept}, id="{id}",
                           value="{value}")


def allowed(request: Request, template: str) -> list[str] | None:
    """The methods the caller's document has for this path (None: the path is not in it)."""
    site, actor = request.app.state.site, request.state.actor
    operations = document(site, actor)["paths"].get(_documented(template, dict(request.path_params)))
    if operations is None:
        return None
    methods = [method.upper() for method in operations if method.upper() in METHODS]
    return (["HEAD"] if "GET" in methods else []) + methods + ["OPTIONS"]


def dispatcher(api_path: ApiPath) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        actor = api_caller(request)
        for key in IDS:
            if key in request.path_params:
                value = parse_id(str(request.path_params[key]))
                if value is None:
                    locale = actor.locale if actor is not None else request.state.locale
                    error = bad_request(locale, "An id is a whole number from 1 to {max}", "id", max=MAX_ID)
                    return JSONResponse(error.body, status_code=400)
                request.scope["path_params"][key] = value
        method = "GET" if request.method == "HEAD" else request.method
        handler = api_path.handlers.get(method)
        if handler is not None and not (api_path.as_documented and actor is not None):
            return await handler(request)
        if actor is None:
            return JSONResponse(UNAUTHORIZED, status_code=401)
        methods = await run_in_threadpool(allowed, request, api_path.documented)
        if methods is None:  # not a path of the caller's document
            return await handler(request) if handler is not None else JSONResponse(NOT_FOUND, status_code=404)
        if handler is not None and method in methods:
            return await handler(request)
        headers = {"Allow": ", ".join(methods)}
        if method == "OPTIONS":
            return Response(status_code=204, headers=headers)
        return JSONResponse({"error": "method_not_allowed",
                             "message": word("This address does not take {method}", actor.locale, method=method)},
                            status_code=405, headers=headers)
    endpoint.__name__ = api_path.name
    # the handlers say how they run (tests/ui/test_event_loop.py); the document for Allow is built in a thread
    setattr(endpoint, RUNS_IN_THREAD, all(runs_in_thread(handler) for handler in api_path.handlers.values()))
    return endpoint


def not_found(request: Request) -> Response:
    return JSONResponse(NOT_FOUND, status_code=404)


ENTITY, RECORD, APPROVAL = "/api/v1/{entity}", "/api/v1/{entity}/{record_id}", "/api/v1/approvals/{approval_id}"
PATHS = [
    ApiPath("/api/v1/openapi.json", "/api/v1/openapi.json", {"GET": records.openapi_json}, "api_openapi"),
    ApiPath("/api/v1/approvals", "/api/v1/approvals", {"GET": approvals.list_approvals}, "api_approvals"),
    ApiPath(APPROVAL, "/api/v1/approvals/{id}", {"GET": approvals.get_approval}, "api_approval"),
    *[ApiPath(APPROVAL + "/" + decision, "/api/v1/approvals/{id}/" + decision,
              {"POST": approvals.decision_endpoints[decision]}, f"api_approval_{decision}")
      for decision in ("approve", "reject", "withdraw")],
    ApiPath("/api/v1/reports/{name}", "/api/v1/reports/{name}", {"GET": records.run_report}, "api_report"),
    ApiPath("/api/v1/search", "/api/v1/search", {"GET": search_api.search}, "api_search"),
    ApiPath("/api/v1/periodic-reports", "/api/v1/periodic-reports", {"GET": periodic_reports.list_reports},
            "api_periodic_reports"),
    ApiPath("/api/v1/periodic-reports/{name}", "/api/v1/periodic-reports/{name}",
            {"GET": periodic_reports.get_report, "PUT": periodic_reports.put_report}, "api_periodic_report"),
    ApiPath("/api/v1/periodic-reports/{name}/team", "/api/v1/periodic-reports/{name}/team",
            {"GET": periodic_reports.team}, "api_periodic_report_team"),
    ApiPath("/api/v1/trash", "/api/v1/trash", {"GET": trash.list_trash}, "api_trash"),
    ApiPath("/api/v1/inbound/{name}", "/api/v1/inbound/{name}", {"POST": inbound.receive}, "api_inbound"),
    ApiPath("/api/v1/files/{file_id}", "/api/v1/files/{id}",
            {"GET": files.download_file, "DELETE": files.delete_file}, "api_file"),
    ApiPath(ENTITY, ENTITY, {"GET": records.list_records, "POST": records.create_record}, "api_list"),
    ApiPath(ENTITY + "/bulk", ENTITY + "/bulk", {"POST": actions.bulk}, "api_bulk"),
    ApiPath(ENTITY + "/by-key", ENTITY + "/by-key", {"POST": by_key.upsert_many}, "api_upsert_many"),
    ApiPath(ENTITY + "/by-key/{value}", ENTITY + "/by-key/{value}",
            {"GET": by_key.get_by_key, "PUT": by_key.put_by_key}, "api_by_key"),
    ApiPath(RECORD, "/api/v1/{entity}/{id}", {"GET": records.get_record, "PATCH": records.update_record,
                                               "DELETE": records.delete_record}, "api_record"),
    ApiPath(RECORD + "/files", "/api/v1/{entity}/{id}/files", {"GET": files.list_files, "POST": files.upload_file},
            "api_record_files"),
    ApiPath(RECORD + "/claim", "/api/v1/{entity}/{id}/claim", {"POST": actions.claim}, "api_claim"),
    ApiPath(RECORD + "/release", "/api/v1/{entity}/{id}/release", {"POST": actions.release}, "api_release"),
    ApiPath(RECORD + "/convert", "/api/v1/{entity}/{id}/convert",
            {"GET": actions.convert_plan, "POST": actions.convert}, "api_convert"),
    ApiPath(RECORD + "/restore", "/api/v1/{entity}/{id}/restore", {"POST": trash.restore}, "api_restore"),
    ApiPath(RECORD + "/approvals", "/api/v1/{entity}/{id}/approvals",
            {"GET": approvals.record_approvals, "POST": approvals.request_approval}, "api_record_approvals",
            as_documented=True),  # POST only where the entity has rules to ask approval under
    ApiPath(RECORD + "/comments", "/api/v1/{entity}/{id}/comments",
            {"GET": comments.list_comments, "POST": comments.add_comment}, "api_record_comments"),
]
EVERY = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]  # each path says which it takes
routes = [Route(p.path, dispatcher(p), methods=EVERY, name=p.name) for p in PATHS]
routes.append(Route("/api/{rest:path}", not_found, methods=EVERY, name="api_not_found"))
