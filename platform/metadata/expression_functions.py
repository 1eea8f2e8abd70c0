"""The bounded primitives of Atrium expressions: guarded operators and curated functions.

Python's own operators can allocate without limit (`'a' * 10**9`, `[0] * 10**8`, `9 ** 10**9`),
so the evaluator routes every arithmetic operator through the guards below, which check the
size of the result *before* computing it. Lists and tuples cannot be repeated at all: a cap on
length is not enough there, because `[[1] * 10**5] * 10**5` is short but comparing two of them
touches 10**10 items.

Each function is small and bounded: inputs that could make it allocate or spin (long strings,
huge `Decimal` exponents, `round(x, -10**9)`) are refused with a ValueError, which the evaluator
turns into an ExpressionError. Date and text helpers pass None through (an empty optional field
gives an empty result rather than an error); the math ones keep Python's behaviour.
"""
from __future__ import annotations

import math
import operator
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Callable

# A produced string, list or tuple may hold at most this many items: enough for any CRM text,
# far below the size that would cost real memory or time.
MAX_LENGTH = 100_000
# Integers stay under this many bits (~3,000 digits), so str() of a result always works.
MAX_INT_BITS = 10_000
# Decimal exponents above this would turn into integers of millions of digits in int()/round().
MAX_DECIMAL_DIGITS = 4_000
# Strings parsed as numbers or dates: int() of a long digit string is quadratic.
MAX_PARSED_TEXT = 100
MAX_ROUND_DIGITS = 100

Clock = Callable[[], datetime]

_SCALARS = (str, int, float, Decimal, bool, date, timedelta, type(None))
_SEQUENCES = (str, bytes, list, tuple)
_TEXTS = (str, bytes)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


# --- operators ----------------------------------------------------------------------------

def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


def _coerce(a: Any, b: Any) -> tuple[Any, Any] | None:
    """Reconcile a pair Python refused with a TypeError, or None if there is no sensible way.

    Money arrives as Decimal and literals like 0.5 are floats: the float joins the Decimal
    through its shortest repr (0.1 -> Decimal('0.1')), keeping money exact. A datetime met
    with a date counts by its date; a naive datetime (SQLite gives those) is taken as UTC.
    """
    if isinstance(a, Decimal) and isinstance(b, float):
        return a, Decimal(repr(b))
    if isinstance(a, float) and isinstance(b, Decimal):
        return Decimal(repr(a)), b
    if isinstance(a, datetime) and isinstance(b, datetime):
        return (_aware(a), _aware(b)) if (a.tzinfo is None) != (b.tzinfo is None) else None
    if isinstance(a, datetime) and isinstance(b, date):
        return a.date(), b
    if isinstance(a, date) and isinstance(b, datetime):
        return a, b.date()
    return None


def _apply(op: Callable[[Any, Any], Any], a: Any, b: Any) -> Any:
    # Try the plain operation first so the common case pays nothing for the coercion rules.
    try:
        return op(a, b)
    except TypeError:
        pair = _coerce(a, b)
        if pair is None:
            raise
        return op(*pair)


def guarded_add(a: Any, b: Any) -> Any:
    if isinstance(a, _SEQUENCES) and isinstance(b, _SEQUENCES) and len(a) + len(b) > MAX_LENGTH:
        raise ValueError(f"result too long (over {MAX_LENGTH:,} items)")
    return _apply(operator.add, a, b)


def _check_repeat(seq: Any, times: Any) -> None:
    if not isinstance(times, int):
        return
    if isinstance(seq, (list, tuple)):
        raise ValueError("repeating a list with * is not supported")
    if isinstance(seq, _TEXTS) and len(seq) * times > MAX_LENGTH:
        raise ValueError(f"result too long (over {MAX_LENGTH:,} items)")


def _check_bits(bits: float) -> None:
    if bits > MAX_INT_BITS:
        raise ValueError(f"number too large (over {MAX_INT_BITS:,} bits)")


def guarded_mul(a: Any, b: Any) -> Any:
    if isinstance(a, int) and isinstance(b, int):
        _check_bits(a.bit_length() + b.bit_length())
        return a * b
    _check_repeat(a, b)
    _check_repeat(b, a)
    return _apply(operator.mul, a, b)


def guarded_pow(base: Any, exponent: Any) -> Any:
    # Floats overflow with an error and Decimal obeys its context's Emax; only ints grow unbounded.
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0 and abs(base) > 1:
        _check_bits(math.log2(abs(base)) * exponent)
    return _apply(operator.pow, base, exponent)


