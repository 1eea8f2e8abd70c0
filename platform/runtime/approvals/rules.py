"""Approval rules as the runtime reads them, and what a pending approval holds back.

An approval rule is an automation whose one action is `require_approval` (the loader makes sure
of it). `ApprovalSpec` is its typed view: whom it asks, what it locks, and the field values it
sets when asked (`pending`), approved and rejected.

`ApprovalGuard` is what the records service asks before a write:
- **the lock**: while an approval is pending, a write that changes a locked field (`lock:
  [fields]`) or anything at all (`lock: true`, deletes included) is refused, beside the field or
  the record, naming who the record waits for. Fields the engine computes (formulas, rollups,
  autonumbers) are never held. One query per batch of records, and none at all for an entity no
  approval rule names (decided from the rules, once).
- **its parts**: `lock: true` also holds the records that live and die with the locked one (a
  reference to it with `on_delete: cascade`): they cannot be added, changed, moved or deleted
  while it waits, since they are what the approver is looking at.
- **reserved values**: a field an approval sets to a constant (`approval_status: "'approved'"`)
  may only get that value from the approval mechanism: a person's write that changes it to that
  value is refused. Rules and the system (no user) are not held by it.

The mechanism's own writes (the `pending`, `approved`, `rejected` sets and what they fire) run
inside `mechanism_writes`, which the guard lets through for those records.
"""
from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Callable, Iterator, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from atrium.metadata.expressions import Expression, ExpressionError
from atrium.metadata.model import Blueprint, Entity, Label
from atrium.runtime.approvals.messages import approval_message, names_text
from atrium.runtime.automation.rules import Rule
from atrium.runtime.records.coercion import CoercionError, coerce
from atrium.runtime.records.errors import ValidationFailed
from atrium.runtime.records.evaluation import SYSTEM, Actor, RecordEvaluator
from atrium.runtime.records.rules import RECORD_ERRORS, Errors, add_error
from atrium.runtime.schema.tables import Tables

SETS = ("pending", "approved", "rejected", "voided")
DECISIONS = ("approved", "rejected")
PENDING = "pending"
CHUNK = 500

# the (entity, record id) pairs the approval mechanism is writing right now, in this thread or task
_mechanism: contextvars.ContextVar[frozenset[tuple[str, int]]] = contextvars.ContextVar(
    "atrium_approval_writes", default=frozenset())


@contextlib.contextmanager
def mechanism_writes(entity: str, ids: Sequence[int]) -> Iterator[None]:
    """The writes inside (and the rules they fire) are the approval's own: the lock and the
    reserved values let them through for these records."""
    token = _mechanism.set(_mechanism.get() | {(entity, record_id) for record_id in ids})
    try:
        yield
    finally:
        _mechanism.reset(token)


def mechanism_records() -> frozenset[tuple[str, int]]:
    """The (entity, record id) pairs the approval mechanism is writing right now."""
    return _mechanism.get()


@dataclass(frozen=True)
class ApprovalSpec:
    rule: Rule
    approver: str  # manager, a role, or a user field
    lock: bool | tuple[str, ...]
    message: Label | None
    sets: Mapping[str, Mapping[str, Expression]]  # pending / approved / rejected → field → expression
    comments: Mapping[str, str]  # decision (approved / rejected) → the field that receives its comment
    when: Expression | None  # the action's own condition, besides the rule's
    voided_by: tuple[str, ...] = ()  # fields, and `entity.reference`s of records pointing to it
    show: tuple[str, ...] = ()  # the fields its cards show the approver

    @property
    def name(self) -> str:
        return self.rule.name

    @property
    def entity(self) -> str:
        return self.rule.entity

    @property
    def manual(self) -> bool:
        """Asked for by a person (`on: request`), not by a write."""
        return self.rule.trigger.kind == "request"


def approval_spec(rule: Rule) -> ApprovalSpec | None:
    action = next((a for a in rule.actions if a.kind == "require_approval"), None)
    if action is None:
        return None
    spec = action.spec
    sets = {name: MappingProxyType({key.split(".", 1)[1]: expression
                                    for key, expression in action.expressions.items()
                                    if key.startswith(name + ".")}) for name in SETS}
    lock = spec.get("lock", True)
    comment = spec.get("comment")
    comments = dict(comment) if isinstance(comment, Mapping) else dict.fromkeys(DECISIONS, comment) if comment else {}
    return ApprovalSpec(rule=rule, approver=spec["approver"],
                        lock=tuple(lock) if isinstance(lock, (list, tuple)) else bool(lock),
                        message=Label.of(spec["message"]) if spec.get("message") else None,
                        sets=MappingProxyType(sets), comments=MappingProxyType(comments),
                        when=action.expressions.get("when"), voided_by=tuple(spec.get("voided_by", ())),
                        show=tuple(spec.get("show", ())))


