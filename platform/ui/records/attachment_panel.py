"""What the attachments panel of a detail page shows: the record's files the reader may see, and
the file fields an upload may go to (the endpoints are in attachments.py)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from sqlalchemy.engine import Connection

from atrium.runtime.files.service import file_url, readable_size
from atrium.ui.web.page_tools import Kit
from atrium.ui.web.present import Lookups


@dataclass(frozen=True)
class ListedFile:
    id: int
    name: str
    url: str
    size: str
    field: str  # the file field's label, empty for an attachment of the record
    who: str
    at: Any
    image: bool
    pdf: bool


def attachment_panel(kit: Kit, connection: Connection, record: Mapping[str, Any], can_update: bool,
                     error: str | None = None) -> dict[str, Any]:
    """What the panel shows: the record's files the reader may see, and where an upload may go."""
    files = kit.site.files
    rows = connection.execute(files.of_record_query, {"of_entity": kit.entity_name,
                                                      "of_record_id": record["id"]}).mappings()
    visible = files.visible(kit.actor, kit.entity_name, rows)
    lookups = Lookups()
    kit.presenter.load_users(connection, [row["created_by"] for row in visible], lookups)
    listed = [ListedFile(row["id"], row["name"], file_url(row["id"]), readable_size(row["size"]),
                         kit.presenter.text(kit.entity.fields[row["field"]].label) if row["field"] else "",
                         lookups.users.get(row["created_by"], ""), row["created_at"],
                         row["content_type"].startswith("image/") and row["content_type"] != "image/svg+xml",
                         row["content_type"] == "application/pdf")
              for row in visible]
    role = kit.site.access.role(kit.actor)
    writable = [(f.name, kit.presenter.text(f.label)) for f in kit.entity if f.type == "file"
                and kit.presenter.mode(kit.entity_name, f.name) != "hidden"
                and not (role is not None and role.fields.get(f"{kit.entity_name}.{f.name}") == "readonly")]
    return {"files": listed, "fields": writable, "can_update": can_update, "error": error,
            "action": f"/r/{kit.entity_name}/{record['id']}/files"}
