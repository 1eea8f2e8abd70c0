"""The shared state of one seeding run: time (`Timeline`), the records made so far
(`Registry`), the record being drafted (`Draft`), and how a pipeline's stages are walked.

Time: every record has a creation moment on a grid of windows over the last 18 months; the
records of one window are inserted together with the records service's clock set to the window's
time, so `created_at`, autonumbers and `today()` in checks agree with the dates a record carries.
A record is never created before the records it points to.
"""
from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass, field as dataclass_field
from typing import Any, Callable, Mapping

from atrium.errors import AtriumError
from atrium.metadata.model import Blueprint, Pipeline, Stage
from atrium.runtime.seed.values import Values

SPAN_DAYS = 540  # about 18 months of history
UTC = dt.timezone.utc


class SeedPlanError(AtriumError, ValueError):
    """The seed plan asks for something the blueprint cannot give."""

    status, code = 400, "seed"


class Timeline:
    """Creation moments: `count` windows of `width` ending at midnight of `today` (local time).

    A record created in window k gets the window's clock time (18:00 local the day before the
    window ends), so every record of a window is inserted in one batch.
    """

    def __init__(self, today: dt.date, zone: dt.tzinfo, scale: int):
        self.today = today
        self.zone = zone
        self.anchor = dt.datetime.combine(today, dt.time(), tzinfo=zone).astimezone(UTC)
        windows = min(78, max(12, math.ceil(scale / 25)))
        self.width = dt.timedelta(days=max(1, round(SPAN_DAYS / windows)))
        self.count = math.ceil(SPAN_DAYS / self.width.days)
        self.start = self.anchor - self.width * self.count

    def snap(self, moment: dt.datetime) -> dt.datetime:
        index = math.ceil((moment - self.start) / self.width) - 1
        index = min(self.count - 1, max(0, index))
        return self.start + self.width * (index + 1) - dt.timedelta(hours=6)

    def moment(self, rng: random.Random, lower: dt.datetime | None, recent_days: int | None) -> dt.datetime:
        """A creation moment after `lower` (the newest record pointed to), recent if asked."""
        if recent_days is not None:
            low = self.anchor - dt.timedelta(days=recent_days)
            low = max(low, lower) if lower else low
            return low + (self.anchor - low) * rng.random()
        if lower is None:  # more records lately: a growing business
            return self.anchor - dt.timedelta(days=SPAN_DAYS) * (rng.random() ** 1.4)
        room = min(self.anchor - lower, dt.timedelta(days=120))
        return lower + room * rng.random()

    def walk(self, rng: random.Random, created: dt.datetime, moves: int) -> list[dt.datetime]:
        """Times for `moves` stage changes after `created`, days apart, all before `anchor`."""
        gaps = [rng.uniform(1, 21) for _ in range(moves)]
        room = (self.anchor - dt.timedelta(hours=1) - created).total_seconds() / 86400
        if sum(gaps) > room * 0.95:
            factor = max(room, 0.01) * rng.uniform(0.5, 0.95) / sum(gaps)
            gaps = [gap * factor for gap in gaps]
        times, at = [], created
        for gap in gaps:
            at = at + dt.timedelta(minutes=max(1, round(gap * 1440)))
            times.append(at)
        return times


@dataclass
class Made:
    """A record already inserted: what later records may point to or copy from."""

    id: int
    moment: dt.datetime
    values: dict[str, Any]


class Registry:
    """Records made so far, per entity, with lookups by id and by field value."""

    def __init__(self) -> None:
        self.made: dict[str, list[Made]] = {}
        self.by_id: dict[str, dict[int, Made]] = {}
        self._index: dict[tuple[str, str], dict[Any, list[Made]]] = {}

    def add(self, entity: str, made: list[Made]) -> None:
        self.made.setdefault(entity, []).extend(made)
        self.by_id.setdefault(entity, {}).update((m.id, m) for m in made)
        for key in [k for k in self._index if k[0] == entity]:
            del self._index[key]

    def pick(self, entity: str, rng: random.Random) -> Made | None:
        """A record of `entity`; older ones a little more often (some accounts are bigger)."""
        made = self.made.get(entity)
        return made[int(len(made) * rng.random() ** 1.25)] if made else None

    def matching(self, entity: str, field: str, value: Any) -> list[Made]:
        key = (entity, field)
        if key not in self._index:
            index: dict[Any, list[Made]] = {}
            for made in self.made.get(entity, ()):
                index.setdefault(made.values.get(field), []).append(made)
            self._index[key] = index
        return self._index[key].get(value, [])


@dataclass
class Draft:
    values: dict[str, Any]
    stages: tuple[Stage, ...] = ()  # the walk, first stage to the current one
    needed: set[str] = dataclass_field(default_factory=set)  # required by a stage on the walk
    moment: dt.datetime | None = None
    done: set[str] = dataclass_field(default_factory=set)
    attempts: int = 0  # times values were redrawn after a validation refused them


@dataclass
class Context:
    """What every drafter shares."""

    blueprint: Blueprint
    rng: random.Random
    values: Values
    timeline: Timeline
    pool: Registry
    users: Mapping[str, int]  # user name → id
    writers: Callable[[str], list[int]]  # entity → ids of users who may own its records
    holds: Callable[[str, Any, Mapping[str, Any]], bool]  # (entity, expression, values) → bool


def stage_walk(pipeline: Pipeline, target: Stage, rng: random.Random) -> tuple[Stage, ...]:
    """A plausible way from the first stage to `target`: the open stages in their listed sequence
    up to `target`; a closed stage is reached from an open stage that may move to it (a won
    record passed them all, a lost one stopped anywhere)."""
    stages = pipeline.stages
    position = stages.index(target)
    if target.is_open:
        walk = [stage for stage in stages[:position] if stage.is_open] + [target]
    else:
        sources = [i for i, stage in enumerate(stages)
                   if stage.is_open and pipeline.allows(stage.name, target.name)]
        if not sources:
            return _shortest(pipeline, target)
        last = max(sources) if target.outcome == "won" else rng.choice(sources)
        walk = [stage for stage in stages[:last + 1] if stage.is_open] + [target]
    if all(pipeline.allows(a.name, b.name) for a, b in zip(walk, walk[1:], strict=False)):
        return tuple(walk)
    return _shortest(pipeline, target)


def _shortest(pipeline: Pipeline, target: Stage) -> tuple[Stage, ...]:
    paths: dict[str, tuple[Stage, ...]] = {pipeline.stages[0].name: (pipeline.stages[0],)}
    frontier = [pipeline.stages[0]]
    while frontier:
        following = []
        for stage in frontier:
            for other in pipeline.stages:
                if other.name not in paths and pipeline.allows(stage.name, other.name):
                    paths[other.name] = paths[stage.name] + (other,)
                    following.append(other)
        frontier = following
    return paths.get(target.name, (target,))
