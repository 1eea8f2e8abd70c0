"""Recycling into the public pool, as the automation engine does it.

A recycle is an automation whose `set` empties the owner field of an entity with a pool
(`set: {owner: null}`, normally on a schedule). The engine asks this module two things: which
of the matched records the rule may act on (a record whose pool lock field is set stays with
its owner, and no action of that rule touches it), and, after the set, to write a `recycle`
row to atrium_pool_history for each record that lost its owner, naming the previous owner (the
pool's cooldown reads it; `notify: {to: previous_owner}` reads the record's before-image).
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Mapping, Sequence

from sqlalchemy.engine import Connection

from atrium.metadata.model import Blueprint, Pool
from atrium.runtime.schema.bulk_statements import Same, execute_columns

NOBODY = ("None", "null")  # the expression of an empty value (`owner: null` in YAML reads None)


class PoolRecycling:
    def __init__(self, blueprint: Blueprint, tables: Any):
        self.blueprint = blueprint
        self.history = tables.system("atrium_pool_history")

    def pool(self, entity: str) -> Pool | None:
        model = self.blueprint.entities.get(entity)
        return model.pool if model is not None else None

    def recycles(self, rule: Any) -> bool:
        """Whether the rule's `set` empties the owner field of a pool entity."""
        pool = self.pool(rule.entity)
        return pool is not None and any(
            action.kind == "set" and pool.owner_field in action.expressions
            and action.expressions[pool.owner_field].source.strip() in NOBODY
            for action in rule.actions)

    def exempt(self, rule: Any, items: list) -> list:
        """The items the rule may act on: without the records its recycle must leave alone."""
        pool = self.pool(rule.entity)
        if pool is None or not pool.lock_field or not self.recycles(rule):
            return items
        return [item for item in items if not item.record.get(pool.lock_field)]

    def owners(self, entity: str, items: Sequence[Any]) -> dict[int, Any]:
        """Each item's owner before an action (empty when the entity has no pool)."""
        pool = self.pool(entity)
        if pool is None:
            return {}
        return {item.record["id"]: item.record.get(pool.owner_field) for item in items}

    def record(self, connection: Connection, rule: Any, before: Mapping[int, Any], items: Sequence[Any],
               at: dt.datetime) -> None:
        """Write a recycle row for each item whose owner the rule just emptied."""
        pool = self.pool(rule.entity)
        if pool is None or not before:
            return
        emptied = [item.record["id"] for item in items
                   if before.get(item.record["id"]) is not None and item.record.get(pool.owner_field) is None]
        execute_columns(connection, self.history.insert(), len(emptied), {
            "entity": Same(rule.entity), "record_id": emptied, "action": Same("recycle"), "user_id": Same(None),
            "previous_owner": [before[record_id] for record_id in emptied], "rule": Same(rule.name), "at": Same(at)})
