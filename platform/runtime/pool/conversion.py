"""Conversion: one source record becomes several target records, all or nothing.

An entity's `convert:` lists the targets. For each, the values come from the source (`map`,
expressions over the source record) and may be changed by the user; reference fields named in
`parent` point to the record an earlier target made or picked; the source's `link` field is set
to the target's record, and the conversion's `set` values are written to the source with the
links. Everything happens in one writing transaction through `SecuredRecords`, so every
validation, access rule, history row and automation applies; the first error rolls all of it
back and is reported against the target it belongs to (`target.field`).

Before anything is created, each target with `match` fields (or whose entity declares
`duplicates:`) is compared with the existing records of its entity: records equal in any match
field, or alike by the entity's rules, are duplicates, compared as every duplicate check
compares (duplicates/keys.py: a name without case, width, spaces or company suffix). Only
records the user may read count (the access layer's read scope, and only match
fields the user may see): they are offered to link instead of creating, and the user must pick one
or confirm a new record. A look-alike the user may not read is neither shown nor counted, so the
check never reveals that such a record exists.

A source counts as converted once every required target is linked; it cannot be converted again.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any, Mapping

from sqlalchemy.engine import Connection

from atrium.metadata.model import Conversion, ConversionTarget, Entity
from atrium.runtime.access.secured import AccessDenied, SecuredRecords
from atrium.runtime.automation.messages import message
from atrium.runtime.duplicates.finder import Candidate, DuplicateFinder
from atrium.runtime.pool.messages import pool_message
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.records.rules import RECORD_ERRORS, Errors
from atrium.runtime.records.service import RecordError, RecordNotFound, ValidationFailed
from atrium.runtime.schema.database import connect, write_transaction

CANDIDATES = 10
SOURCE = "_source"  # the key of the source's own errors among the targets'


@dataclass
class Choice:
    """What the user decided for one target."""

    include: bool = True
    use: int | None = None  # link this existing record instead of creating one
    values: Mapping[str, Any] = field(default_factory=dict)  # changes to the mapped values
    allow_duplicate: bool = False  # create even though similar records exist

    @property
    def creates(self) -> bool:
        return self.include and self.use is None


@dataclass
class TargetPlan:
    """One target as the form shows it: its values, the record already linked, the duplicates."""

    target: ConversionTarget
    values: dict[str, Any]
    linked: int | None = None
    candidates: list[Candidate] = field(default_factory=list)


@dataclass
class Converted:
    source: dict[str, Any]
    created: dict[str, int]  # target name → the id of the record made
    linked: dict[str, int]  # target name → the id of the existing record linked


class ConversionRefused(RecordError):
    """The source cannot be converted (already converted, or not in a state that allows it)."""

    status = 409

    def __init__(self, reason: str, text: str):
        self.reason = reason
        self.code = reason  # the API names the refusal by its reason
        super().__init__(text)


class ConversionFailed(ValidationFailed):
    """Field errors per target (`by_target`: target → field → messages); nothing was written.
    `errors` has them flat, as `target.field`, the source's own as plain field names."""

    def __init__(self, by_target: Mapping[str, Errors]):
        self.by_target = {name: dict(errors) for name, errors in by_target.items() if errors}
        flat: Errors = {}
        for name, errors in self.by_target.items():
            for key, texts in errors.items():
                flat[key if name == SOURCE else f"{name}.{key}"] = list(texts)
        super().__init__(flat)


class DuplicatesFound(RecordError):
    """Similar records exist for some targets; the user must link one or confirm a new record."""

    status, code = 409, "duplicates"

    def __init__(self, plans: list[TargetPlan], text: str):
        self.plans = plans
        super().__init__(text)


def conversion_of(blueprint: Any, entity: str, locale: str) -> tuple[Entity, Conversion]:
    model = blueprint.entities.get(entity)
    if model is None or model.convert is None:
        raise RecordNotFound(pool_message("convert_none", locale))
    return model, model.convert


