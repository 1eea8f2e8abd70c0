"""A report result as people and programs read it: each value as text in zh or en (stage and
option labels, record titles, user names, date buckets, numbers), as JSON (the API and
`atrium report --format json`), as CSV and as an aligned text table."""
from __future__ import annotations

import csv
import datetime as dt
import unicodedata
from decimal import Decimal
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from atrium.metadata.model import Label
from atrium.runtime.reports.buckets import bucket_label
from atrium.runtime.reports.columns import TOTAL, ReportColumn, words

YES, NO = words("yes", "是"), words("no", "否")
LABELLED = frozenset({"stage", "select", "multiselect", "reference", "user", "boolean"})


def plain(value: Any) -> Any:
    """A value as JSON: exact decimals as strings, dates as ISO text."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


def json_key(value: Any) -> str:
    return value.isoformat() if isinstance(value, dt.date) else str(value)


class ResultText:
    """Text for the values of a ReportResult (mixed into it; reads its columns and titles)."""

    # the ReportResult's own fields (runner.py), declared here for the methods that read them
    name: str
    kind: str
    label: Label
    totals: dict[str, Any] | None
    truncated: bool
    warnings: list[str]
    columns: list[ReportColumn]
    rows: list[dict[str, Any]]
    titles: dict[str, dict[Any, Any]]
    timezone: str = "UTC"
    default_locale: str = "en"

    def column(self, name: str) -> ReportColumn:
        return next(column for column in self.columns if column.name == name)

    def text(self, column: ReportColumn, value: Any, locale: str) -> str:
        """How one value reads in `locale`."""
        if value is None:
            return ""
        title = self.titles.get(column.name, {}).get(value)
        if title is not None:
            return title.text(locale, self.default_locale) if isinstance(title, Label) else str(title)
        kind = column.type
        if kind in ("reference", "user"):
            return ""  # a record the viewer may not read has no title here
        if column.bucket:
            return bucket_label(value, column.bucket, locale)
        if kind in ("select", "multiselect") and column.field is not None:
            values = value if isinstance(value, list) else [value]
            field = column.field
            shown = [(option.label.text(locale, self.default_locale) if (option := field.option(v)) else str(v))
                     for v in values]
            return ", ".join(shown)
        if kind == "boolean":
            return (YES if value else NO).text(locale)
        if kind == "location" and isinstance(value, dict):
            return value.get("address") or ", ".join(str(value[k]) for k in ("lat", "lng") if value.get(k) is not None)
        if isinstance(value, dt.datetime):
            return f"{value.astimezone(ZoneInfo(self.timezone)):%Y-%m-%d %H:%M}"
        if isinstance(value, dt.date):
            return value.isoformat()
        if kind == "percent" and isinstance(value, int | float | Decimal):
            return f"{value:.1f}%"
        if kind == "integer" and isinstance(value, int | Decimal):
            return f"{value:,}"
        if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
            return f"{value:,.2f}"
        return str(value)

    def labels(self, locale: str) -> dict[str, dict[str, str]]:
        """value → text for the columns whose values are names (stages, options, records, buckets)."""
        result: dict[str, dict[str, str]] = {}
        for column in self.columns:
            if column.type not in LABELLED and not column.bucket:
                continue
            values = {row.get(column.name) for row in self._all_rows()}
            result[column.name] = {json_key(v): self.text(column, v, locale) for v in values
                                   if v is not None and not isinstance(v, list)}
        return result

    def _all_rows(self) -> list[dict[str, Any]]:
        rows = list(self.rows)
        matrix = getattr(self, "matrix", None)
        if matrix is not None:
            rows += list(matrix.row_totals.values()) + list(matrix.column_totals.values())
        return rows

    def to_json(self, locale: str) -> dict[str, Any]:
        """The result as the API and `atrium report --format json` give it."""
        names = [c.name for c in self.columns]
        row = lambda r: {name: plain(r.get(name)) for name in ([*names, "id"] if "id" in r else names)}  # noqa: E731
        matrix = getattr(self, "matrix", None)
        period = getattr(self, "period", None)
        return {
            "report": self.name, "type": self.kind, "label": self.label.text(locale, self.default_locale),
            "columns": [c.to_json(locale, self.default_locale) for c in self.columns],
            "rows": [row(r) for r in self.rows],
            "totals": row(self.totals) if self.totals is not None else None,
            "labels": self.labels(locale),
            "matrix": None if matrix is None else {
                "row": matrix.row, "column": matrix.column,
                "row_keys": plain(matrix.row_keys), "column_keys": plain(matrix.column_keys),
                "row_totals": [row(r) for r in matrix.row_totals.values()],
                "column_totals": [row(r) for r in matrix.column_totals.values()]},
            "period": None if period is None else {"start": period[0].isoformat(), "end": period[1].isoformat()},
            "truncated": self.truncated, "warnings": list(self.warnings),
        }

    def text_rows(self, locale: str) -> tuple[list[str], list[list[str]], list[str] | None]:
        """(headings, rows, totals) as text."""
        headings = [c.label.text(locale, self.default_locale) for c in self.columns]
        rows = [[self.text(c, r.get(c.name), locale) for c in self.columns] for r in self.rows]
        totals = None
        if self.totals is not None:
            totals = [self.text(c, self.totals.get(c.name), locale) if c.kind != "group" else "" for c in self.columns]
            totals[0] = totals[0] or TOTAL.text(locale)
        return headings, rows, totals

    def write_csv(self, out: TextIO, locale: str) -> None:
        """CSV for spreadsheets: labels as headings, names shown as people read them, exact numbers."""
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow([c.label.text(locale, self.default_locale) for c in self.columns])
        records = [*self.rows, *([self.totals] if self.totals is not None else [])]
        for index, record in enumerate(records):
            cells = []
            for column in self.columns:
                value = record.get(column.name)
                shown = self.text(column, value, locale) if column.type in LABELLED or column.bucket \
                    or isinstance(value, dict) else plain(value)
                cells.append("" if shown is None else shown)
            if index == len(self.rows) and not cells[0]:
                cells[0] = TOTAL.text(locale)
            writer.writerow(cells)

    def table(self, locale: str) -> str:
        """An aligned text table (wide characters count double), totals under a rule."""
        headings, rows, totals = self.text_rows(locale)
        body = [*rows, *([totals] if totals else [])]
        widths = [max([_width(h)] + [_width(r[i]) for r in body]) for i, h in enumerate(headings)]
        numeric = [c.kind != "group" and c.type not in LABELLED and c.kind != "field" for c in self.columns]
        def line(cells: list[str]) -> str:
            return "  ".join(_pad(cell, width, right)
                             for cell, width, right in zip(cells, widths, numeric, strict=False)).rstrip()
        rule = "  ".join("-" * width for width in widths)
        lines = [line(headings), rule, *(line(r) for r in rows)]
        if totals:
            lines += [rule, line(totals)]
        return "\n".join(lines)


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _pad(text: str, width: int, right: bool) -> str:
    space = " " * (width - _width(text))
    return space + text if right else text + space
