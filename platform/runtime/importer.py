"""CSV import: the engine behind `atrium import` and the import pages.

    importer = Importer(site, actor, entity)
    csv_file = read_csv(data)                      # UTF-8 / GBK, with a BOM or not; , ; or tab
    options = ImportOptions(importer.guess_mapping(csv_file.header), key="phone", on_duplicate="update")
    report = importer.dry_run(csv_file, options)   # every row's errors; writes nothing
    report = importer.run(csv_file, options, progress=print)   # all rows, or none

Every row is checked the way a form save is checked (the records service's rules: coercion,
required, options, checks, stage rules, unique values, links), under the actor's access: a
reference names only records the actor may read, a duplicate is looked for only among records
the actor may update, and the writes go through `SecuredRecords` in one transaction.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field as dataclass_field
from typing import Any, Callable, Mapping

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from atrium.metadata.model import Field
from .coercion import CoercionError, coerce
from .evaluation import Actor
from .importer_values import (CellResolver, CsvFile, ImportProblem, cell_text, key_of, normalize,
                              read_csv, say)
from .messages import message
from .records import RecordError, RecordNotFound, StaleRecord, ValidationFailed
from .secured import AccessDenied, SecuredRecords
from .database import connect, refresh_statistics

__all__ = ["CsvFile", "ImportOptions", "ImportProblem", "ImportReport", "Importer", "RowError", "read_csv"]

POLICIES = ("skip", "update", "create")
BATCH = 500
Progress = Callable[[int, int, str], None]  # rows done, rows in all, phase ('check' or 'write')


@dataclass
class ImportOptions:
    mapping: Mapping[str, str | None]  # column → field name, or None to leave the column out
    key: str | None = None             # the field that says two rows are the same record
    on_duplicate: str = "skip"         # skip | update | create


@dataclass(frozen=True)
class RowError:
    row: int | None     # the row number a spreadsheet shows (the header is row 1)
    field: str | None   # the field in error (None: the whole row)
    column: str | None  # the file's column the field was read from
    message: str        # in the actor's language


@dataclass
class ImportReport:
    total: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    errors: list[RowError] = dataclass_field(default_factory=list)
    dry_run: bool = True
    written: bool = False
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def rows_in_error(self) -> int:
        return len({e.row for e in self.errors})


@dataclass
class _Row:
    number: int
    values: dict[str, Any]
    failed: set[str] = dataclass_field(default_factory=set)  # fields whose cell could not be read
    bad: bool = False
    action: str = "create"  # create | update | skip
    target: int | None = None          # the existing record an update changes
    root: "_Row | None" = None         # for a repeat within the file: the row whose record it updates
    record: dict[str, Any] | None = None
    created_id: int | None = None

    def identity(self) -> Any:
        row = self.root or self
        return ("record", row.target) if row.target is not None else ("row", row.number)


class _Abort(Exception):
    pass


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
            self.secured._refuse_fields(self.actor, self.entity, dict.fromkeys(seen))
        except ValidationFailed as error:
            raise ImportProblem(" ".join(f"{self._label(f)}: {' '.join(t)}" for f, t in error.errors.items()))
        return mapped

    def _label(self, name: str) -> str:
        field = self.model.fields.get(name)
        return field.label.text(self.locale, self.site.blueprint.default_locale) if field else name

    # --- the two entry points --------------------------------------------------------------

    def dry_run(self, csv_file: CsvFile, options: ImportOptions, progress: Progress | None = None) -> ImportReport:
        """What the import would do, with every row's errors; nothing is written."""
        started = time.perf_counter()
        with connect(self.site.engine) as connection:
            rows, errors = self._plan(connection, csv_file, options, progress)
            connection.rollback()
        return self._report(csv_file, rows, errors, True, started)

    def run(self, csv_file: CsvFile, options: ImportOptions, progress: Progress | None = None) -> ImportReport:
        """Import every row in one transaction; if any row fails, nothing is written.

        The writes themselves apply the records service's rules, so a clean file is checked once;
        when a row fails, the transaction is rolled back and every row is checked (as in a dry
        run) so the report names each one that fails, not only the first.
        """
        started = time.perf_counter()
        rows: list[_Row] = []
        errors: list[RowError] = []
        with connect(self.site.engine, write=True) as connection:
            try:
                with connection.begin():
                    rows, errors = self._plan(connection, csv_file, options, progress, validate=False)
                    if errors:
                        raise _Abort()
                    self._write(connection, rows, progress)
            except _WriteFailed as failure:  # rolled back: nothing was written
                errors = failure.errors
            except _Abort:
                pass
        if errors:  # check every row, to name each that fails (a race may leave only the writes')
            report = self.dry_run(csv_file, options, progress)
            report.errors = sorted(report.errors or errors, key=lambda e: e.row or 0)
            report.dry_run = False
        else:
            report = self._report(csv_file, rows, errors, False, started)
        report.written = not report.errors
        if report.written:
            refresh_statistics(self.site.engine, self.site.tables.metadata.tables)
        report.seconds = time.perf_counter() - started
        return report

    def _report(self, csv_file: CsvFile, rows: list[_Row], errors: list[RowError], dry_run: bool,
                started: float) -> ImportReport:
        good = [r for r in rows if not r.bad]
        return ImportReport(
            total=csv_file.total,
            created=sum(r.action == "create" for r in good),
            updated=sum(r.action == "update" for r in good),
            skipped=sum(r.action == "skip" for r in rows),
            errors=sorted(errors, key=lambda e: (e.row or 0)),
            dry_run=dry_run, seconds=time.perf_counter() - started)

    # --- planning: read, match duplicates, validate ---------------------------------------------

    def _plan(self, connection: Connection, csv_file: CsvFile, options: ImportOptions,
              progress: Progress | None, validate: bool = True) -> tuple[list[_Row], list[RowError]]:
        mapped = self.check_options(csv_file, options)
        columns = {f.name: column for _, column, f in mapped}
        resolver = CellResolver(self.site, self.actor, connection)
        for index, _, field in mapped:
            resolver.prepare(field, (cell_text(cells[index]) for _, cells in csv_file.rows if index < len(cells)))
        errors: list[RowError] = []
        width = len(csv_file.header)
        rows: list[_Row] = []
        for number, cells in csv_file.rows:
            row = _Row(number, {})
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
            self._match_duplicates(connection, rows, options, columns, errors)
        if validate:
            self._validate(connection, rows, columns, errors, progress)
        return rows, errors

    def _match_duplicates(self, connection: Connection, rows: list[_Row], options: ImportOptions,
                          columns: Mapping[str, str], errors: list[RowError]) -> None:
        field = self.model.fields[options.key]
        keys: dict[int, Any] = {}
        for row in rows:
            try:
                value = coerce(field, row.values.get(field.name), self.site.blueprint.timezone)
            except CoercionError:
                value = None  # the row's own check reports it
            if value not in (None, []):
                keys[row.number] = key_of(value)
        if options.on_duplicate == "create":
            return
        existing = self._existing(connection, field, {k for k in keys.values()})
        first: dict[Any, _Row] = {}
        for row in rows:
            key = keys.get(row.number)
            if key is None:
                continue
            earlier = first.get(key)
            found = existing.get(key, [])
            if earlier is not None:  # the same key again in the file
                if options.on_duplicate == "skip":
                    row.action = "skip"
                else:
                    row.action, row.root = "update", earlier.root or earlier
                continue
            first[key] = row
            if not found:
                continue
            if options.on_duplicate == "skip":
                row.action = "skip"
            elif len(found) > 1:
                errors.append(RowError(row.number, field.name, columns.get(field.name),
                                       say("ambiguous_key", self.locale, count=len(found))))
                row.bad = True
            else:
                row.action, row.target, row.record = "update", found[0]["id"], found[0]

    def _existing(self, connection: Connection, field: Field, keys: set[Any]) -> dict[Any, list[dict]]:
        """key → the records the actor may update that have it."""
        table = self.site.tables[self.entity]
        column = table.c[field.name]
        lowered = isinstance(next(iter(keys), None), str)
        probe = sa.func.lower(column) if lowered else column
        updatable = self.site.access.row_filter(connection, self.actor, self.entity, "update", table)
        found: dict[Any, list[dict]] = {}
        values = sorted(keys, key=str)
        for start in range(0, len(values), BATCH):
            query = sa.select(table).where(updatable, probe.in_(values[start:start + BATCH]))
            for row in connection.execute(query):
                record = self.site.records.record_of(self.model, row._mapping)
                found.setdefault(key_of(record[field.name]), []).append(record)
        return found

    def _validate(self, connection: Connection, rows: list[_Row], columns: Mapping[str, str],
                  errors: list[RowError], progress: Progress | None) -> None:
        """The records service's rules over every row to be written, then its database checks."""
        rules = self.site.records.rules
        total = len(rows)
        for done, row in enumerate(rows, start=1):
            if row.action != "skip":
                current = (row.root.record if row.root else row.record) if row.action == "update" else None
                record, found = rules.prepare(self.model, current, row.values, self.actor)
                if not found:
                    found = self._owner_problem(connection, record)
                for name, texts in found.items():
                    if name not in row.failed:
                        errors.extend(RowError(row.number, name if name in self.model.fields else None,
                                               columns.get(name), text) for text in texts)
                row.bad = row.bad or bool(found)
                (row.root or row).record = record
                row.record = record
            if progress and (done % 200 == 0 or done == total):
                progress(done, total, "check")
        self._check_unique_in_file(rows, columns, errors)
        self._check_database(connection, rows, columns, errors)

    def _owner_problem(self, connection: Connection, record: Mapping[str, Any]) -> dict[str, list[str]]:
        """A rep may not hand a record to someone outside their reach (the owner rule of updates)."""
        owner = self.model.owner
        if not owner or record.get(owner) in (None, self.actor.user_id):
            return {}
        try:
            self.secured._owner_stays_in_reach(connection, self.actor, self.entity, [record])
        except ValidationFailed as error:
            return error.errors
        return {}

    def _check_unique_in_file(self, rows: list[_Row], columns: Mapping[str, str], errors: list[RowError]) -> None:
        for field in self.model:
            if not field.unique:
                continue
            owners: dict[Any, Any] = {}
            for row in rows:
                value = row.record.get(field.name) if row.record and row.action != "skip" else None
                if value is None:
                    continue
                owner = owners.setdefault(key_of(value), row.identity())
                if owner != row.identity():
                    errors.append(RowError(row.number, field.name, columns.get(field.name),
                                           message("duplicate", self.locale)))
                    row.bad = True

    def _check_database(self, connection: Connection, rows: list[_Row], columns: Mapping[str, str],
                        errors: list[RowError]) -> None:
        """Unique values and links against the database: a batch at a time, a row at a time
        only in a batch that fails, so every failing row is named."""
        records = self.site.records
        check = records._check_database
        creates = [r for r in rows if r.action == "create" and not r.bad]
        for start in range(0, len(creates), BATCH):
            chunk = creates[start:start + BATCH]
            try:
                check(connection, self.model, [r.record for r in chunk], None, self.locale, 0)
                continue
            except ValidationFailed:
                pass
            for row in chunk:
                self._check_one(connection, row, None, columns, errors)
        updates = [r for r in rows if r.action == "update" and not r.bad]
        for start in range(0, len(updates), BATCH):
            chunk = updates[start:start + BATCH]
            try:  # without unique fields a whole batch passes at once
                check(connection, self.model, [r.record for r in chunk if r.root is None], None, self.locale, 0)
                continue
            except ValidationFailed:
                pass
            for row in chunk:
                self._check_one(connection, row, (row.root or row).target, columns, errors)

    def _check_one(self, connection: Connection, row: _Row, own_id: int | None, columns: Mapping[str, str],
                   errors: list[RowError]) -> None:
        try:
            self.site.records._check_database(connection, self.model, [row.record], own_id, self.locale, 0)
        except ValidationFailed as error:
            row.bad = True
            for name, texts in error.errors.items():
                errors.extend(RowError(row.number, name, columns.get(name), text) for text in texts)

    # --- writing ---------------------------------------------------------------------------------

    def _write(self, connection: Connection, rows: list[_Row], progress: Progress | None) -> None:
        creates = [r for r in rows if r.action == "create"]
        updates = [r for r in rows if r.action == "update"]
        total, done = len(creates) + len(updates), 0
        for start in range(0, len(creates), BATCH):
            chunk = creates[start:start + BATCH]
            try:
                stored = self.secured.bulk_create(self.actor, self.entity, [r.values for r in chunk],
                                                  connection=connection)
            except ValidationFailed as error:
                raise self._failure(error, chunk[error.row].number if error.row is not None else None)
            for row, record in zip(chunk, stored):
                row.created_id = record["id"]
                problem = self._owner_problem(connection, record)  # bulk_create leaves this rule to us
                if problem:
                    raise self._failure(ValidationFailed(problem), row.number)
            done += len(chunk)
            if progress:
                progress(done, total, "write")
        for row in updates:
            root = row.root or row
            target = root.target if root.target is not None else root.created_id
            try:
                self.secured.update(self.actor, self.entity, target, row.values, connection=connection)
            except ValidationFailed as error:
                raise self._failure(error, row.number)
            except (StaleRecord, RecordNotFound, AccessDenied) as error:
                raise self._failure(error, row.number)
            done += 1
            if progress and (done % 200 == 0 or done == total):
                progress(done, total, "write")

    def _failure(self, error: RecordError | AccessDenied, number: int | None) -> "_WriteFailed":
        if isinstance(error, ValidationFailed):
            found = [RowError(number, name if name in self.model.fields else None, None, text)
                     for name, texts in error.errors.items() for text in texts]
        else:
            found = [RowError(number, None, None, str(error) or message("not_found", self.locale))]
        return _WriteFailed(found)


class _WriteFailed(_Abort):
    def __init__(self, errors: list[RowError]):
        super().__init__()
        self.errors = errors
