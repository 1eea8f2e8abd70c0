"""Export the records an actor may read: CSV and .xlsx for spreadsheets, JSON for programs.

Rows come through `SecuredRecords.list` page by page (keyset pagination), so an export shows
exactly what the actor's list shows: records outside their scope are absent, hidden fields are
not columns. The CSV is what the importer reads back: option and stage labels, reference titles,
user names, dates as ISO, local times in the blueprint's time zone.
"""
from __future__ import annotations

import csv
import datetime as dt
import json
from decimal import Decimal
from typing import Any, Iterator, Mapping, Sequence, TextIO
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from atrium.errors import AtriumError
from atrium.metadata.model import Field
from atrium.metadata.references import resolve_path
from atrium.runtime.access.secured import AccessDenied, SecuredRecords
from atrium.runtime.automation.messages import message
from atrium.runtime.files.service import file_url
from atrium.runtime.io.import_values import FORMULA_START, TEXT_KINDS, CellResolver
from atrium.runtime.io.xlsx_export import XlsxSheet
from atrium.runtime.query.lists import ListQuery
from atrium.runtime.records.coercion import CoercionError, coerce
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.records.service import RecordNotFound
from atrium.runtime.schema.database import connect

YES_NO = {"zh": ("是", "否"), "en": ("yes", "no")}
PAGE = 500


class ExportProblem(AtriumError, ValueError):
    """The export cannot be made as asked (a column or filter it cannot read)."""

    status, code = 400, "export"


