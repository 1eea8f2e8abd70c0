"""CSV and .xlsx import: the engine behind `atrium import` and the import pages.

    importer = Importer(site, actor, entity)
    csv_file = read_csv(data)                      # UTF-8 / GBK, with a BOM or not; , ; or tab
    options = ImportOptions(importer.guess_mapping(csv_file.header), key="phone", on_duplicate="update")
    report = importer.dry_run(csv_file, options)   # every row's errors; writes nothing
    report = importer.run(csv_file, options, progress=print)   # all rows, or none
    # ImportOptions(..., valid_rows=True): the rows without errors, the others in report.errors

Every row is checked the way a form save is checked (the records service's rules: coercion,
required, options, checks, stage rules, unique values, links), under the actor's access: a
reference names only records the actor may read, a duplicate is looked for only among records
the actor may update, and the writes go through `SecuredRecords` in one transaction.

The parts, by idea: importer_values.py reads the file and its cells; importer_rows.py holds the
options, the planned rows and the report; importer_matching.py finds duplicates on the key;
importer_checks.py checks rows as a form save would; importer_writes.py writes them.
"""
from __future__ import annotations

import time
from typing import Any

from sqlalchemy.engine import Connection

from atrium.metadata.model import Field
from atrium.runtime.access.secured import AccessDenied, SecuredRecords
from atrium.runtime.automation.messages import message
from atrium.runtime.io.import_checks import check_rows
from atrium.runtime.io.import_matching import match_duplicates
from atrium.runtime.io.import_rows import (
    POLICIES,
    ImportContext,
    ImportOptions,
    ImportReport,
    PlannedRow,
    Progress,
    RowError,
)
from atrium.runtime.io.import_valid_rows import run_valid_rows
from atrium.runtime.io.import_values import (
    CellResolver,
    CsvFile,
    ImportProblem,
    cell_text,
    normalize,
    read_csv,
    read_table,
    say,
)
from atrium.runtime.io.import_writes import Abort, WriteFailed, write_rows
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.records.service import RecordNotFound, ValidationFailed
from atrium.runtime.schema.database import connect, refresh_statistics

__all__ = ["CsvFile", "ImportOptions", "ImportProblem", "ImportReport", "Importer", "RowError", "read_csv",
           "read_table"]


