"""A report result drawn as its `chart:` block says: bar, stacked bar, line, pie, donut, funnel
(ECharts options, built here from the rows and labelled in the reader's language), a KPI number,
or only the table. Charts never compute figures of their own: each value is one the report's
query produced (several rows with the same x are added up when the chart shows fewer groups
than the report has, for counts and sums only).

The browser side (static/charts.js) draws `Chart.option` with ECharts and applies the number
format named in `Chart.format`; nothing in an option is code, so report data cannot inject any.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field as dataclass_field
from decimal import Decimal
from typing import Any, Mapping

from atrium.runtime.reports.columns import ReportColumn
from atrium.ui.web.i18n import word

PALETTE = ["#0b63ce", "#2da44e", "#d4a72c", "#8250df", "#e16f24", "#cf222e", "#1b7c83", "#bf3989",
           "#57606a", "#6f9be8"]
ADDITIVE = ("count", "count_distinct", "sum")
CHARTED = ("bar", "stacked_bar", "line", "pie", "donut", "funnel")
HORIZONTAL_AFTER = 8  # more categories than this: bars run sideways so every name stays readable


@dataclass
class Chart:
    """What a template draws: `kind` is one of CHARTED (with `option`), `kpi`, or `table`."""

    kind: str
    option: dict[str, Any] = dataclass_field(default_factory=dict)
    format: str = "number"  # how charts.js shows values: money, integer, percent, number
    height: int = 320
    empty: bool = False
    extra: dict[str, Any] = dataclass_field(default_factory=dict)  # e.g. a funnel's conversion rates

    def payload(self, locale: str, currency: str) -> dict[str, Any]:
        """What charts.js reads from the element's data-chart attribute (JSON)."""
        return {"option": self.option, "format": self.format, "locale": locale, "currency": currency,
                **self.extra}


def spec_of(document: Any) -> dict[str, Any]:
    """The report's chart block, with a default per report type."""
    spec = dict(document.get("chart") or {})
    if "type" not in spec:
        kind = document.get("type", "summary")
        spec["type"] = {"funnel": "funnel", "timeseries": "line", "list": "table"}.get(
            kind, "bar" if document.get("group_by") else "kpi")
    return spec


def find_column(result: Any, name: str | None, kinds: tuple[str, ...] = ()) -> ReportColumn | None:
    """A column by its name or by the last step of a dotted path (`account.level` → `level`)."""
    if not name:
        return None
    for wanted in (name, name.split(".")[-1]):
        for column in result.columns:
            if column.name == wanted and (not kinds or column.kind in kinds):
                return column
    return None


def value_columns(result: Any, spec: Mapping[str, Any]) -> list[ReportColumn]:
    """The y columns: named in the block, else the first measure."""
    names = spec.get("y")
    names = [names] if isinstance(names, str) else list(names or ())
    found = [c for c in (find_column(result, n, ("measure", "metric")) for n in names) if c is not None]
    if found:
        return found
    return [c for c in result.columns if c.kind in ("measure", "metric")][:1]


def number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float, Decimal)):
        return float(value)
    return None


def format_of(column: ReportColumn | None) -> str:
    if column is None:
        return "number"
    if column.format in ("money", "percent", "integer"):
        return column.format
    if column.type in ("money", "percent", "integer"):
        return column.type
    return "number"


def label(result: Any, column: ReportColumn, value: Any, locale: str) -> str:
    if value is None:
        return word("(none)", locale)
    return result.text(column, value, locale)


def text_of(label_: Any, locale: str, default: str) -> str:
    return label_.text(locale, default)


