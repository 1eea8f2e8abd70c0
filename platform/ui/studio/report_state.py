"""A report as the studio's report editor holds it (rows of conditions, groups, measures and
metrics, the chart, and the rest as YAML), and back to the report's YAML."""
from __future__ import annotations

import re
from typing import Any, Mapping

from atrium.metadata.condition_tree import LOGICAL
from atrium.metadata.overlays.documents import render_overlay_yaml
from atrium.translation import N_
from atrium.ui.studio.condition_rows import add_condition
from atrium.ui.studio.forms import comma_list, inline_yaml, label_of, label_texts, rows, yaml_mapping, yaml_value
from atrium.ui.studio.report_choices import FUNCTION_WORDS, LIST_OPERATORS, NUMBER_OPERATORS, axis_column

EDITED = ("name", "label", "source", "where", "group_by", "measures", "metrics", "chart")
CONDITION = ("field", "op", "value")
GROUP = ("field", "bucket", "label_en", "label_zh", "name")
MEASURE = ("name", "function", "field", "where", "label_en", "label_zh")
METRIC = ("name", "expr", "label_en", "label_zh", "format")
BLANK_ROWS = 2


def state_of(document: Mapping[str, Any]) -> dict[str, Any]:
    label = label_texts(document.get("label"))
    conditions = []
    for path, spec in (document.get("where") or {}).items():
        # `any` / `all` (a list of conditions) is one row, its list as the value, kept as written
        if isinstance(spec, Mapping) and path not in LOGICAL:
            conditions += [{"field": path, "op": op, "value": inline_yaml(value)} for op, value in spec.items()]
        else:
            conditions.append({"field": path, "op": "eq", "value": inline_yaml(spec)})
    groups = []
    for group in document.get("group_by") or ():
        if isinstance(group, str):
            groups.append({"field": group, "bucket": "", "label_en": "", "label_zh": "", "name": ""})
        else:
            texts = label_texts(group.get("label"))
            groups.append({"field": group.get("field", ""), "bucket": group.get("bucket", ""), "label_en": texts["en"],
                           "label_zh": texts["zh"], "name": group.get("name", "")})
    measures = []
    for name, spec in (document.get("measures") or {}).items():
        if isinstance(spec, str):
            measures.append({"name": name, "function": spec, "field": "", "where": "", "label_en": "",
                             "label_zh": ""})
            continue
        function = next((f for f in FUNCTION_WORDS if f in spec), "count")
        texts = label_texts(spec.get("label"))
        measures.append({"name": name, "function": function, "field": str(spec.get(function, "")),
                         "where": inline_yaml(spec.get("where")), "label_en": texts["en"], "label_zh": texts["zh"]})
    metrics = []
    for name, spec in (document.get("metrics") or {}).items():
        spec = spec if isinstance(spec, Mapping) else {"expr": spec}
        texts = label_texts(spec.get("label"))
        metrics.append({"name": name, "expr": str(spec.get("expr", "")),
                        "label_en": texts["en"], "label_zh": texts["zh"],
                        "format": spec.get("format", "")})
    chart = document.get("chart") or {}
    y = chart.get("y", "")
    other = {key: value for key, value in document.items() if key not in EDITED}
    return {"name": document.get("name", ""), "label_en": label["en"], "label_zh": label["zh"],
            "source": document.get("source", ""), "conditions": conditions, "groups": groups, "measures": measures,
            "metrics": metrics, "chart_type": chart.get("type", ""), "chart_x": chart.get("x", ""),
            "chart_y": ", ".join(y) if isinstance(y, list) else y, "chart_series": chart.get("series", ""),
            "other": inline_block(other)}


def inline_block(data: Mapping[str, Any]) -> str:
    if not data:
        return ""
    return render_overlay_yaml(dict(data))


def state_from_form(form: Any) -> dict[str, Any]:
    keep = {key: str(form.get(key, "")).strip() for key in
            ("name", "label_en", "label_zh", "source", "chart_type", "chart_x", "chart_y", "chart_series")}
    return {**keep, "other": str(form.get("other", "")),
            "conditions": [r for r in rows(form, "cond", CONDITION) if r["field"].strip()],
            "groups": [r for r in rows(form, "group", GROUP) if r["field"].strip()],
            "measures": [r for r in rows(form, "measure", MEASURE) if r["name"].strip()],
            "metrics": [r for r in rows(form, "metric", METRIC) if r["name"].strip()]}


def with_blank_rows(state: Mapping[str, Any]) -> dict[str, Any]:
    blanks = {"conditions": CONDITION, "groups": GROUP, "measures": MEASURE, "metrics": METRIC}
    result = dict(state)
    for key, columns in blanks.items():
        blank = {column: "" for column in columns}
        if key == "conditions":
            blank["op"] = "eq"
        if key == "measures":
            blank["function"] = "count"
        result[key] = list(state[key]) + [{**blank, "blank": True} for _ in range(BLANK_ROWS)]
    return result


