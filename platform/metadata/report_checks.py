"""Cross-check report documents and the blueprint's `targets:` block against the model.

A report is kept as a `Document` (its data, read-only) with its metric expressions parsed; the
runtime's report compiler trusts what is checked here: every path resolves, each aggregate suits
its field's type, column names are unique, each report type has the parts it needs, and the
stage and option values a filter names exist. Each problem names the line that wrote it.
"""
from __future__ import annotations

import ast
import re
from types import MappingProxyType
from typing import Any, Mapping

from atrium.metadata.condition_tree import leaves
from atrium.metadata.field_paths import check_condition, check_path, resolve_path
from atrium.metadata.model import (
    NUMERIC_TYPES,
    TEMPORAL_TYPES,
    Document,
    Entity,
    Field,
    Label,
    Pipeline,
    Targets,
    freeze,
)
from atrium.metadata.sources import Report, Source

AGGREGATES = ("count", "count_distinct", "sum", "avg", "min", "max")
NOT_GROUPABLE = frozenset({"multiselect", "location", "file"})
NOT_ORDERED = frozenset({"multiselect", "location", "boolean"})
PERIOD_UNITS = ("day", "week", "month", "quarter", "year")
VALUE_OPERATORS = ("eq", "ne", "in", "not_in")


def group_name(group: Any) -> str:
    """The column name of a group_by entry: its `name`, else the last step of its path."""
    if isinstance(group, str):
        return group.split(".")[-1]
    return str(group.get("name") or group["field"].split(".")[-1])


def measure_function(measure: Any) -> tuple[str, str | None]:
    """(aggregate, field path) of a measure: `count` is ('count', None)."""
    if isinstance(measure, str):
        return measure, None
    function = next(k for k in measure if k not in ("label", "where"))
    return function, measure[function]


def report_entity(data: Mapping[str, Any], pipelines: Mapping[str, Pipeline]) -> str | None:
    entity = data.get("source")
    if entity is None and data.get("pipeline") in pipelines:
        entity = pipelines[data["pipeline"]].entity
    return entity


def build_report(source: Source, entities: Mapping[str, Entity],
                 pipelines: Mapping[str, Pipeline], report: Report) -> Document:
    data = source.data
    label = Label.of(data.get("label"), source.name)
    kind = data.get("type", "summary")
    entity = report_entity(data, pipelines)
    if "pipeline" in data and data["pipeline"] not in pipelines:
        report.unknown(source, ["pipeline"], "a pipeline", data["pipeline"], pipelines)
    if entity is None or entity not in entities:
        report.unknown(source, ["source"], "an entity", entity, entities)
        return Document(source.name, freeze(data), label)
    check_condition(report, source, ["where"], data.get("where", {}), entities, entity, pipelines)
    _check_values(report, source, data.get("where", {}), entities, entity, pipelines)
    _check_shape(report, source, kind, data, entities, entity, pipelines)
    columns: list[str] = []
    for i, group in enumerate(data.get("group_by", ())):
        path = group if isinstance(group, str) else group["field"]
        field = check_path(report, source, ["group_by", i], entities, entity, path)
        if field is not None and field.type in NOT_GROUPABLE:
            report.add(source, ["group_by", i], f"cannot group by '{path}': a {field.type} field")
        bucket = None if isinstance(group, str) else group.get("bucket")
        if field is not None and bucket and field.type not in TEMPORAL_TYPES:
            report.add(source, ["group_by", i, "bucket"],
                       f"'{path}' is a {field.type} field; buckets group dates and date-times")
        _add_column(report, source, ["group_by", i], columns, group_name(group))
    period = data.get("period", {})
    if kind == "timeseries" and "field" in period:
        _add_column(report, source, ["period", "field"], columns, period["field"].split(".")[-1])
    for name, measure in data.get("measures", {}).items():
        _add_column(report, source, ["measures", name], columns, name, key=True)
        if isinstance(measure, Mapping) and "where" in measure:
            check_condition(report, source, ["measures", name, "where"], measure["where"], entities, entity,
                            pipelines)
            _check_values(report, source, measure["where"], entities, entity, pipelines,
                          ("measures", name, "where"))
        function, path = measure_function(measure)
        if path is None:
            continue
        field = check_path(report, source, ["measures", name, function], entities, entity, path)
        if field is not None:
            _check_aggregate(report, source, ["measures", name, function], function, path, field)
    for i, path in enumerate(data.get("columns", ())):
        check_path(report, source, ["columns", i], entities, entity, path)
    expressions = {}
    for name, metric in data.get("metrics", {}).items():
        text = metric["expr"] if isinstance(metric, Mapping) else metric
        expressions[name] = report.expression(source, ["metrics", name], text, columns)
        _add_column(report, source, ["metrics", name], columns, name, key=True)
    _check_sort(report, source, kind, data, entities, entity, columns)
    chart = data.get("chart", {})
    shown = set(columns) | set(data.get("columns", ())) | ({"stage", "conversion", "conversion_from_first"}
                                                            if kind == "funnel" else set())
    if kind == "timeseries" and period.get("compare"):  # the comparison columns can be drawn too
        shown |= {f"{name}_{suffix}" for name in data.get("measures", {}) for suffix in ("previous", "change")}
        shown |= {f"{name}_previous" for name in data.get("metrics", {})}
    for key in ("x", "y", "series"):
        values = chart.get(key, ())
        for value in [values] if isinstance(values, str) else values:
            if value not in shown:
                report.unknown(source, ["chart", key], "a group, measure or metric of this report", value, shown)
    return Document(source.name, freeze(data), label,
                    MappingProxyType({k: v for k, v in expressions.items() if v is not None}))


