"""What stage history tells: time in stage, stalled records, and probabilities learned from outcomes.

Every stage change is a row of atrium_stage_history (record, from, to, at, by, seconds spent in
the stage it left). From those rows:

- `entered_at` is when a record entered its current stage (a correlated subquery, so any query
  can filter or sort on it); the condition language's `stalled` and `in_stage_longer_than_days`
  operators compile to it, read from the entity's `<stage field>_entered_at` column that the
  pipeline's stage tracking keeps (schema/stage_tracking.py) when the database holds it, else from
  the history itself;
- `stage_durations` gives, per stage, how many records left it and how long they stayed;
- `learned_probabilities` gives, per stage, the share of the records that left it and were
  closed within the window that ended won. `LearnedProbabilities` caches that per pipeline for a
  short while, so a formula reading it costs no query per record.

Durations and learned probabilities leave out the moves a migration made (rows marked
`migrated`: the records of a removed stage moved where the metadata said), which are nobody's
work and say nothing about how long a stage takes or how it ends.
"""
from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from atrium.metadata.model import Blueprint, Field, Pipeline
from atrium.runtime.schema import stage_tracking
from atrium.runtime.schema.database import connect
from atrium.runtime.schema.tables import Tables, UTCDateTime

DEFAULT_WINDOW_DAYS = 365
DEFAULT_MIN_SAMPLES = 10
STAGE_OPERATORS = ("stalled", "in_stage_longer_than_days")


def entered_at(tables: Tables, entity: str, record_table: Any,
               tracking: stage_tracking.Tracking | None = None) -> sa.ColumnElement:
    """When each row of `record_table` entered its current stage (its creation if no history):
    when `tracking` is given, the entity's own column the stage tracking keeps (a plain column, so
    the (owner, stage, entered) index serves a condition on it), else from the history."""
    if tracking is not None:
        return record_table.c[tracking.entered]
    history = tables.system("atrium_stage_history")
    last_move = (sa.select(sa.func.max(history.c.changed_at))
                 .where(history.c.entity == entity, history.c.record_id == record_table.c.id)
                 .scalar_subquery())
    return sa.func.coalesce(last_move, record_table.c.created_at)


def _before(now: dt.datetime, days: float) -> sa.ColumnElement:
    return sa.literal(now - dt.timedelta(days=days), UTCDateTime())


def stage_condition(blueprint: Blueprint, tables: Tables, column: sa.ColumnElement, field: Field,
                    operator: str, value: Any, now: dt.datetime,
                    connection: Connection | None = None) -> sa.ColumnElement:
    """`{stage: {stalled: true}}` and `{stage: {in_stage_longer_than_days: N}}` as SQL (with a
    `connection`, from the stage tracking table when its database holds it)."""
    pipeline = blueprint.pipelines.get(field.pipeline or "")
    if field.type != "stage" or pipeline is None:
        raise ValueError(f"'{operator}' applies to stage fields only")
    tracking = stage_tracking.tracked(connection, pipeline, blueprint.entities[pipeline.entity]) \
        if connection is not None else None
    since = entered_at(tables, pipeline.entity, column.table, tracking)
    if operator == "in_stage_longer_than_days":
        return since < _before(now, int(value))
    if pipeline.stall_after_days is None:
        raise ValueError(f"pipeline '{pipeline.name}' has no stall_after_days")
    open_stages = [stage.name for stage in pipeline.stages if stage.is_open]
    stalled = sa.and_(column.is_not(None), column.in_(open_stages),
                      since < _before(now, pipeline.stall_after_days))
    return stalled if value else sa.not_(stalled)


@dataclass(frozen=True)
class StageDuration:
    stage: str
    records: int  # times a record left the stage
    average_days: float | None
    longest_days: float | None


def stage_durations(connection: Connection, tables: Tables, pipeline: Pipeline,
                    since: dt.datetime | None = None) -> list[StageDuration]:
    """Per stage, as the pipeline lists them: how long records stayed before moving on (moves
    since `since`)."""
    history = tables.system("atrium_stage_history")
    seconds = history.c.seconds_in_from
    query = (sa.select(history.c.from_stage, sa.func.count(), sa.func.avg(seconds), sa.func.max(seconds))
             .where(history.c.pipeline == pipeline.name, history.c.from_stage.is_not(None),
                    seconds.is_not(None), history.c.migrated.is_not(True))
             .group_by(history.c.from_stage))
    if since is not None:
        query = query.where(history.c.changed_at >= since)
    found = {row[0]: row for row in connection.execute(query)}
    day = 86400.0
    result = []
    for stage in pipeline.stages:
        row = found.get(stage.name)
        result.append(StageDuration(stage.name, row[1] if row else 0,
                                    round(float(row[2]) / day, 2) if row and row[2] is not None else None,
                                    round(float(row[3]) / day, 2) if row and row[3] is not None else None))
    return result


