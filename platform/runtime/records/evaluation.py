"""The expression context of the runtime: the context functions (current_user(), stage rules)
answer for one entity and one acting user.

A `RecordEvaluator` is shared by every thread that uses a site (request threads, the scheduler,
import workers), so it never changes: `bind(entity, actor)` returns an evaluator of its own for
that entity and actor, kept for the next bind with the same pair. Evaluating costs nothing more
than before, and a binding made in one thread (or by a nested write) never changes another's."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Callable, Mapping
from zoneinfo import ZoneInfo

from atrium.metadata.expressions import Evaluator, Expression, ExpressionError
from atrium.metadata.model import Blueprint, Stage


@dataclass(frozen=True)
class Actor:
    """Who is acting: a signed-in user, or the system (seed, scheduler) when user_id is None."""

    user_id: int | None = None
    name: str = "system"
    role: str | None = None
    team_id: int | None = None
    locale: str = "en"


SYSTEM = Actor()


BINDINGS_KEPT = 512  # bound evaluators a RecordEvaluator keeps (entities × people acting lately)


class RecordEvaluator:
    """Evaluates a blueprint's expressions; `bind` gives the one for an entity and actor."""

    def __init__(self, blueprint: Blueprint, clock: Callable[[], dt.datetime] | None = None,
                 learned: Callable[[str, str], float | None] | None = None,
                 targets: Callable[[Any, Any], Any] | None = None):
        self.blueprint = blueprint
        self._targets = targets  # reports and dashboards pass a reader of goals; records never do
        self.entity = ""
        self.actor = SYSTEM
        self.learned = learned  # (pipeline, stage) → probability learned from history
        self._clock = clock
        self._bound: dict[tuple[str, Actor], RecordEvaluator] = {}
        self._stages: dict[str, Stage] | None = None  # the entity's pipeline stages by name
        self._last: tuple[Actor | None, str, RecordEvaluator | None] = (None, "", None)
        zone = ZoneInfo(blueprint.timezone)
        moment = clock or (lambda: dt.datetime.now(dt.timezone.utc))
        self.local_now: Callable[[], dt.datetime] = lambda: moment().astimezone(zone)  # the blueprint's clock
        self._evaluator = Evaluator(
            {"current_user": self._current_user, "current_role": self._current_role,
             "stage_probability": self._stage_probability,
             "is_open": self._is_open, "target": self._target},
            # today() is the blueprint's date (its time zone), not the UTC date
            clock=lambda: moment().astimezone(zone),
        )

    def bind(self, entity: str, actor: Actor) -> "RecordEvaluator":
        """The evaluator for `entity` and `actor`: a separate object, never this one changed."""
        last = self._last  # replaced whole, never changed: any thread reads one consistent binding
        if last[0] is actor and last[1] == entity and last[2] is not None:  # a bulk write binds the same pair
            return last[2]
        key = (entity, actor)
        bound = self._bound.get(key)
        if bound is None:
            bound = RecordEvaluator(self.blueprint, self._clock, self.learned, self._targets)
            bound.entity, bound.actor = entity, actor
            if len(self._bound) >= BINDINGS_KEPT:
                self._bound.clear()
            self._bound[key] = bound
        self._last = (actor, entity, bound)
        return bound

    def evaluate(self, expression: Expression, record: Mapping[str, Any]) -> Any:
        return self._evaluator.evaluate(expression, record)

    def _current_user(self) -> int | None:
        return self.actor.user_id

    def _current_role(self) -> str | None:
        """The acting user's role name; None for the system (seed, scheduler, rules it runs)."""
        return self.actor.role if self.actor.user_id is not None else None

    def _stage(self, name: Any) -> Stage | None:
        # a bound evaluator's entity never changes: its stages by name are looked up once (a bulk
        # create asks is_open() and stage_probability() of every record's formulas)
        stages = self._stages
        if stages is None:
            pipeline = self.blueprint.pipeline_for(self.entity)
            stages = self._stages = {stage.name: stage for stage in pipeline.stages} if pipeline else {}
        return stages.get(name) if isinstance(name, str) else None

    def _stage_probability(self, name: Any, learned: bool = False) -> Any:
        stage = self._stage(name)
        if stage is None:
            return None
        pipeline = self.blueprint.pipeline_for(self.entity)
        assert pipeline is not None  # the stage was found in it
        if self.learned is not None and (learned or pipeline.learned_probability.get("by_default")):
            value = self.learned(pipeline.name, stage.name)
            return value if value is not None else stage.probability
        return stage.probability

    def _is_open(self, name: Any) -> bool:
        stage = self._stage(name)
        return bool(stage and stage.is_open)

    def _target(self, *args: Any) -> Any:
        if self._targets is None:
            raise ExpressionError("target() reads sales targets, which are only known to reports and dashboards")
        if len(args) not in (2, 3):
            raise ExpressionError("target() takes the metric and the period, like target('revenue', 'month'), "
                                  "and perhaps an owner: target('revenue', 'month', owner)")
        return self._targets(*args)
