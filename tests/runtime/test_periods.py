"""Relative periods, computed in the blueprint's time zone, and used identically on both databases."""
import datetime as dt

import pytest

from atrium.runtime.query.periods import as_bounds, local_today, period_range

TODAY = dt.date(2026, 11, 22)  # a Sunday


@pytest.mark.parametrize("name, start, end", [
    ("today", "2026-11-22", "2026-11-23"), ("yesterday", "2026-11-21", "2026-11-22"),
    ("this_week", "2026-11-16", "2026-11-23"), ("last_week", "2026-11-09", "2026-11-16"),
    ("this_month", "2026-11-01", "2026-12-01"), ("next_month", "2026-12-01", "2027-01-01"),
    ("this_quarter", "2026-10-01", "2027-01-01"), ("last_quarter", "2026-07-01", "2026-10-01"),
    ("this_year", "2026-01-01", "2027-01-01"), ("last_30_days", "2026-10-24", "2026-11-23"),
    ("next_7_days", "2026-11-22", "2026-11-29"),
])
def test_period_ranges(name, start, end):
    assert period_range(name, TODAY) == (dt.date.fromisoformat(start), dt.date.fromisoformat(end))


def test_today_is_local_to_the_blueprint():
    late_utc = dt.datetime(2026, 11, 22, 17, 30, tzinfo=dt.timezone.utc)
    assert local_today(late_utc, "Asia/Shanghai") == dt.date(2026, 11, 23)
    assert local_today(late_utc, "UTC") == dt.date(2026, 11, 22)


def test_datetime_bounds_start_at_local_midnight():
    start, end = as_bounds(dt.date(2026, 11, 1), dt.date(2026, 12, 1), "datetime", "Asia/Shanghai")
    assert start == dt.datetime(2026, 10, 31, 16, 0, tzinfo=dt.timezone.utc)
    assert end == dt.datetime(2026, 11, 30, 16, 0, tzinfo=dt.timezone.utc)