class Conversions:
    def __init__(self, site: Any):
        self.site = site
        self.secured = SecuredRecords(site)
        self.finder = DuplicateFinder(site)

    # --- what the pages ask ------------------------------------------------------------------

    def offered(self, connection: Connection, actor: Actor, entity: str, record: Mapping[str, Any]) -> bool:
        """Whether the Convert action shows on this record for this actor."""
        model = self.site.blueprint.entities[entity]
        conversion = model.convert
        if (conversion is None or self.converted(conversion, record)
                or not self._holds(conversion, entity, actor, record)):
            return False
        return self.site.access.permits(connection, actor, entity, record, "update") and any(
            self.site.access.can(actor, target.entity, "create") for target in conversion.targets)

    @staticmethod
    def converted(conversion: Conversion, record: Mapping[str, Any]) -> bool:
        required = [t for t in conversion.targets if not t.optional] or list(conversion.targets)
        return all(record.get(target.link) is not None for target in required)

    def plan(self, actor: Actor, entity: str, record_id: int, choices: Mapping[str, Choice] | None = None,
             connection: Connection | None = None) -> list[TargetPlan]:
        """Each target's values (mapped, then the user's), linked record and duplicates."""
        model, conversion = conversion_of(self.site.blueprint, entity, actor.locale)
        choices = choices or {}
        with (connect(self.site.engine) if connection is None else contextlib.nullcontext(connection)) as conn:
            self.secured.get(actor, entity, record_id, conn)  # not readable: not found
            source = self.site.records.read_many(conn, entity, [record_id])[0]  # hidden fields map too
            plans = []
            for target in conversion.targets:
                choice = choice_for(choices, target, source)
                values = {**self._mapped(actor, entity, target, source), **dict(choice.values)}
                plan = TargetPlan(target, values, linked=source.get(target.link))
                if target.match or self.site.blueprint.entities[target.entity].duplicates:
                    plan.candidates = self._duplicates(conn, actor, target, values)
                plans.append(plan)
        return plans

    # --- converting --------------------------------------------------------------------------

    def convert(self, actor: Actor, entity: str, record_id: int, choices: Mapping[str, Choice]) -> Converted:
        """Make (or link) every included target and update the source, in one transaction."""
        model, conversion = conversion_of(self.site.blueprint, entity, actor.locale)
        locale = actor.locale
        with write_transaction(self.site.engine) as conn:
            self.secured.get(actor, entity, record_id, conn, action="update")  # readable and changeable
            source = self.site.records.read_where(conn, entity, "id", [record_id], lock=True)[0]
            if self.converted(conversion, source):
                raise ConversionRefused("converted", pool_message("convert_done", locale))
            if not self._holds(conversion, entity, actor, source):
                raise ConversionRefused("not_now", pool_message("convert_not_now", locale))
            choices = {t.name: choice_for(choices, t, source) for t in conversion.targets}
            plans = self.plan(actor, entity, record_id, choices, conn)
            self._check_choices(conn, actor, plans, choices)
            waiting = [p for p in plans if p.candidates and choices[p.target.name].creates
                       and not choices[p.target.name].allow_duplicate]
            if waiting:
                raise DuplicatesFound(waiting, pool_message("convert_duplicates", locale))
            made: dict[str, int] = {}
            created: dict[str, int] = {}
            linked: dict[str, int] = {}
            for plan in plans:
                choice = choices[plan.target.name]
                if not choice.include:
                    continue
                if choice.use is not None:
                    made[plan.target.name] = linked[plan.target.name] = int(choice.use)
                    continue
                values = dict(plan.values)
                values.update({name: made.get(parent) for name, parent in plan.target.parent.items()})
                try:
                    record = self.secured.create(actor, plan.target.entity, values, connection=conn)
                except ValidationFailed as failed:
                    raise ConversionFailed({plan.target.name: failed.errors}) from None
                except AccessDenied:
                    raise ConversionFailed({plan.target.name: {RECORD_ERRORS: [
                        message("field_not_allowed", locale)]}}) from None
                made[plan.target.name] = created[plan.target.name] = record["id"]
            changes = {name: self._evaluate(actor, entity, expression, source)
                       for name, expression in conversion.set.items()}
            changes.update({t.link: made[t.name] for t in conversion.targets if t.name in made})
            try:
                updated = self.secured.update(actor, entity, record_id, changes, version=source["version"],
                                              connection=conn)
            except ValidationFailed as failed:
                raise ConversionFailed({SOURCE: failed.errors}) from None
        return Converted(updated, created, linked)

    def _check_choices(self, conn: Connection, actor: Actor, plans: list[TargetPlan],
                       choices: Mapping[str, Choice]) -> None:
        errors: dict[str, Errors] = {}
        locale = actor.locale
        for plan in plans:
            target, choice = plan.target, choices[plan.target.name]
            if not choice.include:
                if not target.optional:
                    errors[target.name] = {RECORD_ERRORS: [pool_message("convert_required", locale)]}
                continue
            if choice.use is not None:  # any record of the entity the user can read
                if not self.site.access.allows(conn, actor, target.entity, int(choice.use), "read"):
                    errors[target.name] = {RECORD_ERRORS: [pool_message("convert_bad_choice", locale)]}
            elif not self.site.access.can(actor, target.entity, "create"):
                errors[target.name] = {RECORD_ERRORS: [message("field_not_allowed", locale)]}
            else:
                errors.update(self._field_errors(actor, plan))
        if errors:
            raise ConversionFailed(errors)

    def _field_errors(self, actor: Actor, plan: TargetPlan) -> dict[str, Errors]:
        """The target's field errors before anything is written (parents are not made yet: a
        stand-in id keeps their `required` from reporting them)."""
        model = self.site.blueprint.entities[plan.target.entity]
        values = {**plan.values, **{name: 0 for name in plan.target.parent}}
        _, errors = self.site.records.rules.prepare(model, None, values, actor)
        refused = self.site.access.writable(actor, model.name, plan.values)
        for name in refused:
            if name in model.fields and not model.fields[name].computed:
                errors.setdefault(name, []).append(message("field_not_allowed", actor.locale))
        return {plan.target.name: errors} if errors else {}

    # --- the pieces --------------------------------------------------------------------------

    def _evaluate(self, actor: Actor, entity: str, expression: Any, record: Mapping[str, Any]) -> Any:
        return self.site.records.rules.evaluator.bind(entity, actor).evaluate(expression, record)

    def _mapped(self, actor: Actor, entity: str, target: ConversionTarget, source: Mapping[str, Any]) -> dict:
        return {name: self._evaluate(actor, entity, expression, source) for name, expression in target.map.items()}

    def _holds(self, conversion: Conversion, entity: str, actor: Actor, record: Mapping[str, Any]) -> bool:
        if conversion.when is None:
            return True
        try:
            return bool(self._evaluate(actor, entity, conversion.when, record))
        except Exception:  # like a check's `when`: a condition that cannot be evaluated does not hold
            return False

    def _duplicates(self, conn: Connection, actor: Actor, target: ConversionTarget,
                    values: Mapping[str, Any]) -> list[Candidate]:
        """The records of the target's entity the actor may read that look like `values`: equal
        in one of the target's `match` fields, or else by the entity's own `duplicates:` rules,
        compared as every duplicate check compares (duplicates/finder.py); nothing about the others."""
        rules = [(name,) for name in target.match] or None
        similar = self.finder.find(conn, actor, target.entity, values, rules=rules, count_hidden=False)
        return list(similar.readable)


def choice_for(choices: Mapping[str, Choice], target: ConversionTarget, source: Mapping[str, Any]) -> Choice:
    """The user's choice for a target; by default a target the source already links is kept."""
    if target.name in choices:
        return choices[target.name]
    return Choice(use=source.get(target.link))
