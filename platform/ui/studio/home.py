"""GET /studio: every document the studio edits, grouped by kind, with links to its editors."""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from atrium.metadata.loader import display_path
from atrium.ui.studio.setup import studio_of, studio_page
from atrium.ui.web.i18n import word
from atrium.ui.web.templating import render
from atrium.ui.web.threads import in_thread


@studio_page
@in_thread
def studio_home(request: Request) -> Response:
    blueprint = request.app.state.site.blueprint
    studio = studio_of(request)
    views = set(blueprint.views)
    dashboards = [(name, document, list(document.get("roles") or ()))
                  for name, document in blueprint.dashboards.items()]
    return render(request, "studio/home.html", {
        "heading": word("Studio", request.state.locale), "folder": display_path(studio.overlay.folder.resolve()),
        "entities": [(name, entity, name in views, blueprint.pipeline_for(name))
                     for name, entity in blueprint.entities.items()],
        "pipelines": list(blueprint.pipelines.items()), "reports": sorted(blueprint.reports.items()),
        "dashboards": dashboards, "automations": sorted(blueprint.automations.items()),
        "roles": list(blueprint.roles.items()), "applied": None,
    })
