"""What a rule does: set, create, assign, notify and webhook, applied to a batch of records.

Event rules hand over one record (or a bulk write's batch), scheduled rules a batch of up to two
thousand: every action works on the whole batch at once (one bulk update, one insert of
notifications) and writes through the records service, so validation, history, stage history,
rollups and further automations apply as for a person's change. A `set` or `assign` re-checks
the rules the fields it changes can affect (RecordRules' RulePlan), not every rule of the entity.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence

from sqlalchemy.engine import Connection

from atrium.metadata.expressions import Expression
from atrium.metadata.model import Label
from atrium.runtime.automation.assignment import Assigner, Directory
from atrium.runtime.automation.grouping import GROUP_FROM, grouped_rows, grouping
from atrium.runtime.automation.message_values import MessageValues
from atrium.runtime.automation.notifications import Notifications
from atrium.runtime.automation.outbox import Outbox
from atrium.runtime.automation.rules import Action, Rule
from atrium.runtime.pool.recycling import PoolRecycling
from atrium.runtime.records.audit import json_value
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.schema.database import after_commit


@dataclass
class Item:
    """One record a rule acts on: as it was before the event, and as it is now."""

    before: Mapping[str, Any] | None
    record: Mapping[str, Any]


@dataclass
class RuleRun:
    rule: Rule
    trigger: str  # create, update, delete, schedule
    connection: Connection
    actor: Actor  # whom the rule's writes are attributed to
    now: dt.datetime
    partial: bool = False  # the items hold only the columns rule_columns.py names (a scheduled run)
    _directory: Directory | None = field(default=None, repr=False)

    def directory(self, tables) -> Directory:
        if self._directory is None:
            self._directory = Directory(self.connection, tables)
        return self._directory


class Actions:
    def __init__(self, service: Any, notifications: Notifications, outbox: Outbox):
        self.service = service  # the RecordService (not imported: it imports the automations)
        self.blueprint = service.blueprint
        self.tables = service.tables
        self.notifications = notifications
        self.outbox = outbox
        self.assigner = Assigner(service.blueprint, service.tables, service.audit)
        self.pool = PoolRecycling(service.blueprint, service.tables)
        self.message_values = MessageValues(service.blueprint, service.tables)
        self.handlers: dict[str, Callable[[RuleRun, Action, list[Item]], None]] = {
            "set": self._set, "create": self._create, "assign": self._assign,
            "notify": self._notify, "webhook": self._webhook, "require_approval": self._require_approval}

    def run(self, run: RuleRun, items: list[Item]) -> None:
        items = self.pool.exempt(run.rule, items)  # a locked pool record is never recycled
        if run.trigger == "schedule" and self.service.approvals is not None:  # nor one an approval holds
            items = self.service.approvals.guard.unlocked(run.connection, run.rule, items)
        for action in run.rule.actions:
            if items:
                self.handlers[action.kind](run, action, items)

    def _evaluate(self, run: RuleRun, expression: Expression, record: Mapping[str, Any]) -> Any:
        # bound each time: a nested write (a create, a set firing another rule) rebinds the evaluator
        return self.service.rules.evaluator.bind(run.rule.entity, run.actor).evaluate(expression, record)

    def _values(self, run: RuleRun, expressions: Mapping[str, Expression], record: Mapping[str, Any]) -> dict:
        return {name: self._evaluate(run, expression, record) for name, expression in expressions.items()}

    def _read(self, run: RuleRun, expressions: Iterable[Expression], items: Sequence[Item]) -> list[Mapping[str, Any]]:
        """The items' records as the expressions read them: with linked values for dotted paths."""
        return self.service.linked_values.for_expressions(run.connection, run.rule.entity,
                                                          [item.record for item in items], expressions)

    def _update(self, run: RuleRun, items: Sequence[Item], changes: Sequence[tuple[int, Mapping]]) -> None:
        # the items hold the records as they are in this transaction (read and locked by the
        # scheduler, or just written); only the rules these fields can affect are checked again
        pairs = self.service.bulk_update(run.rule.entity, changes, run.actor, connection=run.connection,
                                         current={item.record["id"]: item.record for item in items},
                                         affected_only=True, partial=run.partial)
        after = {record["id"]: record for _, record in pairs}
        for item in items:
            item.record = after.get(item.record["id"], item.record)

    # --- the actions -------------------------------------------------------------------------

    def _set(self, run: RuleRun, action: Action, items: list[Item]) -> None:
        # a value that reads nothing (`owner: null`, `status: "'dormant'"`) is the same for every record
        fixed = {name: self._evaluate(run, e, {}) for name, e in action.expressions.items() if not e.names}
        varying = {name: e for name, e in action.expressions.items() if e.names}
        read = self._read(run, varying.values(), items)
        changes = [(item.record["id"], {**fixed, **self._values(run, varying, record)} if varying else fixed)
                   for item, record in zip(items, read, strict=True)]
        owners = self.pool.owners(run.rule.entity, items)
        self._update(run, items, changes)
        self.pool.record(run.connection, run.rule, owners, items, run.now)  # pool history: recycled

    def _create(self, run: RuleRun, action: Action, items: list[Item]) -> None:
        rows = [self._values(run, action.expressions, record)
                for record in self._read(run, action.expressions.values(), items)]
        self.service.bulk_create(action.spec["entity"], rows, run.actor, connection=run.connection,
                                 audit_fields=True)

    def _assign(self, run: RuleRun, action: Action, items: list[Item]) -> None:
        spec = action.spec
        target = spec.get("field") or self.blueprint.entities[run.rule.entity].owner
        owners = self.assigner.choose(run.connection, run.directory(self.tables), run.rule.name,
                                      run.rule.entity, action.index, spec, [i.record for i in items])
        chosen = [(item, owner) for item, owner in zip(items, owners, strict=False) if owner is not None]
        self._update(run, [item for item, _ in chosen],
                     [(item.record["id"], {target: owner}) for item, owner in chosen])

    def _notify(self, run: RuleRun, action: Action, items: list[Item]) -> None:
        spec = action.spec
        texts = Label.of(spec["message"]).texts
        link = spec.get("link", True)
        linked = link is True and run.trigger != "delete"  # a deleted record has no page to link
        entity = run.rule.entity if linked else None
        other_link = link if isinstance(link, str) else None
        rule = run.rule.name
        rows = []
        recipients = self._recipients(run, spec["to"] if isinstance(spec["to"], (list, tuple)) else [spec["to"]])
        messages = self.message_values.fill(run.connection, run.rule.entity, texts, [i.record for i in items])
        for item, message in zip(items, messages, strict=False):
            record_id = item.record.get("id") if linked else None
            for user in recipients(item):
                rows.append({"user_id": user, "message": message, "rule": rule, "entity": entity,
                             "record_id": record_id, "link": other_link})
        group, grouped = grouping(spec)
        if group and len(items) >= GROUP_FROM:  # one message per person for the run (grouping.py)
            rows = grouped_rows(rows, run.rule.entity if linked else None, rule, run.rule.label, grouped,
                                self.blueprint.locales)
        self.notifications.send(run.connection, rows, run.now)

    def _recipients(self, run: RuleRun, names: Sequence[str]) -> Callable[[Item], list[int]]:
        """Who an item's notification goes to; what is the same for every item is looked up once."""
        entity = self.blueprint.entities[run.rule.entity]
        owner_field = entity.owner or ""
        directory = run.directory(self.tables)
        people = directory.people

        def recipients(item: Item) -> list[int]:
            record, before = item.record, item.before or {}
            found: list[int | None] = []
            for name in names:
                if name == "owner":
                    found.append(record.get(owner_field))
                elif name == "previous_owner":
                    previous = before.get(owner_field)
                    found.append(previous if previous != record.get(owner_field) else None)
                elif name == "creator":
                    found.append(record.get("created_by"))
                elif name == "manager":
                    found.append(directory.manager_of(record.get(owner_field) or before.get(owner_field)))
                elif name in entity.fields:  # a user field
                    found.append(record.get(name))
                else:  # a role
                    found.extend(directory.with_role(name))
            if len(found) == 1:
                return [found[0]] if found[0] is not None and found[0] in people else []
            return [user for user in dict.fromkeys(found) if user is not None and user in people]
        return recipients

    def _require_approval(self, run: RuleRun, action: Action, items: list[Item]) -> None:
        self.service.approvals.requested_by_rule(run, items)  # approvals.py

    def _webhook(self, run: RuleRun, action: Action, items: list[Item]) -> None:
        spec = action.spec
        rows = []
        for item in items:
            data = ({name: json_value(value) for name, value in
                     self._values(run, action.expressions, item.record).items()}
                    if action.expressions else {k: json_value(v) for k, v in item.record.items()})
            rows.append({"rule": run.rule.name, "entity": run.rule.entity, "record_id": item.record.get("id"),
                         "url": spec["url"], "secret_env": spec.get("secret"),
                         "body": {"event": run.trigger, "rule": run.rule.name, "entity": run.rule.entity,
                                  "record_id": item.record.get("id"), "occurred_at": run.now.isoformat(),
                                  "data": data}})
        self.outbox.enqueue(run.connection, rows)
        after_commit(run.connection, self.outbox.wake.set)
