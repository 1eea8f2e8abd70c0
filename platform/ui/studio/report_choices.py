"""What the report editor offers to pick from: field paths through references (level by level),
the operators, functions, date buckets, formats and chart types in the admin's language, and the
report's own groups and values for the chart's axes; and the editor's own checks of the rows, so
every mistake in the form is reported together rather than the first one hiding the others."""
from __future__ import annotations

from typing import Any, Mapping

from atrium.metadata.field_paths import resolve_path
from atrium.metadata.model import SYSTEM_FIELDS
from atrium.metadata.problem_words import problem_words
from atrium.metadata.problems import Problem, did_you_mean, valid_names
from atrium.translation import N_
from atrium.ui.web.i18n import word

PATH_DEPTH = 2  # `customer.region`; deeper paths can still be typed
CHART_WORDS: dict[str, str] = {
    "": N_("(by report type)"),
    "bar": N_("Bars"),
    "stacked_bar": N_("Stacked bars (by the second group)"),
    "line": N_("Line"),
    "pie": N_("Pie"),
    "donut": N_("Donut"),
    "funnel": N_("Funnel"),
    "kpi": N_("One number"),
    "table": N_("Table only"),
}
FUNCTION_WORDS: dict[str, str] = {
    "count": N_("count"),
    "count_distinct": N_("count distinct"),
    "sum": N_("sum"),
    "avg": N_("average"),
    "min": N_("minimum"),
    "max": N_("maximum"),
}
BUCKET_WORDS: dict[str, str] = {
    "": N_("(the value itself)"),
    "day": N_("day"),
    "week": N_("week"),
    "month": N_("month"),
    "quarter": N_("quarter"),
    "year": N_("year"),
}
FORMAT_WORDS: dict[str, str] = {
    "": N_("(from the field)"),
    "number": N_("number"),
    "integer": N_("integer"),
    "money": N_("money"),
    "percent": N_("percent"),
}
LIST_OPERATORS = ("in", "not_in")
NUMBER_OPERATORS = ("older_than_days", "newer_than_days", "not_older_than_days", "older_than_hours",
                    "within_last_hours", "in_stage_longer_than_days")


def choices(words: Mapping[str, str], locale: str) -> list[tuple[str, str]]:
    """(value, its name in the admin's language) for a select."""
    return [(value, word(text, locale)) for value, text in words.items()]


def field_paths(blueprint: Any, entity: str, locale: str) -> list[tuple[str, str]]:
    """(path, label path) for every field of `entity`, then through each reference the fields of
    the record it points to (`customer.region` → "Customer › Region"), PATH_DEPTH levels deep."""
    found: list[tuple[str, str]] = []

    def walk(name: str, prefix: str, labels: str, depth: int) -> None:
        current = blueprint.entities.get(name)
        if current is None:
            return
        for field_name, field in current.fields.items():
            text = field.label.text(locale, blueprint.default_locale)
            path, shown = f"{prefix}{field_name}", f"{labels}{text}"
            found.append((path, shown))
            if field.type == "reference" and field.to and depth < PATH_DEPTH:
                walk(field.to, path + ".", shown + " › ", depth + 1)

    walk(entity, "", "", 1)
    return found


def group_column(row: Mapping[str, str]) -> str:
    """The column a group row makes: its `name`, else the last step of its path."""
    return (row.get("name") or "").strip() or row["field"].strip().split(".")[-1]


def axis_choices(state: Mapping[str, Any]) -> dict[str, list[tuple[str, str]]]:
    """The chart's axes offer the report's groups (x, series) and values (y)."""
    groups = [(group_column(row), row["field"].strip()) for row in state["groups"] if row["field"].strip()]
    values = [(row["name"].strip(), row["name"].strip()) for key in ("measures", "metrics")
              for row in state[key] if row["name"].strip()]
    return {"groups": groups, "values": values}


def axis_column(state: Mapping[str, Any], typed: str) -> str:
    """A grouped path typed or picked as an axis (`customer.region`) is the group's column."""
    for row in state["groups"]:
        if row["field"].strip() == typed:
            return group_column(row)
    return typed


def path_problem(entities: Mapping[str, Any], entity: str, path: str) -> Problem | None:
    """Why a dotted path does not resolve, as `atrium check` says it (the fields of the entity
    where it stops as the valid values), or None."""
    found = resolve_path(entities, entity, path)
    if not isinstance(found, str):
        return None
    current = entity
    for step in path.split("."):
        field = entities[current].fields.get(step)
        if field is None or field.type != "reference" or field.to not in entities:
            candidates = valid_names(set(entities[current].fields) | set(SYSTEM_FIELDS))
            hint = did_you_mean(step, candidates) if step not in candidates else ""
            return Problem(None, path, found, hint, candidates)
        current = field.to
    return Problem(None, path, found)


def row_problems(blueprint: Any, state: Mapping[str, Any], document: Mapping[str, Any],
                 locale: str) -> dict[str, str]:
    """The editor's own checks of its rows, all at once: paths that do not resolve, chart axes
    that name nothing in a summary report (other types add columns of their own: a funnel's
    stages, a timeseries' periods and comparisons)."""
    problems: dict[str, str] = {}
    entity = state["source"]
    if entity not in blueprint.entities:
        return problems
    for kind, key in (("cond", "conditions"), ("group", "groups"), ("measure", "measures")):
        for index, row in enumerate(state[key]):
            path = row["field"].strip()
            if not path or path in ("any", "all") and kind == "cond":
                continue
            if (problem := path_problem(blueprint.entities, entity, path)) is not None:
                problems[f"{kind}-{index}-field"] = problem_words(problem, locale, with_path=False)
    if document.get("type", "summary") != "summary":
        return problems
    groups = {group_column(row) for row in state["groups"] if row["field"].strip()}
    values = {row["name"].strip() for key in ("measures", "metrics") for row in state[key]}
    for key, allowed in (("chart_x", groups), ("chart_series", groups)):
        typed = axis_column(state, state[key]) if state[key] else ""
        if typed and typed not in allowed:
            problems[key] = word(N_("'{name}' is not a group of this report; the groups: {valid}"), locale,
                                 name=state[key], valid=", ".join(sorted(allowed)) or "—")
    for name in [part.strip() for part in state["chart_y"].replace("，", ",").split(",") if part.strip()]:
        if name not in values:
            problems["chart_y"] = word(N_("'{name}' is not a measure or metric of this report; they are: {valid}"),
                                       locale, name=name, valid=", ".join(sorted(values)) or "—")
    return problems
