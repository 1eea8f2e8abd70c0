"""The columns a scheduled rule's run reads, when it need not read whole records.

A scheduled run reads its batch of records (locked) and runs the rule's actions on them. A rule
that only sets fields and notifies looks at few columns of a wide record, and reading them all
(and turning each into Python values) is much of a run's cost. Such a run reads only what it can
look at, so it acts exactly as it would on whole records:

- id and version; the fields named by the rule's `when` and by each `set` expression;
- the fields each `set` touches (RulePlan) and everything the rules they reach read: formulas,
  conditional requirements, checks, and with the stage, what each stage requires; unless the
  set's values read nothing and the rules they reach read nothing else either (a formula
  `None if owner is None else ...` when the set empties the owner): then every record gets
  the same outcome (set_writes.shared_outcome) and only the touched fields are read;
- the stage (its history is compared for every update), rollup links (their parents are
  refreshed), the pool's owner and lock, the owner and the user fields notifications go to, and
  the message placeholders that name a field;
- updated_at and updated_by when an event rule on updates exists: the rules it fires see whole
  records, read again after the write, with the values read before as their before-image.

A rule with any other action (create, assign, webhook, approvals, ...), an entity with location
fields, or one whose rollups read its own records (when event rules may fire), reads whole records
as before.
"""
from __future__ import annotations

from typing import Any

from atrium.metadata.expressions import Expression, ExpressionError
from atrium.metadata.model import Entity, Label
from atrium.runtime.automation.message_values import PLACEHOLDER
from atrium.runtime.automation.rules import Action, Rule
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.records.set_writes import SYSTEM_COLUMNS, plan_inputs, shared_outcome, stored_names

SET_BASED_ACTIONS = frozenset({"set", "notify"})


class RuleColumns:
    def __init__(self, service: Any):
        self.service = service
        self._known: dict[str, tuple[str, ...] | None] = {}

    def of(self, rule: Rule) -> tuple[str, ...] | None:
        """The columns a run of `rule` reads, in table sequence; None: it reads whole records."""
        if rule.name not in self._known:
            self._known[rule.name] = self._columns(rule)
        return self._known[rule.name]

    def _columns(self, rule: Rule) -> tuple[str, ...] | None:
        model = self.service.blueprint.entities[rule.entity]
        if any(field.type == "location" for field in model) or any(
                action.kind not in SET_BASED_ACTIONS for action in rule.actions):
            return None
        stored = stored_names(model)
        wanted: set[str] = {"id", "version"}

        def reads(expression: Expression | None) -> None:
            if expression is not None:
                wanted.update(expression.names & stored)

        reads(rule.when)
        for name in (model.owner, model.stage_field.name if model.stage_field else None):
            if name in stored:
                wanted.add(name)
        if model.pool is not None:
            wanted.update(name for name in (model.pool.owner_field, model.pool.lock_field) if name)
        wanted.update(self.service.rollups.links(model.name))
        for action in rule.actions:
            if action.kind == "set" and not self._set(model, action, reads, wanted):
                return None
            if action.kind == "notify":
                self._notify(model, action, stored, wanted)
        automations = self.service.automations
        if any(action.kind == "set" for action in rule.actions) and automations is not None \
                and automations.by_event.get((model.name, "update")):
            if any(parent.name == model.name for parent, _ in self.service.rollups.readers.get(model.name, ())):
                return None  # its rollups change the records themselves: the before-images must be read whole
            wanted.update(("updated_at", "updated_by"))  # a before-image's own; the rest is the whole record's
        return tuple(name for name in (*SYSTEM_COLUMNS, *model.fields) if name in wanted)

    def _set(self, model: Entity, action: Action, reads, wanted: set[str]) -> bool:
        for name, expression in action.expressions.items():
            field = model.fields.get(name)
            if field is None or field.computed:  # refused by prepare: let the whole-record run say so
                return False
            reads(expression)
        plan = self.service.rules.plan(model, frozenset(action.expressions))
        wanted.update(plan.touched)  # compared with the new values: what changed goes to the history
        if not self._shared(model, action, plan):
            wanted.update(plan_inputs(self.service.blueprint, model, plan))
        return True

    def _shared(self, model: Entity, action: Action, plan) -> bool:
        """Whether every record gets the same outcome (set_writes.shared_outcome): values that
        read nothing, and rules that read nothing else. The records service checks again per
        batch, and completes the records from the database if it finds otherwise."""
        if any(expression.names for expression in action.expressions.values()):
            return False
        actor = Actor(name="automation", locale=self.service.blueprint.default_locale)
        evaluator = self.service.rules.evaluator.bind(model.name, actor)
        try:
            values = {name: evaluator.evaluate(expression, {}) for name, expression in action.expressions.items()}
        except ExpressionError:
            return False
        return shared_outcome(self.service.rules, model, plan, values, actor) is not None

    @staticmethod
    def _notify(model: Entity, action: Action, stored: frozenset[str], wanted: set[str]) -> None:
        spec = action.spec
        for name in spec["to"] if isinstance(spec["to"], (list, tuple)) else [spec["to"]]:
            if name in ("owner", "previous_owner", "manager") and model.owner:
                wanted.add(model.owner)
            elif name == "creator":
                wanted.add("created_by")
            elif name in model.fields:  # a user field
                wanted.add(name)
        for text in Label.of(spec["message"]).texts.values():
            wanted.update(match.group(1) for match in PLACEHOLDER.finditer(text) if match.group(1) in stored)
