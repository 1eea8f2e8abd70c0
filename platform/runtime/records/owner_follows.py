"""Owners that follow a parent's: a step of the write pipeline (pipeline.py), so every path that
changes an owner - a form, the API, a bulk update, a claim, release or recycle of the public pool,
a transfer, an automation, an import - moves the followers the same way, in its own transaction.

An entity with `owner_follows: {field: customer, where: ..., on_release: keep}` (metadata/
owner_follows.py) follows the owner of the record its `field` links to. When an update changes
that record's owner:

- the linked records that meet `where` and do not already have the new owner get it, set-wise:
  one bulk update per level and new owner (records/updates.py, one UPDATE per chunk of ids),
  with field history, rollups and event rules like any write, marked `following` so it skips
  the approvals' guard and the pool releases (a follower is no pool event: no release row, no
  cooldown, no claim count) and is checked only against the rules that read the owner
  (`rules.reading_touched`);
- their own followers follow them in turn (quotes follow the orders that follow a customer),
  level by level; the loader refuses a cycle, so this ends;
- when the owner is emptied (the record went back to the pool), followers with
  `on_release: keep` (the default) keep their owner, those with `release` lose theirs too;
- the new owner is told once per write, not per record: one notification counting every record
  that came to them (linking the record whose owner changed, or, when a bulk update moved
  several, naming how many).
"""
from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from atrium.metadata.model import Entity, OwnerFollows
from atrium.runtime.access.policy import Access
from atrium.runtime.automation.notifications import Notifications
from atrium.runtime.query.conditions import Joins, compile_condition
from atrium.runtime.query.lists import Queries
from atrium.translation import word

if TYPE_CHECKING:
    from atrium.runtime.records.pipeline import Write
    from atrium.runtime.records.service import RecordService

CHUNK = 500  # parent ids per SELECT of their followers

Moves = dict[Any, list[int]]  # new owner → ids of the records that got it


class OwnerFollowing:
    def __init__(self, service: RecordService):
        self.service = service
        self.blueprint = blueprint = service.blueprint
        # entity → the entities whose owner follows one of its records
        self.followers: dict[str, list[Entity]] = {}
        for child in blueprint.entities.values():
            if child.owner_follows is not None:
                target = child.fields[child.owner_follows.field].to
                assert target is not None  # the loader checked it is a reference
                self.followers.setdefault(target, []).append(child)
        self._notifications: Notifications | None = None
        self._queries: Queries | None = None

    def follow(self, connection: Connection, write: Write, now: dt.datetime) -> dict[Any, int]:
        """Move the followers of the records whose owner `write` changed; returns how many records
        came to each new owner (all levels; an emptied owner counts under None)."""
        model = write.model
        if model.owner is None or model.name not in self.followers:
            return {}
        moves: Moves = {}
        for (before, _), found in zip(write.pairs, write.changes, strict=False):
            for name, _, new in found:
                if name == model.owner and before is not None:
                    moves.setdefault(new, []).append(before["id"])
        if not moves:
            return {}
        counts: dict[Any, int] = {}
        levels: list[tuple[str, Moves]] = [(model.name, moves)]
        while levels:
            parent, moved = levels.pop()
            for child in self.followers.get(parent, ()):
                spec = child.owner_follows
                assert spec is not None and child.owner is not None  # the loader checked both
                for owner, ids in moved.items():
                    if owner is None and spec.on_release == "keep":
                        continue
                    matched = self._matching(connection, child, spec, ids, owner, now)
                    if not matched:
                        continue
                    values = {child.owner: owner}  # one mapping for all: one outcome, one UPDATE per chunk
                    changed = self.service.bulk_update(child.name, [(i, values) for i in matched], write.actor,
                                                       connection, affected_only=True, following=True)
                    ids_moved = [after["id"] for _, after in changed]
                    counts[owner] = counts.get(owner, 0) + len(ids_moved)
                    if ids_moved:
                        levels.append((child.name, {owner: ids_moved}))
        self._tell(connection, model, moves, counts, now)
        return counts

    def _matching(self, connection: Connection, child: Entity, spec: OwnerFollows, parents: Sequence[int],
                  owner: Any, now: dt.datetime) -> list[int]:
        """The ids of `child` records linking to `parents` that meet `where` and have another owner."""
        joins = Joins(self.blueprint, self.service.tables, child.name)
        condition = (compile_condition(joins, spec.where, now, self.blueprint.timezone)
                     if spec.where is not None else sa.true())
        base = joins.base
        assert child.owner is not None  # the loader checked it
        query = (sa.select(base.c.id).select_from(joins.from_clause)
                 .where(base.c[spec.field].in_(sa.bindparam("_parents", expanding=True)),
                        base.c[child.owner].is_distinct_from(owner), condition)
                 .order_by(base.c.id))
        found: list[int] = []
        for start in range(0, len(parents), CHUNK):
            found += connection.execute(query, {"_parents": list(parents[start:start + CHUNK])}).scalars()
        return found

    def _tell(self, connection: Connection, model: Entity, moves: Mapping[Any, list[int]],
              counts: Mapping[Any, int], now: dt.datetime) -> None:
        """One notification to each new owner: how many records came to them with this write."""
        rows = []
        for owner, count in counts.items():
            if owner is None or not count:
                continue
            parents = moves.get(owner, [])
            single = len(parents) == 1
            title = self._title(connection, model, parents[0]) if single else ""
            message = {locale: self._text(model, count, len(parents), title, locale)
                       for locale in self.blueprint.locales}
            rows.append({"user_id": owner, "message": message, "entity": model.name,
                         "record_id": parents[0] if single else None,
                         "link": None if single else f"/r/{model.name}"})
        if rows:
            self._sender().send(connection, rows, now)

    def _sender(self) -> Notifications:
        """The automations' notifications when the site wired them (so these also go by email and to
        robots), else the inbox alone."""
        if self.service.automations is not None:
            return self.service.automations.notifications
        if self._notifications is None:
            self._notifications = Notifications(self.service.tables)
        return self._notifications

    def _text(self, model: Entity, count: int, parents: int, title: str, locale: str) -> str:
        if parents == 1:
            return word("{count} record(s) of {record} now yours", locale, count=count, record=title)
        return word("{count} record(s) of {parents} {entity} now yours", locale, count=count, parents=parents,
                    entity=model.plural.text(locale, self.blueprint.default_locale))

    def _title(self, connection: Connection, model: Entity, record_id: int) -> str:
        if self._queries is None:
            tables = self.service.tables
            self._queries = Queries(self.blueprint, tables, Access(self.blueprint, tables), None)  # titles only
        return self._queries.titles(connection, model.name, [record_id]).get(record_id) or f"#{record_id}"
