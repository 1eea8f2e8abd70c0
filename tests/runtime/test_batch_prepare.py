"""A bulk create prepares a batch column-wise (`RecordRules.prepare_batch`, `coerce_column`): the
records it makes are the ones `prepare` makes row by row, and a batch with any bad row gives None,
so that the service prepares it row by row and names the first bad row as before."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from atrium.runtime.records.coercion import CoercionError, coerce, coerce_column
from atrium.runtime.records.evaluation import Actor, RecordEvaluator
from atrium.runtime.records.rules import RecordRules

NOW = dt.datetime(2026, 12, 7, 4, 0, tzinfo=dt.timezone.utc)
SAMPLES = [None, "", "  ", " text ", "a\x00b", 0, 1, -1, 2 ** 63, True, False, 1.5, Decimal("2.50"),
           "12", " 3,400 ", "1e3", "¥1,234.567", "50%", "2026-03-01", "2026/03/01", "2026-03-01T08:30:00",
           "2026-03-01T08:30:00Z", dt.date(2026, 3, 1), dt.datetime(2026, 3, 1, 8, 30), "yes", "否",
           "a@b.co", "https://example.com/x", "+86 138 0013 8000", "won", "price", "key_account",
           ["key_account"], "1,2", {"lat": 31.2, "lng": 121.5}, "nonsense", " 1,234.565 ", "-0.001", "1e12", "USD 12.5",
           "9999999999999.995", "99999.99995", "NaN", "-inf", "1e999999999", "12.5%", " 7 % "]


def single(field, values, timezone):
    return [coerce(field, value, timezone) for value in values]


def test_a_column_is_coerced_as_each_of_its_values_is(b2b):
    timezone = b2b.timezone
    fields = {(entity.name, field.type): field for entity in b2b.entities.values() for field in entity
              if not field.computed}
    assert len({kind for _, kind in fields}) >= 15
    for field in fields.values():
        for value in SAMPLES:
            values = [value, value, "12", value]  # a repeated string is coerced once
            try:
                expected = single(field, values, timezone)
            except CoercionError as error:
                with pytest.raises(CoercionError) as raised:
                    coerce_column(field, values, timezone)
                assert raised.value.key == error.key, (field.name, value)
                continue
            got = coerce_column(field, values, timezone)
            assert got == expected, (field.name, field.type, value)
            assert [type(v) for v in got] == [type(v) for v in expected]
            assert [str(v) for v in got] == [str(v) for v in expected]  # Decimal('1.0') ≠ '1.00' here


def rules_of(b2b):
    return RecordRules(b2b, RecordEvaluator(b2b, clock=lambda: NOW))


ACTOR = Actor(user_id=7, name="rep", role="sales_rep", locale="en")


def orders(count: int) -> list[dict]:
    stages = ["initial_contact", "proposal", "won", "lost", "negotiation"]
    return [{"name": f" Deal {i} ", "customer": 1 + i % 3, "amount": f"{1000 + i}.5", "stage": stages[i % 5],
             "expected_close": f"2027-01-{1 + i % 28:02d}", "lost_reason": "price" if i % 5 == 3 else None,
             "tags": "key_account" if i % 2 else None} for i in range(count)]


def test_a_batch_makes_the_records_rows_make(b2b):
    rules = rules_of(b2b)
    model = b2b.entities["order"]
    rows = orders(12)
    batch = rules.prepare_batch(model, rows, ACTOR)
    assert batch is not None
    one_by_one = []
    for row in rows:
        record, errors = rules.prepare(model, None, row, ACTOR)
        assert errors == {}
        one_by_one.append(record)
    assert batch == one_by_one
    assert [list(record) for record in batch] == [list(record) for record in one_by_one]
    for name in ("amount", "weighted_amount", "probability"):
        assert [str(r[name]) for r in batch] == [str(r[name]) for r in one_by_one]


@pytest.mark.parametrize("bad", [
    {"amount": "lots"},  # a coercion error
    {"name": None},  # required
    {"name": "x" * 201},  # too long
    {"amount": "-5"},  # below min
    {"stage": "lost", "lost_reason": None},  # required in the stage
    {"probability": 50},  # computed
    {"nonsense": 1},  # no such field
])
def test_a_batch_with_a_bad_row_goes_row_by_row(b2b, bad):
    rules = rules_of(b2b)
    model = b2b.entities["order"]
    rows = orders(6)
    rows[4] = {**rows[4], **bad}
    assert rules.prepare_batch(model, rows, ACTOR) is None
    _, errors = rules.prepare(model, None, rows[4], ACTOR)
    assert errors


def test_rows_that_give_different_fields_go_row_by_row(b2b):
    rows = orders(3)
    del rows[1]["tags"]
    assert rules_of(b2b).prepare_batch(b2b.entities["order"], rows, ACTOR) is None
