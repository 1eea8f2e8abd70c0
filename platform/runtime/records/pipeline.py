"""The write pipeline: the ordered steps every create, update, delete and bulk write goes through,
written once, inside the write's transaction.

    guard → database checks → linked records → write → audit → pool releases → owners that follow
          → stage history → rollups → linked formulas → event rules

- **guard**: a pending approval's lock and the values only a decision sets (`WriteHooks.guard`).
- **database checks**: unique values and linked records that must exist (`_check_database`).
- **linked records**: a delete applies its children's on_delete (restrict, cascade, set_null).
- **write**: the caller's own statement (`store`): a batch INSERT, one UPDATE under its version,
  the set-wise UPDATEs of a bulk update (set_writes.py), a DELETE.
- **audit**: atrium_history rows, one per changed field (a bulk create: one per record).
- **pool releases**: owners a person's update emptied go back to the pool (pool/releases.py).
- **owners that follow**: records whose owner follows an updated record's (`owner_follows:`) take
  its new owner, set-wise, each level by a bulk update of its own marked `following`, and the new
  owner is told once (owner_follows.py). A following write is no pool event and no person's edit:
  it skips the guard and the pool releases, and does not start another round of following.
- **stage history**: each record that enters a stage.
- **rollups**: the parents whose rollups read the records, before and after.
- **linked formulas**: stored formulas of other records that read an updated field through a
  dotted path (linked_formulas.py).
- **event rules**: the automations the write fires (`WriteHooks.events`); when one ran, the
  records are read again, as the rules left them. A delete fires its rules before the DELETE,
  while the record still exists for their `where`.

When any step raises nothing is written: the caller's transaction rolls back.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Sequence

from sqlalchemy.engine import Connection

from atrium.metadata.model import Entity
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.records.hooks import Pair, Record

if TYPE_CHECKING:
    from atrium.runtime.records.service import RecordService

Change = tuple[str, Any, Any]  # (field, old value, new value)


@dataclass
class Write:
    """One write of records of one entity, as the steps see it."""

    model: Entity
    event: str  # create, update or delete
    actor: Actor
    pairs: Sequence[Pair]  # (before, after) as asked: before None for a create, after None for a delete
    changes: Sequence[Sequence[Change]] = ()  # an update's changed fields, one list per pair
    checked: Sequence[Record] | None = None  # values to check against the database
    own_ids: Sequence[int] = ()  # records being changed, which may keep their own unique values
    first_row: int | None = None  # a bulk write names its bad row, counted from this one
    each_field: bool = True  # a create audits each field's value; a bulk create one row per record
    partial: bool = False  # an update's records hold only some columns (EventAutomations.update_pairs)
    linked: Callable[[], None] | None = None  # a delete's on_delete, applied before it
    following: bool = False  # owners following a parent's (owner_follows.py): the engine's own write


def afters(pairs: Sequence[Pair]) -> list[Record]:
    return [after for _, after in pairs if after is not None]


def befores(pairs: Sequence[Pair]) -> list[Record]:
    return [before for before, _ in pairs if before is not None]


def updates(pairs: Sequence[Pair]) -> list[tuple[Record, Record]]:
    return [(before, after) for before, after in pairs if before is not None and after is not None]


class WritePipeline:
    def __init__(self, service: RecordService):
        self.service = service

    def run(self, connection: Connection, write: Write, store: Callable[[dt.datetime], Sequence[Pair]]) -> list[Pair]:
        """Every step in order around `store(now)`, which writes and returns the pairs as written;
        returns them as the event rules left them."""
        service, model, actor = self.service, write.model, write.actor
        hooks = service.hooks
        if hooks.guard is not None and not write.following:
            fields = [[name for name, _, _ in found] for found in write.changes]  # none for a create or delete
            hooks.guard.check(connection, model, [(before, after, fields[i] if fields else None)
                                                  for i, (before, after) in enumerate(write.pairs)],
                              actor, write.first_row)
        if write.checked is not None:
            service._check_database(connection, model, list(write.checked), write.own_ids,
                                    actor.locale, write.first_row)
        if write.linked is not None:
            write.linked()
        if write.event == "delete":
            self._fire(connection, write, write.pairs)
        now = service.clock()
        pairs = list(store(now))
        self._audit(connection, write, pairs, now)
        if write.event == "update" and not write.following:
            service.pool_releases.record(connection, model.name, updates(pairs), actor, now)
            service.owner_follows.follow(connection, write, now)
        stage = model.stage_field
        if stage is not None and stage.pipeline and write.event != "delete":
            service.audit.record_stage(connection, model.name, stage.pipeline, [
                (after["id"], None if before is None else before[stage.name], after[stage.name])
                for before, after in pairs if after is not None
                and (before[stage.name] != after[stage.name] if before is not None else after[stage.name])],
                now, actor.user_id)
        service.rollups.refresh(connection, service.rollups.parents_of(
            model.name, [record for pair in pairs for record in pair if record is not None]), source=model.name)
        if write.event == "update":
            service.linked_formulas.propagate(connection, model.name, updates(pairs))
        if write.event != "delete" and self._fire(connection, write, pairs):
            fresh = {r["id"]: r for r in service.read_many(connection, model.name, [a["id"] for a in afters(pairs)])}
            pairs = [(before, fresh.get(after["id"], after) if after is not None else None) for before, after in pairs]
        return pairs

    def _audit(self, connection: Connection, write: Write, pairs: Sequence[Pair], now: dt.datetime) -> None:
        audit, entity, by = self.service.audit, write.model.name, write.actor.user_id
        if write.event == "create" and write.each_field:  # every record's fields in one INSERT
            names = [f.name for f in write.model]
            audit.record_many(connection, entity, "create",
                              [(record["id"], [(name, None, record[name]) for name in names
                                               if record.get(name) is not None])
                               for record in afters(pairs)], now, by)
        elif write.event == "create":
            audit.record_creations(connection, entity, [record["id"] for record in afters(pairs)], now, by)
        elif write.event == "update":
            audit.record_many(connection, entity, "update",
                              [(before["id"], found)
                               for before, found in zip(befores(pairs), write.changes, strict=False)], now, by)
        else:
            for before in befores(pairs):
                audit.record_changes(connection, entity, before["id"], "delete", [(None, None, None)], now, by)

    def _fire(self, connection: Connection, write: Write, pairs: Sequence[Pair]) -> bool:
        """The one place writes meet event automations: a rule that fails raises and so undoes
        the write. True if a rule ran (the records may differ)."""
        events = self.service.hooks.events
        if events is None:
            return False
        if write.partial:  # the event rules see whole records; the fields changed are the groups' columns
            changed = frozenset(name for found in write.changes for name, _, _ in found)
            pairs = events.update_pairs(connection, write.model, updates(pairs), changed)
        return bool(pairs) and events.written(connection, write.model, write.event, pairs, write.actor)
