"""The public pool in the pages: the pool list (the entity's list filtered to records nobody
owns), Claim on the pool list's rows and on a pooled record's detail, Release on the detail of a
record the user owns or may change. Every POST carries the session's CSRF token (checked by the
middleware); an HTMX claim from a list row gets the row back, showing the outcome."""
from __future__ import annotations

from typing import Any, Mapping

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from atrium.runtime.access.secured import AccessDenied
from atrium.runtime.pool.service import PoolRefused, PublicPool, pool_of
from atrium.runtime.records.service import RecordNotFound, ValidationFailed
from atrium.ui.records.detail_page import detail_context, messages_of
from atrium.ui.records.record_actions import pool_url
from atrium.ui.web.page_tools import Kit, record_page
from atrium.ui.web.templating import environment, is_htmx, render
from atrium.ui.web.threads import in_thread, with_form


@record_page
@in_thread
def pool_list(request: Request) -> Response:
    kit = Kit(request)
    pool_of(kit.blueprint, kit.entity_name, kit.locale)
    url = pool_url(kit)
    if url is None:
        raise AccessDenied(kit.entity_name)
    return RedirectResponse(url, status_code=303)


@record_page
@with_form
def claim(request: Request, form: FormData) -> Response:
    return _act(request, form, "claim")


@record_page
@with_form
def release(request: Request, form: FormData) -> Response:
    return _act(request, form, "release")


def _act(request: Request, form: FormData, action: str) -> Response:
    kit = Kit(request)
    record_id = kit.record_id()
    from_list = form.get("from") == "list"
    pool = PublicPool(kit.site)
    try:
        record = getattr(pool, action)(kit.actor, kit.entity_name, record_id)
    except PoolRefused as refused:
        return _refused(kit, record_id, str(refused), from_list, refused.status)
    except AccessDenied as denied:
        text = str(denied) if str(denied) != kit.entity_name else kit.word("You may not do that")
        return _refused(kit, record_id, text, from_list, denied.status)
    except ValidationFailed as failed:  # the record's own rules refused the new owner
        return _refused(kit, record_id, "; ".join(t for _, t in messages_of(kit, failed.errors)), from_list,
                        failed.status)
    if from_list and is_htmx(request):
        return _row(kit, record_id, record,
                    kit.word("Claimed") if action == "claim" else kit.word("Released to the public pool"))
    if from_list:
        back = request.headers.get("referer", "")
        return RedirectResponse(back if back.startswith(str(request.base_url)) else f"/r/{kit.entity_name}",
                                status_code=303)
    if set(record) == {"id"}:  # released out of the user's sight
        return RedirectResponse(f"/r/{kit.entity_name}", status_code=303)
    return RedirectResponse(f"/r/{kit.entity_name}/{record_id}", status_code=303)


def _refused(kit: Kit, record_id: int, text: str, from_list: bool, status: int) -> Response:
    if from_list and is_htmx(kit.request):
        return _row(kit, record_id, None, text, error=True)  # 200: htmx swaps only successful answers
    if from_list:
        return render(kit.request, "notice.html", {"title": text}, status_code=status)
    status = 200 if is_htmx(kit.request) else status  # htmx swaps only successful answers
    try:
        context = detail_context(kit, record_id, [("", text)])
    except RecordNotFound:  # gone from the user's sight (claimed by someone else): say so plainly
        return render(kit.request, "notice.html", {"title": text}, status_code=status)
    return render(kit.request, "detail.html", context, status_code=status)


ROW = environment.from_string(
    '<tr class="pool-outcome{{ " error" if error else "" }}"><td colspan="99">'
    '{% if error %}<span class="error" role="alert">{{ text }}</span>'
    '{% else %}<span class="ok">✓ {{ text }}</span>{% endif %}'
    '{% if href %} <a href="{{ href }}">{{ title }}</a>{% endif %}</td></tr>')


def _row(kit: Kit, record_id: int, record: Mapping[str, Any] | None, text: str, error: bool = False) -> Response:
    href = title = None
    if record is not None and len(record) > 1:
        with kit.site.engine.connect() as connection:
            title = kit.site.queries.titles_of(connection, kit.entity_name, [record], kit.actor).get(record_id)
        href = f"/r/{kit.entity_name}/{record_id}"
    html = ROW.render(text=text, error=error, href=href, title=title or f"#{record_id}")
    return HTMLResponse(html, headers={"Vary": "HX-Request, Cookie"})
