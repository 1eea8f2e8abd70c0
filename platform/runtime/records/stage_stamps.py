"""Fields stamped by stage moves (`stamp_on_stage`): a won deal's `won_on`, a lost one's `lost_on`.

When a write moves a record into one of a field's stages (or creates it there), the field gets
today's date (a datetime field: the moment), in the blueprint's time zone; when it moves to a stage
the field does not list, the field is cleared (a reopened deal is no longer won). A record whose
stage does not change keeps its stamps. A value given with the move itself is kept: an import or a
seed of a deal closed last year says when. `RecordRules.prepare` calls this for every write path
(form, board, API, bulk, automation, import, seed), so it happens in the write's transaction.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Mapping

from atrium.metadata.model import Entity
from atrium.runtime.records.coercion import is_empty


def stage_moved(entity: Entity, current: Mapping[str, Any] | None, record: Mapping[str, Any]) -> bool:
    stage = entity.stage_field
    if stage is None:
        return False
    before = current.get(stage.name) if current is not None else None
    return record.get(stage.name) != before


def apply_stage_stamps(entity: Entity, current: Mapping[str, Any] | None, record: dict[str, Any],
                       changes: Mapping[str, Any], now: dt.datetime) -> None:
    """Set or clear each stamped field of `record` if the write moves its stage. `now` is local."""
    if not entity.stamped_fields or not stage_moved(entity, current, record):
        return
    assert entity.stage_field is not None  # stamped fields load only on entities with a stage
    target = record.get(entity.stage_field.name)
    for field in entity.stamped_fields:
        if not is_empty(changes.get(field.name)):
            continue  # the write says when (an import, the seed, a correction)
        if target in field.stamp_on_stage:
            record[field.name] = now if field.type == "datetime" else now.date()
        else:
            record[field.name] = None
