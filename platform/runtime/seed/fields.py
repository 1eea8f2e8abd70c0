"""Drafting demo records of one entity: the seed plan's generator for each field it names, a
sensible value by type for the others, and a stage walk for entities with a pipeline.

Fields only some records need - required by a closed stage alone (a lost reason) or by
`required_when` - are filled exactly on the records that need them. Unplanned references and
owners follow the records already pointed to, so a record's parts agree with each other.
"""
from __future__ import annotations

import datetime as dt
import itertools
import math
import re
from typing import Any, Mapping

from atrium.metadata.model import Entity, Field, Stage
from atrium.runtime.seed.context import Context, Draft, stage_walk
from atrium.runtime.seed.plan import compile_generator
from atrium.runtime.seed.values import named

SEQUENCE = re.compile(r"\{n(?::(\d+))?\}")
FILL_SHARE = 0.85  # optional fields the plan does not name are filled this often
KEEP_DEFAULT_SHARE = 0.75  # ...and left to their default this often, when they have one


class Drafter:
    """Drafts the records of one entity."""

    def __init__(self, context: Context, entity: Entity, specs: Mapping[str, Any], existing: int = 0,
                 taken: Mapping[str, set] | None = None):
        self.c = context
        self.entity = entity
        self.pipeline = context.blueprint.pipeline_for(entity.name)
        self.stage_field = entity.stage_field.name if self.pipeline and entity.stage_field else None
        self.specs = {name: compile_generator(context, entity, entity.fields[name], spec)
                      for name, spec in specs.items()}
        self.first_number = existing + 1
        self.counters = {name: itertools.count(existing + 1) for name in self.specs}
        self.taken = {f.name: set((taken or {}).get(f.name, ())) for f in entity if f.unique}
        self.bound = self._bound_fields()
        self.stage_weights = self._stage_weights()
        references = [f for f in entity if f.type == "reference" and f.name not in self.bound]
        self.reference_sequence = (
            [f.name for f in references if self.specs.get(f.name, ("",))[0] == "ref"]
            + [f.name for f in references if f.name in self.specs and self.specs[f.name][0] != "ref"]
            + [f.name for f in references if f.name not in self.specs and f.required]
            + [f.name for f in references if f.name not in self.specs and not f.required])
        self.picks: dict[str, dict[Any, int]] = {}  # `ref` with `at_most`: field → record id → times picked
        self.dropped = 0  # records left out because no value tried passed validation
        self.precheck = False  # validate each record before its batch (after a batch was refused)
        self.blank = {f.name: None for f in entity}
        self.computed = {f.name for f in entity if f.computed}
        self.references = [f for f in entity if f.type == "reference"]
        self.bound_references = [f for f in self.references if f.name in self.bound]
        # stamped fields (won_on) are left to the stage walk: seeding._walk_stages
        self.free = [f.name for f in entity if f.name not in self.bound and not f.computed and not f.stamp_on_stage]
        self.bound_fields = [f for f in entity if f.name in self.bound and not f.computed]
        self.keep = [f.name for f in entity if not f.computed and f.type != "textarea"]
        self.recent_days = max(90, 8 * (self.pipeline.stall_after_days or 14)) if self.pipeline else None

    # --- the plan ----------------------------------------------------------------------------

    def _bound_fields(self) -> set[str]:
        """Fields that only some records have: required by a closed stage alone, or `required_when`."""
        bound = {f.name for f in self.entity if f.required_when is not None and not f.required}
        if self.pipeline:
            open_needs = {n for s in self.pipeline.stages if s.is_open for n in s.requires}
            bound |= {n for s in self.pipeline.stages if not s.is_open for n in s.requires} - open_needs
        return bound - ({self.stage_field} if self.stage_field else set())

    def _stage_weights(self) -> tuple[list[Stage], list[float]] | None:
        if not self.pipeline:
            return None
        assert self.stage_field is not None  # an entity with a pipeline has its stage field
        spec = self.specs.get(self.stage_field)
        stages = self.pipeline.stages
        if spec and spec[0] == "choice":
            picked = [self._stage(v) for v in spec[1]]
            cumulative = spec[2] or list(itertools.accumulate([1] * len(picked)))
            return picked, cumulative
        if spec and spec[0] == "value":
            return [self._stage(spec[1])], [1]
        open_count = sum(1 for s in stages if s.is_open)  # fewer records further down the funnel
        weights = [(open_count - i + 1) if s.is_open else 2 for i, s in enumerate(stages)]
        return list(stages), list(itertools.accumulate(weights))

    def _stage(self, name: str) -> Stage:
        assert self.pipeline is not None  # only called for an entity with a pipeline
        stage = self.pipeline.stage(name)
        assert stage is not None  # plan_value refused stage values that are not stages of the pipeline
        return stage

    # --- one record --------------------------------------------------------------------------

    def draft(self, preset: Mapping[str, Any] | None = None, around: dt.datetime | None = None) -> Draft:
        """One record; `preset` values are kept as given (a combination of the plan's `each`),
        `around` is when it is created (not before the records it points to, nor after today)."""
        self.c.values.new_record()
        draft = Draft(values=dict(preset or {}), done=set(preset or ()))
        if self.pipeline:
            # both are set with the pipeline (__init__)
            assert self.stage_weights is not None and self.stage_field is not None
            stages, cumulative = self.stage_weights
            target = self.c.rng.choices(stages, cum_weights=cumulative)[0]
            draft.stages = stage_walk(self.pipeline, target, self.c.rng)
            draft.needed = {name for stage in draft.stages for name in stage.requires}
            draft.values[self.stage_field] = target.name
            draft.done.add(self.stage_field)
        for name in self.reference_sequence:
            self._ensure(draft, name)
        for field in self.bound_references:
            if field.name in draft.needed:
                self._ensure(draft, field.name, force=True)
        by_id, lower = self.c.pool.by_id, None
        for field in self.references:
            assert field.to is not None  # a loaded blueprint's reference always names its entity
            ref_id = draft.values.get(field.name)
            parent = by_id.get(field.to, {}).get(ref_id) if ref_id is not None else None
            if parent is not None and (lower is None or parent.moment > lower):
                lower = parent.moment
        is_open = bool(draft.stages) and draft.stages[-1].is_open
        if around is not None:
            draft.moment = min(max(around, lower or around), self.c.timeline.anchor - dt.timedelta(hours=1))
        else:
            draft.moment = self.c.timeline.snap(
                self.c.timeline.moment(self.c.rng, lower, self.recent_days if is_open else None))
        for name in self.free:
            self._ensure(draft, name)
        for field in self.bound_fields:
            if field.name not in draft.done:
                wanted = field.name in draft.needed or self.c.holds(
                    self.entity.name, field.required_when, {**self.blank, **draft.values})
                self._ensure(draft, field.name, force=wanted, skip=not wanted)
        return draft

    def renumber(self, drafts: list[Draft]) -> None:
        """Give `sequence` fields their numbers in creation sequence (drafts are made unsorted)."""
        for name, spec in self.specs.items():
            if spec[0] == "sequence":
                self.counters[name] = itertools.count(self.first_number)
                for draft in drafts:
                    draft.values[name] = self._value(draft, self.entity.fields[name], False)

    def redo(self, draft: Draft, names: list[str]) -> bool:
        """Draw new values for fields a validation refused; False when nothing can be redone.
        After a few attempts an optional field is left empty instead."""
        draft.attempts += 1
        attempt = draft.attempts
        changed = False
        for name in names:
            field = self.entity.fields.get(name)
            if field is None or field.computed or name == self.stage_field:
                continue
            draft.done.discard(name)
            needed = field.required or name in draft.needed or name in self.bound
            if attempt >= 3 and not needed:
                draft.values[name] = None
                draft.done.add(name)
            else:
                self._ensure(draft, name, force=needed)
            changed = True
        return changed

    def _ensure(self, draft: Draft, name: str, force: bool = False, skip: bool = False) -> None:
        if name in draft.done:
            return
        draft.done.add(name)
        if name in self.computed:
            return
        field = self.entity.fields[name]
        if skip or field.type == "stage":
            draft.values.setdefault(name, None)
            return
        required = force or field.required or name in draft.needed
        value = None
        for _ in range(8 if required or field.unique else 1):
            value = self._value(draft, field, required)
            if field.unique and value is not None and value in self.taken[name]:
                continue
            if value is not None or not required:
                break
        if value is None and required:
            value = self._by_type(draft, field)
        if field.unique and value is not None:
            base, n = value, 1
            while value in self.taken[name]:
                n += 1
                value = f"{base}-{n}" if isinstance(base, str) else base + n
            self.taken[name].add(value)
        draft.values[name] = value

    def _value(self, draft: Draft, field: Field, required: bool) -> Any:
        spec = self.specs.get(field.name)
        if spec is None:
            return self._unplanned(draft, field, required)
        kind = spec[0]
        rng = self.c.rng
        if kind == "named":
            return self._fit(field, named(self.c.values, spec[1]))
        if kind == "choice":
            value = rng.choices(spec[1], cum_weights=spec[2])[0] if spec[2] else rng.choice(spec[1])
            return list(value) if isinstance(value, list) else value
        if kind == "range":
            if spec[3] is None:
                return self._number(field, spec[1], spec[2])
            whole = self._follow(draft, spec[3])
            if whole is None:
                return None
            return self._number(field, float(whole) * spec[1], float(whole) * spec[2])  # within the shares
        if kind == "date":
            return self._date(draft, field, spec[1], spec[2], spec[3])
        if kind == "value":
            return spec[1]
        if kind == "ref":
            return self._pick(field.name, spec[1], spec[2])
        if kind == "same_as":
            return self._follow(draft, spec[1])
        if kind == "sequence":
            number = next(self.counters[field.name])
            return SEQUENCE.sub(lambda m: str(number).zfill(int(m.group(1) or 0)), spec[1])
        return None

    def _pick(self, name: str, entity: str, at_most: int | None) -> Any:
        """A record of `entity`; with `at_most`, one this field has not picked that often yet."""
        made = self.c.pool.pick(entity, self.c.rng)
        if made is None or at_most is None:
            return made.id if made else None
        picked = self.picks.setdefault(name, {})
        for _ in range(20):
            if made is not None and picked.get(made.id, 0) < at_most:
                break
            made = self.c.pool.pick(entity, self.c.rng)
        else:
            free = [m for m in self.c.pool.made.get(entity, ()) if picked.get(m.id, 0) < at_most]
            if not free:
                return None
            made = self.c.rng.choice(free)
        assert made is not None  # the pool holds records of the entity (it gave one above)
        picked[made.id] = picked.get(made.id, 0) + 1
        return made.id

    def _follow(self, draft: Draft, path: tuple[str, ...]) -> Any:
        """`same_as: a.b.c`: follow reference `a` of this record, then `b` of that one, to `c`."""
        self._ensure(draft, path[0])
        entity, name, value = self.entity, path[0], draft.values.get(path[0])
        for step in path[1:]:
            ref = entity.fields.get(name)
            if value is None or ref is None or ref.type != "reference":
                return None
            assert ref.to is not None  # a loaded blueprint's reference always names its entity
            made = self.c.pool.by_id.get(ref.to, {}).get(value)
            if made is None:
                return None
            entity, name, value = self.c.blueprint.entities[ref.to], step, made.values.get(step)
        return value

    # --- fields the plan does not name -------------------------------------------------------

    def _unplanned(self, draft: Draft, field: Field, required: bool) -> Any:
        rng = self.c.rng
        if field.type == "reference":
            return self._infer_reference(draft, field, required)
        if field.type == "user":
            return self._infer_user(draft, field, required)
        if not required:
            if field.default is not None and rng.random() < KEEP_DEFAULT_SHARE:
                return None
            if rng.random() > FILL_SHARE:
                return None
        return self._by_type(draft, field)

    def _infer_reference(self, draft: Draft, field: Field, required: bool) -> Any:
        """Keep records consistent: a record that points to A and to a B of its own picks a B of A."""
        rng, pool = self.c.rng, self.c.pool
        assert field.to is not None  # a loaded blueprint's reference always names its entity
        target = self.c.blueprint.entities[field.to]
        for other in self.entity:
            value = draft.values.get(other.name)
            if other.type != "reference" or other.name == field.name or value is None:
                continue
            for link in target:
                if link.type == "reference" and link.to == other.to:
                    found = pool.matching(field.to, link.name, value)
                    if found:
                        return rng.choice(found).id
        if required or rng.random() < 0.6:
            made = pool.pick(field.to, rng)
            return made.id if made else None
        return None

    def _infer_user(self, draft: Draft, field: Field, required: bool) -> Any:
        """An owner follows the record pointed to (its owner), or is one of the demo users."""
        rng = self.c.rng
        for other in self.entity:
            value = draft.values.get(other.name)
            if other.type == "reference" and value is not None:
                assert other.to is not None  # a loaded blueprint's reference always names its entity
                target = self.c.blueprint.entities[other.to]
                made = self.c.pool.by_id.get(other.to, {}).get(value)
                if made is not None and target.owner and made.values.get(target.owner) and rng.random() < 0.85:
                    return made.values[target.owner]
        writers = self.c.writers(self.entity.name)
        return rng.choice(writers) if writers else None

    def _by_type(self, draft: Draft, field: Field) -> Any:
        rng, values, kind, name = self.c.rng, self.c.values, field.type, field.name
        if kind in ("reference", "user"):
            return self._unplanned(draft, field, True)
        if kind in ("text", "textarea"):
            return self._fit(field, self._text(field))
        if kind == "email":
            return values.email()
        if kind == "phone":
            return values.phone()
        if kind == "url":
            return values.url()
        if kind == "select":
            return rng.choice(field.option_values) if field.options else None
        if kind == "multiselect":
            return rng.sample(list(field.option_values), k=min(len(field.options), rng.choice((1, 1, 2))))
        if kind == "boolean":
            return rng.random() < 0.5
        if kind in ("integer", "number", "money", "percent"):
            low, high = {"integer": (1, 100), "number": (0, 1000), "money": (1000, 500000),
                         "percent": (0, 100)}[kind]
            return self._number(field, field.min if field.min is not None else low,
                                field.max if field.max is not None else high)
        if kind == "date":
            ahead = any(word in name for word in ("due", "expected", "planned", "deadline", "next", "end"))
            return self._date(draft, field, 0 if ahead else 30, 90 if ahead else 30, "created")
        if kind == "datetime":
            ahead = any(word in name for word in ("planned", "scheduled", "due", "next", "start"))
            return self._date(draft, field, 0, 14 if ahead else 3, "created")
        if kind == "location":
            return values.location()
        return None

    def _text(self, field: Field) -> str:
        values, name = self.c.values, field.name
        if field.type == "textarea":
            return values.sentence()
        hints = (("company_name", ("company", "organization", "organisation", "firm", "employer")),
                 ("person_name", ("person", "first_name", "last_name", "full_name", "attendee", "_name")),
                 ("address", ("address", "street")), ("city", ("city", "town")),
                 ("job_title", ("job", "position", "role")), ("handle", ("wechat", "handle", "username")),
                 ("code", ("code", "number", "serial", "sku")))
        for generator, words in hints:
            if any(word in name for word in words):
                if generator == "code":
                    number = next(self.counters.setdefault(name, itertools.count(1)))
                    return f"{self.entity.name[:3].upper()}-{number:05d}"
                return getattr(values, generator)()
        if name in ("name", "title", "subject"):
            referenced = sum(1 for e in self.c.blueprint.entities.values() for f in e
                             if f.type == "reference" and f.to == self.entity.name)
            if self.entity.pool is not None or (referenced >= 2 and not self.pipeline):
                return values.company_name()
            if any(f.type in ("email", "phone") for f in self.entity):
                return values.person_name()
            if self.pipeline:
                return values.project_name()
            return values.item_name() if name == "name" else values.phrase()
        return values.sentence()

    def _fit(self, field: Field, value: Any) -> Any:
        limit = field.max_length or (255 if field.type == "text" else None)
        if isinstance(value, str) and limit and len(value) > limit:
            value = value[:limit].rstrip()
        return value

    def _number(self, field: Field, low: float, high: float) -> Any:
        if field.min is not None:
            low, high = max(low, field.min), max(high, field.min)
        if field.max is not None:
            low, high = min(low, field.max), min(high, field.max)
        if field.type == "integer":
            low, high = math.ceil(low), math.floor(high)
            return self.c.rng.randint(low, high) if low <= high else low
        if field.type == "money":
            return self.c.values.amount(low, high)
        if field.type == "percent":
            return round(self.c.rng.uniform(low, high))
        return round(self.c.rng.uniform(low, high), 2)

    def _date(self, draft: Draft, field: Field, before: int, after: int, source: str) -> Any:
        timeline, rng = self.c.timeline, self.c.rng
        if source == "today":
            base: Any = timeline.today
        elif source == "created":
            assert draft.moment is not None  # draft() sets it before drawing non-reference fields
            base = draft.moment.astimezone(timeline.zone).date()
        else:
            self._ensure(draft, source)
            base = draft.values.get(source)
            if base is None:
                return None
        if isinstance(base, dt.datetime):
            day = base.astimezone(timeline.zone).date() + dt.timedelta(days=rng.randint(-before, after))
            if field.type == "date":
                return day
            moment = self.c.values.work_time(day, timeline.zone)
            if before == 0 and moment < base:  # later the same day
                moment = base + dt.timedelta(minutes=rng.randint(30, 180))
            return moment
        day = base + dt.timedelta(days=rng.randint(-before, after))
        return self.c.values.work_time(day, timeline.zone) if field.type == "datetime" else day
