"""Reading an uploaded table with bounded work: CSV bytes in whatever encoding and delimiter a
spreadsheet wrote, or an .xlsx workbook (xlsx_files.py), into a header and rows of text cells.

Anyone who may create records can upload, so every step is linear in the file's size and
capped: the delimiter is guessed from the first few kilobytes (never csv.Sniffer, whose regular
expressions take minutes on quote-heavy text), header names are made distinct with a set, and a
file with more than MAX_COLUMNS columns, MAX_ROWS rows or a cell longer than MAX_CELL characters
is refused with a message in the reader's language. Callers run this off the event loop.
"""
from __future__ import annotations

import codecs
import csv
import io

from atrium.runtime.io import xlsx_files
from atrium.runtime.io.import_table import (
    MAX_CELL,
    MAX_COLUMNS,
    MAX_ROWS,
    CsvFile,
    EmptyTable,
    ImportProblem,
    TableBuilder,
    header_names,
    say,
)

__all__ = ["MAX_CELL", "MAX_COLUMNS", "MAX_ROWS", "CsvFile", "EmptyTable", "ImportProblem", "TableBuilder",
           "decode", "header_names", "is_xlsx", "read_csv", "read_table", "sniff_delimiter"]

SAMPLE = 8192  # characters the delimiter is guessed from
SAMPLE_ROWS = 20
DELIMITERS = ",;\t"
XLSX_MAGIC = b"PK\x03\x04"


def is_xlsx(data: bytes) -> bool:
    """An .xlsx is a zip archive; a CSV never starts with the zip signature."""
    return data.startswith(XLSX_MAGIC)


def read_table(data: bytes, locale: str = "en", sheet: str | None = None) -> CsvFile:
    """A CSV file or an .xlsx workbook (its first sheet, or `sheet`), told apart by content."""
    if is_xlsx(data):
        return xlsx_files.read_xlsx(data, locale, sheet)
    if xlsx_files.is_old_xls(data):
        raise ImportProblem(xlsx_files.say("old_xls", locale))
    return read_csv(data, locale)


def decode(data: bytes, locale: str = "en") -> tuple[str, str]:
    """The text of a file and the encoding it was in: UTF-8 (BOM or not), UTF-16 with a BOM
    (Excel's "Unicode text"), else GB18030, the superset of GBK that Chinese Excel writes."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            raise ImportProblem(say("unreadable", locale)) from None
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if encoding == "gb18030":
            text = text.removeprefix("\ufeff")  # GB18030's own BOM
            if "\x00" in text:
                break
        return text, "utf-8" if encoding == "utf-8-sig" else encoding
    raise ImportProblem(say("unreadable", locale))


def sniff_delimiter(text: str) -> str:
    """Comma, semicolon or tab: the one that splits the first rows of a small sample into the
    most columns, the same number on each row. Linear in SAMPLE whatever the text holds."""
    sample = text[:SAMPLE]
    if len(text) > len(sample) and "\n" in sample:
        sample = sample[:sample.rindex("\n")]
    best, best_score = ",", (0, 0)
    for delimiter in DELIMITERS:
        widths = []
        try:
            for cells in csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter):
                if any(cell.strip() for cell in cells):
                    widths.append(len(cells))
                if len(widths) >= SAMPLE_ROWS:
                    break
        except csv.Error:
            continue
        if not widths or widths[0] < 2:
            continue
        score = (sum(w == widths[0] for w in widths), widths[0])
        if score > best_score:
            best, best_score = delimiter, score
    return best


def read_csv(data: bytes, locale: str = "en") -> CsvFile:
    """Parse a CSV file; the first non-empty row is the header."""
    text, encoding = decode(data, locale)
    delimiter = sniff_delimiter(text)
    first_line = text.find("\n")
    if text.count(delimiter, 0, first_line if first_line >= 0 else len(text)) >= MAX_COLUMNS:
        raise ImportProblem(say("too_many_columns", locale, limit=MAX_COLUMNS))  # before parsing it
    csv.field_size_limit(MAX_CELL)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    table = TableBuilder(locale)
    number = 0
    try:
        for cells in reader:
            number += 1
            table.add(number, cells)
    except csv.Error as error:
        if "field larger than field limit" in str(error):
            raise ImportProblem(say("cell_too_long", locale, row=number + 1, limit=MAX_CELL)) from None
        raise ImportProblem(say("bad_csv", locale, row=number + 1, reason=error)) from None
    return table.finish(encoding, delimiter)
