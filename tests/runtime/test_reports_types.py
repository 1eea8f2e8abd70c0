"""Funnel and time series reports, checked against the records and stage moves the kit made:
the funnel from the stage history (reached a stage or a later one; conversion from step to step;
a period limits the moves counted), the time series per bucket with every bucket of its range, the
previous period or year beside each, in the blueprint's time zone, on SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import pytest
from report_kit import TODAY, ZONE, build_world, module_database

from atrium.runtime.reports.compiler import ReportRequest

pytestmark = pytest.mark.database

LADDER = ["lead", "qualify", "propose", "won"]
REPORTS = {
    "funnel": {"type": "funnel", "pipeline": "deal", "measures": {"deals": "count", "amount": {"sum": "amount"}},
               "metrics": {"mean": "amount / deals if deals else 0"}},
    "funnel_recent": {"type": "funnel", "pipeline": "deal", "period": {"within": "last_90_days"},
                      "where": {"region": {"is_set": True}}},
    "series": {"type": "timeseries", "source": "deal", "where": {"close_on": {"within": "this_year"}},
               "period": {"field": "close_on", "bucket": "month", "compare": "previous_period"},
               "measures": {"deals": "count", "amount": {"sum": "amount"}, "top": {"max": "amount"}},
               "metrics": {"mean": "amount / deals if deals else 0"}, "totals": True},
    "weekly": {"type": "timeseries", "source": "deal",
               "period": {"field": "closed_at", "bucket": "week", "compare": "previous_year"},
               "measures": {"deals": "count"}},
    "quarters": {"type": "timeseries", "source": "deal", "group_by": ["region"],
                 "period": {"field": "close_on", "bucket": "quarter", "within": "this_year"},
                 "measures": {"deals": "count"}},
}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    with module_database(tmp_path_factory) as (engine, url):
        yield build_world(tmp_path_factory.mktemp("bp"), engine, url, REPORTS)


def run(world, who, name, **request):
    return world.reports.run(world.actor(who), name, ReportRequest(**request))


def percent(part, whole):
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def funnel_oracle(world, deals, since=None):
    zone = ZoneInfo(ZONE)
    ids = {d["id"]: d for d in deals}
    furthest, lost = {}, set()
    for record, stage, at in world.moves:
        if record not in ids or (since and not since <= at.astimezone(zone).date()):
            continue
        if stage == "lost":
            lost.add(record)
        else:
            furthest[record] = max(furthest.get(record, -1), LADDER.index(stage))
    steps = [[ids[r] for r, f in furthest.items() if f >= i] for i in range(len(LADDER))]
    return steps, [ids[r] for r in lost]


@pytest.mark.parametrize("who", ["boss", "mgr", "rep3"])
def test_funnel_counts_records_that_reached_each_stage_with_conversion(world, who):
    steps, lost = funnel_oracle(world, world.readable(who, world.deals))
    result = run(world, who, "funnel")
    assert [r["stage"] for r in result.rows] == LADDER + ["lost"]
    for i, (row, members) in enumerate(zip(result.rows, steps, strict=False)):
        assert row["deals"] == len(members)
        assert row["amount"] == sum((d["amount"] for d in members), Decimal("0.00"))
        assert row["conversion"] == (percent(len(members), len(steps[i - 1])) if i else None)
        assert row["conversion_from_first"] == percent(len(members), len(steps[0]))
        assert row["mean"] == pytest.approx(float(row["amount"]) / len(members) if members else 0, abs=1e-5)
    assert result.rows[-1]["deals"] == len(lost) and result.rows[-1]["conversion"] is None
    assert all(a["deals"] >= b["deals"] for a, b in zip(result.rows[:3], result.rows[1:4], strict=False))
    assert [c.name for c in result.columns] == ["stage", "deals", "amount", "conversion",
                                                "conversion_from_first", "mean"]
    assert result.to_json("zh")["labels"]["stage"]["won"] == "赢单"


def test_a_funnel_period_counts_only_the_moves_made_in_it(world):
    since = TODAY - dt.timedelta(days=89)
    deals = [d for d in world.deals if d["region"] is not None]
    steps, lost = funnel_oracle(world, deals, since)
    result = run(world, "boss", "funnel_recent")
    assert [r["records"] for r in result.rows] == [len(s) for s in steps] + [len(lost)]
    assert result.period == (since, TODAY + dt.timedelta(days=1))
    everything = run(world, "boss", "funnel_recent", period="last_365_days").rows
    assert everything[0]["records"] == len(funnel_oracle(world, deals)[0][0])


def months_of(year):
    return [dt.date(year, m, 1) for m in range(1, 13)]


def previous_month(day):
    return (day - dt.timedelta(days=1)).replace(day=1)


@pytest.mark.parametrize("who", ["boss", "rep1"])
def test_time_series_has_every_month_of_its_range_beside_the_previous_one(world, who):
    deals = [d for d in world.readable(who, world.deals) if d["close_on"]]
    in_month = lambda start: [d for d in deals if d["close_on"].replace(day=1) == start]  # noqa: E731
    result = run(world, who, "series")
    assert result.period == (dt.date(TODAY.year, 1, 1), dt.date(TODAY.year + 1, 1, 1))
    assert [r["close_on"] for r in result.rows] == months_of(TODAY.year)
    for row in result.rows:
        now, before = in_month(row["close_on"]), in_month(previous_month(row["close_on"]))
        assert row["deals"] == len(now) and row["deals_previous"] == len(before)
        assert row["amount"] == sum((d["amount"] for d in now), Decimal("0.00"))
        assert row["top"] == (max(d["amount"] for d in now) if now else None)
        assert row["deals_change"] == (percent(len(now) - len(before), len(before)) if before else None)
        assert row["mean"] == pytest.approx(float(row["amount"]) / len(now) if now else 0, abs=1e-5)
        assert row["mean_previous"] == pytest.approx(
            float(sum(d["amount"] for d in before)) / len(before) if before else 0, abs=1e-5)
    january = result.rows[0]  # its previous month lies before the range: read all the same
    assert january["deals_previous"] == len(in_month(dt.date(TODAY.year - 1, 12, 1)))
    assert result.totals["deals"] == len([d for d in deals if d["close_on"].year == TODAY.year])
    names = [c.name for c in result.columns]
    assert names[:5] == ["close_on", "deals", "deals_previous", "deals_change", "amount"]
    assert result.column("deals_previous").label.text("zh") == "记录数（上期）"


def test_weekly_series_buckets_date_times_by_the_local_monday(world):
    zone = ZoneInfo(ZONE)
    local = [d["closed_at"].astimezone(zone).date() for d in world.deals if d["closed_at"]]
    monday = lambda day: day - dt.timedelta(days=day.weekday())  # noqa: E731
    counts = {}
    for day in local:
        counts[monday(day)] = counts.get(monday(day), 0) + 1
    result = run(world, "boss", "weekly")
    first, last = min(counts), max(counts)
    weeks = [first + dt.timedelta(weeks=i) for i in range((last - first).days // 7 + 1)]
    assert [r["closed_at"] for r in result.rows] == weeks
    assert {r["closed_at"]: r["deals"] for r in result.rows if r["deals"]} == counts
    for row in result.rows:
        assert row["deals_previous"] == counts.get(row["closed_at"] - dt.timedelta(weeks=52), 0)
    assert result.text(result.column("closed_at"), weeks[0], "en") == \
        f"{weeks[0].isocalendar()[0]}-W{weeks[0].isocalendar()[1]:02}"


def quarter(day):
    return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def test_series_split_by_a_group_fills_each_group_s_periods(world):
    quarters = [dt.date(TODAY.year, m, 1) for m in (1, 4, 7, 10)]
    result = run(world, "boss", "quarters")
    regions = list(dict.fromkeys(r["region"] for r in result.rows))
    assert set(regions) == {d["region"] for d in world.deals
                            if d["close_on"] and d["close_on"].year == TODAY.year}
    for region in regions:
        rows = [r for r in result.rows if r["region"] == region]
        assert [r["close_on"] for r in rows] == quarters
        for row in rows:
            assert row["deals"] == len([d for d in world.deals if d["region"] == region and d["close_on"]
                                        and quarter(d["close_on"]) == row["close_on"]])
    assert result.text(result.column("close_on"), quarters[1], "zh") == f"{TODAY.year}年第2季度"


def test_a_request_period_moves_the_series_range(world):
    result = run(world, "boss", "series", period="last_quarter")
    start = dt.date(TODAY.year, 1, 1)  # TODAY is in Q2
    assert [r["close_on"] for r in result.rows] == [start, dt.date(TODAY.year, 2, 1), dt.date(TODAY.year, 3, 1)]
    assert result.rows[0]["deals_previous"] == len([d for d in world.deals if d["close_on"]
                                                    and d["close_on"].replace(day=1) == dt.date(TODAY.year - 1, 12, 1)])


def test_a_funnel_document_made_on_the_fly_runs_like_a_shipped_one(world):
    from types import MappingProxyType

    from atrium.metadata.model import Document, Label
    document = Document("widget", MappingProxyType({"type": "funnel", "pipeline": "deal", "where": {"region": "east"}}),
                        Label.of("Deals"))
    steps, lost = funnel_oracle(world, [d for d in world.readable("rep1", world.deals) if d["region"] == "east"])
    result = world.reports.run_document(world.actor("rep1"), document)
    assert [r["records"] for r in result.rows] == [len(s) for s in steps] + [len(lost)]
