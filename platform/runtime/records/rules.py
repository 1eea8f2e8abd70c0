"""What makes a record valid: coercion, defaults, formulas, required rules, stage rules, checks.

`prepare` works on plain dicts and never touches the database, so the single-record and the bulk
paths apply exactly the same rules; database checks (unique, references) live in the service.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import AbstractSet, Any, Mapping, Sequence

from atrium.metadata.expressions import PREVIOUS, Expression, ExpressionError
from atrium.metadata.model import Blueprint, Check, Entity, Field
from atrium.runtime.automation.messages import message
from atrium.runtime.records.coercion import CoercionError, coerce, coerce_column, is_empty
from atrium.runtime.records.evaluation import SYSTEM, Actor, RecordEvaluator
from atrium.runtime.records.linked_values import LinkedRead
from atrium.runtime.records.stage_stamps import apply_stage_stamps
from atrium.runtime.schema.tables import text_limit

Errors = dict[str, list[str]]
RECORD_ERRORS = "_record"  # errors that belong to no single field


def add_error(errors: Errors, field: str, text: str) -> None:
    errors.setdefault(field, [])
    if text not in errors[field]:
        errors[field].append(text)


# Functions whose value depends on more than the record: a rule calling one can change any time.
CONTEXT_READERS = frozenset({"today", "now", "current_user", "current_role", "stage_probability", "target"})


@dataclass(frozen=True)
class RulePlan:
    """The rules a change to some fields can affect: formulas reading them (directly, through
    other formulas, or reading the clock or the user), the rules of those fields, the checks that
    name any of them, and the stage rule if the stage moves."""

    formulas: tuple[str, ...]
    fields: tuple[Field, ...]
    checks: tuple[Check, ...]
    stage: bool
    touched: frozenset[str]


def rule_plan(entity: Entity, changed: frozenset[str]) -> RulePlan:
    touched = set(changed)
    if entity.stage_field is not None and entity.stage_field.name in touched:
        touched.update(f.name for f in entity.stamped_fields)  # a stage move sets or clears them
    formulas = []
    for name in entity.formula_order:
        formula = entity.fields[name].formula
        assert formula is not None  # formula_order names formula fields only
        if formula.names & (touched | CONTEXT_READERS):
            formulas.append(name)
            touched.add(name)
    reads = touched | CONTEXT_READERS
    fields = tuple(f for f in entity if not f.computed and (
        f.name in touched or _reads(f.required_when, reads) or _reads(f.visible_when, reads)))
    checks = tuple(c for c in entity.checks
                   if c.assertion.names & reads or (c.when is not None and c.when.names & reads))
    stage = entity.stage_field is not None and entity.stage_field.name in touched
    return RulePlan(tuple(formulas), fields, checks, stage, frozenset(touched))


def _reads(condition: Expression | None, names: AbstractSet[str]) -> bool:
    return condition is not None and bool(condition.names & names)


def reading_touched(plan: RulePlan) -> RulePlan:
    """The plan without the rules it holds only because they read the clock or the user: what a
    write the engine makes on its own (an owner following its parent's) is checked against. A
    check like `expected_close >= today()` does not read the owner, so an overdue record does not
    hold back the owner change of the record it follows."""
    touched = plan.touched
    fields = tuple(f for f in plan.fields if f.name in touched
                   or _reads(f.required_when, touched) or _reads(f.visible_when, touched))
    checks = tuple(c for c in plan.checks
                   if c.assertion.names & touched or (c.when is not None and c.when.names & touched))
    return RulePlan(plan.formulas, fields, checks, plan.stage, touched)


@dataclass(frozen=True)
class EntityRules:
    """What `prepare` asks of an entity's fields for every record, worked out once per entity: a
    bulk create of 20,000 records would otherwise ask each field the same questions 20,000 times."""

    # in field order, what a new record gets: (field, True) a count or sum roll-up's 0 (nothing
    # links to the record yet), (field, False) its default when no value is given
    filled: tuple[tuple[Field, bool], ...]
    checked: tuple[tuple[Field, int | None, bool], ...]  # (field, text limit, has numeric bounds)
    by_name: Mapping[str, tuple[Field, bool]]  # field name → (field, computed)
    blank: Mapping[str, None]  # a new record before its values: every field empty


NUMERIC = frozenset({"integer", "number", "money", "percent"})


def entity_rules(entity: Entity) -> EntityRules:
    numeric = NUMERIC
    return EntityRules(
        by_name={f.name: (f, f.computed) for f in entity},
        blank=dict.fromkeys(f.name for f in entity),
        filled=tuple((f, f.rollup is not None and f.rollup.function in ("count", "sum")) for f in entity
                     if (f.rollup is not None and f.rollup.function in ("count", "sum"))
                     or (f.default is not None and not f.computed)),
        checked=tuple((f, text_limit(f), f.type in numeric and (f.min is not None or f.max is not None))
                      for f in entity if not f.computed))


# what a default may read and still be one value for every record of a batch
BATCH_CONSTANT = frozenset({"today", "current_user", "current_role"})


@dataclass(frozen=True)
class BatchRules:
    """How `prepare_batch` splits an entity's rules: the field checks it does as column passes
    (fields no condition, default, stamp or stage rule touches: their stored value is the given
    one), the checks left to each record, the defaults it evaluates once per batch, and whether a
    record needs anything after its coercion at all."""

    columns: tuple[tuple[Field, int | None, bool], ...]
    rows: tuple[tuple[Field, int | None, bool], ...]
    constant_defaults: tuple[Field, ...]
    coerced_only: bool


def batch_rules(entity: Entity, rules: EntityRules, reads_links: bool) -> BatchRules:
    set_later = {field.name for field, _ in rules.filled} | {f.name for f in entity.stamped_fields}
    if entity.stage_field is not None:
        set_later.add(entity.stage_field.name)
    columns: list[tuple[Field, int | None, bool]] = []
    rows: list[tuple[Field, int | None, bool]] = []
    for checked in rules.checked:
        field = checked[0]
        simple = field.visible_when is None and field.required_when is None and field.name not in set_later
        (columns if simple else rows).append(checked)
    constant = tuple(field for field, zeroed in rules.filled if not zeroed and field.default is not None
                     and field.default.names <= BATCH_CONSTANT)
    coerced_only = (not rules.filled and entity.stage_field is None and not entity.formula_order
                    and not entity.checks and not rows and not reads_links)
    return BatchRules(tuple(columns), tuple(rows), constant, coerced_only)


def _column_holds(field: Field, limit: int | None, bounded: bool, values: Sequence[Any]) -> bool:
    """True if no value of the column breaks the field's own rules (required, text limit, numeric
    bounds) as `_validate` checks them; False sends the batch row by row, to name the error."""
    required = field.required
    low, high = field.min, field.max
    for value in values:
        if value is None:
            if required:
                return False
            continue
        kind = type(value)
        if kind is str:
            if (limit and len(value) > limit) or value.strip() == "":
                return False
        elif kind is list:
            if not value:
                return False
        elif bounded:
            if isinstance(value, str) or (low is not None and value < low) or (high is not None and value > high):
                return False
    return True


class RecordRules:
    def __init__(self, blueprint: Blueprint, evaluator: RecordEvaluator):
        self.blueprint = blueprint
        self.evaluator = evaluator
        self._plans: dict[tuple[str, frozenset[str]], RulePlan] = {}
        self._entities: dict[str, EntityRules] = {}
        self._batches: dict[tuple[str, bool], BatchRules] = {}

    def prepare_batch(self, entity: Entity, rows: Sequence[Mapping[str, Any]], actor: Actor,
                      linked: LinkedRead | None = None) -> list[dict[str, Any]] | None:
        """The new records `prepare` makes of `rows`, each the same, worked out column-wise where
        it can: each given field's values coerced in one pass (`coerce_column`), the defaults
        that are one value for the batch evaluated once, the clock read once for the stage stamps,
        the checks of fields no rule conditions done as column passes, and for each record only
        what is left (linked values, other defaults, stamps, formulas, conditional rules, checks).

        None when any row is in error or the rows do not give the same fields: the caller then
        prepares row by row, which finds and names the first bad row exactly as before."""
        if not rows:
            return []
        keys = rows[0].keys()
        if any(row.keys() != keys for row in rows):
            return None
        rules = self.of_entity(entity)
        reads_links = linked is not None and linked.values.reads_links(entity.name)
        batch = self._batches.get((entity.name, reads_links))
        if batch is None:
            batch = self._batches[(entity.name, reads_links)] = batch_rules(entity, rules, reads_links)
        timezone = self.blueprint.timezone
        given: list[str] = []
        columns: dict[str, list[Any]] = {}
        for name in keys:
            found = rules.by_name.get(name)
            if found is None:
                return None
            field, computed = found
            values = [row[name] for row in rows]
            if computed:
                if not all(is_empty(value) for value in values):
                    return None
                continue
            try:
                columns[name] = coerce_column(field, values, timezone)
            except CoercionError:
                return None
            given.append(name)
        count = len(rows)
        empty: list[Any] = [None] * count
        for field, limit, bounded in batch.columns:
            if not _column_holds(field, limit, bounded, columns.get(field.name, empty)):
                return None
        blank = rules.blank
        records: list[dict[str, Any]] = []
        given_values: Any = zip(*(columns[name] for name in given), strict=True) if given else [()] * count
        for values in given_values:
            record = dict(blank)
            record.update(zip(given, values, strict=True))
            records.append(record)
        if batch.coerced_only:
            return records
        evaluator = self.evaluator.bind(entity.name, actor)
        defaults = {field.name: self.default_value(field, blank, evaluator) for field in batch.constant_defaults}
        if any(isinstance(value, list | dict) for value in defaults.values()):
            defaults = {}  # a value records could change: one each
        now = self.evaluator.local_now()
        for record, row in zip(records, rows, strict=True):
            errors: Errors = {}
            self._complete(entity, None, record, row, errors, actor, evaluator, None, linked, now,
                           defaults, batch.rows)
            if errors:
                return None
        return records

    def of_entity(self, entity: Entity) -> EntityRules:
        found = self._entities.get(entity.name)
        if found is None:
            found = self._entities[entity.name] = entity_rules(entity)
        return found

    def plan(self, entity: Entity, changed: frozenset[str]) -> RulePlan:
        key = (entity.name, changed)
        if key not in self._plans:
            self._plans[key] = rule_plan(entity, changed)
        return self._plans[key]

    def prepare(self, entity: Entity, current: Mapping[str, Any] | None, changes: Mapping[str, Any],
                actor: Actor, plan: RulePlan | None = None,
                linked: LinkedRead | None = None,
                rolled: Mapping[str, Any] | None = None) -> tuple[dict[str, Any], Errors]:
        """The record as it would be stored after `changes`, and every error found.

        With a `plan` (changes to an existing record), only the rules the changed fields can
        affect run: an automation changing the owner of many records is not held back by an old
        record's unrelated fields, and does not pay for rules it cannot affect.
        With `linked` (the write's reader of linked records), rules read dotted paths; without
        it (a record checked on its own) a path reads None.
        With `rolled`, roll-up fields take these values instead of the stored ones (the roll-ups
        over a form's lines as typed): the formulas and rules read them as if saved.
        """
        locale = actor.locale
        errors: Errors = {}
        rules = self.of_entity(entity)
        record: dict[str, Any] = dict(current) if current is not None else dict(rules.blank)
        timezone = self.blueprint.timezone
        for name, value in changes.items():
            field, computed = rules.by_name.get(name, (None, False))
            if field is None:
                add_error(errors, name, message("unknown_field", locale, field=name))
            elif computed:
                if not is_empty(value) and (current is None or value != current.get(name)):
                    add_error(errors, name, message("computed", locale))
            else:
                try:
                    record[name] = coerce(field, value, timezone)
                except CoercionError as error:
                    add_error(errors, name, message(error.key, locale, **error.params))
        evaluator = self.evaluator.bind(entity.name, actor)  # this call's own: threads share the rules
        self._complete(entity, current, record, changes, errors, actor, evaluator, plan, linked,
                       self.evaluator.local_now(), None, None, rolled)
        return record, errors

    def _complete(self, entity: Entity, current: Mapping[str, Any] | None, record: dict[str, Any],
                  changes: Mapping[str, Any], errors: Errors, actor: Actor, evaluator: RecordEvaluator,
                  plan: RulePlan | None, linked: LinkedRead | None, now: Any,
                  defaults: Mapping[str, Any] | None, checked: Any,
                  rolled: Mapping[str, Any] | None = None) -> None:
        """What `prepare` does after coercing the given values: linked values, defaults, stage
        stamps, formulas and validation, errors added to `errors`. A batch (`prepare_batch`)
        passes the defaults it worked out once and the field checks it has done column-wise."""
        locale = actor.locale
        follows = linked if linked is not None and linked.values.reads_links(entity.name) else None
        if follows is not None:
            follows.fill(entity, [record])
        if current is None:
            self._apply_defaults(entity, record, changes, evaluator, defaults)
            defaulted = [name for name in follows.values.first_steps(entity.name)
                         if is_empty(changes.get(name))] if follows is not None else []
            if follows is not None and defaulted:
                follows.fill(entity, [record])  # a default filled a link the rules follow
        if rolled:
            by_name = self.of_entity(entity).by_name
            record.update({name: value for name, value in rolled.items()
                           if name in by_name and by_name[name][0].rollup is not None})
        apply_stage_stamps(entity, current, record, changes, now)
        if current is None or plan is None:
            plan = None
        self._compute_formulas(entity, record, plan.formulas if plan else entity.formula_order, evaluator)
        # Rule errors are reported with the coercion errors, except on fields already in error
        # (their value is unknown, so a rule about it would only add noise).
        found: Errors = {}
        if current is not None:  # what checks read through previous(field)
            record[PREVIOUS] = current
        try:
            self._validate(entity, current, record, found, locale, plan, evaluator, checked)
        finally:
            record.pop(PREVIOUS, None)
        for name, texts in found.items():
            if name not in errors:
                errors[name] = texts
        if follows is not None:  # the linked values were the rules' to read, not the record's
            for key in [key for key in record if "." in key]:
                del record[key]

    def _apply_defaults(self, entity: Entity, record: dict, changes: Mapping[str, Any],
                        evaluator: RecordEvaluator, defaults: Mapping[str, Any] | None = None) -> None:
        for field, zeroed in self.of_entity(entity).filled:
            if zeroed:
                record[field.name] = 0  # nothing links to a new record yet
            elif field.default is not None and is_empty(changes.get(field.name)):
                if defaults is not None and field.name in defaults:  # worked out once for a batch
                    record[field.name] = defaults[field.name]
                    continue
                record[field.name] = self.default_value(field, record, evaluator)
        stage = entity.stage_field
        if stage is not None and record.get(stage.name) is None:
            pipeline = self.blueprint.pipelines.get(stage.pipeline or "")
            if pipeline:  # a new record starts in the first stage
                record[stage.name] = pipeline.stages[0].name

    def default_value(self, field: Field, record: Mapping[str, Any], evaluator: RecordEvaluator) -> Any:
        assert field.default is not None  # fields with a default only
        try:
            return coerce(field, evaluator.evaluate(field.default, record), self.blueprint.timezone)
        except (ExpressionError, CoercionError):
            return None

    def _compute_formulas(self, entity: Entity, record: dict, names: tuple[str, ...] | None = None,
                          evaluator: RecordEvaluator | None = None) -> None:
        """Fill the formula fields; without an evaluator, as the system computes them (rollups)."""
        evaluator = evaluator or self.evaluator.bind(entity.name, SYSTEM)
        for name in entity.formula_order if names is None else names:
            record[name] = self.formula_value(entity.fields[name], record, evaluator)

    def formula_value(self, field: Field, record: Mapping[str, Any], evaluator: RecordEvaluator) -> Any:
        """One formula field's stored value for `record` (None when it cannot be computed)."""
        assert field.formula is not None  # formula fields only
        try:
            return coerce(field, evaluator.evaluate(field.formula, record), self.blueprint.timezone)
        except (ExpressionError, CoercionError):
            # A formula over missing inputs has no value; it is not the user's error.
            return None

    def _validate(self, entity: Entity, current: Mapping[str, Any] | None, record: dict,
                  errors: Errors, locale: str, plan: RulePlan | None, evaluator: RecordEvaluator,
                  fields: Any = None) -> None:
        checked = (fields if fields is not None else self.of_entity(entity).checked if plan is None
                   else [(f, text_limit(f), True) for f in plan.fields if not f.computed])
        for field, limit, bounded in checked:
            value = record.get(field.name)
            if field.visible_when is not None and not self._holds(evaluator, field.visible_when, record):
                # a field the record does not show is neither required nor checked; only the
                # column's own size still holds (a longer text cannot be stored at all)
                if type(value) is str and limit and len(value) > limit:
                    add_error(errors, field.name, message("too_long", locale, max=limit))
                continue
            if value is None or value == "" or value == []:  # is_empty, the common cases inline: it is hot
                if field.required or self._holds(evaluator, field.required_when, record):
                    add_error(errors, field.name, message("required", locale))
                continue
            if type(value) is str:
                if value.strip() == "":
                    if field.required or self._holds(evaluator, field.required_when, record):
                        add_error(errors, field.name, message("required", locale))
                    continue
                if limit and len(value) > limit:
                    add_error(errors, field.name, message("too_long", locale, max=limit))
            elif bounded:  # a bounded number (or, for a plan's fields, any other value)
                if isinstance(value, str):  # a str subclass (plain text was handled above)
                    if limit and len(value) > limit:
                        add_error(errors, field.name, message("too_long", locale, max=limit))
                elif field.type in NUMERIC:  # coerced: never text
                    if field.min is not None and value < field.min:
                        add_error(errors, field.name, message("too_small", locale, min=field.min))
                    if field.max is not None and value > field.max:
                        add_error(errors, field.name, message("too_large", locale, max=field.max))
        if plan is None or plan.stage:
            self._check_stage(entity, current, record, errors, locale)
        for check in entity.checks if plan is None else plan.checks:
            if check.when is not None and not self._holds(evaluator, check.when, record):
                continue
            if not self._holds(evaluator, check.assertion, record):
                target = check.field or next((f.name for f in entity if f.name in check.assertion.names),
                                             RECORD_ERRORS)
                add_error(errors, target, check.message.text(locale, self.blueprint.default_locale)
                          if check.message is not None else message("check_failed", locale, check=check.name))

    @staticmethod
    def _holds(evaluator: RecordEvaluator, expression, record: Mapping[str, Any]) -> bool:
        if expression is None:
            return False
        try:
            return bool(evaluator.evaluate(expression, record))
        except ExpressionError:
            return False

    def _check_stage(self, entity: Entity, current: Mapping[str, Any] | None, record: dict,
                     errors: Errors, locale: str) -> None:
        field = entity.stage_field
        pipeline = self.blueprint.pipelines.get(field.pipeline or "") if field else None
        if field is None or pipeline is None:
            return
        target = record.get(field.name)
        stage = pipeline.stage(target) if target is not None else None
        if target is not None and stage is None:
            add_error(errors, field.name, message("not_stage", locale, value=target))
            return
        source = current.get(field.name) if current is not None else None
        if target is None and source is not None:  # a record leaves a stage for another, never for none
            add_error(errors, field.name, message("required", locale))
            return
        if target is None or stage is None or (current is not None and source == target):
            return
        # allows() lets a record with no stage yet enter any stage
        if current is not None and source is not None and not pipeline.allows(source, target):
            source_stage = pipeline.stage(source)
            add_error(errors, field.name, message(
                "transition", locale,
                source=source_stage.label.text(locale) if source_stage else source,
                target=stage.label.text(locale)))
        for required in stage.requires:
            if is_empty(record.get(required)):
                add_error(errors, required, message("required_in_stage", locale,
                                                    stage=stage.label.text(locale)))
