"""The other way to import, beside all or nothing: write the rows without errors, leave out the
others, and give their reasons (the wizard and `atrium import --valid-rows FILE` turn them into a
file of the rejected rows, see import_rejects.py).

Every row is checked as in a dry run, inside the write transaction; the good rows are written in
that same transaction. A row that repeats the key of a rejected row is rejected too (it would
update a record that is not made). If a write still refuses a row (someone changed the database
since the check), that row joins the rejected ones and the transaction is tried again, a few
times at most.
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING

from atrium.runtime.io.import_files import CsvFile
from atrium.runtime.io.import_rows import ImportOptions, ImportReport, PlannedRow, Progress, RowError
from atrium.runtime.io.import_writes import WriteFailed, write_rows
from atrium.runtime.schema.database import connect, refresh_statistics
from atrium.translation import N_, word

if TYPE_CHECKING:
    from atrium.runtime.io.importer import Importer

ATTEMPTS = 3
REPEATS_REJECTED = N_("Row {row}, whose key this row repeats, was rejected")


def run_valid_rows(importer: Importer, csv_file: CsvFile, options: ImportOptions,
                   progress: Progress | None) -> ImportReport:
    started = time.perf_counter()
    refused: list[RowError] = []  # rows a write refused in an earlier attempt
    rows: list[PlannedRow] = []
    errors: list[RowError] = []
    written = False
    with connect(importer.site.engine, write=True) as connection:
        for _ in range(ATTEMPTS):
            try:
                with connection.begin():
                    rows, errors = importer.plan(connection, csv_file, options, progress)
                    errors += refused
                    good = keep_good(rows, errors, importer.locale)
                    write_rows(importer.context, connection, good, progress)
                written = True
                break
            except WriteFailed as failure:  # rolled back; leave those rows out and try again
                refused += failure.errors
                if any(e.row is None for e in failure.errors):
                    break  # a refusal that names no row: nothing to leave out, nothing is written
    report = importer.report(csv_file, [r for r in rows if r.number not in {e.row for e in errors}], errors,
                             False, started)
    report.written = written
    report.rejected = len({e.row for e in errors if e.row is not None})
    if written and (report.created or report.updated):
        refresh_statistics(importer.site.engine, importer.site.tables.metadata.tables)
    report.seconds = time.perf_counter() - started
    return report


def keep_good(rows: list[PlannedRow], errors: list[RowError], locale: str) -> list[PlannedRow]:
    """The rows to write: no error, and not repeating a rejected row (which gets an error too)."""
    bad = {e.row for e in errors}
    good: list[PlannedRow] = []
    for row in rows:
        root = row.root
        if row.number in bad:
            continue
        if root is not None and root.number in bad:
            errors.append(RowError(row.number, None, None, word(REPEATS_REJECTED, locale, row=root.number)))
            bad.add(row.number)
            continue
        good.append(row)
    return good
