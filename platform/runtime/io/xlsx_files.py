"""Reading an .xlsx workbook for an import: one sheet (the first, or the one chosen) into the same
header and rows of text cells a CSV gives, so the wizard, the checks and the writes are the same.

Cells read as an Excel user expects: a date cell is the date (ISO text, with the time when it has
one), a number is its value without float noise (13912345678, not 1.3912345678E10), a percent
cell is the percent shown (0.15 formatted 0% is 15), a formula cell its last computed value.

A workbook is a zip of XML, so it is checked before it is opened: the archive must unpack to at
most MAX_UNPACKED bytes (a zip bomb is refused by its directory, without inflating anything),
openpyxl reads in read-only mode (streaming the sheet; defusedxml guards the XML), and the row,
column and cell caps of import_files.py apply while rows stream in.
"""
from __future__ import annotations

import datetime as dt
import io
import zipfile
from decimal import Decimal
from typing import Any

import openpyxl

from atrium.runtime.io.import_table import (
    MAX_CELL,
    MAX_COLUMNS,
    MAX_ROWS,
    CsvFile,
    EmptyTable,
    ImportProblem,
    TableBuilder,
    say as file_problem,
)
from atrium.translation import N_, word

MAX_UNPACKED = 256 * 1024 * 1024  # bytes, all members of the archive together
MAX_SCANNED_ROWS = 2 * MAX_ROWS  # rows read, empty ones included (a sheet may claim row 1,048,576)

MESSAGES: dict[str, str] = {
    "not_xlsx": N_("The file is not a readable Excel workbook (.xlsx)"),
    "too_big": N_("The workbook unpacks to more than {size} MB; it cannot be imported"),
    "no_sheet": N_("The workbook has no sheet '{sheet}'"),
    "old_xls": N_("This is an old Excel file (.xls); save it as .xlsx or CSV and upload it again"),
}
OLD_XLS_MAGIC = b"\xd0\xcf\x11\xe0"


def say(key: str, locale: str, **params: Any) -> str:
    return word(MESSAGES[key], locale, **params)


def check_archive(data: bytes, locale: str) -> None:
    """Refuse what is not a zip, or what would unpack to too much, from the zip's directory."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError):
        raise ImportProblem(say("not_xlsx", locale)) from None
    if unpacked > MAX_UNPACKED:
        raise ImportProblem(say("too_big", locale, size=MAX_UNPACKED // (1024 * 1024)))


def read_xlsx(data: bytes, locale: str = "en", sheet: str | None = None) -> CsvFile:
    check_archive(data, locale)
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except ImportProblem:
        raise
    except Exception:  # a hostile or broken archive: openpyxl raises many kinds; the reason is the same
        raise ImportProblem(say("not_xlsx", locale)) from None
    try:
        names = list(workbook.sheetnames)
        if sheet is not None and sheet not in names:
            raise ImportProblem(say("no_sheet", locale, sheet=sheet))
        if not names:
            raise ImportProblem(say("not_xlsx", locale))
        empty: EmptyTable | None = None
        for name in [sheet] if sheet is not None else names:  # by default the first sheet with rows
            try:
                return read_sheet(workbook[name], locale).finish("xlsx", "", name, names)
            except EmptyTable as problem:
                empty = empty or problem
        assert empty is not None
        raise empty
    except ImportProblem:
        raise
    except Exception:
        raise ImportProblem(say("not_xlsx", locale)) from None
    finally:
        workbook.close()


def read_sheet(worksheet: Any, locale: str) -> TableBuilder:
    worksheet.reset_dimensions()  # the sheet's own claim of its size is not trusted: rows are as long as they are
    table = TableBuilder(locale)
    for number, row in enumerate(worksheet.iter_rows(), start=1):
        if number > MAX_SCANNED_ROWS:
            raise ImportProblem(file_problem("too_many_rows", locale, limit=MAX_ROWS))
        if len(row) > MAX_COLUMNS and any(getattr(c, "value", None) not in (None, "") for c in row[MAX_COLUMNS:]):
            raise ImportProblem(file_problem("too_many_columns", locale, limit=MAX_COLUMNS))
        cells = [cell_text(cell) for cell in row[:MAX_COLUMNS]]
        if any(len(text) > MAX_CELL for text in cells):
            raise ImportProblem(file_problem("cell_too_long", locale, row=number, limit=MAX_CELL))
        table.add(number, cells)
    return table


def sheet_names(data: bytes, locale: str = "en") -> list[str]:
    check_archive(data, locale)
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    except Exception:
        raise ImportProblem(say("not_xlsx", locale)) from None
    try:
        return list(workbook.sheetnames)
    finally:
        workbook.close()


def cell_text(cell: Any) -> str:
    """The text a person would have typed for what the cell shows."""
    value = getattr(cell, "value", None)
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.replace(microsecond=0).isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    if isinstance(value, int | float):
        if "%" in (getattr(cell, "number_format", "") or ""):
            value = Decimal(repr(value)) * 100
        return number_text(value)
    return str(value)


def number_text(value: int | float | Decimal) -> str:
    """A number as typed: no float noise, no exponent, no trailing zeros."""
    if isinstance(value, int):
        return str(value)
    number = value if isinstance(value, Decimal) else Decimal(repr(value))
    if number == number.to_integral_value():
        return str(int(number))
    return format(number.normalize(), "f")


def is_old_xls(data: bytes) -> bool:
    return data.startswith(OLD_XLS_MAGIC)
