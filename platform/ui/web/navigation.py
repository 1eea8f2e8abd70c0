"""The header's menus: the blueprint's `navigation:` groups (metadata/navigation.py) as the
signed-in user may use them — entities their role may read, reports they may run, dashboards of
their role, groups for their role, then "More" with the readable entities no menu names (one
the studio just added) — or, without the declaration, one menu of every readable entity. Each
menu is a `<details>` in the header, so it opens without JavaScript."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from atrium.runtime.periodic.service import PeriodicReports
from atrium.runtime.reports.runner import Reports
from atrium.translation import N_, NC_, pword
from atrium.ui.reports.dashboard_page import visible_dashboards
from atrium.ui.web.i18n import word

FALLBACK = N_("Records")  # the one menu's name when the blueprint declares none
MORE = NC_("menu", "More")  # the last menu: readable entities no declared menu names (e.g. one added in the studio)


@dataclass(frozen=True)
class Link:
    href: str
    text: str
    key: str  # an entity's name, "_report:NAME" or "_dashboard:NAME": what `active_entity` matches


@dataclass(frozen=True)
class Menu:
    text: str
    links: tuple[Link, ...]

    def holds(self, active: Any) -> bool:
        return any(link.key == active for link in self.links)


def menus(request: Request) -> list[Menu]:
    """The menus of this request's user, worked out once per site (one metadata version), role
    and language: what they hold depends on nothing else (the role's grants, the blueprint)."""
    site = request.app.state.site
    actor = request.state.actor
    locale = getattr(request.state, "locale", None) or site.blueprint.default_locale
    kept = vars(site).setdefault("_header_menus", {})
    key = (actor.role, actor.user_id is None, locale)
    found = kept.get(key)
    if found is None:
        found = kept[key] = tuple(_menus(site, actor, locale))
    return list(found)


def _menus(site: Any, actor: Any, locale: str) -> list[Menu]:
    blueprint = site.blueprint

    def text(label: Any) -> str:
        return label.text(locale, blueprint.default_locale)

    readable = [name for name in blueprint.entities if site.access.can(actor, name, "read")]
    if not blueprint.navigation:
        every = tuple(Link(f"/r/{name}", text(blueprint.entities[name].plural), name) for name in readable)
        return [Menu(word(FALLBACK, locale), every)] if every else []
    reports = {document.name for document in Reports(site).available(actor)}
    dashboards = {document.name: document for document in visible_dashboards(site, actor)}
    shown = []
    for group in blueprint.navigation:
        if not group.for_role(actor.role):
            continue
        links: list[Link] = []
        for item in group.items:
            if item.kind == "entity" and item.name in readable:
                links.append(Link(f"/r/{item.name}", text(blueprint.entities[item.name].plural), item.name))
            elif item.kind == "report" and item.name in reports:
                links.append(Link(f"/reports/{item.name}", text(blueprint.reports[item.name].label),
                                  f"_report:{item.name}"))
            elif item.kind == "dashboard" and item.name in dashboards:
                links.append(Link(f"/dashboards/{item.name}", text(dashboards[item.name].label),
                                  f"_dashboard:{item.name}"))
            elif item.kind == "periodic_report" and PeriodicReports(site).concerns(
                    actor, blueprint.periodic_reports[item.name]):
                links.append(Link(f"/my-reports/{item.name}", text(blueprint.periodic_reports[item.name].label),
                                  f"_periodic:{item.name}"))
        if links:
            shown.append(Menu(text(group.label), tuple(links)))
    declared = {item.name for group in blueprint.navigation for item in group.items if item.kind == "entity"}
    rest = tuple(Link(f"/r/{name}", text(blueprint.entities[name].plural), name)
                 for name in readable if name not in declared)
    if rest:
        shown.append(Menu(pword(*MORE, locale), rest))
    return shown
