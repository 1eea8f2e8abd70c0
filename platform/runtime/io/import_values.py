"""What an import's cells mean: text naming an option by its label, a record by its title, a user
by name (the file itself is read by import_files.py).

The values produced here are what a person would have typed into the form; the records service
then validates them exactly as it validates a form (see importer.py).
"""
from __future__ import annotations

import re
from typing import Any, Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from atrium.metadata.model import Field
from atrium.runtime.io.import_files import CsvFile, ImportProblem, decode, read_csv, read_table, sniff_delimiter
from atrium.runtime.query.lists import PLACEHOLDER
from atrium.runtime.records.evaluation import Actor
from atrium.translation import N_, word

MESSAGES: dict[str, str] = {
    "no_column": N_("There is no column '{column}' in the file"),
    "no_field": N_("Column '{column}': there is no field '{field}'"),
    "not_importable": N_("Column '{column}': the field '{field}' cannot be imported (computed, read-only "
                         "or hidden for you)"),
    "field_twice": N_("Columns '{first}' and '{second}' are both mapped to '{field}'"),
    "key_not_mapped": N_("The duplicate key '{field}' is not mapped to any column"),
    "bad_policy": N_("When a duplicate is found, choose skip, update or create"),
    "no_reference": N_("No record '{value}' found"),
    "ambiguous_reference": N_("'{value}' matches {count} records; give its id instead"),
    "no_user": N_("No user '{value}'"),
    "ambiguous_user": N_("'{value}' matches several users; give the user name"),
    "ambiguous_key": N_("{count} existing records have this value; cannot tell which to update"),
    "extra_cells": N_("The row has more cells than the header has columns"),
}

__all__ = ["CellResolver", "CsvFile", "ImportProblem", "decode", "read_csv", "read_table", "say",
           "sniff_delimiter"]
TEXT_KINDS = frozenset({"text", "textarea", "email", "phone", "url", "autonumber"})
# A cell an export wrote as '=... (so a spreadsheet does not run it as a formula) reads back as =...
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def say(key: str, locale: str, **params: Any) -> str:
    return word(MESSAGES[key], locale, **params)


def normalize(text: Any) -> str:
    """For matching headers and labels: case, spaces, underscores and punctuation don't count."""
    return re.sub(r"[\s_\-*:：()（）.]+", "", str(text)).casefold()


def cell_text(cell: str) -> str:
    text = cell.strip()
    if text.startswith("'") and text[1:2] in FORMULA_START and len(text) > 1:
        return text[1:]
    return text


# --- cells → values -----------------------------------------------------------------------------

