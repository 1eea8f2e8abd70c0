"""Event rules: run inside the transaction of the write that fired them.

The records service's write pipeline calls `EventAutomations.written` after each create and
update (and before each delete) with the records as they were and are (through
records/hooks.py's `EventRules`: the site wires this class in, site/services.py).
A rule fires when its trigger names the write, the record matches its `where` (checked by the
same SQL compiler as every list and report, with a SELECT of the written ids, so the semantics are
identical) and its `when` holds.

Any failure in an action becomes `AutomationFailed`: a validation error, so the caller's
transaction rolls back and the person sees why; the reason is logged right after the rollback.
A rule never fires on its own writes, and a chain of rules firing one another stops at
MAX_DEPTH, so automations cannot loop.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from atrium.metadata.expressions import ExpressionError
from atrium.metadata.model import Entity
from atrium.runtime.automation.actions import Actions, Item, RuleRun
from atrium.runtime.automation.log import AutomationLog, LogEntry
from atrium.runtime.automation.messages import message
from atrium.runtime.automation.notifications import Notifications
from atrium.runtime.automation.outbox import Outbox
from atrium.runtime.automation.rules import Rule, build_rules
from atrium.runtime.delivery.channels import message_channels
from atrium.runtime.delivery.fan_out import MessageFanOut
from atrium.runtime.query.conditions import ConditionError, Joins, compile_condition
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.records.hooks import enter_rule, leave_rule, running_rules
from atrium.runtime.records.rules import RECORD_ERRORS
from atrium.runtime.records.service import RecordError, ValidationFailed
from atrium.runtime.schema.bulk_statements import among_ids
from atrium.runtime.schema.database import write_transaction

MAX_DEPTH = 8
__all__ = ["AutomationFailed", "EventAutomations", "describe", "enter_rule", "leave_rule", "matching_ids",
           "matching_records", "running_rules"]

Pair = tuple[Mapping[str, Any] | None, Mapping[str, Any] | None]


class AutomationFailed(ValidationFailed):
    """An automation could not run; the change that fired it is not saved."""

    def __init__(self, rule: Rule, trigger: str, record_id: int | None, reason: str, locale: str,
                 log: AutomationLog, clock):
        self.rule, self.trigger, self.record_id, self.reason = rule, trigger, record_id, reason
        self._log, self._clock, self.logged = log, clock, False
        label = rule.label.text(locale)
        super().__init__({RECORD_ERRORS: [message("automation_failed", locale, rule=label, reason=reason)]})

    def after_rollback(self, engine: Engine) -> None:
        """Log the failure once the failed transaction has let go of the database."""
        if self.logged:
            return
        self.logged = True
        with write_transaction(engine) as connection:
            self._log.write(connection, LogEntry(
                rule=self.rule.name, trigger=self.trigger, status="failed", at=self._clock(),
                entity=self.rule.entity, record_id=self.record_id, detail=self.reason))


def describe(error: BaseException) -> str:
    """A failure as one line a person can act on."""
    if isinstance(error, ValidationFailed):
        return "; ".join(f"{field}: {' '.join(texts)}" for field, texts in error.errors.items())
    if isinstance(error, (ExpressionError, ConditionError, RecordError)):
        return str(error)
    return f"{type(error).__name__}: {error}"


class EventAutomations:
    def __init__(self, service: Any, rules: Sequence[Rule] | None = None):
        self.service = service
        self.blueprint = service.blueprint
        self.log = AutomationLog(service.tables)
        self.outbox = Outbox(service.tables, service.clock, channels=message_channels(service.blueprint))
        # every inbox notification may also go by email and to group robots, through the outbox
        self.notifications = Notifications(service.tables, MessageFanOut(service.blueprint, service.tables,
                                                                         self.outbox))
        self.actions = Actions(service, self.notifications, self.outbox)
        self.rules = tuple(rules if rules is not None else build_rules(service.blueprint))
        self.by_event: dict[tuple[str, str], list[Rule]] = {}
        for rule in self.rules:
            for event in rule.trigger.events:
                self.by_event.setdefault((rule.entity, event), []).append(rule)

    def written(self, connection: Connection, entity: Entity, event: str, pairs: Sequence[Pair],
                actor: Actor) -> bool:
        """Run the rules this write fires; True if any ran (the records may have changed)."""
        rules = self.by_event.get((entity.name, event))
        if not rules:
            return False
        ran = False
        running = running_rules()
        stage = entity.stage_field.name if entity.stage_field else None
        for rule in rules:
            if rule.name in running:
                continue
            # the service's own dicts, not copies: actions replace an item's record, never change it
            items = [Item(before, _now(before, after))
                     for before, after in pairs if rule.fires_on(event, before, after, stage)]
            if not items:
                continue
            ran |= self._fire(connection, rule, event, items, actor, running)
        return ran

    def decided(self, connection: Connection, entity: Entity, approval: str, outcome: str,
                before: Mapping[str, Any], after: Mapping[str, Any], actor: Actor) -> bool:
        """Run the rules `on: {approved|rejected: approval}` after a decision's writes, with the
        record as the decision left it; True if any ran."""
        running = running_rules()
        ran = False
        for rule in self.rules:
            trigger = rule.trigger
            if (rule.entity == entity.name and trigger.kind == outcome and approval in trigger.approvals
                    and rule.name not in running):
                ran |= self._fire(connection, rule, outcome, [Item(dict(before), dict(after))], actor, running)
        return ran

    def update_pairs(self, connection: Connection, model: Entity,
                     pairs: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]],
                     changed: frozenset[str]) -> list[tuple[dict, dict]]:
        """For an update whose records hold only some columns (`changed`: the fields it changed): the
        (before, after) pairs the event rules it fires are to see, as whole records; empty when no
        rule fires on any of them.

        A rule sees exactly the pairs it would see had the update read whole records: its trigger is
        decided on the columns read (a trigger's fields are among the changed ones, the stage is always
        read), and a lone rule's `where` is checked first, in the same transaction, by the same query
        it would run. With several rules, every pair that fires one of them is passed (an earlier
        rule's writes may make a record match a later rule's `where`)."""
        if not pairs:
            return []
        service = self.service
        running = running_rules()
        stage = model.stage_field.name if model.stage_field else None
        rules = [rule for rule in self.by_event.get((model.name, "update"), ())
                 if rule.name not in running
                 and not (rule.trigger.kind == "change" and not changed & set(rule.trigger.fields))
                 and not (rule.trigger.kind == "stage" and stage not in changed)]
        if not rules:
            return []
        if len(rules) == 1 and rules[0].where:
            matching = set(matching_ids(connection, service, rules[0], [after["id"] for _, after in pairs]))
            pairs = [pair for pair in pairs if pair[1]["id"] in matching]
        found = [(before, after) for before, after in pairs
                 if any(rule.fires_on("update", before, after, stage) for rule in rules)]
        if not found:
            return []
        whole = {record["id"]: record for record in service.read_many(connection, model.name,
                                                                      [after["id"] for _, after in found])}
        return [({**whole[after["id"]], **before}, {**whole[after["id"]], **after}) for before, after in found]

    def _fire(self, connection: Connection, rule: Rule, event: str, items: list[Item], actor: Actor,
              running: tuple[str, ...]) -> bool:
        record_id = items[0].record.get("id") if len(items) == 1 else None
        try:
            items = self._matching(connection, rule, items, actor)
            if not items:
                return False
            if len(running) >= MAX_DEPTH:
                raise RecordError(message("automation_too_deep", actor.locale, depth=MAX_DEPTH))
            # whom the rule's writes are attributed to: the person whose change fired it
            rule_actor = Actor(user_id=actor.user_id, name=f"{actor.name} ({rule.name})", role=None,
                               team_id=actor.team_id, locale=actor.locale)
            token = enter_rule(rule.name)
            try:
                self.actions.run(RuleRun(rule, event, connection, rule_actor, self.service.clock()), items)
            finally:
                leave_rule(token)
        except AutomationFailed:
            raise  # the innermost rule that failed names the reason
        except Exception as error:
            raise AutomationFailed(rule, event, record_id, describe(error), actor.locale, self.log,
                                   self.service.clock) from error
        return True

    def _matching(self, connection: Connection, rule: Rule, items: list[Item], actor: Actor) -> list[Item]:
        if rule.where:
            ids = [item.record["id"] for item in items]
            found = set(matching_ids(connection, self.service, rule, ids))
            items = [item for item in items if item.record["id"] in found]
        if rule.when is not None:
            evaluator = self.service.rules.evaluator.bind(rule.entity, actor)
            read = self.service.linked_values.for_expressions(connection, rule.entity,
                                                              [item.record for item in items], [rule.when])
            kept = []
            for item, record in zip(items, read, strict=True):
                try:
                    if evaluator.evaluate(rule.when, record):
                        kept.append(item)
                except ExpressionError:
                    continue  # like a check's `when`: a condition that cannot be evaluated does not hold
            items = kept
        return items


def matching_records(connection: Connection, service: Any, rule: Rule, ids: Sequence[int],
                     columns: Sequence[str] | None = None) -> list[dict]:
    """The records among `ids` that match the rule's `where` now, read and locked in one query
    when the condition needs no join (else through `matching_ids`); with `columns`, only those."""
    joins = Joins(service.blueprint, service.tables, rule.entity, connection=connection)
    condition: sa.ColumnElement[Any] | None = compile_condition(joins, rule.where, service.clock(),
                                                                service.blueprint.timezone)
    if joins.aliases:
        ids = matching_ids(connection, service, rule, ids)
        condition = None
    return service.read_where(connection, rule.entity, "id", ids, condition=condition, lock=True, columns=columns)


def matching_ids(connection: Connection, service: Any, rule: Rule, ids: Sequence[int] | None = None) -> list[int]:
    """The ids of the rule's entity that match its `where` now (among `ids`, if given)."""
    joins = Joins(service.blueprint, service.tables, rule.entity, connection=connection)
    condition = compile_condition(joins, rule.where, service.clock(), service.blueprint.timezone)
    query = sa.select(joins.base.c.id).select_from(joins.from_clause).where(condition)
    if ids is None:
        return list(connection.execute(query.order_by(joins.base.c.id)).scalars().all())
    found: list[int] = []
    among, parameter = among_ids(connection, joins.base.c.id)  # the ids as one parameter
    query = query.where(among)
    for start in range(0, len(ids), 500):
        found += connection.execute(query, {"_ids": parameter(ids[start:start + 500])}).scalars().all()
    return found


def _now(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """The record as it is after the event: a delete's record is its last state."""
    record = after if after is not None else before
    assert record is not None  # a written pair has a record on one side at least
    return record