class Importer:
    def __init__(self, site: Any, actor: Actor, entity: str):
        self.site = site
        self.actor = actor
        self.secured = SecuredRecords(site)
        if entity not in site.blueprint.entities:
            raise RecordNotFound(message("not_found", actor.locale))
        if not site.access.can(actor, entity, "create"):
            raise AccessDenied(entity)
        self.entity = entity
        self.model = site.blueprint.entities[entity]
        self.context = ImportContext(site, actor, entity, self.model, self.secured)

    @property
    def locale(self) -> str:
        return self.actor.locale

    def fields(self) -> list[Field]:
        """The fields this actor may fill from a file: not computed, not read-only, not hidden."""
        return [f for f in self.model if not f.computed
                and self.site.access.field_mode(self.actor, self.entity, f.name) == "write"]

    def guess_mapping(self, header: list[str]) -> dict[str, str | None]:
        """column → field, from the field's name, its label in any locale, or (for a reference)
        the label of the entity it links to; each field at most once, first column first."""
        names: dict[str, str] = {}
        for rank in range(3):
            for field in self.fields():
                if rank == 0:
                    texts = [field.name]
                elif rank == 1:
                    texts = list(field.label.texts.values())
                elif field.type == "reference":
                    assert field.to is not None  # a loaded blueprint's reference names its entity
                    target = self.site.blueprint.entities[field.to]
                    texts = [*target.label.texts.values(), *target.plural.texts.values(), field.to]
                else:
                    texts = []
                for text in texts:
                    names.setdefault(normalize(text), field.name)
        mapping: dict[str, str | None] = {}
        used: set[str] = set()
        for column in header:
            name = names.get(normalize(column))
            mapping[column] = name if name and name not in used else None
            if name:
                used.add(name)
        return mapping

    def check_options(self, csv_file: CsvFile, options: ImportOptions) -> list[tuple[int, str, Field]]:
        """(column index, column, field) for each mapped column; raises ImportProblem."""
        fields = {f.name: f for f in self.fields()}
        mapped: list[tuple[int, str, Field]] = []
        seen: dict[str, str] = {}
        for column, name in options.mapping.items():
            if not name:
                continue
            if column not in csv_file.header:
                raise ImportProblem(say("no_column", self.locale, column=column))
            if name not in self.model.fields:
                raise ImportProblem(say("no_field", self.locale, column=column, field=name))
            if name not in fields:
                raise ImportProblem(say("not_importable", self.locale, column=column, field=self._label(name)))
            if name in seen:
                raise ImportProblem(say("field_twice", self.locale, first=seen[name], second=column,
                                        field=self._label(name)))
            seen[name] = column
            mapped.append((csv_file.header.index(column), column, fields[name]))
        if options.on_duplicate not in POLICIES:
            raise ImportProblem(say("bad_policy", self.locale))
        if options.key and options.key not in seen:
            raise ImportProblem(say("key_not_mapped", self.locale, field=self._label(options.key)))
        try:  # the same refusal a form gets for a field the role may not set
            self.secured.refuse_fields(self.actor, self.entity, dict.fromkeys(seen))
        except ValidationFailed as error:
            raise ImportProblem(" ".join(f"{self._label(f)}: {' '.join(t)}"
                                         for f, t in error.errors.items())) from error
        return mapped

    def _label(self, name: str) -> str:
        field = self.model.fields.get(name)
        return field.label.text(self.locale, self.site.blueprint.default_locale) if field else name

    # --- the two entry points --------------------------------------------------------------

    def dry_run(self, csv_file: CsvFile, options: ImportOptions, progress: Progress | None = None) -> ImportReport:
        """What the import would do, with every row's errors; nothing is written."""
        started = time.perf_counter()
        with connect(self.site.engine) as connection:
            rows, errors = self.plan(connection, csv_file, options, progress)
            connection.rollback()
        return self.report(csv_file, rows, errors, True, started)

    def run(self, csv_file: CsvFile, options: ImportOptions, progress: Progress | None = None) -> ImportReport:
        """Import every row in one transaction; if any row fails, nothing is written.

        The writes themselves apply the records service's rules, so a clean file is checked once;
        when a row fails, the transaction is rolled back and every row is checked (as in a dry
        run) so the report names each one that fails, not only the first.
        """
        if options.valid_rows:
            return run_valid_rows(self, csv_file, options, progress)
        started = time.perf_counter()
        rows: list[PlannedRow] = []
        errors: list[RowError] = []
        with connect(self.site.engine, write=True) as connection:
            try:
                with connection.begin():
                    rows, errors = self.plan(connection, csv_file, options, progress, validate=False)
                    if errors:
                        raise Abort()
                    write_rows(self.context, connection, rows, progress)
            except WriteFailed as failure:  # rolled back: nothing was written
                errors = failure.errors
            except Abort:
                pass
        if errors:  # check every row, to name each that fails (a race may leave only the writes')
            report = self.dry_run(csv_file, options, progress)
            report.errors = sorted(report.errors or errors, key=lambda e: e.row or 0)
            report.dry_run = False
        else:
            report = self.report(csv_file, rows, errors, False, started)
        report.written = not report.errors
        if report.written:
            refresh_statistics(self.site.engine, self.site.tables.metadata.tables)
        report.seconds = time.perf_counter() - started
        return report

    def report(self, csv_file: CsvFile, rows: list[PlannedRow], errors: list[RowError], dry_run: bool,
                started: float) -> ImportReport:
        good = [r for r in rows if not r.bad]
        return ImportReport(
            total=csv_file.total,
            created=sum(r.action == "create" for r in good),
            updated=sum(r.action == "update" for r in good),
            skipped=sum(r.action == "skip" for r in rows),
            errors=sorted(errors, key=lambda e: (e.row or 0)),
            dry_run=dry_run, seconds=time.perf_counter() - started)

    # --- planning: read the cells, then match duplicates and check ----------------------------

    def plan(self, connection: Connection, csv_file: CsvFile, options: ImportOptions,
              progress: Progress | None, validate: bool = True) -> tuple[list[PlannedRow], list[RowError]]:
        mapped = self.check_options(csv_file, options)
        columns = {f.name: column for _, column, f in mapped}
        resolver = CellResolver(self.site, self.actor, connection)
        for index, _, field in mapped:
            resolver.prepare(field, (cell_text(cells[index]) for _, cells in csv_file.rows if index < len(cells)))
        errors: list[RowError] = []
        width = len(csv_file.header)
        rows: list[PlannedRow] = []
        for number, cells in csv_file.rows:
            row = PlannedRow(number, {})
            for index, column, field in mapped:
                text = cell_text(cells[index]) if index < len(cells) else ""
                if not text:
                    continue  # an empty cell changes nothing: a default applies, an update keeps the value
                value, problem = resolver.value(field, text)
                if problem:
                    errors.append(RowError(number, field.name, column, problem))
                    row.failed.add(field.name)
                else:
                    row.values[field.name] = value
            if any(c.strip() for c in cells[width:]):
                errors.append(RowError(number, None, None, say("extra_cells", self.locale)))
            row.bad = bool(row.failed) or len(cells) > width and any(c.strip() for c in cells[width:])
            rows.append(row)
        if options.key:
            match_duplicates(self.context, connection, rows, options, columns, errors)
        if validate:
            check_rows(self.context, connection, rows, columns, errors, progress)
        return rows, errors
