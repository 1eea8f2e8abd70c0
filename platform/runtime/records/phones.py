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

from atrium.runtime.schema.tables import PHONE_KEY_LENGTH as KEY_LENGTH

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
