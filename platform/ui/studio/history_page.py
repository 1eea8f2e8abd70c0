"""The metadata history: GET /studio/history (who changed what, when), GET /studio/history/{id}
(the change as a diff of the overlay files, in words and as the migration ran), and
POST /studio/history/{id}/undo | /restore (write that version's files back and migrate; data
stays in the database). An undo carries the newest version the person saw: if someone changed
the metadata since, it is refused as stale."""
from __future__ import annotations

from typing import Callable, TypeVar

from sqlalchemy.engine import Connection
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from atrium.runtime.access.people import people_entries
from atrium.runtime.schema.database import connect
from atrium.runtime.site import history as metadata_history
from atrium.runtime.site.change import ChangeError, ChangeRefused, StaleEdit
from atrium.ui.studio.flow import Outcome, diff_lines, refusal_words, review_context, stale_words
from atrium.ui.studio.setup import studio_of, studio_page
from atrium.ui.web.edge import whole_number
from atrium.ui.web.i18n import word
from atrium.ui.web.page_tools import notice
from atrium.ui.web.templating import render
from atrium.ui.web.threads import in_thread, with_form

PAGE = 50
T = TypeVar("T")


def _read(request: Request, call: Callable[[Connection], T]) -> T | None:
    with connect(request.app.state.site.engine) as connection:
        if not metadata_history.has_table(connection):
            return None
        return call(connection)


@studio_page
@in_thread
def history(request: Request) -> Response:
    before = whole_number(request.query_params.get("before", ""), "before", request.state.locale)
    found = _read(request, lambda c: (metadata_history.entries(c, PAGE, before),
                                      metadata_history.latest_version(c))) or ([], 0)
    entries, latest = found
    site = request.app.state.site
    with connect(site.engine) as connection:  # users and teams: data, kept apart from the metadata versions
        people = [] if before is not None else people_entries(connection, site.tables, PAGE)
    return render(request, "studio/history.html", {
        "heading": word("Change history", request.state.locale), "entries": entries, "latest": latest,
        "people_entries": people,
        "older": entries[-1].id if len(entries) == PAGE else None, "applied": None,
        "crumbs": [("/studio", word("Studio", request.state.locale))]})


@studio_page
@in_thread
def history_entry(request: Request) -> Response:
    entry_id = int(request.path_params["entry"])
    found = _read(request, lambda c: (metadata_history.entry(c, entry_id), metadata_history.latest_version(c)))
    if not found or found[0] is None:
        return notice(request, "not_found", 404)
    return _entry_page(request, found[0], found[1], Outcome())


def _entry_page(request: Request, entry, latest: int, outcome: Outcome, status: int = 200) -> Response:
    locale = request.state.locale
    files = [(name, diff_lines(entry.files_before.get(name, ""), entry.files_after.get(name, "")))
             for name in entry.changed_files]
    return render(request, "studio/history_entry.html", {
        "heading": f"#{entry.id} {entry.summary_text(locale)}", "entry": entry, "files": files, "latest": latest,
        "rv": review_context(outcome, locale), "applied": None,
        "crumbs": [("/studio", word("Studio", locale)), ("/studio/history", word("Change history", locale))],
        "confirm": False}, status_code=status)


def _restore(undo: bool):
    @studio_page
    @with_form
    def endpoint(request: Request, form: FormData) -> Response:
        entry_id = int(request.path_params["entry"])
        seen = whole_number(str(form.get("version", "")), "version", request.state.locale)
        studio = studio_of(request)
        try:
            version = studio.changes.restore(entry_id, request.state.actor, -1 if seen is None else seen,
                                             confirm=form.get("confirm") == "yes", undo=undo)
        except StaleEdit as stale:
            outcome = Outcome(refusal=stale_words(stale, request.state.locale,
                                                  request.app.state.site.blueprint.timezone))
        except ChangeRefused as refused:
            outcome = Outcome(preview=refused.preview, refusal=refusal_words(refused, request.state.locale))
            outcome.others = list(refused.preview.problems)
        except ChangeError:
            return notice(request, "not_found", 404)
        else:
            studio.applied(request.app.state, version)
            return RedirectResponse(f"/studio/history?applied={version}", status_code=303)
        found = _read(request, lambda c: (metadata_history.entry(c, entry_id), metadata_history.latest_version(c)))
        assert found is not None  # restore found the entry, so the history table is there
        entry, latest = found
        response = _entry_page(request, entry, latest, outcome, status=409 if outcome.preview is None else 200)
        return response
    endpoint.__name__ = "undo" if undo else "restore"
    return endpoint


undo = _restore(True)
restore = _restore(False)
