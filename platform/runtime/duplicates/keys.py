"""Values as duplicate checks compare them: one normalisation for the form, the API, imports and
conversions alike.

- **Text** (a company or person's name): Unicode NFKC (full-width `ＡＢＣ１２３` is `abc123`), case
  folded, every character that is not a letter or a digit (spaces, punctuation) taken out, and the
  entity's company suffixes (`duplicates.suffixes`, default model.DEFAULT_NAME_SUFFIXES) taken off
  the end, repeatedly: `沈阳天成建设工程 有限公司` and `沈阳天成建设工程有限公司` are both `沈阳天成建设工程`,
  `ACME Co., Ltd.` is `acme`. A Latin suffix goes only as a whole word (`Zinc` keeps its `inc`), and
  a name that is nothing but a suffix stays as it is.
- **Email**: trimmed and case folded.
- **Phone**: its digits with the country code (records/phones.py, kept in `<field>_digits`).
- Anything else: the value itself.

A text or email field a rule names keeps its key in `<field>_key` (schema/tables.py), written with
the value by the records service (`key_columns`) and filled by `atrium migrate` for records that
existed before (`fill_match_keys`).
"""
from __future__ import annotations

import functools
import unicodedata
from typing import Any, Iterator

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from atrium.metadata.model import Blueprint, Entity, Field
from atrium.runtime.records.phones import phone_digits
from atrium.runtime.schema.tables import Tables, column_length, match_key_column

FILL_BATCH = 2000


def _words(text: str) -> str:
    """NFKC, case folded, each run of characters that are neither letters nor digits one space."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    kept = "".join(c if unicodedata.category(c)[0] in "LN" else " " for c in folded)
    return " ".join(kept.split())


@functools.lru_cache(maxsize=32)
def _suffixes(suffixes: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted({_words(s) for s in suffixes if _words(s)}, key=len, reverse=True))


def name_key(text: str, suffixes: tuple[str, ...]) -> str | None:
    """A name as duplicate checks compare it (None when it has no letters or digits)."""
    words = _words(text)
    endings = _suffixes(suffixes)
    stripped = True
    while stripped:
        stripped = False
        for ending in endings:
            if len(words) <= len(ending) or not words.endswith(ending):
                continue
            latin = ending[0].isascii()
            if latin and words[-len(ending) - 1] != " ":
                continue  # a Latin ending only as a whole word
            words, stripped = words[:-len(ending)].rstrip(), True
            break
    return words.replace(" ", "") or None


def field_key(blueprint: Blueprint, entity: Entity, field: Field, value: Any) -> Any:
    """The value of one field as a duplicate check compares it; None for an empty value."""
    if value is None or isinstance(value, str) and not value.strip():
        return None
    if field.type == "phone":
        return phone_digits(value, blueprint.phone_country_code)
    if field.type == "email":
        return str(value).strip().casefold()
    if field.type in ("text", "textarea"):
        suffixes = entity.duplicates.suffixes if entity.duplicates is not None else ()
        key = name_key(str(value), suffixes)
        limit = column_length(field)
        return key[:limit] if key is not None and limit else key
    return value


def key_columns(blueprint: Blueprint, entity: Entity, name: str, value: Any) -> dict[str, Any]:
    """The key column written beside a field (nothing for a field without one)."""
    if name not in entity.keyed_fields:
        return {}
    key = field_key(blueprint, entity, entity.fields[name], value)
    # a value with no letters or digits has an empty key, never a missing one (which migrate fills)
    return {match_key_column(name): "" if key is None and value is not None else key}


def _stale(connection: Connection, tables: Tables, entity: Entity, live: set[str]) -> Iterator[str]:
    table = tables[entity.name]
    for name in entity.keyed_fields:
        if name not in live:
            continue
        key = match_key_column(name)
        if key not in live or connection.execute(sa.select(table.c.id).where(
                table.c[name].is_not(None), table.c[key].is_(None)).limit(1)).first() is not None:
            yield name


def key_gaps(connection: Connection, blueprint: Blueprint, tables: Tables,
             live: dict[str, set[str]]) -> list[tuple[str, str]]:
    """(entity, field) whose records have a value but no key yet (only reads)."""
    return [(entity.name, name) for entity in blueprint.entities.values()
            for name in _stale(connection, tables, entity, live.get(entity.name, set()))]


def fill_match_keys(connection: Connection, blueprint: Blueprint, tables: Tables, entity: Entity,
                    only: str | None = None) -> int:
    """Give every keyed value of the entity (or its field `only`) without a key its key; how many
    were filled (`atrium migrate` for values typed before the rule was declared)."""
    filled = 0
    for name in entity.keyed_fields:
        if only is not None and name != only:
            continue
        table, key, field = tables[entity.name], match_key_column(name), entity.fields[name]
        last = 0
        while True:
            rows = connection.execute(sa.select(table.c.id, table.c[name]).where(
                table.c.id > last, table.c[name].is_not(None), table.c[key].is_(None))
                .order_by(table.c.id).limit(FILL_BATCH)).all()
            if not rows:
                break
            last = rows[-1].id
            values = [{"_id": row.id, "_key": field_key(blueprint, entity, field, row[1]) or ""} for row in rows]
            connection.execute(table.update().where(table.c.id == sa.bindparam("_id"))
                               .values({key: sa.bindparam("_key")}), values)
            filled += len(values)
    return filled
