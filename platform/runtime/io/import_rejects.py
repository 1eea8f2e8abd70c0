"""The file of rejected rows an import of the valid rows gives back: each rejected row as it was
in the upload, with its row number first and the reasons last, in the format it came in (an .xlsx
for a workbook, else a UTF-8 CSV with a BOM that Excel opens), so it can be fixed and uploaded
again."""
from __future__ import annotations

import csv
import io
from typing import Sequence

from openpyxl import Workbook

from atrium.runtime.io.import_files import CsvFile
from atrium.runtime.io.import_rows import RowError
from atrium.translation import N_, word

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv; charset=utf-8"


def reasons_by_row(errors: Sequence[RowError]) -> dict[int, str]:
    found: dict[int, list[str]] = {}
    for error in errors:
        if error.row is not None:
            found.setdefault(error.row, []).append(f"{error.column}: {error.message}" if error.column
                                                   else error.message)
    return {row: "; ".join(dict.fromkeys(texts)) for row, texts in found.items()}


def rejected_rows(csv_file: CsvFile, errors: Sequence[RowError], locale: str) -> list[list[str]]:
    """The header (row number, the file's columns, reason), then each rejected row."""
    reasons = reasons_by_row(errors)
    width = len(csv_file.header)
    table = [[word(N_("Row"), locale), *csv_file.header, word(N_("Reason"), locale)]]
    for number, cells in csv_file.rows:
        if number in reasons:
            table.append([str(number), *(cells[:width] + [""] * (width - len(cells))), reasons[number]])
    return table


def rejected_file(csv_file: CsvFile, errors: Sequence[RowError], locale: str) -> tuple[bytes, str, str]:
    """(content, file extension, media type)."""
    table = rejected_rows(csv_file, errors, locale)
    if csv_file.kind == "xlsx":
        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet(csv_file.sheet or "Sheet1")
        for line in table:
            sheet.append([_safe(cell) for cell in line])
        out = io.BytesIO()
        workbook.save(out)
        return out.getvalue(), "xlsx", XLSX_TYPE
    text = io.StringIO()
    csv.writer(text, lineterminator="\r\n").writerows([[_safe(cell) for cell in line] for line in table])
    return ("\ufeff" + text.getvalue()).encode("utf-8"), "csv", CSV_TYPE


def _safe(text: str) -> str:
    """What a spreadsheet would run as a formula goes back as text, as the export writes it."""
    return "'" + text if text.startswith(("=", "+", "-", "@")) else text