@dataclass(frozen=True)
class Learned:
    """One stage's learned probability; `probability` falls back to the configured one."""

    stage: str
    configured: float | None
    samples: int  # records that left the stage and were closed in the window
    won: int
    learned: float | None  # None below the minimum number of samples

    @property
    def probability(self) -> float | None:
        return self.learned if self.learned is not None else self.configured


def learning_settings(pipeline: Pipeline) -> tuple[int, int]:
    settings = pipeline.learned_probability
    return (int(settings.get("window_days", DEFAULT_WINDOW_DAYS)),
            int(settings.get("min_samples", DEFAULT_MIN_SAMPLES)))


def learned_probabilities(connection: Connection, blueprint: Blueprint, tables: Tables,
                          pipeline: Pipeline, now: dt.datetime) -> dict[str, Learned]:
    """Per stage: of the records that left it and were closed (won or lost) in the window, the
    share that is won now. Closed stages are what they are: won 100, lost 0."""
    window, minimum = learning_settings(pipeline)
    history = tables.system("atrium_stage_history")
    table = tables[pipeline.entity]
    current = table.c[pipeline.field]
    closing = [stage.name for stage in pipeline.stages if not stage.is_open]
    won = [stage.name for stage in pipeline.stages if stage.outcome == "won"]
    closed = (sa.select(history.c.record_id)
              .where(history.c.entity == pipeline.entity, history.c.pipeline == pipeline.name,
                     history.c.to_stage.in_(closing), history.c.migrated.is_not(True))
              .group_by(history.c.record_id)
              .having(sa.func.max(history.c.changed_at) >= _before(now, window))
              .subquery())
    query = (sa.select(history.c.from_stage, sa.func.count(sa.distinct(table.c.id)),
                       sa.func.count(sa.distinct(sa.case((current.in_(won), table.c.id)))))
             .select_from(history.join(table, table.c.id == history.c.record_id)
                          .join(closed, closed.c.record_id == table.c.id))
             .where(history.c.entity == pipeline.entity, history.c.pipeline == pipeline.name,
                    history.c.from_stage.is_not(None), current.in_(closing), history.c.migrated.is_not(True))
             .group_by(history.c.from_stage))
    counts = {row[0]: (row[1], row[2]) for row in connection.execute(query)}
    result = {}
    for stage in pipeline.stages:
        samples, wins = counts.get(stage.name, (0, 0))
        learned: float | None
        if not stage.is_open:
            learned = 100.0 if stage.outcome == "won" else 0.0
        else:
            learned = round(100.0 * wins / samples, 2) if samples and samples >= minimum else None
        result[stage.name] = Learned(stage.name, stage.probability, samples, wins, learned)
    return result


class LearnedProbabilities:
    """Learned probabilities per pipeline, recomputed at most every `ttl` seconds (of the clock
    and of real time), read by `stage_probability(stage, learned=True)`."""

    def __init__(self, blueprint: Blueprint, engine: Engine, tables: Tables,
                 clock: Callable[[], dt.datetime], ttl: float = 60.0):
        self.blueprint = blueprint
        self.engine = engine
        self.tables = tables
        self.clock = clock
        self.ttl = ttl
        self._cache: dict[str, tuple[float, dt.datetime, Mapping[str, Learned]]] = {}
        self._lock = threading.Lock()

    def for_pipeline(self, name: str) -> Mapping[str, Learned]:
        now, tick = self.clock(), time.monotonic()
        with self._lock:
            cached = self._cache.get(name)
        if cached and tick - cached[0] < self.ttl and abs((now - cached[1]).total_seconds()) < self.ttl:
            return cached[2]
        # A reader of its own: the statistics are over committed history, whatever the caller's
        # transaction holds (and SQLite's WAL lets it read beside a writer).
        with connect(self.engine) as connection:
            found = learned_probabilities(connection, self.blueprint, self.tables,
                                          self.blueprint.pipelines[name], now)
        with self._lock:
            self._cache[name] = (tick, now, found)
        return found

    def probability(self, pipeline: str, stage: str) -> float | None:
        learned = self.for_pipeline(pipeline).get(stage)
        return learned.probability if learned else None

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()