def document_from_state(state: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """(the report's YAML, errors by input: values or other settings YAML cannot read)."""
    errors: dict[str, str] = {}
    document: dict[str, Any] = {"name": state["name"]}
    if (label := label_of(state)) is not None:
        document["label"] = label
    if state["source"]:
        document["source"] = state["source"]
    where: dict[str, Any] = {}
    for index, row in enumerate(state["conditions"]):
        try:
            value = yaml_value(row["value"])
        except ValueError:
            errors[f"cond-{index}-value"] = N_("Not a value YAML can read")
            continue
        path, op = row["field"].strip(), row["op"] or "eq"
        if op in LIST_OPERATORS and isinstance(value, str):
            value = [part.strip() for part in re.split(r"[,，]", value) if part.strip()]  # `won, lost` is a list
        elif op in LIST_OPERATORS and value is not None and not isinstance(value, list):
            value = [value]
        if op in NUMBER_OPERATORS and not isinstance(value, (int, float)) or op == "between" and not (
                isinstance(value, list) and len(value) == 2):
            errors[f"cond-{index}-value"] = (N_("A number is expected here") if op in NUMBER_OPERATORS
                                             else N_("Two values are expected here, as [from, to]"))
        add_condition(where, path, op, value)
    if where:
        document["where"] = where
    groups = []
    for row in state["groups"]:
        group: dict[str, Any] = {"field": row["field"].strip()}
        if row.get("name", "").strip():
            group["name"] = row["name"].strip()
        if row["bucket"]:
            group["bucket"] = row["bucket"]
        if (label := label_of(row)) is not None:
            group["label"] = label
        groups.append(group["field"] if len(group) == 1 else group)
    if groups:
        document["group_by"] = groups
    measures: dict[str, Any] = {}
    for index, row in enumerate(state["measures"]):
        function, field = row["function"] or "count", row["field"].strip()
        spec: dict[str, Any] = {function: field or "id"}
        try:
            condition = yaml_value(row.get("where", ""))
        except ValueError:
            errors[f"measure-{index}-where"] = N_("Not a value YAML can read")
            condition = None
        if condition is not None:
            spec["where"] = condition
        if (label := label_of(row)) is not None:
            spec["label"] = label
        measures[row["name"].strip()] = "count" if function == "count" and not field and len(spec) == 1 else spec
    if measures:
        document["measures"] = measures
    metrics: dict[str, Any] = {}
    for row in state["metrics"]:
        spec = {"expr": row["expr"].strip()}
        if (label := label_of(row)) is not None:
            spec["label"] = label
        if row.get("format"):
            spec["format"] = row["format"]
        metrics[row["name"].strip()] = spec["expr"] if len(spec) == 1 else spec
    if metrics:
        document["metrics"] = metrics
    try:
        other = yaml_mapping(state["other"])
    except ValueError:
        errors["other"] = N_("Not a value YAML can read")
        other = {}
    # a chart block written under other settings fills what the chart inputs leave empty (never dropped)
    written = other.get("chart")
    written = written if isinstance(written, Mapping) else {}
    chart: dict[str, Any] = {key: written[key] for key in ("type", "x", "y", "series") if key in written}
    if state["chart_type"]:
        chart["type"] = state["chart_type"]
    if state["chart_x"]:
        chart["x"] = axis_column(state, state["chart_x"])
    y = comma_list(state["chart_y"])
    if y:
        chart["y"] = y[0] if len(y) == 1 else y
    if state["chart_series"]:
        chart["series"] = axis_column(state, state["chart_series"])
    if chart:
        document["chart"] = chart
    for key, value in other.items():
        if key not in EDITED:
            document[key] = value
        elif key != "chart":  # a part the editor has its own inputs for: say so rather than drop it
            errors["other"] = N_("Name, label, source, conditions, groups, measures and metrics have their "
                                 "own inputs above; other settings cannot set them")
    return document, errors


def input_of(placed: Mapping[str, list[int]]):
    """The input a problem at a report path belongs to (rows by their place in the document)."""
    def mapper(steps: list[Any]) -> str | None:
        if not steps:
            return None
        head = steps[0]
        if head == "where" and len(steps) > 1:
            index = next((i for i, path in enumerate(placed.get("where", [])) if path == steps[1]), None)
            return f"cond-{index}-field" if index is not None else "other"
        if head == "group_by" and len(steps) > 1 and isinstance(steps[1], int):
            return f"group-{steps[1]}-field"
        if head in ("measures", "metrics") and len(steps) > 1:
            names = placed.get(head, [])
            if steps[1] in names:
                prefix = "measure" if head == "measures" else "metric"
                column = "expr" if head == "metrics" else "where" if steps[2:3] == ["where"] else "field"
                return f"{prefix}-{names.index(steps[1])}-{column}"
        if head == "chart":
            return "chart_" + str(steps[1]) if len(steps) > 1 and steps[1] in ("x", "y", "series") else "chart_type"
        if head in ("label", "source"):
            return "label_en" if head == "label" else "source"
        return "other"
    return mapper
