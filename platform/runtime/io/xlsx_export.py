"""Writing an .xlsx with typed cells, for list, report and command-line exports.

A date is an Excel date, a time stamp a date-time (in the blueprint's time zone), money a number
with the blueprint currency's number format, a percent a percent cell, other numbers numbers;
everything else (option, stage and user labels in the reader's language, reference titles) is
text. Text is always text: a name starting with '=' is never written as a formula, and the
control characters XML cannot hold are left out. openpyxl's write-only mode streams rows, so a
large export costs the memory of its rows, not of a workbook model.
"""
from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from typing import Any, Iterable, Sequence
from zoneinfo import ZoneInfo

from babel.numbers import get_currency_symbol
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Font

MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
NUMBER_KINDS = frozenset({"integer", "number", "money", "percent"})
SHEET_TITLE_BAD = str.maketrans({c: " " for c in "[]:*?/\\"})


def money_format(currency: str, locale: str) -> str:
    """Excel's number format for the currency: symbol, thousands, two places; negatives with '-'."""
    try:
        symbol = get_currency_symbol(currency, locale=locale)
    except Exception:  # an unknown locale or currency: the code itself
        symbol = currency
    return f'"{symbol}"#,##0.00;-"{symbol}"#,##0.00'


class XlsxSheet:
    """One sheet: a bold header row, then rows of typed cells; `content()` gives the file."""

    def __init__(self, title: str, currency: str, timezone: str, locale: str):
        self.workbook = Workbook(write_only=True)
        self.sheet = self.workbook.create_sheet(title=(title.translate(SHEET_TITLE_BAD).strip() or "Sheet1")[:31])
        self.money = money_format(currency, locale)
        self.zone = ZoneInfo(timezone)
        self.rows = 0

    def header(self, labels: Sequence[str]) -> None:
        cells = []
        for label in labels:
            cell = WriteOnlyCell(self.sheet, value=clean(label))
            cell.font = Font(bold=True)
            cell.data_type = "s"
            cells.append(cell)
        self.sheet.append(cells)

    def append(self, cells: Iterable[tuple[str | None, Any, str]]) -> None:
        """Each cell as (field type or None, stored value, the text shown for it)."""
        self.sheet.append([self.cell(kind, value, text) for kind, value, text in cells])
        self.rows += 1

    def cell(self, kind: str | None, value: Any, text: str) -> Cell:
        if value is None or value == "" or value == []:
            return WriteOnlyCell(self.sheet, value=None)
        if kind == "date" and isinstance(value, dt.date):
            day = value.date() if isinstance(value, dt.datetime) else value
            cell = WriteOnlyCell(self.sheet, value=dt.datetime.combine(day, dt.time()))  # a date cell: midnight
            cell.number_format = DATE_FORMAT
            return cell
        if kind == "datetime" and isinstance(value, dt.datetime):
            local = value.astimezone(self.zone).replace(tzinfo=None) if value.tzinfo else value
            cell = WriteOnlyCell(self.sheet, value=local)
            cell.number_format = DATETIME_FORMAT
            return cell
        if kind in NUMBER_KINDS and isinstance(value, int | float | Decimal) and not isinstance(value, bool):
            number = value
            if kind == "percent":
                cell = WriteOnlyCell(self.sheet, value=float(Decimal(str(number)) / 100))
                cell.number_format = "0.00%"
                return cell
            cell = WriteOnlyCell(self.sheet, value=float(number) if isinstance(number, Decimal) else number)
            cell.number_format = self.money if kind == "money" else ("#,##0" if kind == "integer" else "General")
            return cell
        cell = WriteOnlyCell(self.sheet, value=clean(text))
        cell.data_type = "s"  # text stays text: '=HYPERLINK(...)' typed in a name is not a formula
        return cell

    def content(self) -> bytes:
        out = io.BytesIO()
        self.workbook.save(out)
        return out.getvalue()


def clean(text: Any) -> str:
    """Text without the control characters an .xlsx cannot hold, and without a formula apostrophe."""
    value = ILLEGAL_CHARACTERS_RE.sub("", str(text))
    if value.startswith("'") and value[1:2] in ("=", "+", "-", "@"):
        value = value[1:]  # the CSV writers' guard; an xlsx text cell needs none
    return value
