"""Properties of the records service and coercion, checked over generated input (hypothesis).

The database tests share one migrated database per test (the `engine` fixture, so they run on
SQLite and in the PostgreSQL pass) and every example works on records it creates itself, so no
state leaks from one example into the next.
"""
from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

import pytest
import sqlalchemy as sa
from blueprint_factory import make_blueprint
from hypothesis import HealthCheck, assume, given, settings, strategies as st

from atrium.metadata.model import FIELD_TYPES, Field, Label, Option
from atrium.runtime.records.audit import json_value
from atrium.runtime.records.coercion import CoercionError, coerce
from atrium.runtime.records.service import RecordService, StaleRecord, ValidationFailed
from atrium.runtime.schema.migrations import migrate

TITLE_MAX = 100
MONEY_MAX = Decimal("9999999999999.99")
NOTE = {"note": {"fields": {
    "title": {"type": "text", "max_length": TITLE_MAX},
    "name": {"type": "text"},                    # no max_length: its column holds 255
    "body": {"type": "textarea"},
    "amount": {"type": "money"},
    "count": {"type": "integer"},
    "flag": {"type": "boolean"},
    "level": {"type": "select", "options": ["low", "mid", "high"]},
}}}
TRACKED = ("title", "amount", "count", "flag", "level")

database = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture(scope="module")
def note_blueprint(tmp_path_factory):
    return make_blueprint(tmp_path_factory.mktemp("note_bp"), NOTE)


@pytest.fixture
def service(engine, note_blueprint):
    migrate(engine, note_blueprint)
    return RecordService(note_blueprint, engine)


TRICKY_TEXT = st.sampled_from([
    "<script>alert('x')</script>", "'; DROP TABLE note; --", 'say "hi"', "你好，世界", "🎉👍🏽👨‍👩‍👧",
    "\u202eevil", "tab\tinside", "a\\b", "%s %d {0}", "\u3000全角空格\u3000", "x" * TITLE_MAX,
    "名" * (TITLE_MAX + 1), "nul\x00", "é" * 255, "é" * 256,
])
ANY_TEXT = st.one_of(st.text(), st.text(min_size=TITLE_MAX - 5, max_size=TITLE_MAX + 5), TRICKY_TEXT,
                     st.text(min_size=250, max_size=260, alphabet=st.characters(codec="utf-8")))


@database
@given(text=ANY_TEXT)
def test_any_text_round_trips_or_is_refused_with_a_field_error(service, text):
    expected = text.strip() or None  # surrounding white space is trimmed: a form's convention
    for name, limit in (("title", TITLE_MAX), ("name", 255), ("body", None)):
        try:
            record = service.create("note", {name: text})
        except ValidationFailed as failure:
            assert set(failure.errors) == {name}
            too_long = limit is not None and expected is not None and len(expected) > limit
            assert too_long or "\x00" in text, failure.errors
            continue
        assert "\x00" not in text
        assert service.get("note", record["id"])[name] == expected
        assert limit is None or expected is None or len(expected) <= limit


@database
@given(amount=st.decimals(min_value=-MONEY_MAX * 2, max_value=MONEY_MAX * 2, allow_nan=False,
                          allow_infinity=False))
def test_money_round_trips_to_the_cent(service, amount):
    expected = amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    for value in (amount, str(amount)):
        try:
            record = service.create("note", {"amount": value})
        except ValidationFailed as failure:
            assert abs(expected) > MONEY_MAX, failure.errors
            assert set(failure.errors) == {"amount"}
            continue
        assert abs(expected) <= MONEY_MAX
        stored = service.get("note", record["id"])["amount"]
        assert stored == expected and isinstance(stored, Decimal)


CHANGES = st.fixed_dictionaries({}, optional={
    "title": st.text(alphabet="ab 名🎉", max_size=6),
    "amount": st.decimals(min_value=-1000, max_value=1000, places=3),
    "count": st.integers(min_value=-(2 ** 63), max_value=2 ** 63 - 1) | st.integers(-3, 3),
    "flag": st.booleans() | st.none(),
    "level": st.sampled_from(["low", "mid", "high", "bogus", None]),
})
STEPS = st.lists(st.tuples(st.integers(min_value=-2, max_value=0), CHANGES), max_size=8)


