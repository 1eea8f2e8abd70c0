"""blueprint.yaml `navigation:` → the header's menus: groups of entities, reports and dashboards
with bilingual labels, each group optionally for some roles only.

    navigation:
      - label: {en: Sales, zh: 销售}
        items: [prospect, account, deal, {report: pipeline_by_stage}]
      - label: {en: Finance, zh: 财务}
        roles: [finance, admin]
        items: [invoice, {dashboard: finance}]

A plain name is an entity; `{report: name}`, `{dashboard: name}` and `{periodic_report: name}`
link a report, a dashboard or a periodic report. Each name must exist (else a file:line:col
problem). An entity no menu names shows under a last "More" menu; without `navigation:` the UI has
one menu of every entity the user may read.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from atrium.metadata.model import Label
from atrium.metadata.sources import Report, Source

# what a navigation item names, as an unknown name's problem says it ('x' is not {what})
KIND_WHATS = {"entity": "an entity", "report": "a report", "dashboard": "a dashboard",
              "periodic_report": "a periodic report"}

KINDS = ("entity", "report", "dashboard", "periodic_report")


@dataclass(frozen=True)
class NavItem:
    kind: str  # entity, report, dashboard or periodic_report
    name: str


@dataclass(frozen=True)
class NavGroup:
    label: Label
    items: tuple[NavItem, ...]
    roles: tuple[str, ...] = ()  # empty: every role

    def for_role(self, role: str | None) -> bool:
        return not self.roles or role in self.roles


def build_navigation(source: Source, known: Mapping[str, Mapping[str, Any]], roles: Mapping[str, Any],
                     report: Report) -> tuple[NavGroup, ...]:
    """The declared groups; `known` maps each kind to the names that exist."""
    groups = []
    for index, spec in enumerate(source.data.get("navigation") or ()):
        path: list[str | int] = ["navigation", index]
        for position, role in enumerate(spec.get("roles") or ()):
            if role not in roles:
                report.unknown(source, [*path, "roles", position], "a role", role, roles)
        items = []
        for position, item in enumerate(spec["items"]):
            kind, name = ("entity", item) if isinstance(item, str) else next(iter(item.items()))
            where = [*path, "items", position] + ([] if isinstance(item, str) else [kind])
            if name not in known[kind]:
                report.unknown(source, where, KIND_WHATS[kind], name, known[kind])
                continue
            items.append(NavItem(kind, name))
        groups.append(NavGroup(Label.of(spec["label"]), tuple(items), tuple(spec.get("roles") or ())))
    return tuple(groups)
