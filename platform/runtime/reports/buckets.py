"""Date buckets (day, week, month, quarter, year) for report groups, defined once for both databases.

A bucket is named by its first day, as text 'YYYY-MM-DD', on SQLite and PostgreSQL alike: the text
sorts chronologically, compares equal across databases, and turns back into a `date` in Python.
Weeks start on Monday (ISO 8601), quarters in January, April, July and October.

Date fields are bucketed as they are. Date-time fields are stored in UTC and bucketed by their
local date in the blueprint's time zone: PostgreSQL converts with `timezone(zone, column)`, which
knows daylight saving time. SQLite has no time-zone database, so the UTC offset is computed here
from zoneinfo: a constant when the zone has had one offset since 1970 (UTC, Asia/Kolkata), else a
binary tree of CASE expressions over the zone's transitions between 1970 and 2070 (a few levels
deep: cheap per row). Outside those years a DST zone uses the offset at the nearest edge.

The SQL pieces that must read the same in SELECT and GROUP BY (units, formats, the zone name) are
rendered as SQL literals, not bound parameters: PostgreSQL only accepts a grouped expression in
the select list when it is textually the same, and two bound parameters never are. They are
constants of this module or the blueprint's validated time zone, never user input.
"""
from __future__ import annotations

import datetime as dt
import functools
import re
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from atrium.runtime.schema.tables import UTCDateTime
from atrium.translation import N_, word

BUCKETS = ("day", "week", "month", "quarter", "year")
TRANSITION_YEARS = (1970, 2070)
_ZONE_NAME = re.compile(r"^[A-Za-z0-9_+\-/]+$")


# --- the buckets in Python ----------------------------------------------------------------------

def add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def bucket_start(day: dt.date, bucket: str) -> dt.date:
    if bucket == "day":
        return day
    if bucket == "week":
        return day - dt.timedelta(days=day.weekday())
    if bucket == "month":
        return day.replace(day=1)
    if bucket == "quarter":
        return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    if bucket == "year":
        return dt.date(day.year, 1, 1)
    raise ValueError(f"unknown bucket {bucket!r}")


def shift(start: dt.date, bucket: str, steps: int) -> dt.date:
    """The start of the bucket `steps` buckets after (or before) the one starting at `start`."""
    if bucket == "day":
        return start + dt.timedelta(days=steps)
    if bucket == "week":
        return start + dt.timedelta(weeks=steps)
    return add_months(start, steps * {"month": 1, "quarter": 3, "year": 12}[bucket])


def year_before(start: dt.date, bucket: str) -> dt.date:
    """The same bucket a year earlier: 52 weeks for weeks, the same date (28 Feb for 29 Feb) for days."""
    if bucket == "week":
        return start - dt.timedelta(weeks=52)
    if bucket == "day":
        try:
            return start.replace(year=start.year - 1)
        except ValueError:
            return start.replace(year=start.year - 1, day=28)
    return add_months(start, -12)


def buckets_between(start: dt.date, end: dt.date, bucket: str) -> list[dt.date]:
    """The starts of the buckets that cover [start, end)."""
    result, current = [], bucket_start(start, bucket)
    while current < end:
        result.append(current)
        current = shift(current, bucket, 1)
    return result


def covering_range(start: dt.date, end: dt.date, bucket: str) -> tuple[dt.date, dt.date]:
    """[start, end) widened to whole buckets."""
    last = bucket_start(end - dt.timedelta(days=1), bucket)
    return bucket_start(start, bucket), shift(last, bucket, 1)


BUCKET_WORDS = {
    "week": N_("{year}-W{week:02}"),
    "month": N_("{year}-{month:02}"),
    "quarter": N_("{year} Q{quarter}"),
    "year": N_("{year}"),
}


