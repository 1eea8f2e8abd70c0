"""Phone numbers as digits for matching: what the user typed stays in the field's column, and the
number as digits with its country code goes beside it, in `<field>_digits` (tables.py), for
search, duplicate checks and import keys.

`139 1234 5678`, `+86 139-1234-5678` and `0086 13912345678` are all `8613912345678` when the
blueprint's `phone_country_code` is 86; `010-1234 5678` is `861012345678` (the trunk 0 goes).
Parsing is Google's libphonenumber (the `phonenumbers` package); text it cannot read as a number
is kept as its digits.
"""
from __future__ import annotations

import functools
import re

import phonenumbers
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from atrium.metadata.model import Blueprint, Entity
from atrium.runtime.schema.tables import PHONE_KEY_LENGTH as KEY_LENGTH, Tables, phone_key_column

FILL_BATCH = 2000

NOT_DIGITS = re.compile(r"\D+")


@functools.lru_cache(maxsize=64)
def _region(country_code: int | None) -> str | None:
    if country_code is None:
        return None
    region = phonenumbers.region_code_for_country_code(country_code)
    return None if region == phonenumbers.UNKNOWN_REGION else region


def phone_digits(text: object, country_code: int | None) -> str | None:
    """The number as digits with its country code, or None for an empty value."""
    if text is None:
        return None
    typed = str(text)
    digits = NOT_DIGITS.sub("", typed)
    if not digits:
        return None
    region = _region(country_code)
    try:
        number = phonenumbers.parse(typed, region)
    except phonenumbers.NumberParseException:
        return digits[:KEY_LENGTH]
    key = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164).lstrip("+")
    return (key if key else digits)[:KEY_LENGTH]


def digit_queries(text: str, country_code: int | None) -> tuple[str, ...]:
    """What a search for `text` looks for among phone keys: its digits (a part of a number:
    `1234 5678`), and the whole number as stored when `text` reads as one (`0139…`, `+86 139…`).
    Nothing when `text` has fewer than three digits or has letters (a name is not a phone)."""
    digits = NOT_DIGITS.sub("", text)
    if len(digits) < 3 or re.search(r"[^\d\s+()\-.]", text):
        return ()
    found = [digits]
    whole = phone_digits(text, country_code)
    if whole and whole not in digits:
        found.append(whole)
    return tuple(found)


def fill_phone_digits(connection: Connection, blueprint: Blueprint, tables: Tables, entity: Entity,
                      only: str | None = None) -> int:
    """Give every phone of the entity (or its field `only`) that has no digits yet its digits; how
    many were filled (`atrium migrate` for phones typed before the column existed)."""
    filled = 0
    for field in entity:
        if field.type != "phone" or only is not None and field.name != only:
            continue
        table, key = tables[entity.name], phone_key_column(field.name)
        last = 0
        while True:
            rows = connection.execute(sa.select(table.c.id, table.c[field.name]).where(
                table.c.id > last, table.c[field.name].is_not(None), table.c[key].is_(None))
                .order_by(table.c.id).limit(FILL_BATCH)).all()
            if not rows:
                break
            last = rows[-1].id
            values = [{"_id": row.id, "_digits": phone_digits(row[1], blueprint.phone_country_code)} for row in rows]
            connection.execute(table.update().where(table.c.id == sa.bindparam("_id"))
                               .values({key: sa.bindparam("_digits")}), values)
            filled += len(values)
    return filled


def refresh_phone_digits(connection: Connection, blueprint: Blueprint, tables: Tables, entity: Entity,
                         field: str) -> int:
    """Every record's digits of one phone field again (its values were written set-wise: a recompute)."""
    table = tables[entity.name]
    connection.execute(table.update().values({phone_key_column(field): None}))
    return fill_phone_digits(connection, blueprint, tables, entity, only=field)