class Exporter:
    def __init__(self, site: Any, actor: Actor, entity: str, locale: str | None = None):
        if entity not in site.blueprint.entities:
            raise RecordNotFound(message("not_found", actor.locale))
        if not site.access.can(actor, entity, "read"):
            raise AccessDenied(entity)
        self.site = site
        self.actor = actor
        self.entity = entity
        self.model = site.blueprint.entities[entity]
        self.locale = locale or actor.locale
        self.secured = SecuredRecords(site)
        self.fields = [f for f in self.model
                       if site.access.field_mode(actor, entity, f.name) != "hidden"]
        self._users: dict[int, str] | None = None

    # --- reading -------------------------------------------------------------------------------

    def pages(self, where: Mapping[str, Any] | None = None) -> Iterator[list[dict[str, Any]]]:
        """The readable records, a page at a time, by id."""
        cursor = None
        while True:
            page = self.secured.list(self.actor, ListQuery(self.entity, dict(where or {}), sort=("id",),
                                                           limit=PAGE, after=cursor))
            if page.records:
                yield page.records
            if not page.next_cursor:
                return
            cursor = page.next_cursor

    # --- CSV -----------------------------------------------------------------------------------

    def headers(self, raw: bool = False) -> list[str]:
        default = self.site.blueprint.default_locale
        return ["id" if raw else "ID"] + [f.name if raw else f.label.text(self.locale, default)
                                          for f in self.fields]

    def write_csv(self, out: TextIO, where: Mapping[str, Any] | None = None, raw_headers: bool = False,
                  bom: bool = True) -> int:
        """Write the CSV (a UTF-8 BOM first, so Excel reads Chinese right); returns the row count."""
        if bom:
            out.write("\ufeff")
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(self.headers(raw_headers))
        count = 0
        for records in self.pages(where):
            writer.writerows(self.display_rows(records))
            count += len(records)
        return count

    def display_rows(self, records: Sequence[Mapping[str, Any]]) -> list[list[str]]:
        titles = self._titles(records)
        return [[str(record["id"])] + [self._cell(f, record.get(f.name), titles) for f in self.fields]
                for record in records]

    def _cell(self, field: Field, value: Any, titles: Mapping[str, Mapping[int, str]]) -> str:
        if value is None or value == []:
            return ""
        default = self.site.blueprint.default_locale
        kind = field.type
        if kind == "select":
            option = field.option(value)
            return option.label.text(self.locale, default) if option else str(value)
        if kind == "stage":
            pipeline = self.site.blueprint.pipelines.get(field.pipeline or "")
            stage = pipeline.stage(value) if pipeline else None
            return stage.label.text(self.locale, default) if stage else str(value)
        if kind == "multiselect":
            return ", ".join(o.label.text(self.locale, default) if (o := field.option(v)) else str(v)
                             for v in value)
        if kind == "reference":
            return _safe(titles.get(field.name, {}).get(value, str(value)))
        if kind == "user":
            return _safe(self._user_names().get(value, str(value)))
        if kind == "boolean":
            yes, no = YES_NO.get(self.locale, YES_NO["en"])
            return yes if value else no
        if kind == "datetime":
            local = value.astimezone(ZoneInfo(self.site.blueprint.timezone)).replace(tzinfo=None)
            return local.isoformat(sep=" ")
        if kind == "date":
            return value.isoformat()
        if kind == "file":  # links to the downloads, each under the reader's own access check
            return " ".join(file_url(item.get("id")) for item in value if isinstance(item, Mapping))
        if kind == "location":
            return ",".join("" if value.get(k) is None else str(value[k]) for k in ("lat", "lng", "address"))
        if kind in TEXT_KINDS:
            return _safe(str(value))
        return str(value)

    def _titles(self, records: Sequence[Mapping[str, Any]]) -> dict[str, dict[int, str]]:
        """For each reference field, the titles of the linked records the actor may read."""
        titles: dict[str, dict[int, str]] = {}
        references = [f for f in self.fields if f.type == "reference"]
        if not references:
            return titles
        with connect(self.site.engine) as connection:
            for field in references:
                ids = sorted({r[field.name] for r in records if r.get(field.name) is not None})
                table = self.site.tables[field.to]
                readable = self.site.access.row_filter(connection, self.actor, field.to, "read", table)
                visible = set(connection.execute(sa.select(table.c.id).where(readable, table.c.id.in_(ids)))
                              .scalars()) if ids else set()
                titles[field.name] = self.site.queries.titles(connection, field.to, sorted(visible), self.actor)
        return titles

    def _user_names(self) -> dict[int, str]:
        """A user as people know them: the display name, unless two users share it."""
        if self._users is None:
            users = self.site.tables.system("atrium_users")
            with connect(self.site.engine) as connection:
                found = connection.execute(sa.select(users.c.id, users.c.name, users.c.display_name)).all()
            shown = [row.display_name or row.name for row in found]
            self._users = {row.id: text if shown.count(text) == 1 else row.name
                           for row, text in zip(found, shown, strict=False)}
        return self._users

    # --- Excel ---------------------------------------------------------------------------------

    def xlsx(self, where: Mapping[str, Any] | None = None, raw_headers: bool = False) -> bytes:
        """An .xlsx of the same rows as the CSV, with typed cells (see xlsx_export.py)."""
        blueprint = self.site.blueprint
        sheet = XlsxSheet(self.model.plural.text(self.locale, blueprint.default_locale), blueprint.currency,
                          blueprint.timezone, self.locale)
        sheet.header(self.headers(raw_headers))
        for records in self.pages(where):
            titles = self._titles(records)
            for record in records:
                sheet.append([("integer", record["id"], str(record["id"])),
                              *((f.type, record.get(f.name), self._cell(f, record.get(f.name), titles))
                                for f in self.fields)])
        return sheet.content()

    # --- JSON ----------------------------------------------------------------------------------

    def write_json(self, out: TextIO, where: Mapping[str, Any] | None = None) -> int:
        """A JSON array of records as stored (field names, ids, option values, ISO times)."""
        names = ["id", *(f.name for f in self.fields), "created_at", "updated_at", "version"]
        out.write("[")
        count = 0
        for records in self.pages(where):
            for record in records:
                out.write(",\n" if count else "\n")
                out.write(json.dumps({n: _plain(record.get(n)) for n in names}, ensure_ascii=False))
                count += 1
        out.write("\n]\n" if count else "]\n")
        return count

    # --- filters from the command line ---------------------------------------------------------

    def parse_where(self, items: Sequence[str]) -> dict[str, Any]:
        """`FIELD=VALUE` (a dotted path follows a reference) → a condition; options by value or label."""
        where: dict[str, Any] = {}
        with self.site.engine.connect() as connection:
            resolver = CellResolver(self.site, self.actor, connection)
            for item in items:
                path, sep, text = item.partition("=")
                path = path.strip()
                field = resolve_path(self.site.blueprint.entities, self.entity, path) if sep else None
                if not isinstance(field, Field):
                    raise ExportProblem(f"--where {item}: " + (field or "expected FIELD=VALUE"))
                head = path.split(".")[0]
                if head in self.model.fields and self.site.access.field_mode(self.actor, self.entity, head) == "hidden":
                    raise ExportProblem(f"--where {item}: no such field")
                text = text.strip()
                if text == "":
                    where[path] = {"eq": None}
                elif field.type in ("select", "stage", "multiselect"):
                    where[path] = {"eq": resolver._option(field, text)}
                elif field.type == "user":  # a user name or display name
                    user, problem = resolver._user(text)
                    if problem:
                        raise ExportProblem(f"--where {item}: {problem}")
                    where[path] = {"eq": user}
                else:
                    try:
                        where[path] = {"eq": coerce(field, text, self.site.blueprint.timezone)}
                    except CoercionError as error:
                        raise ExportProblem(
                            f"--where {item}: {message(error.key, self.locale, **error.params)}") from error
        return where


def _safe(text: str) -> str:
    """A value a spreadsheet would run as a formula (=, +, -, @) is written as text ('=...)."""
    return "'" + text if text.startswith(FORMULA_START) else text


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value