def bucket_label(start: dt.date | None, bucket: str, locale: str) -> str:
    """How a bucket reads: 2026-03 / 2026年3月, 2026 Q1 / 2026年第1季度, 2026-W10 / 2026年第10周."""
    if start is None:
        return ""
    if bucket == "day":
        return start.isoformat()
    iso_year, iso_week, _ = start.isocalendar()
    return word(BUCKET_WORDS[bucket], locale, year=iso_year if bucket == "week" else start.year, week=iso_week,
                month=start.month, quarter=(start.month - 1) // 3 + 1)


# --- the buckets in SQL -------------------------------------------------------------------------

def _text(value: str) -> sa.ColumnElement:
    """A constant of this module as an SQL string literal (see the module's note)."""
    assert "'" not in value
    return sa.literal_column(f"'{value}'", sa.String)


def bucket_sql(column: sa.ColumnElement, temporal: str, bucket: str, dialect: str,
               timezone: str) -> sa.ColumnElement:
    """The first day of the bucket a date or date-time column falls in, as 'YYYY-MM-DD' text."""
    if bucket not in BUCKETS:
        raise ValueError(f"unknown bucket {bucket!r}")
    if dialect == "postgresql":
        return _postgresql(column, temporal, bucket, timezone)
    local = _sqlite_local(column, timezone) if temporal == "datetime" else column
    return _sqlite(local, bucket)


def _postgresql(column: sa.ColumnElement, temporal: str, bucket: str, timezone: str) -> sa.ColumnElement:
    if temporal == "datetime":
        if not _ZONE_NAME.match(timezone):
            raise ValueError(f"invalid time zone {timezone!r}")
        local: sa.ColumnElement = sa.func.timezone(_text(timezone), column, type_=sa.DateTime)
    else:
        local = sa.cast(column, sa.DateTime)
    truncated = local if bucket == "day" else sa.func.date_trunc(_text(bucket), local, type_=sa.DateTime)
    return sa.func.to_char(truncated, _text("YYYY-MM-DD"), type_=sa.String)


def _sqlite(local: sa.ColumnElement, bucket: str) -> sa.ColumnElement:
    strftime = lambda pattern: sa.func.strftime(_text(pattern), local, type_=sa.String)  # noqa: E731
    if bucket == "day":
        return sa.func.date(local, type_=sa.String)
    if bucket == "week":  # forward to Sunday (or stay), back six days: the Monday
        return sa.func.date(local, _text("weekday 0"), _text("-6 days"), type_=sa.String)
    if bucket == "month":
        return strftime("%Y-%m-01")
    if bucket == "year":
        return strftime("%Y-01-01")
    month = strftime("%m")
    first_month = sa.case((month <= _text("03"), _text("01")), (month <= _text("06"), _text("04")),
                          (month <= _text("09"), _text("07")), else_=_text("10"))
    return strftime("%Y-") + first_month + _text("-01")


def _sqlite_local(column: sa.ColumnElement, timezone: str) -> sa.ColumnElement:
    """The local date-time of a UTC column, as SQLite text."""
    offsets = zone_offsets(timezone)
    return sa.func.datetime(column, _offset_tree(column, offsets, 0, len(offsets) - 1), type_=sa.String)


def _modifier(seconds: int) -> sa.ColumnElement:
    return _text(f"{seconds:+d} seconds")


def _offset_tree(column: sa.ColumnElement, offsets: list[tuple[dt.datetime | None, int]], low: int,
                 high: int) -> sa.ColumnElement:
    """The offset of the segment `column` falls in, by bisection over segments low..high."""
    if low == high:
        return _modifier(offsets[low][1])
    middle = (low + high + 1) // 2
    since = sa.literal_column(f"'{offsets[middle][0]:%Y-%m-%d %H:%M:%S}'", UTCDateTime())
    return sa.case((column < since, _offset_tree(column, offsets, low, middle - 1)),
                   else_=_offset_tree(column, offsets, middle, high))


@functools.lru_cache(maxsize=8)
def zone_offsets(timezone: str) -> list[tuple[dt.datetime | None, int]]:
    """[(naive UTC start, offset seconds)] for the zone between TRANSITION_YEARS; the first
    segment starts at None. One segment when the offset never changed."""
    zone = ZoneInfo(timezone)
    first, last = (dt.datetime(year, 1, 1, tzinfo=dt.timezone.utc) for year in TRANSITION_YEARS)
    offset = lambda moment: int(moment.astimezone(zone).utcoffset().total_seconds())  # noqa: E731
    segments: list[tuple[dt.datetime | None, int]] = [(None, offset(first))]
    day, moment = dt.timedelta(days=1), first
    while moment < last:
        following = moment + day
        if offset(following) != segments[-1][1]:
            low, high = moment, following  # the change happens in (low, high]
            while (high - low).total_seconds() > 1:
                middle = low + (high - low) / 2
                if offset(middle) == segments[-1][1]:
                    low = middle
                else:
                    high = middle
            segments.append((high.replace(tzinfo=None, microsecond=0), offset(following)))
        moment = following
    return segments
