"""Giving a bin batch back: the records with their own ids and values, and the links a set_null
emptied, in one transaction; or nothing, with the reason, when a restored link would now be
broken (its parent was purged) or a unique value is now another record's.

Records go back parents first (a delete bins the cascade's children before their parent), each
checked against the database as it is now by the records service's own checks, so a link to a
record restored a moment earlier in the same batch counts as present. Roll-ups over the restored
records are refreshed; event automations do not fire (a restore is no new record).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from atrium.errors import AtriumError
from atrium.runtime.automation.messages import message
from atrium.runtime.records.errors import RecordError
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.trash.binning import row_of

if TYPE_CHECKING:
    from atrium.runtime.records.service import RecordService


class RestoreRefused(AtriumError):
    """The batch cannot come back as it was; the text says why, in the actor's language."""

    status, code = 409, "restore_refused"


def restore_entries(records: RecordService, connection: Connection, entries: Sequence[Mapping[str, Any]],
                    actor: Actor) -> None:
    """Insert the batch's records again (parents first), link back its set_null children, refresh
    the roll-ups over them. Raises RestoreRefused, and the caller's transaction writes nothing."""
    blueprint, locale = records.blueprint, actor.locale
    now = records.clock()
    restored: list[tuple[str, dict[str, Any]]] = []
    for entry in sorted(entries, key=lambda e: e["id"], reverse=True):
        name = entry["entity"]
        if name not in blueprint.entities:
            raise RestoreRefused(message("restore_entity_gone", locale, entity=name))
        model, table = records.entity(name), records.tables[name]
        label = model.label.text(locale, blueprint.default_locale)
        row = row_of(table, entry["record_values"])
        if connection.execute(sa.select(table.c.id).where(table.c.id == row["id"])).first() is not None:
            raise RestoreRefused(message("restore_id_taken", locale, entity=label, id=row["id"]))
        fields = {f.name: row[f.name] for f in model if f.name in row}
        try:  # unique values still free, links still pointing at records that exist
            records._check_database(connection, model, [fields], (), locale, None)
        except RecordError as refused:
            raise RestoreRefused(_reason(records, model, refused, locale)) from refused
        connection.execute(table.insert().values(**row))
        records.audit.record_changes(connection, name, row["id"], "restore", [(None, None, None)], now,
                                     actor.user_id)
        restored.append((name, fields | {"id": row["id"]}))
    for name in {name for name, _ in restored}:
        records.rollups.refresh(connection, records.rollups.parents_of(
            name, [fields for entity, fields in restored if entity == name]), source=name)
    for entry in entries:
        _link_again(records, connection, entry, actor)


def _link_again(records: RecordService, connection: Connection, entry: Mapping[str, Any], actor: Actor) -> None:
    """Children a set_null emptied point at the record again, if they are still there and still
    empty (a child linked elsewhere since keeps its new link)."""
    for child, field_name, child_id in entry["links"]:
        if child not in records.blueprint.entities or field_name not in records.entity(child).fields:
            continue
        current = records.get(child, child_id, connection)
        if current is None or current.get(field_name) is not None:
            continue
        try:
            records.update(child, child_id, {field_name: entry["record_id"]}, actor, connection=connection)
        except RecordError as refused:
            raise RestoreRefused(_reason(records, records.entity(child), refused, actor.locale)) from refused


def _reason(records: RecordService, model: Any, refused: RecordError, locale: str) -> str:
    """`Cannot restore Visit: Customer: The linked record does not exist`."""
    default = records.blueprint.default_locale
    errors = getattr(refused, "errors", None) or {"": [str(refused)]}
    field_name, texts = next(iter(errors.items()))
    field = model.fields.get(field_name)
    where = field.label.text(locale, default) if field is not None else ""
    return message("restore_refused", locale, entity=model.label.text(locale, default),
                   reason=message("restore_field", locale, field=where, reason=texts[0]) if where else texts[0])