def _add_column(report: Report, source: Source, path: list[Any], columns: list[str], name: str,
                key: bool = False) -> None:
    if name in columns:
        report.add(source, path, f"the report already has a column '{name}'",
                   "give a group a `name:` or rename the measure or metric", key=key)
    columns.append(name)


def _check_shape(report: Report, source: Source, kind: str, data: Mapping[str, Any],
                 entities: Mapping[str, Entity], entity: str, pipelines: Mapping[str, Pipeline]) -> None:
    """Each report type has the parts it needs and none it would ignore."""
    groups = len(data.get("group_by", ()))
    period = data.get("period")
    def refuse(key: str, why: str) -> None:
        if key in data:
            report.add(source, [key], f"a {kind} report takes no '{key}': {why}", key=True)
    if kind in ("summary", "matrix", "timeseries") and not data.get("measures"):
        report.add(source, [], f"a {kind} report needs measures (e.g. `measures: {{records: count}}`)")
    if kind == "matrix" and groups != 2:
        report.add(source, ["group_by"] if groups else [],
                   "a matrix report groups by exactly two fields: rows, then columns")
    if kind == "list":
        if not data.get("columns"):
            report.add(source, [], "a list report needs columns (the fields shown for each record)")
        for key in ("group_by", "measures", "metrics", "totals"):
            refuse(key, "it shows records, not groups")
    elif "columns" in data:
        report.add(source, ["columns"], f"columns are for list reports; a {kind} report shows its "
                   "groups, measures and metrics", key=True)
    if kind == "funnel":
        if "pipeline" not in data:
            report.add(source, [], "a funnel report needs a pipeline")
        elif data["pipeline"] in pipelines and data.get("source", entity) != pipelines[data["pipeline"]].entity:
            report.add(source, ["source"], f"pipeline '{data['pipeline']}' is over "
                       f"{pipelines[data['pipeline']].entity}, not {data['source']}")
        for key in ("group_by", "sort", "limit", "totals"):
            refuse(key, "its rows are the pipeline's stages, in order")
        if period and "field" in period:
            report.add(source, ["period", "field"], "a funnel counts stage changes by when they were made; "
                       "give only `within` (filter records by a date in `where`)")
    elif kind == "timeseries":
        if not period or "field" not in period:
            report.add(source, ["period"] if period else [], "a timeseries report needs `period: {field: ...}`, "
                       "the date that places a record in a period")
        else:
            field = check_path(report, source, ["period", "field"], entities, entity, period["field"])
            if field is not None and field.type not in TEMPORAL_TYPES:
                report.add(source, ["period", "field"], f"'{period['field']}' is a {field.type} field, "
                           "not a date or date-time")
        refuse("limit", "it shows every period of its range")
    elif period is not None:
        report.add(source, ["period"], "period is for timeseries and funnel reports", key=True)


def _check_aggregate(report: Report, source: Source, path: list[Any], function: str, name: str,
                     field: Field) -> None:
    if function in ("sum", "avg") and field.type not in NUMERIC_TYPES:
        report.add(source, path, f"cannot {function} '{name}': a {field.type} field (sum and avg take "
                   "integer, number, money or percent fields)")
    elif function in ("min", "max") and field.type in NOT_ORDERED:
        report.add(source, path, f"cannot take the {function} of '{name}': a {field.type} field")
    elif field.type == "location":
        report.add(source, path, f"cannot count '{name}': a location field")