def guarded_mod(a: Any, b: Any) -> Any:
    # 'text' % value is printf formatting: '%99999999d' % 1 would allocate 100 MB.
    if isinstance(a, _TEXTS):
        raise TypeError("'%' formatting of text is not supported; use concat()")
    return _apply(operator.mod, a, b)


def guarded_sub(a: Any, b: Any) -> Any:
    return _apply(operator.sub, a, b)


def guarded_truediv(a: Any, b: Any) -> Any:
    return _apply(operator.truediv, a, b)


def guarded_floordiv(a: Any, b: Any) -> Any:
    return _apply(operator.floordiv, a, b)


def guarded_lt(a: Any, b: Any) -> Any:
    return _apply(operator.lt, a, b)


def guarded_le(a: Any, b: Any) -> Any:
    return _apply(operator.le, a, b)


def guarded_gt(a: Any, b: Any) -> Any:
    return _apply(operator.gt, a, b)


def guarded_ge(a: Any, b: Any) -> Any:
    return _apply(operator.ge, a, b)


def is_in(item: Any, container: Any) -> bool:
    return item in container


def is_not_in(item: Any, container: Any) -> bool:
    return item not in container


# --- limits shared by the functions -------------------------------------------------------

def check_length(value: Any, what: str = "text") -> Any:
    if len(value) > MAX_LENGTH:
        raise ValueError(f"{what} too long (over {MAX_LENGTH:,} items)")
    return value