def approval_specs(rules: Sequence[Rule]) -> dict[str, ApprovalSpec]:
    """Rule name → the approval it asks for, for every approval rule."""
    return {spec.name: spec for spec in map(approval_spec, rules) if spec is not None}


@dataclass(frozen=True)
class Hold:
    """What the pending approvals of one record hold back."""

    everything: bool
    fields: frozenset[str]
    approval_ids: tuple[int, ...]


class ApprovalGuard:
    def __init__(self, blueprint: Blueprint, tables: Tables, specs: Mapping[str, ApprovalSpec],
                 evaluator: RecordEvaluator, clock: Callable[[], dt.datetime],
                 rules_running: Callable[[], tuple[str, ...]]):
        self.blueprint = blueprint
        self.table = tables.system("atrium_approvals")
        self.approvers = tables.system("atrium_approval_approvers")
        self.users = tables.system("atrium_users")
        self.clock = clock
        self.rules_running = rules_running
        self.guarded = frozenset(spec.entity for spec in specs.values())
        # part entity → its (reference field, whole entity) pairs, for wholes a `lock: true` can hold
        wholes = {spec.entity for spec in specs.values() if spec.lock is True}
        self.parts: dict[str, tuple[tuple[str, str], ...]] = {}
        for entity in blueprint.entities.values():
            links = tuple((field.name, field.to) for field in entity
                          if field.type == "reference" and field.on_delete == "cascade" and field.to in wholes)
            if links:
                self.parts[entity.name] = links
        # entity → field → the constant values only the approval mechanism may write into it
        self.reserved: dict[str, dict[str, set[Any]]] = {}
        for spec in specs.values():
            entity = blueprint.entities[spec.entity]
            for expressions in spec.sets.values():
                for name, expression in expressions.items():
                    value = _constant(evaluator, entity, name, expression)
                    if value is not None:
                        self.reserved.setdefault(entity.name, {}).setdefault(name, set()).add(value)

    # --- the records service asks ------------------------------------------------------------

    def check(self, connection: Connection, model: Entity,
              writes: Sequence[tuple[Mapping[str, Any] | None, Mapping[str, Any] | None, Sequence[str] | None]],
              actor: Actor, first_row: int | None = None) -> None:
        """Refuse (ValidationFailed) writes a pending approval holds back or that set a reserved
        value. Each write is (record before or None for a create, record after or None for a
        delete, the changed fields or None for all)."""
        if model.name in self.parts:
            self._check_parts(connection, model, writes, actor, first_row)
        if model.name not in self.guarded:
            return
        mine = _mechanism.get()
        self._reserved(model, writes, actor, mine, first_row)
        ids = [before["id"] for before, after, names in writes
               if before is not None and (model.name, before["id"]) not in mine and (after is None or names)]
        holds = self.holds(connection, model.name, ids)
        if not holds:
            return
        for index, (before, after, names) in enumerate(writes):
            hold = holds.get(before["id"]) if before is not None else None
            if hold is None:
                continue
            errors: Errors = {}
            if hold.everything:
                # names is None only for a delete (after is None): `ids` above skips other writes without names
                if after is None or any(not model.fields[n].computed for n in names or () if n in model.fields):
                    add_error(errors, RECORD_ERRORS, self._locked(connection, hold, actor.locale))
            elif after is not None:  # a field lock holds those fields; the record may still go
                for name in names or ():
                    if name in hold.fields:
                        add_error(errors, name, self._locked(connection, hold, actor.locale))
            if errors:
                raise ValidationFailed(errors, row=None if first_row is None else first_row + index)
        if any(after is None for _, after, _ in writes):  # a delete the lock allows: nothing waits for it
            self.withdraw_for_deleted(connection, model.name,
                                      [before["id"] for before, after, _ in writes
                                       if after is None and before is not None], actor)

    def unlocked(self, connection: Connection, rule: Rule, items: list) -> list:
        """A scheduled rule's items without the records a pending approval holds against its
        writes (they are skipped, not failed: the rest of the batch goes ahead)."""
        if rule.entity not in self.guarded or not items:
            return items
        written = self._fields_written(rule)
        if not written:
            return items
        holds = self.holds(connection, rule.entity, [item.record["id"] for item in items])
        return [item for item in items if (hold := holds.get(item.record["id"])) is None
                or not (hold.everything or hold.fields & written)]

    def holds(self, connection: Connection, entity: str, ids: Sequence[int]) -> dict[int, Hold]:
        """Record id → what its pending approvals hold back (records with none are left out)."""
        if entity not in self.guarded or not ids:
            return {}
        table = self.table
        query = sa.select(table.c.id, table.c.record_id, table.c.lock).where(
            table.c.entity == entity, table.c.status == PENDING,
            table.c.record_id.in_(sa.bindparam("_ids", expanding=True)))
        found: dict[int, Hold] = {}
        ids = list(dict.fromkeys(ids))
        for start in range(0, len(ids), CHUNK):
            for approval_id, record_id, lock in connection.execute(query, {"_ids": ids[start:start + CHUNK]}):
                old = found.get(record_id, Hold(False, frozenset(), ()))
                everything = lock is True or lock is None
                fields = frozenset(lock) if isinstance(lock, list) else frozenset()
                found[record_id] = Hold(old.everything or everything, old.fields | fields,
                                        old.approval_ids + (approval_id,))
        return found

    def withdraw_for_deleted(self, connection: Connection, entity: str, ids: Sequence[int], actor: Actor) -> None:
        table = self.table
        connection.execute(table.update().where(
            table.c.entity == entity, table.c.status == PENDING,
            table.c.record_id.in_(sa.bindparam("_ids", expanding=True))).values(
            status="withdrawn", decided_by=actor.user_id, decided_at=self.clock()), {"_ids": list(ids)})

    def approver_names(self, connection: Connection, approval_ids: Sequence[int]) -> list[str]:
        users, approvers = self.users, self.approvers
        query = (sa.select(users.c.display_name, users.c.name)
                 .select_from(approvers.join(users, users.c.id == approvers.c.user_id))
                 .where(approvers.c.approval_id.in_(list(approval_ids))).order_by(users.c.id))
        return list(dict.fromkeys(row.display_name or row.name for row in connection.execute(query)))

    # --- inside ------------------------------------------------------------------------------

    def _check_parts(self, connection: Connection, model: Entity, writes: Sequence, actor: Actor,
                     first_row: int | None) -> None:
        """Refuse a write to a part of a record that a `lock: true` approval holds (the part as it
        was, for a change that moves it away, and as it will be, for one that moves it in)."""
        mine = _mechanism.get()
        for field, whole in self.parts[model.name]:
            linked = [[record.get(field) for record in (before, after) if record is not None
                       and record.get(field) is not None and (whole, record.get(field)) not in mine]
                      for before, after, _ in writes]
            holds = {record_id: hold for record_id, hold in
                     self.holds(connection, whole, [i for ids in linked for i in ids]).items() if hold.everything}
            if not holds:
                continue
            for index, ids in enumerate(linked):
                hold = next((holds[i] for i in ids if i in holds), None)
                if hold is not None:
                    errors: Errors = {}
                    add_error(errors, RECORD_ERRORS, self._locked(connection, hold, actor.locale))
                    raise ValidationFailed(errors, row=None if first_row is None else first_row + index)

    def _locked(self, connection: Connection, hold: Hold, locale: str) -> str:
        names = self.approver_names(connection, hold.approval_ids)
        return approval_message("locked", locale, names=names_text(names, locale))

    def _reserved(self, model: Entity, writes: Sequence, actor: Actor, mine: frozenset, first_row: int | None) -> None:
        reserved = self.reserved.get(model.name)
        if not reserved or actor.user_id is None or self.rules_running():
            return
        for index, (before, after, names) in enumerate(writes):
            if after is None or (before is not None and (model.name, before["id"]) in mine):
                continue
            errors: Errors = {}
            for name, values in reserved.items():
                if names is not None and name not in names:
                    continue
                value = after.get(name)
                if value in values and (before is None or before.get(name) != value):
                    field = model.fields[name]
                    option = field.option(value)
                    shown = option.label.text(actor.locale, self.blueprint.default_locale) if option else value
                    add_error(errors, name, approval_message(
                        "reserved", actor.locale, value=shown,
                        field=field.label.text(actor.locale, self.blueprint.default_locale)))
            if errors:
                raise ValidationFailed(errors, row=None if first_row is None else first_row + index)

    def _fields_written(self, rule: Rule) -> frozenset[str]:
        """The fields of its own records a rule's actions change."""
        owner = self.blueprint.entities[rule.entity].owner
        written: set[str] = set()
        for action in rule.actions:
            if action.kind == "set":
                written |= set(action.expressions)
            elif action.kind == "assign":
                written.add(action.spec.get("field") or owner or "")
        return frozenset(written)


def _constant(evaluator: RecordEvaluator, entity: Entity, name: str, expression: Expression) -> Any:
    """The stored value of an expression that reads nothing ("'approved'"), else None."""
    if expression.names or name not in entity.fields:
        return None
    try:
        value = evaluator.bind(entity.name, SYSTEM).evaluate(expression, {})
        return coerce(entity.fields[name], value)
    except (ExpressionError, CoercionError):
        return None
