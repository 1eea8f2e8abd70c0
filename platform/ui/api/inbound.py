"""`POST /api/v1/inbound/{name}`: a signed webhook from another system (integrations/<name>.yaml).

No session or token: the HMAC signature is the credential, checked (runtime/access/inbound.py)
before the JSON is parsed; the body is read up to the integration's limit and no further. An
unknown name is 404, a bad signature 401 with nothing written; the answer lists the ids created
and updated. The OpenAPI paths are here too (`inbound_paths`)."""
from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from atrium.runtime.access import inbound
from atrium.translation import negotiate
from atrium.ui.api.openapi_common import response_ref
from atrium.ui.web.i18n import word

NOT_FOUND = {"error": "not_found"}


async def receive(request: Request) -> Response:
    site = request.app.state.site
    spec = site.blueprint.integrations.get(request.path_params["name"])
    if spec is None:
        return JSONResponse(NOT_FOUND, status_code=404)
    locale = negotiate(request.headers.get("accept-language", ""), site.blueprint.locales) or "en"
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > spec.max_body:  # the rest is not read
            await run_in_threadpool(inbound.record, site, spec.name, 413, len(body), inbound.Received(),
                                    word(inbound.TOO_LARGE, "en"))
            return JSONResponse({"error": "too_large", "message": word(inbound.TOO_LARGE, locale)}, status_code=413)
    received = await run_in_threadpool(inbound.receive, site, spec, request.headers, bytes(body), locale)
    return JSONResponse(received.to_json())


def inbound_paths(blueprint: Any) -> dict[str, Any]:
    """One path per declared inbound webhook, for the systems that call them."""
    paths: dict[str, Any] = {}
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    for name, spec in blueprint.integrations.items():
        signed = f"`{spec.header}`: the {spec.encoding} HMAC-SHA256 (a `sha256=` prefix is accepted) of " + (
            f"`{{timestamp}}.{{body}}`, the timestamp (Unix seconds) in `{spec.timestamp_header}`, at most "
            f"{spec.tolerance_seconds} s from the server's clock" if spec.timestamp_header else "the raw body")
        paths[f"/api/v1/inbound/{name}"] = {"post": {
            "operationId": f"inbound_{name}", "tags": ["inbound"], "security": [],
            "summary": f"Receive {name}: upserts of {spec.entity} by its external key",
            "description": f"Signed with the key in environment variable `{spec.secret}`: {signed}. "
                           f"At most {spec.max_body // 1024} KB. Runs as user `{spec.run_as}`; all or nothing.",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {}}}},
            "responses": {
                "200": {"description": "The ids created and updated", "content": {"application/json": {
                    "schema": {"type": "object", "required": ["created", "updated"], "properties": {
                        "created": {"type": "array", "items": {"type": "integer"}},
                        "updated": {"type": "array", "items": {"type": "integer"}}}}}}},
                "400": {"description": "The JSON does not have the declared shape", **error},
                "401": {"description": "No valid signature (or a stale timestamp); nothing was read further",
                        **error},
                "403": {"description": "The integration's user may not make these changes", **error},
                "404": {"description": "No such endpoint", **error},
                "409": response_ref("Conflict"),
                "413": {"description": "The body is too large", **error},
                "422": {"description": "Some items were refused (`refused` by position); nothing was saved",
                        **error}}}}
    return paths
