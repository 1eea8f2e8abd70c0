"""An approval is void once what it approved changes (`require_approval.voided_by`).

`voided_by` names what the approval is about: fields of the approved record, and entities whose
records point to it (`quote_line`, or `quote_line.quote` when it has several references to it).
After a decision approved the record, a write that changes one of those fields, or that creates,
changes or deletes a record pointing to it, makes the approval void in the same transaction:

- the approval's row turns `voided` (who and when are kept beside the decision);
- the rule's `voided` values are written to the record, by default the fields its `approved` set
  wrote are emptied, so the record needs approving again (a check that asks for the approval,
  such as "approved before it is sent", then refuses what it refused before);
- the requester and the record's owner are told, in every language, what changed.

Only the latest approval of a rule for a record can be voided, and only once. The approval
mechanism's own writes (a decision's values, a void's) never void anything. A write whose
records hold only some columns (a set-wise bulk update) is checked on the columns it wrote.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from atrium.metadata.model import Entity
from atrium.runtime.approvals.messages import LOCALES, approval_message
from atrium.runtime.approvals.rules import ApprovalSpec, mechanism_records, mechanism_writes
from atrium.runtime.records.evaluation import SYSTEM, Actor
from atrium.runtime.records.hooks import EventRules, Pair, Record

APPROVED = "approved"
VOIDED = "voided"


@dataclass(frozen=True)
class Watch:
    """One approval rule watching one entity: its own fields, or a reference to the approved record."""

    spec: ApprovalSpec
    fields: frozenset[str] = frozenset()  # fields of the approved record itself
    reference: str | None = None  # on a part: the reference field pointing to the approved record


def watches(specs: Mapping[str, ApprovalSpec], entities: Mapping[str, Entity]) -> dict[str, list[Watch]]:
    """Entity → what its writes may void (the loader checked every `voided_by` item)."""
    found: dict[str, list[Watch]] = {}
    for spec in specs.values():
        entity = entities[spec.entity]
        own = frozenset(item for item in spec.voided_by if item in entity.fields)
        if own:
            found.setdefault(entity.name, []).append(Watch(spec, fields=own))
        for item in spec.voided_by:
            if item in entity.fields:
                continue
            name, _, via = item.partition(".")
            part = entities[name]
            reference = via or next(f.name for f in part if f.type == "reference" and f.to == entity.name)
            found.setdefault(name, []).append(Watch(spec, reference=reference))
    return found


class ApprovalVoiding:
    """Voids approvals whose records changed; `approvals` is the Approvals service (for its tables,
    records service, notifications and the records' titles)."""

    def __init__(self, approvals: Any):
        self.approvals = approvals
        self.service = approvals.service
        self.blueprint = approvals.blueprint
        self.table = approvals.table
        self.watches = watches(approvals.specs, self.blueprint.entities)

    def written(self, connection: Connection, model: Entity, event: str, pairs: Sequence[Pair],
                actor: Actor) -> bool:
        """Void what this write changed; True if an approval was voided (a record was written)."""
        found = self.watches.get(model.name)
        if not found:
            return False
        voided = False
        for watch in found:
            changed = self._changed(connection, model, watch, event, pairs)
            if changed:
                voided |= self._void(connection, watch.spec, changed, actor)
        return voided

    def _changed(self, connection: Connection, model: Entity, watch: Watch, event: str,
                 pairs: Sequence[Pair]) -> dict[int, list[str]]:
        """Approved-record id → the labels of what changed it (its fields, or the part's entity)."""
        spec, locale = watch.spec, self.blueprint.default_locale
        mine = mechanism_records()
        changed: dict[int, list[str]] = {}
        if watch.reference is None:
            if event != "update":
                return {}
            for before, after in pairs:
                if before is None or after is None or (model.name, after["id"]) in mine:
                    continue
                names = [n for n in sorted(watch.fields) if n in after and before.get(n) != after.get(n)]
                if names:
                    changed[after["id"]] = [model.fields[n].label.text(locale) for n in names]
            return changed
        label = model.label.text(locale)
        missing = [r["id"] for pair in pairs for r in pair if r is not None and watch.reference not in r]
        known = {r["id"]: r for r in self.service.read_many(connection, model.name, missing)} if missing else {}
        for before, after in pairs:
            if event == "update" and before is not None and after is not None and not any(
                    before.get(k) != v for k, v in after.items() if k in model.fields
                    and not model.fields[k].computed):
                continue
            for record in (before, after):
                if record is None:
                    continue
                whole = record if watch.reference in record else known.get(record["id"], {})
                target = whole.get(watch.reference)
                if target is not None and (spec.entity, target) not in mine:
                    changed.setdefault(target, [label])
        return changed

    def _void(self, connection: Connection, spec: ApprovalSpec, changed: Mapping[int, list[str]],
              actor: Actor) -> bool:
        table = self.table
        rows = connection.execute(sa.select(table.c.id, table.c.record_id, table.c.status, table.c.requested_by)
                                  .where(table.c.entity == spec.entity, table.c.rule == spec.name,
                                         table.c.record_id.in_(list(changed)))
                                  .order_by(table.c.id)).all()
        latest = {row.record_id: row for row in rows}
        approved = [row for row in latest.values() if row.status == APPROVED]
        if not approved:
            return False
        now = self.service.clock()
        voided = []
        for row in approved:
            done = connection.execute(table.update().where(table.c.id == row.id, table.c.status == APPROVED)
                                      .values(status=VOIDED, voided_by=actor.user_id, voided_at=now))
            if done.rowcount == 1:
                voided.append(row)
        if not voided:
            return False
        records = self.service.read_many(connection, spec.entity, [row.record_id for row in voided])
        self._reset(connection, spec, records, actor)
        self._tell(connection, spec, voided, records, changed, now)
        return True

    def _reset(self, connection: Connection, spec: ApprovalSpec, records: list[Record], actor: Actor) -> None:
        """The rule's `voided` values, or else the fields its `approved` set wrote, emptied."""
        expressions = spec.sets.get(VOIDED) or {}
        evaluator = self.service.rules.evaluator.bind(spec.entity, actor if actor.user_id else SYSTEM)
        changes = []
        for record in records:
            values = ({name: evaluator.evaluate(expression, record) for name, expression in expressions.items()}
                      if expressions else dict.fromkeys(spec.sets.get(APPROVED, {})))
            values = {name: value for name, value in values.items() if record.get(name) != value}
            if values:
                changes.append((record["id"], values))
        if changes:
            with mechanism_writes(spec.entity, [record_id for record_id, _ in changes]):
                self.service.bulk_update(spec.entity, changes, actor, connection=connection,
                                         current={r["id"]: r for r in records}, affected_only=True)

    def _tell(self, connection: Connection, spec: ApprovalSpec, voided: list, records: list[Record],
              changed: Mapping[int, list[str]], now: Any) -> None:
        """The requester and the owner hear that the approval is void, and why."""
        entity = self.blueprint.entities[spec.entity]
        owners = {r["id"]: r.get(entity.owner) for r in records} if entity.owner else {}
        titles = self.approvals.automations.actions.message_values.queries.titles(
            connection, entity.name, [row.record_id for row in voided]) if entity.title else {}
        notes = []
        for row in voided:
            title = titles.get(row.record_id) or f"#{row.record_id}"
            message = {}
            for locale in LOCALES:
                what = approval_message("requested", locale, label=spec.rule.label.text(locale), title=title)
                fields = "、".join(changed[row.record_id]) if locale == "zh" else ", ".join(changed[row.record_id])
                message[locale] = approval_message(VOIDED, locale, text=what, fields=fields)
            for user in dict.fromkeys((row.requested_by, owners.get(row.record_id))):
                if user is not None:
                    notes.append({"user_id": user, "message": message, "rule": spec.name, "entity": entity.name,
                                  "record_id": row.record_id})
        self.approvals.automations.notifications.send(connection, notes, now)


class VoidingEvents:
    """The event rules a write fires, with approvals voided first (the composition root wraps the
    event automations in it when some approval rule has `voided_by`)."""

    def __init__(self, events: EventRules, voiding: ApprovalVoiding):
        self.events = events
        self.voiding = voiding

    def written(self, connection: Connection, entity: Entity, event: str, pairs: Sequence[Pair],
                actor: Actor) -> bool:
        voided = self.voiding.written(connection, entity, event, pairs, actor)
        return self.events.written(connection, entity, event, pairs, actor) or voided

    def update_pairs(self, connection: Connection, entity: Entity, pairs: Sequence[tuple[Record, Record]],
                     changed: frozenset[str]) -> list[tuple[Record, Record]]:
        # records holding only the columns written: voided here, on those columns (as the system)
        self.voiding.written(connection, entity, "update", pairs, SYSTEM)
        return self.events.update_pairs(connection, entity, pairs, changed)