def _text_arg(value: Any, function: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{function}() needs text, got {type(value).__name__}")
    check_length(value)
    return value


def _parsed_text(value: str) -> str:
    if len(value) > MAX_PARSED_TEXT:
        raise ValueError(f"text too long to convert (over {MAX_PARSED_TEXT} characters)")
    return value.strip()


def _check_decimal(value: Decimal) -> Decimal:
    if value.is_finite() and value.adjusted() > MAX_DECIMAL_DIGITS:
        raise ValueError("number too large")
    return value


def _items(args: tuple[Any, ...], function: str) -> list[Any]:
    """min/max/sum accept either one list or several values, like Python's min/max."""
    if len(args) == 1 and isinstance(args[0], (list, tuple, set, frozenset, str)):
        return list(check_length(args[0], f"{function}() input"))
    if not args:
        raise TypeError(f"{function}() needs at least one value")
    return list(args)


# --- math -------------------------------------------------------------------------------

def _abs(x: Any) -> Any:
    return abs(x)


def _round(x: Any, ndigits: int | None = None) -> Any:
    if isinstance(x, Decimal):
        _check_decimal(x)
    if ndigits is None:
        return round(x)
    if not isinstance(ndigits, int) or abs(ndigits) > MAX_ROUND_DIGITS:
        raise ValueError(f"round() digits must be a whole number within ±{MAX_ROUND_DIGITS}")
    return round(x, ndigits)


def _min(*args: Any) -> Any:
    return min(_items(args, "min"))


def _max(*args: Any) -> Any:
    return max(_items(args, "max"))


def _sum(*args: Any) -> Any:
    total: Any = 0
    for item in _items(args, "sum"):
        total = guarded_add(total, item)
    return total


def _len(x: Any) -> int:
    return len(x)


def _int(x: Any) -> int:
    if isinstance(x, str):
        return int(_parsed_text(x))
    if isinstance(x, Decimal):
        _check_decimal(x)
    return int(x)


def _float(x: Any) -> float:
    return float(_parsed_text(x) if isinstance(x, str) else x)


def _str(x: Any) -> str:
    # Containers are refused: str() of a nested list can be far larger than the list itself.
    if not isinstance(x, _SCALARS):
        raise TypeError(f"str() takes a single value, not a {type(x).__name__}")
    return x if isinstance(x, str) else str(x)


def _bool(x: Any) -> bool:
    return bool(x)


def _floor(x: Any) -> int:
    return math.floor(_check_decimal(x) if isinstance(x, Decimal) else x)


def _ceil(x: Any) -> int:
    return math.ceil(_check_decimal(x) if isinstance(x, Decimal) else x)


def _sqrt(x: Any) -> Any:
    if isinstance(x, Decimal):
        if x < 0:
            raise ValueError("sqrt() of a negative number")
        return x.sqrt()
    return math.sqrt(x)


# --- text -------------------------------------------------------------------------------

def _lower(s: str | None) -> str | None:
    return None if s is None else _text_arg(s, "lower").lower()


def _upper(s: str | None) -> str | None:
    return None if s is None else _text_arg(s, "upper").upper()


def _strip(s: str | None) -> str | None:
    return None if s is None else _text_arg(s, "strip").strip()


def _concat(*parts: Any) -> str:
    texts = [_str(part) for part in parts if part is not None]
    if sum(map(len, texts)) > MAX_LENGTH:
        raise ValueError(f"text too long (over {MAX_LENGTH:,} items)")
    return "".join(texts)


def _contains(haystack: Any, needle: Any) -> bool:
    if haystack is None or needle is None:
        return False
    return needle in check_length(haystack)


def _startswith(s: str | None, prefix: str | None) -> bool:
    if s is None or prefix is None:
        return False
    return _text_arg(s, "startswith").startswith(_text_arg(prefix, "startswith"))


def _endswith(s: str | None, suffix: str | None) -> bool:
    if s is None or suffix is None:
        return False
    return _text_arg(s, "endswith").endswith(_text_arg(suffix, "endswith"))


def _coalesce(*values: Any) -> Any:
    return next((value for value in values if value is not None), None)


# --- dates ------------------------------------------------------------------------------
# A date-time is an instant; the day it falls on depends on where one stands. The date helpers
# take it in the zone of the evaluator's clock (the blueprint's time zone), as today() does, so a
# follow-up at 07:30 in Shanghai counts on that Shanghai day, not on the UTC day before.

DateOf = Callable[[Any, str], date]


def _days(n: Any) -> timedelta:
    return timedelta(days=float(n) if isinstance(n, Decimal) else n)


def _date_functions(date_of: DateOf) -> dict[str, Callable[..., Any]]:
    def days_between(a: Any, b: Any) -> int | None:
        """Calendar days from a to b (date-times count by their local date)."""
        if a is None or b is None:
            return None
        return (date_of(b, "days_between") - date_of(a, "days_between")).days

    def year(d: Any) -> int | None:
        return None if d is None else date_of(d, "year").year

    def month(d: Any) -> int | None:
        return None if d is None else date_of(d, "month").month

    def day(d: Any) -> int | None:
        return None if d is None else date_of(d, "day").day

    def date_(*args: Any) -> date | None:
        """date('2024-05-31'), date(2024, 5, 31), or the local date of a date/date-time."""
        if len(args) == 3:
            return date(*args)
        if len(args) != 1:
            raise TypeError("date() takes an ISO text like '2024-05-31' or year, month, day")
        value = args[0]
        if value is None:
            return None
        if isinstance(value, str):
            return date.fromisoformat(_parsed_text(value))
        return date_of(value, "date")

    return {"days_between": days_between, "year": year, "month": month, "day": day, "date": date_}


def _clock_functions(clock: Clock) -> dict[str, Callable[..., Any]]:
    def now() -> datetime:
        moment = clock()
        if moment.tzinfo is None:
            raise ValueError("the evaluator's clock must return a timezone-aware datetime")
        return moment

    def today() -> date:
        return now().date()

    def date_of(value: Any, function: str) -> date:
        if isinstance(value, datetime):  # a naive one (SQLite gives those) is UTC
            return _aware(value).astimezone(now().tzinfo).date()
        if isinstance(value, date):
            return value
        raise TypeError(f"{function}() needs a date, got {type(value).__name__}")

    return {"now": now, "today": today, **_date_functions(date_of)}


_PLAIN_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "abs": _abs, "round": _round, "min": _min, "max": _max, "sum": _sum, "len": _len,
    "int": _int, "float": _float, "str": _str, "bool": _bool,
    "floor": _floor, "ceil": _ceil, "sqrt": _sqrt,
    "lower": _lower, "upper": _upper, "strip": _strip, "concat": _concat,
    "contains": _contains, "startswith": _startswith, "endswith": _endswith,
    "coalesce": _coalesce, "days": _days,
}


def builtin_functions(clock: Clock = utc_now) -> dict[str, Callable[..., Any]]:
    """A fresh name -> function table, with today()/now() reading `clock`."""
    return {**_PLAIN_FUNCTIONS, **_clock_functions(clock)}


def constant_values() -> dict[str, Any]:
    return {"None": None, "True": True, "False": False, "pi": math.pi}
