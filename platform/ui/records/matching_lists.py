"""The detail page's matching lists (`detail.matching`): records of another entity whose fields
equal the shown record's, e.g. the published cases of an order's industry. Each is read through
SecuredRecords like every list (the reader's read scope in its WHERE), shown only while its `when`
holds on the record and only when the reader may see the fields it compares; it shows its first
rows and links to the list page filtered the same way."""
from __future__ import annotations

from typing import Any, Mapping
from urllib.parse import urlencode

from atrium.metadata.matching_lists import MatchingList
from atrium.runtime.query.lists import ListQuery
from atrium.ui.records.form_model import FormModel
from atrium.ui.records.list_page import cells, count_text
from atrium.ui.web.page_tools import Kit


def matching_lists(kit: Kit, connection, record: Mapping[str, Any], related_type: Any) -> list:
    """One `related_type` (the detail page's related list) per matching list the reader gets."""
    result = []
    model = FormModel(kit, record)
    full = {f.name: None for f in kit.entity} | dict(record)
    for spec in kit.view.matching:
        values = _wanted(kit, spec, record)
        if values is None or not model.holds(spec.when, full):
            continue
        where = {**dict(spec.where), **values}
        page = kit.secured.list(kit.actor, ListQuery(spec.entity, where=where, sort=("-created_at",),
                                                     limit=spec.limit), connection)
        theirs = {name for name, _ in spec.match}
        paths = list(spec.columns) or [p for p in (kit.blueprint.view(spec.entity).columns or _defaults(kit, spec))
                                       if p.split(".")[0] not in theirs][:5]
        columns = kit.presenter.columns(spec.entity, paths)
        lookups = kit.presenter.load(connection, spec.entity, page.records, [c.path for c in columns])
        result.append(related_type(spec.entity, kit.presenter.text(spec.label), count_text(page, None), columns,
                                   cells(kit.presenter, spec.entity, page.records, columns, lookups),
                                   f"/r/{spec.entity}?{urlencode(_url_filters(where), doseq=True)}", None,
                                   key=f"matching-{spec.entity}-{'-'.join(sorted(theirs))}"))
    return result


def _wanted(kit: Kit, spec: MatchingList, record: Mapping[str, Any]) -> dict[str, Any] | None:
    """Their field → this record's value; None when the reader may not read the listed entity or
    one of the compared fields, or when the record's value is empty (it matches nothing)."""
    if not kit.can("read", spec.entity):
        return None
    access = kit.site.access
    values = {}
    for theirs, mine in spec.match:
        if (access.field_mode(kit.actor, spec.entity, theirs) == "hidden"
                or access.field_mode(kit.actor, kit.entity_name, mine) == "hidden"
                or record.get(mine) in (None, "")):
            return None
        values[theirs] = record[mine]
    return values


def _url_filters(where: Mapping[str, Any]) -> dict[str, str]:
    """The plain `field: value` parts of the condition as list-page filters."""
    shown = {}
    for name, value in where.items():
        if isinstance(value, bool):
            shown[name] = "true" if value else "false"
        elif isinstance(value, str | int | float):
            shown[name] = str(value)
    return shown


def _defaults(kit: Kit, spec: MatchingList) -> list[str]:
    return [f.name for f in kit.blueprint.entities[spec.entity]
            if f.type not in ("textarea", "location", "multiselect", "file")][:6]
