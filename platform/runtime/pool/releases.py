"""Releases into the public pool, recorded where every write passes: the records service.

A record goes back to the pool whenever a person's write empties the owner field of an entity
with a pool - the Release action, the form, the API, an import, a conversion's `set`. The
records service's write pipeline (records/pipeline.py) hands each update and bulk update to
`PoolReleases.record`, inside the write's transaction, so every one of those paths leaves the
same `release` row in atrium_pool_history (by the writer, naming the previous owner, which
starts that owner's cooldown), a bulk write leaves its rows in one insert, and a write that
fails leaves none.

Writes an automation makes while it runs are not recorded here: `PoolRecycling` records them as
recycles, naming the rule, so each emptied owner is written once.

A write that moves a record straight from one owner to another (a transfer), or gives an owner
to a record outside a claim, is not a pool event: the record never passes through the pool, the
record's own history shows the owner change, and no cooldown or claim count follows from it.
The claim's limits (most owned, claims per day, cooldown) bind what a person takes from the
pool for themselves; an owner given by someone whose update scope reaches the record (and whose
reach includes the new owner, see `SecuredRecords`) is that person's decision and may go past
the new owner's most-owned limit.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Mapping, Sequence

from sqlalchemy.engine import Connection

from atrium.metadata.model import Blueprint
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.records.hooks import running_rules

Pair = tuple[Mapping[str, Any], Mapping[str, Any]]


class PoolReleases:
    def __init__(self, blueprint: Blueprint, tables: Any):
        self.history = tables.system("atrium_pool_history")
        # entity → its pool's owner field, for the entities that have a pool
        self.owner_fields = {name: model.pool.owner_field for name, model in blueprint.entities.items()
                             if model.pool is not None}

    def record(self, connection: Connection, entity: str, pairs: Sequence[Pair], actor: Actor,
               at: dt.datetime) -> None:
        """A `release` row for each (before, after) whose owner the write emptied."""
        field = self.owner_fields.get(entity)
        if field is None or running_rules():
            return
        rows = [{"entity": entity, "record_id": before["id"], "action": "release", "user_id": actor.user_id,
                 "previous_owner": before[field], "rule": None, "at": at}
                for before, after in pairs if before.get(field) is not None and after.get(field) is None]
        if rows:
            connection.execute(self.history.insert(), rows)
