"""Coercion: form strings and JSON values → the value a field stores (no database).

Every refusal is a CoercionError whose key has a message in both locales.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from atrium.metadata.model import Field, Label, Option
from atrium.runtime.automation.messages import MESSAGES, message
from atrium.runtime.records.coercion import CoercionError, coerce, is_empty

UTC = dt.timezone.utc


def field(kind: str, options=(), **extra) -> Field:
    return Field(name="f", type=kind, label=Label.of(None, "f"),
                 options=tuple(Option(value=o, label=Label.of(None, str(o))) for o in options), **extra)


def refused(kind: str, value, options=(), timezone: str = "UTC") -> CoercionError:
    with pytest.raises(CoercionError) as error:
        coerce(field(kind, options), value, timezone)
    for locale in ("en", "zh"):  # the key has a message, and its parameters fill it
        assert message(error.value.key, locale, **error.value.params)
    return error.value


@pytest.mark.parametrize("kind", ["text", "textarea", "integer", "number", "money", "percent", "boolean",
                                  "date", "datetime", "email", "phone", "url", "select", "multiselect",
                                  "reference", "user", "stage", "autonumber", "location"])
@pytest.mark.parametrize("empty", [None, "", "   ", []])
def test_empty_is_none_for_every_type(kind, empty):
    assert coerce(field(kind, ["a"]), empty) is None


def test_is_empty():
    assert is_empty(None) and is_empty(" \t") and is_empty([])
    assert not is_empty(0) and not is_empty(False) and not is_empty("0")


# --- text -------------------------------------------------------------------------------

@pytest.mark.parametrize("value,expected", [
    ("  Acme  ", "Acme"), ("你好，世界", "你好，世界"), ("<script>alert(1)</script>", "<script>alert(1)</script>"),
    ("it's \"quoted\"", "it's \"quoted\""), ("🎉", "🎉"), (42, "42"), (Decimal("1.50"), "1.50"),
])
def test_text(value, expected):
    assert coerce(field("text"), value) == expected


def test_textarea_keeps_inner_lines():
    assert coerce(field("textarea"), "first\n\n  second\n") == "first\n\n  second"


@pytest.mark.parametrize("value", [True, {"a": 1}, ["a"], object(), "nul\x00byte"])
def test_text_refuses_non_text(value):
    assert refused("text", value).key == "not_text"


# --- numbers ----------------------------------------------------------------------------

@pytest.mark.parametrize("value,expected", [
    ("42", 42), (" -7 ", -7), ("1,000", 1000), ("1e3", 1000), (3.0, 3), (Decimal("12"), 12), (0, 0),
    (2 ** 63 - 1, 2 ** 63 - 1), (-(2 ** 63), -(2 ** 63)),
])
def test_integer(value, expected):
    assert coerce(field("integer"), value) == expected


@pytest.mark.parametrize("value,key", [
    ("1.5", "not_integer"), (1.5, "not_integer"), ("abc", "not_integer"), (True, "not_integer"),
    ("nan", "not_integer"), ("inf", "not_integer"), (float("inf"), "not_integer"),
    (2 ** 63, "too_large"), ("1e999999999", "too_large"), (-(2 ** 63) - 1, "too_small"),
])
def test_integer_refusals(value, key):
    assert refused("integer", value).key == key


@pytest.mark.parametrize("value,expected", [
    ("3.25", 3.25), ("-0.5", -0.5), (7, 7.0), ("1,234.5", 1234.5), ("1e-3", 0.001), ("-0", 0.0),
])
def test_number(value, expected):
    assert str(coerce(field("number"), value)) == str(expected)


@pytest.mark.parametrize("value", ["NaN", "Infinity", float("nan"), "1e15", "abc", True])
def test_number_refusals(value):
    assert refused("number", value).key in ("not_number", "too_large")


@pytest.mark.parametrize("value,expected", [
    ("1234.5", Decimal("1234.50")), ("¥1,234.567", Decimal("1234.57")), ("￥ 88", Decimal("88.00")),
    ("CNY 10", Decimal("10.00")), ("$ -5.005", Decimal("-5.01")), ("0.005", Decimal("0.01")),
    (0.1, Decimal("0.10")), (19.99, Decimal("19.99")), (Decimal("2.675"), Decimal("2.68")),
    ("9999999999999.99", Decimal("9999999999999.99")), ("-0.001", Decimal("0.00")),
])
def test_money_is_quantized_to_cents(value, expected):
    stored = coerce(field("money"), value)
    assert stored == expected and stored.as_tuple().exponent == -2
    assert str(stored) == str(expected)  # no "-0.00"


@pytest.mark.parametrize("value,key", [
    ("lots", "not_number"), ("1.2.3", "not_number"), ("10000000000000", "too_large"),
    ("9999999999999.995", "too_large"), ("-1e13", "too_small"), ("1e400", "too_large"),
])
def test_money_refusals(value, key):
    assert refused("money", value).key == key


def test_money_limit_message():
    error = refused("money", "1e13")
    assert message(error.key, "en", **error.params) == "Must be at most 9999999999999.99"


@pytest.mark.parametrize("value,expected", [
    ("12.5", Decimal("12.5")), ("12.5%", Decimal("12.5")), (" 7 % ", Decimal("7")),
    ("33.33333", Decimal("33.3333")), (100, Decimal("100")),
])
def test_percent(value, expected):
    assert coerce(field("percent"), value) == expected


def test_percent_refuses_what_its_column_cannot_hold():
    assert refused("percent", "100000").key == "too_large"


# --- yes/no, dates, times -------------------------------------------------------------------

@pytest.mark.parametrize("value,expected", [
    (True, True), (False, False), ("yes", True), ("No", False), ("1", True), ("0", False), (1, True),
    (0, False), ("是", True), ("否", False), ("on", True), ("off", False),
])
def test_boolean(value, expected):
    assert coerce(field("boolean"), value) is expected


@pytest.mark.parametrize("value", ["maybe", 2, "yess", [True]])
def test_boolean_refusals(value):
    assert refused("boolean", value).key == "not_boolean"


@pytest.mark.parametrize("value,expected", [
    ("2026-03-31", dt.date(2026, 3, 31)), ("2026/03/31", dt.date(2026, 3, 31)),
    (dt.date(2026, 1, 2), dt.date(2026, 1, 2)), (dt.datetime(2026, 1, 2, 23, 0), dt.date(2026, 1, 2)),
    ("2026-03-31T10:00:00Z", dt.date(2026, 3, 31)),
])
def test_date(value, expected):
    assert coerce(field("date"), value) == expected


@pytest.mark.parametrize("value", ["31/03/2026", "2026-02-30", "tomorrow", "2026-13-01", 5])
def test_date_refusals(value):
    assert refused("date", value).key == "not_date"


@pytest.mark.parametrize("value,expected", [
    ("2026-03-31T14:30:00Z", dt.datetime(2026, 3, 31, 14, 30, tzinfo=UTC)),
    ("2026-03-31T14:30:00+08:00", dt.datetime(2026, 3, 31, 6, 30, tzinfo=UTC)),
    ("2026-03-31 14:30", dt.datetime(2026, 3, 31, 6, 30, tzinfo=UTC)),         # local: Asia/Shanghai
    (dt.date(2026, 3, 31), dt.datetime(2026, 3, 30, 16, 0, tzinfo=UTC)),       # local midnight
    (dt.datetime(2026, 3, 31, 14, 30), dt.datetime(2026, 3, 31, 6, 30, tzinfo=UTC)),
    (dt.datetime(2026, 3, 31, 14, 30, tzinfo=UTC), dt.datetime(2026, 3, 31, 14, 30, tzinfo=UTC)),
])
def test_datetime_is_aware_utc(value, expected):
    stored = coerce(field("datetime"), value, "Asia/Shanghai")
    assert stored == expected and stored.utcoffset() == dt.timedelta(0)


@pytest.mark.parametrize("value", ["half past two", "2026-03-31T25:00", "0001-01-01T00:00", 12])
def test_datetime_refusals(value):
    assert refused("datetime", value, timezone="Asia/Shanghai").key == "not_datetime"


# --- formats ----------------------------------------------------------------------------

@pytest.mark.parametrize("kind,good", [
    ("email", "sales@example.com"), ("email", "张三@例子.中国"), ("phone", "+86 138 0013 8000"),
    ("phone", "(021) 5555-0101"), ("url", "https://example.com/a?b=1#c"), ("url", "HTTP://EXAMPLE.COM"),
])
def test_formats_accepted(kind, good):
    assert coerce(field(kind), f"  {good} ") == good


@pytest.mark.parametrize("kind,bad", [
    ("email", "no-at-sign"), ("email", "a@b"), ("email", "a b@c.com"), ("phone", "call me"),
    ("phone", "12"), ("url", "javascript:alert(1)"), ("url", "example.com"), ("url", "https:// x.com"),
])
def test_formats_refused(kind, bad):
    assert refused(kind, bad).key == f"not_{kind}"


# --- options ----------------------------------------------------------------------------

def test_select():
    assert coerce(field("select", ["low", "high"]), " high ") == "high"
    assert coerce(field("select", [1, 2, 3]), "2") == 2
    error = refused("select", "medium", ["low", "high"])
    assert (error.key, error.params) == ("not_option", {"value": "medium"})


@pytest.mark.parametrize("value,expected", [
    ("c, a", ["a", "c"]), ("a，b；c", ["a", "b", "c"]), ('["b", "a"]', ["a", "b"]), (["c", "c", "a"], ["a", "c"]),
    ({"b"}, ["b"]), ("b", ["b"]),
])
def test_multiselect_keeps_option_order_without_repeats(value, expected):
    assert coerce(field("multiselect", ["a", "b", "c"]), value) == expected


@pytest.mark.parametrize("value", ["a, z", ["a", None], '["a",', "[" * 100000, {"a": 1}])
def test_multiselect_refusals(value):
    assert refused("multiselect", value, ["a", "b", "c"]).key == "not_option"


# --- links and places ---------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["reference", "user"])
def test_references(kind):
    assert coerce(field(kind), "12") == 12 and coerce(field(kind), 7) == 7
    for bad in ("abc", "1.5", 2 ** 64, True):
        assert refused(kind, bad).key == "not_reference"


@pytest.mark.parametrize("value,expected", [
    ("31.2304, 121.4737", {"lat": 31.2304, "lng": 121.4737, "address": None}),
    ("31.2, 121.5, 上海, 人民广场", {"lat": 31.2, "lng": 121.5, "address": "上海, 人民广场"}),
    ({"lat": "-33.9", "lng": 18.4, "address": "Cape Town"}, {"lat": -33.9, "lng": 18.4, "address": "Cape Town"}),
    ({"address": "somewhere"}, {"lat": None, "lng": None, "address": "somewhere"}),
    ({"lat": None, "lng": None, "address": ""}, None),
])
def test_location(value, expected):
    assert coerce(field("location"), value) == expected


@pytest.mark.parametrize("value", [
    "91, 0", "0, 181", "north", {"lat": 1}, {"lat": "x", "lng": 1}, {"lat": 10 ** 400, "lng": 0}, 5,
    {"lat": float("nan"), "lng": 0}, {"lat": 1, "lng": 2, "address": {"street": "x"}},
])
def test_location_refusals(value):
    assert refused("location", value).key == "not_location"


def test_location_address_too_long_is_refused_not_cut():
    error = refused("location", {"lat": 1, "lng": 2, "address": "街" * 501})
    assert (error.key, error.params) == ("too_long", {"max": 500})
    assert coerce(field("location"), {"lat": 1, "lng": 2, "address": "街" * 500})["address"] == "街" * 500


def test_every_message_has_both_languages():
    for key, msgid in MESSAGES.items():  # English in the code, Chinese in the catalog
        assert message(key, "en") == msgid and message(key, "zh") != msgid, key
