"""A parent's lines in the JSON API: `POST /api/v1/{entity}` and `PATCH /api/v1/{entity}/{id}`
take the rows of the view's line grids (`form.lines`) under `"lines"`, keyed by `entity.via`:

    {"name": "…", "version": 3,
     "lines": {"quote_line.quote": [{"id": 12, "quantity": 2},             # change a line
                                    {"product": 4, "unit_price": "150000"}, # add one
                                    {"id": 13, "remove": true}]}}           # remove one

The parent and every row are written in one transaction (runtime/access/line_saves.py); a 422
answers `{"errors": {parent field: [...]}, "lines": {"quote_line.quote": {"1": {field: [...]}}}}`
with each bad row by its index. The answer's record carries its lines the same way.
"""
from __future__ import annotations

from typing import Any, Mapping

from sqlalchemy.engine import Connection

from atrium.metadata.model import SYSTEM_FIELDS, Entity, LineGrid
from atrium.runtime.access.line_saves import GridChanges, LineChange
from atrium.runtime.access.secured import SecuredRecords
from atrium.runtime.query.lists import ListQuery
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.site.site import Site
from atrium.ui.api.calls import bad_request, to_json

LINES = "lines"
MAX_ROWS = 500


def grids_of(site: Site, entity: Entity) -> dict[str, LineGrid]:
    return {grid.key: grid for grid in site.blueprint.view(entity.name).lines}


def parse_lines(site: Site, actor: Actor, entity: Entity, data: Mapping[str, Any]) -> list[GridChanges] | None:
    """The body's `lines` as grid changes; None when the body has none."""
    if LINES not in data or LINES in entity.fields:
        return None
    body = data[LINES]
    grids = grids_of(site, entity)
    if not isinstance(body, dict):
        raise bad_request(actor.locale, "'lines' must be an object of rows by grid", LINES)
    result = []
    for key, rows in body.items():
        if key not in grids:
            raise bad_request(actor.locale, "There is no line grid '{grid}'", LINES, grid=key)
        if not isinstance(rows, list) or len(rows) > MAX_ROWS or not all(isinstance(r, dict) for r in rows):
            raise bad_request(actor.locale, "'lines' must be an object of rows by grid", LINES)
        changes = []
        for row in rows:
            line_id = row.get("id")
            if line_id is not None and type(line_id) is not int:
                raise bad_request(actor.locale, "'lines' must be an object of rows by grid", LINES)
            values = {k: v for k, v in row.items() if k not in SYSTEM_FIELDS and k not in ("remove", grids[key].via)}
            changes.append(LineChange(line_id, values, remove=row.get("remove") is True))
        result.append(GridChanges(grids[key], changes))
    return result


def with_lines(site: Site, actor: Actor, entity: Entity, record: Mapping[str, Any],
               connection: Connection | None = None) -> dict[str, Any]:
    """The record as JSON, with the lines of each grid the caller may read."""
    shown = to_json(entity, record)
    grids = grids_of(site, entity)
    if not grids:
        return shown
    secured = SecuredRecords(site)
    lines: dict[str, list[dict[str, Any]]] = {}
    for key, grid in grids.items():
        if not site.access.can(actor, grid.entity, "read"):
            continue
        page = secured.list(actor, ListQuery(grid.entity, where={grid.via: record["id"]}, sort=("id",),
                                             limit=MAX_ROWS), connection)
        lines[key] = [to_json(site.blueprint.entities[grid.entity], line) for line in page.records]
    return {**shown, LINES: lines}
