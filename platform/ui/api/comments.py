"""Comments in the JSON API, with the same rules as the detail page (runtime/comments):

    GET  /api/v1/{entity}/{id}/comments?limit=   the record's comments, newest first: 200 | 404
    POST /api/v1/{entity}/{id}/comments {text}   a comment; each @name mentioned is told: 201 | 404 | 422

A record the caller may not read is a 404 either way; a text that is empty, too long, or mentions
someone unknown or someone who may not read the record is a 422 `{"errors": {"text": [...]}}`
in the caller's language, and nothing is saved.
"""
from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from atrium.runtime.comments.service import TEXT, Comment
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.records.service import RecordNotFound
from atrium.ui.api.approvals import approval_endpoint
from atrium.ui.api.calls import json_object, page_limit, plain
from atrium.ui.web.threads import in_thread, with_body


def comment_json(comment: Comment) -> dict[str, Any]:
    return {"id": comment.id, "entity": comment.entity, "record_id": comment.record_id,
            "author_id": comment.author_id, "author": comment.author, "text": comment.body,
            "mentions": list(comment.mentions), "created_at": plain(comment.created_at),
            "edited_at": plain(comment.edited_at), "version": comment.version}


def _entity(request: Request, site: Any) -> str:
    entity = request.path_params["entity"]
    if entity not in site.blueprint.entities:
        raise RecordNotFound(entity)
    return entity


@approval_endpoint
@in_thread
def list_comments(request: Request, site: Any, actor: Actor) -> Response:
    limit = page_limit(actor, request.query_params.get("limit"))
    found = site.comments.of_record(actor, _entity(request, site), request.path_params["record_id"], limit=limit)
    return JSONResponse({"data": [comment_json(c) for c in found]})


@approval_endpoint
@with_body
def add_comment(request: Request, site: Any, actor: Actor, body: bytes) -> Response:
    entity = _entity(request, site)
    data = json_object(body, actor.locale)
    comment = site.comments.add(actor, entity, request.path_params["record_id"], data.get(TEXT))
    return JSONResponse(comment_json(comment), status_code=201)