@database
@given(first=CHANGES, steps=STEPS)
def test_final_record_is_the_last_accepted_write_and_history_replays_to_it(service, engine, first, steps):
    """Each step updates with the current version, or a stale one (offset -1, -2)."""
    note = service.blueprint.entities["note"]
    try:
        record = service.create("note", first)
    except ValidationFailed:
        assume(False)
    expected = {name: record[name] for name in TRACKED}
    version = 1
    for offset, changes in steps:
        try:
            saved = service.update("note", record["id"], changes, version=version + offset)
        except StaleRecord as stale:
            assert offset != 0 and stale.current["version"] == version
            continue
        except ValidationFailed:
            assert offset == 0 and changes.get("level") == "bogus"
            continue
        assert offset == 0  # a stale version is never accepted
        prepared = {name: coerce(note.fields[name], value) for name, value in changes.items()}
        if any(expected[name] != value for name, value in prepared.items()):
            version += 1
        expected.update(prepared)
        assert saved["version"] == version
    stored = service.get("note", record["id"])
    assert {name: stored[name] for name in TRACKED} == expected
    assert stored["version"] == version
    # replay the audit trail: create rows, then each update row, oldest first
    history = service.tables.system("atrium_history")
    with engine.connect() as connection:
        rows = connection.execute(sa.select(history).where(history.c.entity == "note",
                                                           history.c.record_id == record["id"])
                                  .order_by(history.c.id)).mappings().all()
    replayed = {name: None for name in TRACKED}
    for row in rows:
        if row["field"] in replayed:
            if row["action"] == "update":
                assert row["old_value"] == replayed[row["field"]]
            replayed[row["field"]] = row["new_value"]
    assert replayed == {name: json_value(value) for name, value in expected.items()}
    assert sum(1 for row in rows if row["action"] == "update") >= version - 1


# --- coercion over anything ---------------------------------------------------------------------

JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=10)
SHAPED = st.sampled_from([
    "1e999999999", "-1e999999999", "9" * 400, "0x10", "1_000", "١٢٣", "１２３", "NaN", "-inf", "1,2,3",
    "2026-02-29", "0001-01-01T00:00", "9999-12-31T23:59:59-12:00", "2026-03-31T14:30+14:00", "[1, [2]]",
    "[", "90.0, 180.0, x", "-90,-180", "nan, nan", "1e308, 1e308", "¥", "CNY", "%", "是", "\x00", "\u3000",
])
ANYTHING = st.one_of(
    # (a signalling NaN Decimal cannot come from a form or JSON, and refuses even ==)
    JSONISH, SHAPED, st.decimals().filter(lambda d: not d.is_snan()), st.dates(), st.datetimes(),
    st.datetimes(timezones=st.timezones()),
    st.integers(min_value=-(2 ** 80), max_value=2 ** 80), st.floats(allow_nan=True, allow_infinity=True),
    st.from_regex(r"\s*[-+]?[0-9,.]{1,25}(e[-+]?[0-9]{1,4})?%?\s*", fullmatch=True),
    st.from_regex(r"[0-9]{4}[-/][0-9]{1,2}[-/][0-9]{1,2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2})?)?", fullmatch=True),
    st.tuples(st.floats(), st.floats()).map(lambda pair: f"{pair[0]}, {pair[1]}"),
    st.builds(set, st.lists(st.sampled_from(["a", "b", 1]), max_size=3)), st.binary(max_size=8),
)


@pytest.mark.parametrize("kind", FIELD_TYPES)
@settings(max_examples=80, deadline=None)
@given(value=ANYTHING, timezone=st.sampled_from(["UTC", "Asia/Shanghai", "Pacific/Kiritimati", "America/Adak"]))
def test_coercion_raises_only_coercion_errors_and_is_stable(kind, value, timezone):
    field = Field(name="f", type=kind, label=Label.of(None, "f"), format="{seq}",
                  options=tuple(Option(value=v, label=Label.of(None, str(v))) for v in ("a", "b", 1)))
    try:
        stored = coerce(field, value, timezone)
    except CoercionError:
        return
    # what was stored coerces to itself: saving a record again never changes it
    assert coerce(field, stored, timezone) == stored
    if isinstance(stored, dt.datetime):
        assert stored.utcoffset() == dt.timedelta(0)
