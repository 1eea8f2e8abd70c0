"""The periods of periodic reports: a local day, a week from Monday, a calendar month, in the
blueprint's time zone; and when a period's report is due (for reminders)."""
from __future__ import annotations

import calendar as months
import datetime as dt
from zoneinfo import ZoneInfo

from atrium.runtime.query.periods import as_bounds

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_WEEKDAY = "fri"


def period_start(period: str, day: dt.date) -> dt.date:
    """The first day of the period holding `day`."""
    if period == "week":
        return day - dt.timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    return day


def period_end(period: str, start: dt.date) -> dt.date:
    """The first day after the period starting on `start`."""
    if period == "week":
        return start + dt.timedelta(weeks=1)
    if period == "month":
        return (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return start + dt.timedelta(days=1)


def next_start(period: str, start: dt.date) -> dt.date:
    return period_end(period, start)


def previous_start(period: str, start: dt.date) -> dt.date:
    return period_start(period, start - dt.timedelta(days=1))


def is_start(period: str, day: dt.date) -> bool:
    return period_start(period, day) == day


def bounds(period: str, start: dt.date, temporal: str, timezone: str) -> tuple[object, object]:
    """[low, high) to compare a date or date-time column with (date-times from local midnight)."""
    return as_bounds(start, period_end(period, start), temporal, timezone)


def due_at(period: str, start: dt.date, due: str, due_day: object, timezone: str) -> dt.datetime:
    """When the report of the period starting on `start` is due, as an aware date-time."""
    hour, minute = (int(part) for part in due.split(":"))
    if period == "week":
        day = start + dt.timedelta(days=WEEKDAYS.index(str(due_day or DEFAULT_WEEKDAY)))
    elif period == "month":
        last = months.monthrange(start.year, start.month)[1]
        day = start.replace(day=int(due_day) if isinstance(due_day, int) else last)
    else:
        day = start
    return dt.datetime.combine(day, dt.time(hour, minute), ZoneInfo(timezone))
