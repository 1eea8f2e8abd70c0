"""Approvals: a record waits for someone's decision (the `require_approval` action).

An approval rule asks for a decision on one record, either when a write fires it (any event
trigger: the request is made inside the write's transaction) or when a person asks for it
(`on: request`, through `Approvals.request`). Asking resolves the approvers (the owner's manager,
every active user of a role, or the user a field names) and stores them, writes the rule's
`pending` values through the records service, and sends each approver an in-app notification,
all in one transaction; if nobody can approve, nothing is written. While the approval is
pending its lock holds the record (approval_rules.ApprovalGuard).

A decision (`decide`) is taken by one of the approvers or by a user whose role sees everything;
it is made once: the row changes from pending under a conditional UPDATE, so of two people
deciding at once exactly one wins. It writes the `approved` or `rejected` values (and the
comment into the rule's comment field) as the approver, through the records service, so
validation applies and a refused value changes nothing; it notifies the requester and the
owner and runs the rules `on: {approved|rejected: rule}`. A withdrawal ends a pending request and
writes nothing (the `pending` values stay as they are). Every request, decision and withdrawal
stays in atrium_approvals: the approval history of a record.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Mapping, Sequence, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from atrium.metadata.model import Label
from atrium.runtime.access.policy import Access
from atrium.runtime.approvals.messages import LOCALES, approval_message, names_text
from atrium.runtime.approvals.rules import PENDING, ApprovalGuard, ApprovalSpec, approval_specs, mechanism_writes
from atrium.runtime.approvals.store import Approval, ApprovalStore
from atrium.runtime.approvals.voiding import ApprovalVoiding, VoidingEvents
from atrium.runtime.automation.assignment import Directory
from atrium.runtime.automation.rules import Rule
from atrium.runtime.automation.triggers import EventAutomations, matching_ids
from atrium.runtime.records.errors import RecordError, ValidationFailed
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.records.hooks import EventRules, running_rules
from atrium.runtime.records.rules import RECORD_ERRORS

DECISIONS = {"approve": "approved", "reject": "rejected"}
__all__ = ["Approval", "ApprovalRefused", "Approvals"]


class ApprovalRefused(RecordError):
    """A request, decision or withdrawal that cannot be made; str() says why in the actor's
    language, `reason` names the rule (not_pending, not_approver, no_manager ...)."""

    FORBIDDEN = ("not_approver", "may_not_withdraw", "may_not_request")  # refusals of who, not of when

    def __init__(self, reason: str, text: str):
        self.reason = reason
        # 403 when the user may not do it at all, 400 for a decision that is neither, else 409
        self.status = 403 if reason in self.FORBIDDEN else 400 if reason == "bad_decision" else 409
        self.code = {403: "forbidden", 400: "bad_request"}.get(self.status, "approval")
        super().__init__(text)

    def payload(self) -> dict[str, Any]:
        return {"error": self.code, "reason": self.reason, "message": str(self)}


def refused(reason: str, locale: str, **params: Any) -> ApprovalRefused:
    return ApprovalRefused(reason, approval_message(reason, locale, **params))


class Approvals(ApprovalStore):
    """Reachable as `service.approvals` on the records service the site wires (site/services.py)."""

    def __init__(self, service: Any, automations: EventAutomations, rules: Sequence[Rule] | None = None):
        self.service = service
        self.automations = automations  # notifications, message values, the rules a decision fires
        self.blueprint = service.blueprint
        self.tables = service.tables
        self.table = service.tables.system("atrium_approvals")
        self.approvers = service.tables.system("atrium_approval_approvers")
        self.users = service.tables.system("atrium_users")
        self.access = Access(service.blueprint, service.tables)
        self.specs: dict[str, ApprovalSpec] = approval_specs(automations.rules if rules is None else rules)
        self.guard = ApprovalGuard(service.blueprint, service.tables, self.specs, service.rules.evaluator,
                                   service.clock, running_rules)
        self.voiding = ApprovalVoiding(self)

    def events(self, automations: EventRules) -> EventRules:
        """The event rules every write fires: the automations', after the approvals that write
        voided (when some approval rule has `voided_by`)."""
        return VoidingEvents(automations, self.voiding) if self.voiding.watches else automations

    # --- asking ------------------------------------------------------------------------------

    def requestable(self, entity: str, record: Mapping, actor: Actor,
                    connection: Connection | None = None) -> list[Rule]:
        """The `on: request` rules a person may ask for on this record now: the actor may change
        the record, its `where`/`when` hold, and none of them is pending for it already."""
        specs = [s for s in self.specs.values() if s.entity == entity and s.manual]
        if not specs or record.get("id") is None:
            return []
        with self.service._connection(connection, write=False) as conn:
            found = self.service.read_many(conn, entity, [record["id"]])  # every field, hidden ones too
            if not found or not self._may_request(conn, actor, entity, found[0]):
                return []
            waiting = self._pending_rules(conn, entity, found[0]["id"])
            return [s.rule for s in specs if s.name not in waiting and self._allowed(conn, s, found[0], actor)]

    def request(self, rule: str, entity: str, record_id: int, actor: Actor,
                connection: Connection | None = None) -> Approval:
        """Ask for the decision of an `on: request` rule on one record (ApprovalRefused if it
        cannot be asked; ValidationFailed if its `pending` values are refused)."""
        spec = self.specs.get(rule)
        if spec is None or spec.entity != entity or not spec.manual:
            raise refused("no_such_rule", actor.locale, rule=rule)
        with self.service._connection(connection) as conn:
            record = self.service._current(conn, entity, record_id, actor)  # locked until the commit
            if not self._may_request(conn, actor, entity, record):
                raise refused("may_not_request", actor.locale)
            return self._ask(conn, spec, record, actor)

    def request_as_trigger(self, rule: str, record_id: int, actor: Actor, connection: Connection) -> Approval:
        """Ask for any approval rule's decision as its trigger would have, as `actor` (the seed
        replays requests this way): neither `on: request` nor the actor's access is required;
        the rule's `where` and `when`, and one pending request at a time, still are."""
        spec = self.specs.get(rule)
        if spec is None:
            raise refused("no_such_rule", actor.locale, rule=rule)
        return self._ask(connection, spec, self.service._current(connection, spec.entity, record_id, actor), actor)

    def _ask(self, conn: Connection, spec: ApprovalSpec, record: Mapping[str, Any], actor: Actor) -> Approval:
        waiting = self._pending_rules(conn, spec.entity, record["id"])
        if spec.name in waiting:
            names = self.guard.approver_names(conn, waiting[spec.name])
            raise refused("already_pending", actor.locale, names=names_text(names, actor.locale))
        if not self._allowed(conn, spec, record, actor):
            raise refused("not_requestable", actor.locale)
        ids, _ = self._open(conn, spec, [record], actor, Directory(conn, self.tables))
        return self._read(conn, [ids[0]])[0]

    def requested_by_rule(self, run: Any, items: list) -> None:
        """The action of an approval rule fired by a write (`automation_actions`): ask for each
        record that has no pending request of this rule yet."""
        spec = self.specs[run.rule.name]
        conn = run.connection
        items = [item for item in items if self._holds(spec.when, spec, item.record, run.actor)]
        waiting = self._waiting(conn, spec, [item.record["id"] for item in items])
        items = [item for item in items if item.record["id"] not in waiting]
        if not items:
            return
        _, fresh = self._open(conn, spec, [item.record for item in items], run.actor, run.directory(self.tables))
        for item in items:
            item.record = fresh.get(item.record["id"], item.record)

    def _open(self, conn: Connection, spec: ApprovalSpec, records: list[Mapping[str, Any]], actor: Actor,
              directory: Directory) -> tuple[list[int], dict[int, dict]]:
        """Insert the approvals, write their `pending` values and tell the approvers."""
        now = self.service.clock()
        entity = self.blueprint.entities[spec.entity]
        approvers = [self._resolve(spec, record, directory, actor.locale) for record in records]
        ids, notes = [], []
        for record, users in zip(records, approvers, strict=False):
            message = self._message(conn, spec, record)
            key = conn.execute(self.table.insert().values(
                rule=spec.name, entity=spec.entity, record_id=record["id"], status=PENDING,
                requested_by=actor.user_id, requested_at=now, message=message,
                lock=spec.lock if spec.lock is True or spec.lock is False else list(spec.lock),
            )).inserted_primary_key
            assert key is not None  # a single-row insert reports its key
            approval_id = key[0]
            ids.append(approval_id)
            conn.execute(self.approvers.insert(), [{"approval_id": approval_id, "user_id": u} for u in users])
            notes += [{"user_id": u, "message": message, "rule": spec.name, "entity": entity.name,
                       "record_id": record["id"]} for u in users]
        fresh = self._write(conn, spec, "pending", records, actor, {})
        self.automations.notifications.send(conn, notes, now)
        return ids, fresh

    def _resolve(self, spec: ApprovalSpec, record: Mapping[str, Any], directory: Directory, locale: str) -> list[int]:
        """Who decides, as the record is now; ApprovalRefused when nobody can."""
        entity = self.blueprint.entities[spec.entity]
        active = {p.id for p in directory.people.values() if p.active}
        if spec.approver == "manager":
            owner = record.get(entity.owner) if entity.owner else record.get("created_by")
            if owner is None:
                raise refused("no_owner", locale)
            manager = directory.manager_of(owner)
            if manager is None or manager not in active:
                raise refused("no_manager", locale)
            return [manager]
        field = entity.fields.get(spec.approver)
        if field is not None and field.type == "user":
            user = record.get(field.name)
            if user is None or user not in active:
                raise refused("no_field_user", locale, field=field.label.text(locale, self.blueprint.default_locale))
            return [user]
        users = directory.with_role(spec.approver)
        if not users:
            role = self.blueprint.roles.get(spec.approver)
            raise refused("no_role_user", locale, role=role.label.text(locale) if role else spec.approver)
        return users

    def _message(self, conn: Connection, spec: ApprovalSpec, record: Mapping[str, Any]) -> dict[str, str]:
        """What the approvers are asked, in every language, filled with the record as people read it."""
        locales = dict.fromkeys(self.blueprint.locales + LOCALES)
        values = self.automations.actions.message_values
        if spec.message is not None:
            texts = {locale: spec.message.text(locale, self.blueprint.default_locale) for locale in locales}
            return values.fill(conn, spec.entity, texts, [record])[0]
        entity = self.blueprint.entities[spec.entity]
        title = values.queries.titles(conn, entity.name, [record["id"]]).get(record["id"]) if entity.title else None
        return {locale: approval_message(
            "requested", locale, label=spec.rule.label.text(locale, self.blueprint.default_locale),
            title=title or f"{entity.label.text(locale, self.blueprint.default_locale)} #{record['id']}")
            for locale in locales}

    def _write(self, conn: Connection, spec: ApprovalSpec, which: str, records: list[Mapping[str, Any]],
               actor: Actor, extra: Mapping[str, Any]) -> dict[int, dict]:
        """Write one of the rule's sets (as `actor`, past the lock and the reserved values);
        returns the records that changed, as they are now."""
        expressions = spec.sets.get(which, {})
        evaluator = self.service.rules.evaluator
        changes = []
        for record in records:
            values = {name: evaluator.bind(spec.entity, actor).evaluate(expression, record)
                      for name, expression in expressions.items()}
            values.update(extra)
            if values:
                changes.append((record["id"], values))
        if not changes:
            return {}
        with mechanism_writes(spec.entity, [record_id for record_id, _ in changes]):
            pairs = self.service.bulk_update(spec.entity, changes, actor, connection=conn,
                                             # the service's own records as it read them: dicts
                                             current={r["id"]: cast("dict[str, Any]", r) for r in records},
                                             affected_only=True)
        return {after["id"]: after for _, after in pairs}

    # --- deciding ----------------------------------------------------------------------------

    def decide(self, approval_id: int, decision: str, actor: Actor, comment: str | None = None,
               connection: Connection | None = None) -> Approval:
        """Approve or reject a pending approval (ApprovalRefused when it is not pending or the
        actor may not decide it; ValidationFailed when the decision's values are refused, and
        then nothing changes - with a `connection` passed, rolling back is the caller's)."""
        status = DECISIONS.get(decision)
        if status is None:
            raise refused("bad_decision", actor.locale)
        comment = (comment or "").strip() or None
        with self.service._connection(connection) as conn:
            approval = self._pending(conn, approval_id, actor)
            if not self.may_decide(approval, actor):
                names = self.guard.approver_names(conn, [approval.id])
                raise refused("not_approver", actor.locale, names=names_text(names, actor.locale))
            spec = self.specs.get(approval.rule)
            if status == "rejected" and comment is None:  # beside the field the reason goes to, if any
                field = spec.comments.get(status) if spec is not None else None
                raise ValidationFailed({field or RECORD_ERRORS: [approval_message("reason_required", actor.locale)]})
            now = self._settle(conn, approval, status, actor, comment)
            before = self.service._current(conn, approval.entity, approval.record_id, actor)
            after = before
            if spec is not None:
                field = spec.comments.get(status)
                extra = {field: comment} if field and comment else {}
                after = self._write(conn, spec, status, [before], actor, extra).get(before["id"], before)
            decided = self._read(conn, [approval.id])[0]
            self._tell_decision(conn, decided, after, actor, now)
            if spec is not None:
                model = self.blueprint.entities[approval.entity]
                self.automations.decided(conn, model, spec.name, status, before, after, actor)
            return decided

    def withdraw(self, approval_id: int, actor: Actor, connection: Connection | None = None) -> Approval:
        """End a pending request without a decision; the record is free again. Nothing is
        written to the record (the `pending` values stay)."""
        with self.service._connection(connection) as conn:
            approval = self._pending(conn, approval_id, actor)
            if not self._may_withdraw(approval, actor, self._owner(conn, approval)):
                raise refused("may_not_withdraw", actor.locale)
            self._settle(conn, approval, "withdrawn", actor, None)
            return self._read(conn, [approval.id])[0]

    def _pending(self, conn: Connection, approval_id: int, actor: Actor) -> Approval:
        found = self._read(conn, [approval_id])
        if not found:
            raise refused("no_approval", actor.locale)
        if found[0].status != PENDING:
            raise refused(f"was_{found[0].status}", actor.locale)
        return found[0]

    def _settle(self, conn: Connection, approval: Approval, status: str, actor: Actor,
                comment: str | None) -> dt.datetime:
        """Mark the approval decided, only if it still is pending: of two deciders one wins."""
        now = self.service.clock()
        table = self.table
        done = conn.execute(table.update().where(table.c.id == approval.id, table.c.status == PENDING).values(
            status=status, decided_by=actor.user_id, decided_at=now, comment=comment))
        if done.rowcount != 1:
            current = conn.execute(sa.select(table.c.status).where(table.c.id == approval.id)).scalar()
            raise refused(f"was_{current}" if current in ("approved", "rejected", "withdrawn") else "no_approval",
                          actor.locale)
        return now

    def _tell_decision(self, conn: Connection, approval: Approval, record: Mapping[str, Any], actor: Actor,
                       now: dt.datetime) -> None:
        """The requester and the owner hear of the decision (not the one who took it)."""
        entity = self.blueprint.entities[approval.entity]
        owner = record.get(entity.owner) if entity.owner else None
        users = self.users
        known = set(conn.execute(sa.select(users.c.id).where(
            users.c.id.in_([u for u in (approval.requested_by, owner) if u is not None]))).scalars())
        recipients = [u for u in dict.fromkeys((approval.requested_by, owner))
                      if u is not None and u != actor.user_id and u in known]
        if not recipients:
            return
        who = conn.execute(sa.select(users.c.display_name, users.c.name).where(users.c.id == actor.user_id)).first()
        message = {}
        for locale in LOCALES:
            text = Label.of(dict(approval.message)).text(locale)
            text = approval_message(f"decided_{approval.status}", locale, text=text,
                                    who=(who.display_name or who.name) if who else actor.name)
            message[locale] = approval_message("with_comment", locale, text=text, comment=approval.comment) \
                if approval.comment else text
        self.automations.notifications.send(conn, [
            {"user_id": user, "message": message, "rule": approval.rule, "entity": approval.entity,
             "record_id": approval.record_id} for user in recipients], now)

    # --- who may ------------------------------------------------------------------------------

    def may_decide(self, approval: Approval, actor: Actor) -> bool:
        """A pending approval is decided by one of its approvers, or by a role that sees everything."""
        if approval.status != PENDING or actor.user_id is None:
            return False
        return actor.user_id in approval.approvers or self._sees_all(actor)

    def may_withdraw(self, approval: Approval, actor: Actor) -> bool:
        """The requester, the record's owner or a role that sees everything may withdraw it."""
        if approval.status != PENDING or actor.user_id is None:
            return False
        if actor.user_id == approval.requested_by or self._sees_all(actor):
            return True
        with self.service._connection(None, write=False) as conn:
            return self._may_withdraw(approval, actor, self._owner(conn, approval))

    def _may_withdraw(self, approval: Approval, actor: Actor, owner: int | None) -> bool:
        return actor.user_id is not None and (
            actor.user_id in (approval.requested_by, owner) or self._sees_all(actor))

    def _sees_all(self, actor: Actor) -> bool:
        return self.access.sees_everything(actor)

    def _may_request(self, conn: Connection, actor: Actor, entity: str, record: Mapping[str, Any]) -> bool:
        return actor.user_id is None or self.access.permits(conn, actor, entity, record, "update")

    def _owner(self, conn: Connection, approval: Approval) -> int | None:
        entity = self.blueprint.entities.get(approval.entity)
        found = self.service.read_many(conn, approval.entity, [approval.record_id]) if entity else []
        return found[0].get(entity.owner) if found and entity and entity.owner else None

    def _allowed(self, conn: Connection, spec: ApprovalSpec, record: Mapping[str, Any], actor: Actor) -> bool:
        """The rule's `where` and `when`, and the action's own `when`, hold for the record."""
        if spec.rule.where and not matching_ids(conn, self.service, spec.rule, [record["id"]]):
            return False
        return self._holds(spec.rule.when, spec, record, actor) and self._holds(spec.when, spec, record, actor)

    def _holds(self, expression: Any, spec: ApprovalSpec, record: Mapping[str, Any], actor: Actor) -> bool:
        if expression is None:
            return True
        try:
            return bool(self.service.rules.evaluator.bind(spec.entity, actor).evaluate(expression, record))
        except Exception:  # like a rule's `when`: a condition that cannot be evaluated does not hold
            return False
