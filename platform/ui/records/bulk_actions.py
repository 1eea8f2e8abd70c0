"""Bulk actions on the list page: ticked rows given to another owner ("Assign to…", the users
the actor may give records to: `Access.owner_reach`) or released to the public pool (entities
with `pool:`), in one form posted to `/r/{entity}/bulk`, all or nothing
(runtime/access/bulk_changes.py). Only roles that may update the entity see the bar, the select
only when they may write the owner field. An HTMX post gets the outcome line and an
`HX-Trigger: bulk-done` that refreshes the list; without JavaScript the outcome is a page
linking back to the list."""
from __future__ import annotations

from typing import Any, Mapping

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from atrium.errors import AtriumError
from atrium.runtime.access.bulk_changes import BulkChanges, BulkRefused
from atrium.runtime.records.errors import ValidationFailed
from atrium.ui.web.edge import whole_number
from atrium.ui.web.page_tools import Kit, record_page
from atrium.ui.web.templating import is_htmx, render
from atrium.ui.web.threads import with_form

MAX_OWNERS = 200  # users offered in the select


def owners_offered(kit: Kit, connection: Connection) -> list[tuple[int, str]]:
    """The active users the actor may give the entity's records to, by name."""
    table = kit.site.tables.system("atrium_users")
    query = sa.select(table.c.id, table.c.display_name, table.c.name).where(table.c.active.is_(True))
    reach = kit.site.access.owner_reach(connection, kit.actor, kit.entity_name)
    if reach is not None:
        query = query.where(table.c.id.in_([i for i in reach if i is not None]))
    query = query.order_by(table.c.display_name, table.c.id).limit(MAX_OWNERS)
    return [(row.id, row.display_name or row.name) for row in connection.execute(query)]


def bulk_context(kit: Kit, connection: Connection) -> dict[str, Any]:
    """`bulk`: None when the actor may change none of the entity's records, else the owners the
    select offers (empty: no "Assign to…") and whether "Release to pool" shows."""
    if kit.actor is None or not kit.can("update"):
        return {"bulk": None}
    owner = kit.entity.owner
    owners = (owners_offered(kit, connection) if owner and owner in kit.entity.fields
              and kit.presenter.mode(kit.entity_name, owner) == "write" else [])
    release = kit.entity.pool is not None
    if not owners and not release:
        return {"bulk": None}
    return {"bulk": {"owners": owners, "release": release}}


@record_page
@with_form
def bulk(request: Request, form: FormData) -> Response:
    kit = Kit(request)
    ids = [number for v in form.getlist("ids") if (number := whole_number(v, "ids", kit.locale)) is not None]
    action = form.get("action")
    changes = BulkChanges(kit.site)
    try:
        if not ids:
            return _outcome(kit, kit.word("Tick the records first"), error=True)
        if action == "release":
            count = changes.release(kit.actor, kit.entity_name, ids)
            return _outcome(kit, kit.word("{count} record(s) released to the public pool", count=count))
        owner = form.get("assign_to")
        owner_id = whole_number(owner, "assign_to", kit.locale) if isinstance(owner, str) else None
        if action != "assign" or not kit.entity.owner or owner_id is None:
            return _outcome(kit, kit.word("Choose whom to assign them to"), error=True)
        count = changes.set(kit.actor, kit.entity_name, ids, {kit.entity.owner: owner_id})
        return _outcome(kit, kit.word("{count} record(s) assigned", count=count))
    except BulkRefused as refused:
        return _outcome(kit, str(refused), error=True, reasons=_reasons(kit, refused.refused), status=refused.status)
    except ValidationFailed as failed:
        return _outcome(kit, "; ".join(" ".join(texts) for texts in failed.errors.values()), error=True,
                        status=failed.status)
    except AtriumError as error:
        text = kit.word("You may not do that") if error.private else str(error)
        return _outcome(kit, text, error=True, status=error.status)


def _reasons(kit: Kit, refused: Mapping[int, Any]) -> list[tuple[str, str]]:
    """(the record's title or #id, why) for each refused record the actor may read."""
    with kit.site.engine.connect() as connection:
        titles = kit.presenter.readable_titles(connection, kit.entity_name, set(refused))
    return [(titles.get(record_id) or f"#{record_id}",
             reason if isinstance(reason, str) else "; ".join(" ".join(texts) for texts in reason.values()))
            for record_id, reason in refused.items()]


def _outcome(kit: Kit, text: str, error: bool = False, reasons: list[tuple[str, str]] | None = None,
             status: int = 200) -> Response:
    context = {"text": text, "error": error, "reasons": reasons or [], "entity": kit.entity,
               "entity_name": kit.entity_name}
    if is_htmx(kit.request):  # htmx swaps only successful answers
        headers = {"Vary": "HX-Request, Cookie"}
        if not error:
            headers["HX-Trigger"] = "bulk-done"
        return render(kit.request, "bulk_done.html", context, block="outcome", headers=headers)
    return render(kit.request, "bulk_done.html", context, status_code=status if error else 200)
