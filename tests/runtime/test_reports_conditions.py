"""Every condition operator in a report's filter, and date buckets on both databases.

Each operator's result (count and sum of the matching records) is checked against the same
condition written in Python over the records; values come as YAML or a query string gives them
(text), typed by the field. The buckets are checked on a table of dates and date-times around
month, quarter, year and daylight-saving edges, in zones with and without DST."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from hypothesis import given, settings, strategies as st
from report_kit import NOW, TODAY, ZONE, build_world, module_database

from atrium.runtime.query.periods import period_range
from atrium.runtime.reports.buckets import (
    BUCKETS,
    bucket_label,
    bucket_sql,
    bucket_start,
    buckets_between,
    covering_range,
    shift,
    year_before,
    zone_offsets,
)
from atrium.runtime.reports.compiler import ReportRequest
from atrium.runtime.schema.tables import UTCDateTime

ZONE_INFO = ZoneInfo(ZONE)
REPORTS = {"everything": {"source": "deal", "measures": {"deals": "count", "amount": {"sum": "amount"}}},
           "open_east": {"source": "deal", "where": {"stage": {"in": ["lead", "qualify"]}, "region": "east",
                                                     "close_on": {"between": ["2026-01-01", "2026-06-30"]}},
                         "measures": {"deals": "count"}}}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    with module_database(tmp_path_factory) as (engine, url):
        yield build_world(tmp_path_factory.mktemp("bp"), engine, url, REPORTS)


def local(moment):
    return moment.astimezone(ZONE_INFO).date() if moment else None


def within(day, period):
    start, end = period_range(period, TODAY)
    return day is not None and start <= day < end


def entered(world, deal):
    return max(at for record, _, at in world.moves if record == deal["id"])


CASES = [
    ({"stage": {"eq": "won"}}, lambda d, w: d["stage"] == "won"),
    ({"stage": "won"}, lambda d, w: d["stage"] == "won"),
    ({"region": None}, lambda d, w: d["region"] is None),
    ({"region": {"ne": "east"}}, lambda d, w: d["region"] != "east"),
    ({"region": {"ne": None}}, lambda d, w: d["region"] is not None),
    ({"stage": {"in": ["lead", "won"]}}, lambda d, w: d["stage"] in ("lead", "won")),
    ({"region": {"not_in": ["east"]}}, lambda d, w: d["region"] != "east"),
    ({"amount": {"lt": "5000"}}, lambda d, w: d["amount"] < 5000),
    ({"amount": {"lte": 10000.25}}, lambda d, w: d["amount"] <= Decimal("10000.25")),
    ({"size": {"gt": 2}}, lambda d, w: d["size"] is not None and d["size"] > 2),
    ({"score": {"gte": 5.5}}, lambda d, w: d["score"] >= 5.5),
    ({"rate": {"between": [20, "60"]}}, lambda d, w: 20 <= d["rate"] <= 60),
    ({"close_on": {"between": ["2026-02-01", "2026-04-30"]}},
     lambda d, w: d["close_on"] is not None and dt.date(2026, 2, 1) <= d["close_on"] <= dt.date(2026, 4, 30)),
    ({"closed_at": {"gte": "2026-03-01T00:00:00+08:00"}},
     lambda d, w: (d["closed_at"] is not None
                   and d["closed_at"] >= dt.datetime(2026, 2, 28, 16, tzinfo=dt.timezone.utc))),
    ({"close_on": {"lt": "2026-05-15"}}, lambda d, w: d["close_on"] is not None and d["close_on"] < TODAY),
    ({"note": {"is_set": True}}, lambda d, w: d["note"] is not None),
    ({"note": {"is_set": False}}, lambda d, w: d["note"] is None),
    ({"note": {"contains": "big"}}, lambda d, w: d["note"] is not None and "big" in d["note"].lower()),
    ({"tags": {"contains": "red"}}, lambda d, w: "red" in (d["tags"] or [])),
    ({"tags": {"eq": "blue"}}, lambda d, w: "blue" in (d["tags"] or [])),
    ({"tags": {"in": ["red", "blue"]}}, lambda d, w: bool(d["tags"])),
    ({"hot": True}, lambda d, w: d["hot"] is True),
    ({"hot": {"ne": True}}, lambda d, w: d["hot"] is not True),
    ({"close_on": {"within": "this_month"}}, lambda d, w: within(d["close_on"], "this_month")),
    ({"close_on": {"within": "last_quarter"}}, lambda d, w: within(d["close_on"], "last_quarter")),
    ({"close_on": {"within": "next_30_days"}}, lambda d, w: within(d["close_on"], "next_30_days")),
    ({"close_on": {"within": "last_60_days"}}, lambda d, w: within(d["close_on"], "last_60_days")),
    ({"closed_at": {"within": "this_quarter"}}, lambda d, w: within(local(d["closed_at"]), "this_quarter")),
    ({"closed_at": {"within": "this_year"}}, lambda d, w: within(local(d["closed_at"]), "this_year")),
    ({"close_on": {"older_than_days": 10}},
     lambda d, w: d["close_on"] is not None and d["close_on"] < TODAY - dt.timedelta(days=10)),
    ({"closed_at": {"newer_than_days": 40}},
     lambda d, w: d["closed_at"] is not None and local(d["closed_at"]) >= TODAY - dt.timedelta(days=40)),
    ({"account.tier": "gold"}, lambda d, w: d["account"] in {a["id"] for a in w.accounts if a["tier"] == "gold"}),
    ({"account.tier": {"is_set": False}},
     lambda d, w: d["account"] not in {a["id"] for a in w.accounts if a["tier"]}),
    ({"stage": {"in_stage_longer_than_days": 30}}, lambda d, w: entered(w, d) < NOW - dt.timedelta(days=30)),
    ({"stage": {"stalled": True}},
     lambda d, w: d["stage"] in ("lead", "qualify", "propose") and entered(w, d) < NOW - dt.timedelta(days=14)),
    ({"amount": {"gte": 1000, "lt": 20000}, "region": {"in": ["east", "west"]}},
     lambda d, w: 1000 <= d["amount"] < 20000 and d["region"] in ("east", "west")),
]


@pytest.mark.database
@pytest.mark.parametrize("condition, holds", CASES, ids=[str(c) for c, _ in CASES])
def test_every_operator_filters_like_its_definition(world, condition, holds):
    expected = [d for d in world.deals if holds(d, world)]
    row = world.reports.run(world.actor(None), "everything", ReportRequest(filters=condition)).rows[0]
    assert row["deals"] == len(expected), condition
    assert row["amount"] == sum((d["amount"] for d in expected), Decimal("0.00"))


@pytest.mark.database
def test_a_report_where_combines_its_conditions(world):
    expected = [d for d in world.readable("rep1", world.deals) if d["stage"] in ("lead", "qualify")
                and d["region"] == "east" and d["close_on"]
                and dt.date(2026, 1, 1) <= d["close_on"] <= dt.date(2026, 6, 30)]
    assert world.reports.run(world.actor("rep1"), "open_east").rows[0]["deals"] == len(expected)


EDGES = [dt.date(2024, 2, 29), dt.date(2025, 12, 31), dt.date(2026, 1, 1), dt.date(2026, 3, 29),
         dt.date(2026, 3, 31), dt.date(2026, 4, 1), dt.date(2026, 6, 30), dt.date(2026, 9, 28),
         dt.date(2026, 10, 4), dt.date(2026, 10, 25), dt.date(2026, 12, 28), dt.date(2027, 1, 3)]
ZONES = ["Asia/Shanghai", "Europe/Berlin", "America/New_York", "UTC"]


@pytest.mark.parametrize("zone", ZONES)
def test_buckets_are_the_same_on_both_databases_and_in_the_local_zone(engine, zone):
    """Dates and UTC date-times around edges (month ends, DST changes in March and October, the
    evening before a new year) bucket like Python says, in the blueprint's zone."""
    metadata = sa.MetaData()
    table = sa.Table("moments", metadata, sa.Column("id", sa.Integer, primary_key=True),
                     sa.Column("day", sa.Date), sa.Column("at", UTCDateTime()))
    metadata.create_all(engine)
    moments = [dt.datetime.combine(day, dt.time(hour, minute), dt.timezone.utc)
               for day in EDGES for hour, minute in ((0, 30), (1, 0), (6, 59), (15, 59), (16, 0), (22, 30), (23, 59))]
    with engine.begin() as connection:
        connection.execute(table.insert(), [{"id": i, "day": m.date(), "at": m} for i, m in enumerate(moments)])
        for bucket in BUCKETS:
            dialect = connection.dialect.name
            query = sa.select(table.c.day, table.c.at, bucket_sql(table.c.day, "date", bucket, dialect, zone),
                              bucket_sql(table.c.at, "datetime", bucket, dialect, zone)).order_by(table.c.id)
            for day, at, day_key, at_key in connection.execute(query):
                assert day_key == bucket_start(day, bucket).isoformat(), (bucket, day)
                assert at_key == bucket_start(at.astimezone(ZoneInfo(zone)).date(), bucket).isoformat(), (bucket, at)
            grouped = connection.execute(sa.select(bucket_sql(table.c.at, "datetime", bucket, dialect, zone),
                                                   sa.func.count()).group_by(
                bucket_sql(table.c.at, "datetime", bucket, dialect, zone))).all()
            assert sum(count for _, count in grouped) == len(moments)


def test_zone_offsets_know_daylight_saving():
    berlin = zone_offsets("Europe/Berlin")
    assert (dt.datetime(2026, 3, 29, 1, 0), 7200) in berlin and (dt.datetime(2026, 10, 25, 1, 0), 3600) in berlin
    assert zone_offsets("UTC") == [(None, 0)]
    assert all(offset == 28800 for when, offset in zone_offsets("Asia/Shanghai") if when and when.year > 1991)


@settings(max_examples=200, deadline=None)
@given(st.dates(dt.date(1990, 1, 1), dt.date(2090, 12, 31)), st.sampled_from(BUCKETS))
def test_bucket_arithmetic(day, bucket):
    start = bucket_start(day, bucket)
    following = shift(start, bucket, 1)
    assert start <= day < following and bucket_start(following, bucket) == following
    assert shift(following, bucket, -1) == start
    assert bucket_start(year_before(start, bucket), bucket) == year_before(start, bucket)
    low, high = covering_range(day, day + dt.timedelta(days=40), bucket)
    assert buckets_between(low, high, bucket)[0] == start and high > day + dt.timedelta(days=39)
    assert bucket_label(start, bucket, "zh") and bucket_label(start, bucket, "en")
