"""Funnel reports: how many records (and how much) reached each stage of a pipeline, and the
conversion from stage to stage, from the stage history (atrium_stage_history).

A record reached a stage when its history has a move into that stage or into a later stage of the
ladder (the open stages and the won outcome, as the pipeline lists them): a record that jumped from the first
stage to the third passed the second too, so each step holds at most the records of the step
before it and conversion never exceeds 100%. A lost outcome counts the records that ever moved
into it. With a period (`period: {within: this_quarter}` or the request's), only the moves made in
that period count: the records that reached each stage during it. The report's `where`, the
request's filters and the viewer's scope choose the records, as in every report.

One statement: per record, the furthest step reached and a flag per lost outcome, joined to the
records, with one conditional aggregate per stage and measure. Without a period those come from the
pipeline's stage tracking table (one row per record, kept by the database: schema/stage_tracking.py)
when the database holds it, and a funnel that only counts the records of the viewer's scope sums
the rows of its owners in the tracking table's aggregate by owner × furthest stage
(schema/funnel_aggregates.py); with a period, or before `atrium migrate` made that table, from the
history grouped per record (`history_reached`, also the reference the tests compare with).
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Callable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from atrium.metadata.model import Document
from atrium.runtime.query.periods import as_bounds, local_today, period_range
from atrium.runtime.reports.columns import CONVERSION, CONVERSION_FROM_FIRST, RECORDS, ReportColumn, normalize
from atrium.runtime.reports.parts import CompiledReport, Measure, ReportParts, ReportRequest
from atrium.runtime.schema import funnel_aggregates, stage_tracking

PERCENT = Decimal(100)


def compile_funnel(compiler: ReportParts, document: Document, entity: str,
                   request: ReportRequest) -> CompiledReport:
    scope = compiler.scope
    pipeline = compiler.blueprint.pipelines[document["pipeline"]]
    ladder = [stage for stage in pipeline.stages if stage.outcome != "lost"]
    losses = [stage for stage in pipeline.stages if stage.outcome == "lost"]
    within = request.period or (document.get("period") or {}).get("within")
    period = None
    if within:
        period = period_range(within, local_today(scope.now, scope.timezone))
    joins = scope.joins(entity)
    tracking = stage_tracking.tracked(scope.connection, pipeline, compiler.blueprint.entities[entity]) \
        if period is None else None
    aggregate = tracking.aggregate if tracking is not None and _counts_only(document, request) else None
    if aggregate is not None:  # the rows of the owners in scope: columns named as the entity's
        joins.base = joins.from_clause = aggregate
    where = compiler.where(joins, document, request)
    reached: Any
    if aggregate is not None:
        reached = aggregate
    elif tracking is not None:
        reached = tracking.table
    else:
        chosen = None
        if scope.access.scope(scope.actor, entity, "read") != "all" or document.get("where") \
                or request.filters or request.owners is not None:
            # only the history of the records counted: a rep's funnel reads a rep's history through
            # the (entity, record_id) index instead of grouping every record's moves
            chosen = sa.select(joins.base.c.id).select_from(joins.from_clause).where(*where).correlate(None)
        reached = history_reached(compiler, pipeline, entity, period, chosen)
    measures, dropped = compiler.measures(joins, document)
    if not measures:
        measures = [Measure("records", "count", None, ReportColumn("records", "measure", "integer", RECORDS,
                                                                   function="count"))]
    counted = Measure("_records", "count", None, ReportColumn("_records", "measure", "integer", RECORDS))
    if aggregate is not None:  # a record count is the sum of the rows' counts
        for measure in [counted, *measures]:
            measure.tally = aggregate.c[funnel_aggregates.COUNT]
    metrics, metric_columns = compiler.metrics(document, dropped)
    stages = [(stage, reached.c.furthest >= index) for index, stage in enumerate(ladder)] + \
             [(stage, reached.c[f"lost{i}"] == 1) for i, stage in enumerate(losses)]
    selected = [measure.aggregate(condition).label(f"s{k}_{measure.name}")
                for k, (_, condition) in enumerate(stages) for measure in [counted, *measures]]
    source = joins.from_clause if aggregate is not None else \
        joins.from_clause.join(reached, reached.c.record_id == joins.base.c.id)
    statement = sa.select(*selected).select_from(source).where(*where)
    stage_field = compiler.blueprint.entities[entity].fields[pipeline.field]
    columns = [ReportColumn("stage", "group", "stage", stage_field.label, stage_field, entity),
               *(m.column for m in measures),
               ReportColumn("conversion", "conversion", "percent", CONVERSION),
               ReportColumn("conversion_from_first", "conversion", "percent", CONVERSION_FROM_FIRST),
               *metric_columns]
    return CompiledReport(document.name, "funnel", entity, columns, statement, measures=measures,
                          metrics=metrics, entities=compiler.entities_read(joins),
                          extra={"stages": [(stage.name, stage.outcome) for stage, _ in stages], "period": period,
                                 "aggregate": aggregate is not None})


def _counts_only(document: Document, request: ReportRequest) -> bool:
    """Whether the funnel counts records of the viewer's scope only (no filter, no sum): what the
    funnel aggregate by owner × furthest stage answers."""
    measures = document.get("measures") or {}
    return not document.get("where") and not request.filters and \
        all(spec == "count" or spec == {"count": "id"} for spec in measures.values())


def history_reached(compiler: ReportParts, pipeline: Any, entity: str, period: tuple[dt.date, dt.date] | None,
                    chosen: sa.Select | None) -> sa.Subquery:
    """Per record (among `chosen`, if given) whose history has moves of the pipeline (made in
    `period`, if given): `furthest`, the highest ladder step it moved into, and `lost<i>` per lost
    outcome, 1 when it moved into it."""
    scope = compiler.scope
    history = scope.tables.system("atrium_stage_history")
    ladder = [stage for stage in pipeline.stages if stage.outcome != "lost"]
    losses = [stage for stage in pipeline.stages if stage.outcome == "lost"]
    step = sa.case({stage.name: index for index, stage in enumerate(ladder)}, value=history.c.to_stage)
    moves = [history.c.entity == entity, history.c.pipeline == pipeline.name]
    if period is not None:
        low, high = as_bounds(period[0], period[1], "datetime", scope.timezone)
        moves += [history.c.changed_at >= low, history.c.changed_at < high]
    if chosen is not None:
        moves.append(history.c.record_id.in_(chosen))
    return (sa.select(history.c.record_id, sa.func.max(step).label("furthest"),
                      *(sa.func.max(sa.case((history.c.to_stage == stage.name, 1), else_=0)).label(f"lost{i}")
                        for i, stage in enumerate(losses)))
            .where(*moves).group_by(history.c.record_id).subquery("reached"))


def shape_funnel(connection: Connection, compiled: CompiledReport, result: Any,
                 metrics: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    found = connection.execute(compiled.statement).first()
    assert found is not None  # one aggregate row, without GROUP BY
    values = found._mapping
    first = previous = None
    for k, (stage, outcome) in enumerate(compiled.extra["stages"]):
        records = int(values[f"s{k}__records"] or 0)
        row: dict[str, Any] = {"stage": stage}
        for measure in compiled.measures:
            row[measure.name] = normalize(measure.column.type, values[f"s{k}_{measure.name}"])
            if row[measure.name] is None and measure.function in ("count", "count_distinct", "sum"):
                row[measure.name] = normalize(measure.column.type, 0)
        first = records if first is None else first
        lost = outcome == "lost"
        row["conversion"] = None if lost else _rate(records, previous)
        row["conversion_from_first"] = _rate(records, first)
        if not lost:
            previous = records
        result.rows.append(metrics(row))
    result.period = compiled.extra["period"]


def _rate(part: int, whole: int | None) -> Decimal | None:
    if not whole:
        return None
    return normalize("percent", Decimal(part) * PERCENT / Decimal(whole))
