"""Automation documents → typed rules: trigger, schedule, filter and actions.

The metadata layer validated and cross-checked each automations/<name>.yaml and parsed its
expressions; this module gives the runtime a typed view of one rule, decides whether a write
fires it, and when a scheduled rule is due (its period, the key of its lease).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping
from zoneinfo import ZoneInfo

from atrium.errors import AtriumError
from atrium.metadata.expressions import Expression
from atrium.metadata.model import Blueprint, Document, Label

ACTION_KINDS = ("set", "create", "assign", "notify", "webhook", "require_approval")
EVENTS = ("create", "update", "delete")
DECISIONS = ("approved", "rejected")  # `on: {approved: rule}`: after a decision of that approval rule


class AutomationConfigError(AtriumError, ValueError):
    """A rule the runtime cannot run (the loader normally refuses it first)."""

    status, code = 422, "automation"


@dataclass(frozen=True)
class Trigger:
    kind: str  # create, update, delete, change, stage, schedule, request, approved, rejected
    fields: tuple[str, ...] = ()  # change
    stage: str | None = None  # stage
    direction: str | None = None  # stage: enter or leave
    approvals: tuple[str, ...] = ()  # approved, rejected: the approval rules whose decision it follows

    @property
    def events(self) -> tuple[str, ...]:
        """The writes that may fire it: a record is created in a stage, so it enters it."""
        if self.kind in EVENTS:
            return (self.kind,)
        if self.kind == "stage":
            return ("create", "update") if self.direction == "enter" else ("update",)
        return ("update",) if self.kind == "change" else ()  # request and decisions: approvals.py


@dataclass(frozen=True)
class Schedule:
    every: str  # hour, day, week
    at: dt.time | None = None

    def period(self, now: dt.datetime, timezone: str) -> str | None:
        """The key of the period `now` falls in, or None while this period's run is not due yet."""
        local = now.astimezone(ZoneInfo(timezone))
        if self.every == "hour":
            if self.at is not None and local.minute < self.at.minute:
                return None
            return "hour:" + local.strftime("%Y-%m-%dT%H")
        if self.every == "day":
            if self.at is not None and local.time() < self.at:
                return None
            return "day:" + local.date().isoformat()
        monday = local.date() - dt.timedelta(days=local.weekday())
        if self.at is not None and local.date() == monday and local.time() < self.at:
            return None
        year, week, _ = monday.isocalendar()
        return f"week:{year}-W{week:02d}"


@dataclass(frozen=True)
class Action:
    kind: str
    index: int
    spec: Mapping[str, Any]
    expressions: Mapping[str, Expression]  # field (set, create) or payload key (webhook) → expression


@dataclass(frozen=True)
class Rule:
    name: str
    label: Label
    entity: str
    trigger: Trigger
    actions: tuple[Action, ...]
    where: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    when: Expression | None = None
    schedule: Schedule | None = None
    enabled: bool = True

    def fires_on(self, event: str, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None,
                 stage_field: str | None) -> bool:
        """Whether this write (before → after) is one the trigger names."""
        trigger = self.trigger
        if event not in trigger.events:
            return False
        if trigger.kind in EVENTS:
            return True
        if trigger.kind == "change":
            return before is not None and after is not None and any(
                before.get(name) != after.get(name) for name in trigger.fields)
        if stage_field is None:
            return False
        old = before.get(stage_field) if before is not None else None
        new = after.get(stage_field) if after is not None else None
        if old == new:
            return False
        return new == trigger.stage if trigger.direction == "enter" else old == trigger.stage


def _trigger(spec: Any) -> Trigger:
    if isinstance(spec, str):
        return Trigger(spec)
    if "change" in spec:
        return Trigger("change", fields=tuple(spec["change"]))
    for decision in DECISIONS:
        if decision in spec:
            named = spec[decision]
            return Trigger(decision, approvals=(named,) if isinstance(named, str) else tuple(named))
    direction, stage = next(iter(spec["stage"].items()))
    return Trigger("stage", stage=stage, direction=direction)


def build_rule(document: Document) -> Rule:
    data = document.data
    actions = []
    for index, step in enumerate(data["do"]):
        kind, spec = next(iter(step.items()))
        if kind not in ACTION_KINDS:
            raise AutomationConfigError(f"automation {document.name}: '{kind}' is not an action this "
                                        f"version runs ({', '.join(ACTION_KINDS)})")
        prefix = f"do.{index}.{kind}."
        # keyed by field; an approval's sets by `pending.field`, `approved.field` ... (and `when`)
        expressions = {key[len(prefix):] if kind == "require_approval" else key[len(prefix):].split(".")[-1]:
                       expression for key, expression in document.expressions.items() if key.startswith(prefix)}
        actions.append(Action(kind, index, spec, MappingProxyType(expressions)))
    trigger = _trigger(data["on"])
    schedule = None
    if trigger.kind == "schedule":
        at = dt.time.fromisoformat(data["at"]) if "at" in data else None
        schedule = Schedule(data.get("every", "day"), at)
    return Rule(name=document.name, label=document.label, entity=data["entity"], trigger=trigger,
                actions=tuple(actions), where=data.get("where", MappingProxyType({})),
                when=document.expressions.get("when"), schedule=schedule,
                enabled=bool(data.get("enabled", True)))


def build_rules(blueprint: Blueprint) -> tuple[Rule, ...]:
    """Every enabled rule of the blueprint."""
    rules = (build_rule(document) for document in blueprint.automations.values())
    return tuple(rule for rule in rules if rule.enabled)
