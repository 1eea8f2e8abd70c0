"""Turn form strings and JSON values into the Python value a field stores.

Every failure is a `CoercionError` naming a message key, so the records service can put a
message in the user's language beside the field.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from atrium.errors import AtriumError
from atrium.metadata.model import Field

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE = re.compile(r"^\+?\(?[0-9][0-9 ()\-.]{4,30}$")  # +86 138…, (021) 5555-0101
URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)
TRUE_WORDS = {"true", "1", "yes", "on", "y", "是", "t"}
FALSE_WORDS = {"false", "0", "no", "off", "n", "否", "f"}
MONEY_NOISE = re.compile(r"[,\s¥$€£￥]|^CNY|^USD|^RMB", re.IGNORECASE)
# The largest magnitudes the columns hold exactly: BIGINT; money to the cent on both databases
# (SQLite keeps NUMERIC as a double, exact to 15 digits); percent is NUMERIC(9, 4).
INTEGER_LIMIT = 2 ** 63
# kind → (every value is smaller than, the step of the stored value)
LIMITS = {"number": (Decimal("1e15"), Decimal(1)), "money": (Decimal("1e13"), Decimal("0.01")),
          "percent": (Decimal("1e5"), Decimal("0.0001"))}


class CoercionError(AtriumError, ValueError):
    """A value that does not fit its field; `key` and `params` make the message."""

    status, code = 400, "bad_request"

    def __init__(self, key: str, **params: Any):
        super().__init__(key)
        self.key = key
        self.params = params


def is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "") or value == []


def coerce(field: Field, value: Any, timezone: str = "UTC") -> Any:
    """The stored value for `value`, or None when empty; raises CoercionError."""
    # one dict lookup finds the field type's coercer: a bulk create coerces every value of every
    # record, and a chain of type comparisons per value was a tenth of its validation
    return _COERCERS.get(field.type, _unknown)(field, value, timezone)


def _empty(value: Any) -> bool:
    """`is_empty`, the common cases first: it is asked of every value coerced."""
    if value is None:
        return True
    kind = type(value)
    if kind is str:
        return value.strip() == ""
    if kind is int or kind is float or kind is bool:
        return False
    return is_empty(value)


def _as_text(field: Field, value: Any, timezone: str) -> Any:
    return None if _empty(value) else _text(value)


def _as_pattern(pattern: re.Pattern[str], key: str) -> Any:
    def coerce_text(field: Field, value: Any, timezone: str) -> Any:
        if _empty(value):
            return None
        text = _text(value)
        if not pattern.match(text):
            raise CoercionError(key)
        return text
    return coerce_text


def _as_number(field: Field, value: Any, timezone: str) -> Any:
    if _empty(value):
        return None
    return float(_decimal(value, *LIMITS["number"])) + 0.0  # + 0.0: never -0.0


def _as_decimal(field: Field, value: Any, timezone: str) -> Any:
    if _empty(value):
        return None
    kind = field.type
    if kind == "percent" and isinstance(value, str) and value.strip().endswith("%"):
        value = value.strip()[:-1]
    step = LIMITS[kind][1]
    number = _decimal(value, *LIMITS[kind]).quantize(step, rounding=ROUND_HALF_UP)
    return number.copy_abs() if number.is_zero() else number  # "-0.001" is 0.00, not -0.00


def _as_reference(field: Field, value: Any, timezone: str) -> Any:
    if _empty(value):
        return None
    try:
        return _integer(value)
    except CoercionError:
        raise CoercionError("not_reference") from None


def _skipping_empty(convert: Any) -> Any:
    def coerce_value(field: Field, value: Any, timezone: str) -> Any:
        return None if _empty(value) else convert(value)
    return coerce_value


def _as_datetime(field: Field, value: Any, timezone: str) -> Any:
    return None if _empty(value) else _datetime(value, timezone)


def _unknown(field: Field, value: Any, timezone: str) -> Any:
    if _empty(value):
        return None
    raise CoercionError("not_text")


def _text(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise CoercionError("not_text")
    text = str(value).strip()
    if "\x00" in text:  # PostgreSQL cannot store it; it is never meant
        raise CoercionError("not_text")
    return text


def _option(field: Field, value: Any) -> Any:
    for option in field.options:
        if option.value == value or str(option.value) == str(value).strip():
            return option.value
    raise CoercionError("not_option", value=value)


def _multiselect(field: Field, value: Any) -> list | None:
    if is_empty(value):
        return None
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except (ValueError, RecursionError):
                raise CoercionError("not_option", value=value) from None
        else:
            value = [part.strip() for part in re.split(r"[,，;；]", text) if part.strip()]
    if not isinstance(value, list | tuple | set):
        value = [value]
    chosen = [_option(field, item) for item in value]
    return [v for v in field.option_values if v in chosen] or None  # as the options are listed, no repeats


def _integer(value: Any, bounded: bool = False) -> int:
    if isinstance(value, bool):
        raise CoercionError("not_integer")
    number: int | Decimal
    if isinstance(value, int):
        number = value
    else:
        try:
            number = Decimal(str(value).strip().replace(",", ""))
        except InvalidOperation:
            raise CoercionError("not_integer") from None
        if not number.is_finite() or number != number.to_integral_value():
            raise CoercionError("not_integer")
    # a BIGINT column holds less; checked before int() so "1e999999999" costs nothing
    if number >= INTEGER_LIMIT:
        raise CoercionError("too_large" if bounded else "not_integer", max=INTEGER_LIMIT - 1)
    if number < -INTEGER_LIMIT:
        raise CoercionError("too_small" if bounded else "not_integer", min=-INTEGER_LIMIT)
    return int(number)


def _decimal(value: Any, limit: Decimal, step: Decimal) -> Decimal:
    if isinstance(value, bool):
        raise CoercionError("not_number")
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int | float):
        number = Decimal(str(value))
    else:
        try:
            number = Decimal(MONEY_NOISE.sub("", str(value).strip()))
        except InvalidOperation:
            raise CoercionError("not_number") from None
    if not number.is_finite():
        raise CoercionError("not_number")
    if number.copy_abs() >= limit - step / 2:  # also when rounding to the step would reach it
        if number > 0:
            raise CoercionError("too_large", max=limit - step)
        raise CoercionError("too_small", min=step - limit)
    return number


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise CoercionError("not_boolean")


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip()[:10].replace("/", "-"))
    except ValueError:
        raise CoercionError("not_date") from None


def _datetime(value: Any, timezone: str) -> dt.datetime:
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime.combine(value, dt.time())
    else:
        try:
            moment = dt.datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError:
            raise CoercionError("not_datetime") from None
    if moment.tzinfo is None:  # a person typed a local time: the blueprint's time zone
        moment = moment.replace(tzinfo=ZoneInfo(timezone))
    try:
        return moment.astimezone(dt.timezone.utc)
    except OverflowError:  # 0001-01-01 00:00 east of UTC is before the first day there is
        raise CoercionError("not_datetime") from None


def _location(value: Any) -> dict | None:
    if is_empty(value):
        return None
    if isinstance(value, str):
        parts = [p.strip() for p in value.split(",", 2)]
        value = {"lat": parts[0], "lng": parts[1] if len(parts) > 1 else None,
                 "address": parts[2] if len(parts) > 2 else None}
    if not isinstance(value, dict):
        raise CoercionError("not_location")
    try:
        lat = float(value["lat"]) if not is_empty(value.get("lat")) else None
        lng = float(value["lng"]) if not is_empty(value.get("lng")) else None
    except (TypeError, ValueError, OverflowError):
        raise CoercionError("not_location") from None
    if (lat is None) != (lng is None) or (lat is not None and lng is not None
                                     and not (-90 <= lat <= 90 and -180 <= lng <= 180)):
        raise CoercionError("not_location")
    address = value.get("address")
    if lat is None and is_empty(address):
        return None
    try:
        address = _text(address) if not is_empty(address) else None
    except CoercionError:
        raise CoercionError("not_location") from None
    if address is not None and len(address) > 500:  # the column's size: refuse, never cut
        raise CoercionError("too_long", max=500)
    return {"lat": lat, "lng": lng, "address": address}


_COERCERS: dict[str, Any] = {
    "multiselect": lambda field, value, timezone: _multiselect(field, value),
    "location": lambda field, value, timezone: _location(value),
    **{kind: _as_text for kind in ("text", "textarea", "stage", "autonumber")},
    "email": _as_pattern(EMAIL, "not_email"),
    "phone": _as_pattern(PHONE, "not_phone"),
    "url": _as_pattern(URL, "not_url"),
    "select": lambda field, value, timezone: None if _empty(value) else _option(field, value),
    "integer": _skipping_empty(lambda value: _integer(value, bounded=True)),
    "reference": _as_reference,
    "user": _as_reference,
    "number": _as_number,
    "money": _as_decimal,
    "percent": _as_decimal,
    "boolean": _skipping_empty(_boolean),
    "date": _skipping_empty(_date),
    "datetime": _as_datetime,
}

_TEXT_KINDS = frozenset({"text", "textarea", "stage", "autonumber"})
_INTEGER_KINDS = frozenset({"integer", "reference", "user"})
_MISSING = object()


def coerce_column(field: Field, values: list[Any], timezone: str = "UTC") -> list[Any]:
    """`coerce` of each of one field's values over a batch, the same values: the coercer looked up
    once, plain text and integers checked inline, each distinct string of other types coerced once
    (a batch repeats its statuses, dates, owners and amounts). Raises CoercionError like `coerce`."""
    kind = field.type
    single = _COERCERS.get(kind, _unknown)
    if kind == "multiselect" or kind == "location":  # their values are lists and dicts: one each
        return [single(field, value, timezone) for value in values]
    coerced: list[Any] = []
    append = coerced.append
    if kind in _TEXT_KINDS:
        for value in values:
            if type(value) is str:
                text = value.strip()
                if "\x00" in text:  # as _text: PostgreSQL cannot store it
                    raise CoercionError("not_text")
                append(text or None)
            else:
                append(single(field, value, timezone))
        return coerced
    if kind in _INTEGER_KINDS:
        for value in values:
            if type(value) is int and -INTEGER_LIMIT <= value < INTEGER_LIMIT:
                append(value)
            else:
                append(single(field, value, timezone))
        return coerced
    memo: dict[str, Any] = {}  # every result here is immutable (text, numbers, dates, booleans)
    decimal = _plain_decimal(kind)
    for value in values:
        if type(value) is str:
            result = memo.get(value, _MISSING)
            if result is _MISSING:
                result = decimal(value) if decimal is not None else _MISSING
                if result is _MISSING:  # not a plain amount (or not a decimal field): the coercer says
                    result = single(field, value, timezone)
                memo[value] = result
            append(result)
        elif value is None:
            append(None)
        else:
            append(single(field, value, timezone))
    return coerced


def _plain_decimal(kind: str) -> Any:
    """For money and percent, what turns a plain amount string into its stored value as
    `_as_decimal` does, its bounds worked out once; `_MISSING` for anything else (empty, a percent
    sign, out of bounds, not a number), which the field's coercer then handles or refuses."""
    if kind != "money" and kind != "percent":
        return None
    limit, step = LIMITS[kind]
    edge = limit - step / 2
    noise = MONEY_NOISE.sub

    def plain(value: str) -> Any:
        text = value.strip()
        if not text or text.endswith("%"):
            return _MISSING
        try:
            number = Decimal(noise("", text))
        except InvalidOperation:
            return _MISSING
        if not number.is_finite() or number.copy_abs() >= edge:
            return _MISSING
        number = number.quantize(step, rounding=ROUND_HALF_UP)
        return number.copy_abs() if number.is_zero() else number
    return plain