class CellResolver:
    """Turns the text of a cell into the value a form would send for the field, or a message.

    Options and stages match their value or their label in any locale; users their name or
    display name; references the id, title or a search field of a record the actor may read,
    looked up for the whole file at once.
    """

    def __init__(self, site: Any, actor: Actor, connection: Connection):
        self.site = site
        self.actor = actor
        self.connection = connection
        self.locale = actor.locale
        self._options: dict[str, dict[str, Any]] = {}
        self._references: dict[str, dict[str, Any]] = {}
        self._users: tuple[dict, dict, dict] | None = None
        self._values: dict[tuple[str, str], tuple[Any, str | None]] = {}

    def prepare(self, field: Field, cells: Iterable[str]) -> None:
        """Look up every distinct reference in one go (a few queries, not one per row)."""
        if field.type == "reference":
            wanted = {c for c in cells if c}
            assert field.to is not None  # a loaded blueprint's reference names its entity
            self._references[field.name] = self._find_records(field.to, wanted)

    def value(self, field: Field, cell: str) -> tuple[Any, str | None]:
        if field.type not in ("select", "stage", "multiselect", "user", "reference"):
            return cell, None  # the records service coerces it, as it does a form's text
        key = (field.name, cell)
        if key not in self._values:  # a column repeats the same few texts: read each once
            self._values[key] = self._value(field, cell)
        value, problem = self._values[key]
        return (list(value) if isinstance(value, list) else value), problem

    def _value(self, field: Field, cell: str) -> tuple[Any, str | None]:
        kind = field.type
        if kind in ("select", "stage"):
            return self._option(field, cell), None
        if kind == "multiselect":
            parts = [p.strip() for p in re.split(r"[,，;；]", cell) if p.strip()]
            return [self._option(field, part) for part in parts], None
        if kind == "user":
            return self._user(cell)
        if kind == "reference":
            found = self._references.get(field.name, {}).get(cell)
            if isinstance(found, int):
                return found, None
            if isinstance(found, tuple):
                return None, say("ambiguous_reference", self.locale, value=cell, count=found[1])
            return None, say("no_reference", self.locale, value=cell)
        return cell, None  # pragma: no cover - value() passes other kinds through

    # options and stages

    def _option(self, field: Field, cell: str) -> Any:
        table = self._options.get(field.name)
        if table is None:
            table = {}
            if field.type == "stage":
                pipeline = self.site.blueprint.pipelines.get(field.pipeline or "")
                choices = [(s.name, s.label) for s in pipeline.stages] if pipeline else []
            else:
                choices = [(o.value, o.label) for o in field.options]
            for value, label in choices:  # labels first, so a value always wins over a label
                for text in label.texts.values():
                    table.setdefault(normalize(text), value)
            for value, _ in choices:
                table[normalize(value)] = value
            self._options[field.name] = table
        # unknown text goes on as typed: the records service says it is not one of the choices
        return table.get(normalize(cell), cell)

    # users

    def _user(self, cell: str) -> tuple[Any, str | None]:
        if self._users is None:
            users = self.site.tables.system("atrium_users")
            by_name: dict[str, int] = {}
            by_display: dict[str, set[int]] = {}
            ids: dict[str, int] = {}
            for row in self.connection.execute(sa.select(users.c.id, users.c.name, users.c.display_name)
                                               .where(users.c.active.is_(True))):
                by_name[row.name.casefold()] = row.id
                if row.display_name:
                    by_display.setdefault(row.display_name.strip().casefold(), set()).add(row.id)
                ids[str(row.id)] = row.id
            self._users = (by_name, by_display, ids)
        by_name, by_display, ids = self._users
        key = cell.strip().casefold()
        if key in by_name:
            return by_name[key], None
        matches = by_display.get(key, set())
        if len(matches) == 1:
            return next(iter(matches)), None
        if len(matches) > 1:
            return None, say("ambiguous_user", self.locale, value=cell)
        if key in ids:
            return ids[key], None
        return None, say("no_user", self.locale, value=cell)

    # references

    def _find_records(self, entity: str, cells: set[str]) -> dict[str, Any]:
        """cell → id, or ('ambiguous', count); cells not found are left out."""
        model = self.site.blueprint.entities[entity]
        table = self.site.tables[entity]
        readable = self.site.access.row_filter(self.connection, self.actor, entity, "read", table)
        template = model.title or "{" + next((f.name for f in model if f.type == "text"), "id") + "}"
        placeholders = [n for n in PLACEHOLDER.findall(template) if n in table.c]
        simple_title = PLACEHOLDER.fullmatch(template.strip()) is not None
        columns = [n for n in dict.fromkeys((placeholders if simple_title else []) + list(model.search))
                   if n in model.fields and model.fields[n].type in TEXT_KINDS and n in table.c]
        matches: dict[str, set[int]] = {}
        lowered: dict[str, list[str]] = {}
        for cell in cells:
            lowered.setdefault(cell.lower(), []).append(cell)
        for name in columns:
            column = table.c[name]
            for chunk in _chunks(sorted(lowered), 500):
                query = sa.select(table.c.id, sa.func.lower(column)).where(readable, sa.func.lower(column).in_(chunk))
                for record_id, value in self.connection.execute(query):
                    for cell in lowered.get(value, ()):
                        matches.setdefault(cell, set()).add(record_id)
        if not simple_title and placeholders:  # "{company} {contact_name}": compare whole titles
            self._match_titles(entity, table, readable, placeholders[0], cells - set(matches), matches)
        numbers = {cell: int(cell) for cell in cells - set(matches) if cell.isdigit() and len(cell) < 19}
        for chunk in _chunks(sorted(set(numbers.values())), 500):
            found = set(self.connection.execute(sa.select(table.c.id).where(readable, table.c.id.in_(chunk)))
                        .scalars())
            for cell, number in numbers.items():
                if number in found:
                    matches[cell] = {number}
        return {cell: next(iter(ids)) if len(ids) == 1 else ("ambiguous", len(ids))
                for cell, ids in matches.items()}

    def _match_titles(self, entity: str, table: sa.Table, readable: Any, first: str, cells: set[str],
                      matches: dict[str, set[int]]) -> None:
        """Records whose first title field starts the cell, then whose whole title is the cell."""
        prefixes: set[str] = set()
        for cell in cells:
            words = cell.split()
            prefixes.update(" ".join(words[:n]) for n in range(1, len(words) + 1))
        candidates: set[int] = set()
        for chunk in _chunks(sorted(prefixes), 500):
            candidates.update(self.connection.execute(
                sa.select(table.c.id).where(readable, table.c[first].in_(chunk))).scalars())
        wanted = {" ".join(cell.split()).casefold(): cell for cell in cells}
        for record_id, title in self.site.queries.titles(self.connection, entity, sorted(candidates),
                                                         self.actor).items():
            matched = wanted.get(" ".join(title.split()).casefold())
            if matched is not None:
                matches.setdefault(matched, set()).add(record_id)


def _chunks(items: list, size: int) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def key_of(value: Any) -> Any:
    """How a duplicate key compares: text without case or surrounding spaces, else the value."""
    if isinstance(value, str):
        return value.strip().lower()
    if isinstance(value, list):
        return tuple(value)
    return value
