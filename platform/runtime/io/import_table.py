"""The shape every uploaded table is read into, and its caps: a header and rows of text cells
(CsvFile), built row by row by TableBuilder, which refuses a file as soon as it goes over
MAX_COLUMNS columns or MAX_ROWS rows. The readers are import_files.py (CSV) and xlsx_files.py.
"""
from __future__ import annotations

from dataclasses import dataclass, field as dataclass_field
from typing import Any

from atrium.errors import AtriumError
from atrium.translation import N_, word

MAX_COLUMNS = 500
MAX_ROWS = 500_000
MAX_CELL = 65_536  # characters in one cell

MESSAGES: dict[str, str] = {
    "no_header": N_("The file has no header row"),
    "no_rows": N_("The file has a header row but no rows under it"),
    "unreadable": N_("The file is not a CSV text file (its encoding is not UTF-8 or GBK)"),
    "bad_csv": N_("The file is not valid CSV near row {row}: {reason}"),
    "too_many_columns": N_("The file has more than {limit} columns; keep only the columns to import"),
    "too_many_rows": N_("The file has more than {limit} rows; split it into smaller files"),
    "cell_too_long": N_("A cell near row {row} is longer than {limit} characters"),
}


def say(key: str, locale: str, **params: Any) -> str:
    return word(MESSAGES[key], locale, **params)


class ImportProblem(AtriumError, ValueError):
    """The file or the mapping cannot be imported at all (as opposed to one row's errors)."""

    status, code = 422, "import"


class EmptyTable(ImportProblem):
    """No header, or no rows under it: a workbook's next sheet may hold the data."""


@dataclass
class CsvFile:
    """A table read from a file: CSV, or one sheet of a workbook (then `sheet` names it)."""

    header: list[str]
    rows: list[tuple[int, list[str]]]  # (row number as a spreadsheet shows it, cells)
    encoding: str
    delimiter: str
    sheet: str | None = None
    sheets: list[str] = dataclass_field(default_factory=list)  # a workbook's sheets, in order

    @property
    def total(self) -> int:
        return len(self.rows)

    @property
    def kind(self) -> str:
        return "xlsx" if self.sheet is not None else "csv"


class TableBuilder:
    """Rows in, a CsvFile out: the first non-empty row is the header; the caps are checked as
    rows arrive, so a hostile file is refused as soon as it goes over one."""

    def __init__(self, locale: str):
        self.locale = locale
        self.header: list[str] | None = None
        self.rows: list[tuple[int, list[str]]] = []

    def add(self, number: int, cells: list[str]) -> None:
        if len(cells) > MAX_COLUMNS and any(cell.strip() for cell in cells[MAX_COLUMNS:]):
            raise ImportProblem(say("too_many_columns", self.locale, limit=MAX_COLUMNS))
        cells = cells[:MAX_COLUMNS]
        if not any(cell.strip() for cell in cells):
            return
        if self.header is None:
            self.header = header_names(cells)
        elif len(self.rows) >= MAX_ROWS:
            raise ImportProblem(say("too_many_rows", self.locale, limit=MAX_ROWS))
        else:
            self.rows.append((number, cells))

    def finish(self, encoding: str, delimiter: str, sheet: str | None = None,
               sheets: list[str] | None = None) -> CsvFile:
        if self.header is None:
            raise EmptyTable(say("no_header", self.locale))
        if not self.rows:
            raise EmptyTable(say("no_rows", self.locale))
        return CsvFile(self.header, self.rows, encoding, delimiter, sheet, sheets or [])


def header_names(cells: list[str]) -> list[str]:
    """Column names: trimmed; a blank one is named by its position, a repeated one made distinct."""
    end = len(cells)
    while end and not cells[end - 1].strip():
        end -= 1
    names: list[str] = []
    seen: set[str] = set()
    for index, cell in enumerate(cells[:end]):
        name = cell.strip().removeprefix("\ufeff").strip() or f"#{index + 1}"
        if name in seen:
            name = f"{name} #{index + 1}"
        seen.add(name)
        names.append(name)
    return names