def build(result: Any, document: Any, locale: str, blueprint: Any) -> Chart:
    spec = spec_of(document)
    kind = spec["type"]
    default = blueprint.default_locale
    ys = value_columns(result, spec)
    if kind == "table" or not ys and kind != "funnel":
        return Chart("table")
    if kind == "kpi":
        return Chart("kpi", format=format_of(ys[0]))
    if kind == "funnel" or result.kind == "funnel":
        return _funnel(result, document, locale, blueprint, ys)
    x = find_column(result, spec.get("x"), ("group",)) or next(
        (c for c in result.columns if c.kind == "group"), None)
    if x is None:
        return Chart("kpi", format=format_of(ys[0]))
    series = find_column(result, spec.get("series"), ("group",))
    if series is None and kind == "stacked_bar":  # what a stacked bar stacks: the group beside the axis
        series = next((c for c in result.columns if c.kind == "group" and c is not x), None)
    categories = _keys(result, x)
    names = [label(result, x, key, locale) for key in categories]
    chart = Chart(kind, format=format_of(ys[0]), empty=not result.rows)
    if kind in ("pie", "donut"):
        values = _sums(result, x, categories, ys[0])
        chart.option = {
            "tooltip": {"trigger": "item"},
            "legend": {"type": "scroll", "bottom": 0},
            "series": [{"type": "pie", "radius": ["42%", "70%"] if kind == "donut" else "70%",
                        "center": ["50%", "45%"], "minShowLabelAngle": 14,
                        # names are in the legend; shares sit on the slices, so no label is ever cut
                        "label": {"position": "inside", "formatter": "{d}%", "color": "#fff", "fontSize": 11},
                        "data": [{"name": n, "value": v} for n, v in zip(names, values, strict=False)]}]}
        return chart
    lines = []
    if series is not None and series is not x:
        keys = _keys(result, series)
        for key in keys:
            values = _sums(result, x, categories, ys[0], (series, key))
            lines.append((label(result, series, key, locale), values, False))
    else:
        for column in ys:
            lines.append((text_of(column.label, locale, default), _sums(result, x, categories, column), False))
            previous = find_column(result, f"{column.name}_previous", ("previous",))
            if kind == "line" and previous is not None:
                lines.append((text_of(previous.label, locale, default),
                              _sums(result, x, categories, previous), True))
    horizontal = kind in ("bar", "stacked_bar") and len(categories) > HORIZONTAL_AFTER
    category_axis = {"type": "category", "data": names,
                     "axisLabel": {"interval": 0, "hideOverlap": not horizontal,
                                   "width": 120 if horizontal else 90, "overflow": "truncate"}}
    value_axis = {"type": "value", "splitLine": {"lineStyle": {"color": "#eaeef2"}}}
    plotted = []
    for name, values, dashed in lines:
        item: dict[str, Any] = {"name": name, "type": "line" if kind == "line" else "bar", "data": values}
        if kind == "stacked_bar":
            item["stack"] = "total"
        if kind == "line":
            item.update(smooth=False, symbolSize=6, showSymbol=len(categories) <= 24)
            if dashed:
                item.update(lineStyle={"type": "dashed", "width": 1.5}, itemStyle={"opacity": .6})
        else:
            item["barMaxWidth"] = 36
        plotted.append(item)
    chart.option = {
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow" if kind != "line" else "line"}},
        "legend": {"type": "scroll", "top": 0},
        "grid": {"left": 8, "right": 24, "top": 36, "bottom": 8, "containLabel": True},
        "xAxis": value_axis if horizontal else category_axis,
        "yAxis": {**category_axis, "inverse": True} if horizontal else value_axis,
        "series": plotted,
    }
    if horizontal:
        chart.height = max(320, 26 * len(categories) + 70)
    return chart


def _funnel(result: Any, document: Any, locale: str, blueprint: Any, ys: list[ReportColumn]) -> Chart:
    """The stages records moved along (a lost outcome is left out: it is not a step of the ladder)."""
    pipeline = blueprint.pipelines.get(document.get("pipeline") or "")
    stage_column = find_column(result, "stage", ("group",))
    measure = ys[0] if ys else None
    data = []
    for row in result.rows:
        stage = pipeline.stage(row.get("stage")) if pipeline else None
        if stage is not None and stage.outcome == "lost":
            continue
        value = number(row.get(measure.name)) if measure else None
        conversion = row.get("conversion")
        name = label(result, stage_column, row.get("stage"), locale) if stage_column else str(row.get("stage"))
        data.append({"name": name, "value": value or 0,
                     "conversion": None if conversion is None else float(conversion)})
    chart = Chart("funnel", format=format_of(measure), empty=not any(d["value"] for d in data))
    chart.option = {
        "tooltip": {"trigger": "item"},
        "series": [{"type": "funnel", "sort": "none", "left": "8%", "width": "84%", "top": 8, "bottom": 8,
                    "minSize": "18%", "gap": 2, "label": {"position": "inside"},
                    "data": [{"name": d["name"], "value": d["value"]} for d in data]}],
    }
    chart.extra = {"conversion": [d["conversion"] for d in data]}
    return chart


def _keys(result: Any, column: ReportColumn) -> list[Any]:
    matrix = getattr(result, "matrix", None)
    if matrix is not None and column.name == matrix.row:
        return list(matrix.row_keys)
    if matrix is not None and column.name == matrix.column:
        return list(matrix.column_keys)
    return list(dict.fromkeys(row.get(column.name) for row in result.rows))


def _sums(result: Any, x: ReportColumn, categories: list[Any], y: ReportColumn,
          where: tuple[ReportColumn, Any] | None = None) -> list[float | None]:
    """y per category: the one row's value, or the sum of the rows that share it (counts and sums)."""
    additive = y.function in ADDITIVE or y.kind == "previous"
    found: dict[Any, float | None] = {}
    for row in result.rows:
        if where is not None and row.get(where[0].name) != where[1]:
            continue
        key, value = row.get(x.name), number(row.get(y.name))
        if key in found and additive and value is not None:
            found[key] = (found[key] or 0) + value
        elif key not in found:
            found[key] = value
    return [found.get(key) if key in found else (0 if where is not None and additive else None)
            for key in categories]


def kpi_value(result: Any, column: ReportColumn | None) -> Any:
    """The one figure of a report: its only row, else its totals, else the sum of its rows."""
    if column is None:
        return None
    if len(result.rows) == 1:
        return result.rows[0].get(column.name)
    if result.totals is not None:
        return result.totals.get(column.name)
    values = [row.get(column.name) for row in result.rows if number(row.get(column.name)) is not None]
    return sum(values) if values and column.function in ADDITIVE else None


def plain_number(value: Any) -> Any:
    """A value for JSON: decimals as floats, dates as text."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value
