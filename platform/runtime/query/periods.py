"""Relative periods (`this_quarter`, `last_30_days` ...) as [start, end) date ranges in a time zone."""
from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

RELATIVE_DAYS = re.compile(r"^(last|next)_(\d+)_days$")


def local_today(now: dt.datetime, timezone: str) -> dt.date:
    return now.astimezone(ZoneInfo(timezone)).date()


def _quarter_start(day: dt.date) -> dt.date:
    return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def period_range(name: str, today: dt.date) -> tuple[dt.date, dt.date]:
    """The dates a period covers, as [start, end): `end` is the first day after it."""
    match = RELATIVE_DAYS.match(name)
    if match:
        days = int(match.group(2))
        if match.group(1) == "last":  # the last N days, today included
            return today - dt.timedelta(days=days - 1), today + dt.timedelta(days=1)
        return today, today + dt.timedelta(days=days)
    if name in ("today", "yesterday", "tomorrow"):
        day = today + dt.timedelta(days={"today": 0, "yesterday": -1, "tomorrow": 1}[name])
        return day, day + dt.timedelta(days=1)
    relation, _, unit = name.partition("_")
    shift = {"this": 0, "last": -1, "next": 1}[relation]
    if unit == "week":
        start = today - dt.timedelta(days=today.weekday()) + dt.timedelta(weeks=shift)
        return start, start + dt.timedelta(weeks=1)
    if unit == "month":
        start = _add_months(today.replace(day=1), shift)
        return start, _add_months(start, 1)
    if unit == "quarter":
        start = _add_months(_quarter_start(today), 3 * shift)
        return start, _add_months(start, 3)
    if unit == "year":
        start = dt.date(today.year + shift, 1, 1)
        return start, dt.date(start.year + 1, 1, 1)
    raise ValueError(f"unknown period {name!r}")


def as_bounds(start: dt.date, end: dt.date, temporal: str, timezone: str):
    """Bounds to compare a date or datetime column with: dates as they are, datetimes at local midnight."""
    if temporal == "datetime":
        zone = ZoneInfo(timezone)
        return (dt.datetime.combine(start, dt.time(), zone).astimezone(dt.timezone.utc),
                dt.datetime.combine(end, dt.time(), zone).astimezone(dt.timezone.utc))
    return start, end