def _check_sort(report: Report, source: Source, kind: str, data: Mapping[str, Any],
                entities: Mapping[str, Entity], entity: str, columns: list[str]) -> None:
    sort = data.get("sort", ())
    for i, key in enumerate([sort] if isinstance(sort, str) else sort):
        where: list[str | int] = ["sort"] if isinstance(sort, str) else ["sort", i]
        name = key.lstrip("-+")
        if kind == "list":
            field = check_path(report, source, where, entities, entity, name)
            if field is not None and field.type in ("multiselect", "location", "file"):
                report.add(source, where, f"cannot sort by '{name}': a {field.type} field")
        elif name not in columns:
            report.unknown(source, where, "a group, measure or metric of this report", name, columns)


def _check_values(report: Report, source: Source, condition: Mapping[str, Any],
                  entities: Mapping[str, Entity], entity: str, pipelines: Mapping[str, Pipeline],
                  at_key: tuple[str, ...] = ("where",)) -> None:
    """A stage or option a filter names must exist: a typo would silently match nothing."""
    for at, path, spec in leaves(condition, at_key):
        field = resolve_path(entities, entity, path)
        if isinstance(field, str):
            continue
        if field.type == "stage":
            pipeline = pipelines.get(field.pipeline or "")
            known = tuple(pipeline.stage_names) if pipeline else ()
        elif field.type in ("select", "multiselect"):
            known = field.option_values
        else:
            continue
        operators = spec if isinstance(spec, Mapping) else {"eq": spec}
        for operator in VALUE_OPERATORS:
            values = operators.get(operator)
            for i, value in enumerate(values if isinstance(values, (list, tuple)) else [values]):
                if value is not None and known and value not in known:
                    where: list[Any] = at + ([operator] if isinstance(spec, Mapping) else [])
                    if isinstance(values, (list, tuple)):
                        where.append(i)
                    report.unknown(source, where, f"a {'stage' if field.type == 'stage' else 'choice'} "
                                   f"of {path}", value, [str(k) for k in known])


def build_targets(source: Source, entities: Mapping[str, Entity],
                  pipelines: Mapping[str, Pipeline], report: Report) -> Targets | None:
    """blueprint.yaml `targets:` → Targets, each field of the right type."""
    spec = source.data.get("targets")
    if spec is None:
        return None
    entity = entities.get(spec["entity"])
    if entity is None:
        report.unknown(source, ["targets", "entity"], "an entity", spec["entity"], entities)
        return None
    wanted = {"metric": ("text", "select"), "period": ("date", "datetime"),
              "value": ("integer", "number", "money", "percent"), "owner": ("user",)}
    for key, types in wanted.items():
        if key not in spec:
            continue
        field = entity.fields.get(spec[key])
        if field is None:
            report.unknown(source, ["targets", key], f"a field of {entity.name}", spec[key], entity.fields)
        elif field.type not in types:
            report.add(source, ["targets", key], f"'{spec[key]}' is a {field.type} field; "
                       f"targets.{key} needs a {' or '.join(types)} field")
    check_condition(report, source, ["targets", "where"], spec.get("where", {}), entities, entity.name,
                    pipelines)
    return Targets(entity=entity.name, metric=spec["metric"], period=spec["period"], value=spec["value"],
                   owner=spec.get("owner"), where=freeze(dict(spec.get("where", {}))))


def check_target_calls(report: Report, source: Source, path: list[Any], expression: Any,
                       targets: Targets | None, entities: Mapping[str, Entity]) -> None:
    """`target('revenue', 'month')`: the metric must be one the targets entity offers (when its metric
    field is a select) and the period a unit or a relative period."""
    if expression is None or "target" not in expression.names or targets is None:
        return
    metric_field = entities[targets.entity].fields.get(targets.metric)
    metrics = metric_field.option_values if metric_field is not None and metric_field.type == "select" else ()
    for node in ast.walk(expression._tree):
        if not (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "target"):
            continue
        args = [a.value if isinstance(a, ast.Constant) else ... for a in node.args]
        if len(args) not in (2, 3):
            report.add(source, path, "target() takes the metric and the period, like target('revenue', "
                       "'month'), and perhaps an owner: target('revenue', 'month', owner)")
            continue
        if len(args) == 3 and targets.owner is None:
            report.add(source, path, "target(metric, period, owner) needs `owner` in the blueprint's targets")
        metric, period = args[:2]
        if metrics and isinstance(metric, str) and metric not in metrics:
            report.unknown(source, path, f"a metric of {targets.entity}.{targets.metric}", metric,
                           [str(m) for m in metrics])
        if isinstance(period, str) and not is_period_name(period):
            report.add(source, path, f"'{period}' is not a period: use day, week, month, quarter, year "
                       "or a relative period such as last_month")


def is_period_name(name: str) -> bool:
    if name in PERIOD_UNITS or name in ("today", "yesterday", "tomorrow"):
        return True
    return bool(re.match(r"^((this|last|next)_(week|month|quarter|year)|(last|next)_[1-9][0-9]{0,3}_days)$", name))
