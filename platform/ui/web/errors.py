"""The pages' one answer to errors: an AtriumError no page answered in place (a form re-shown
with its field errors is answered in place) becomes the notice page with the error's status,
titled with the error's own text, or with the reader's word for its kind when its text is not
for people (a 404 says "not found", never which entity or id). An htmx request gets the same
page, as every notice does. The app sends /api/ paths to the API's handler (ui/api/errors.py)."""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from atrium.errors import AtriumError
from atrium.ui.web.page_tools import notice
from atrium.ui.web.templating import render


def page_error(request: Request, error: AtriumError) -> Response:
    if error.private:
        return notice(request, error.code, error.status)
    return render(request, "notice.html", {"title": str(error)}, status_code=error.status)

