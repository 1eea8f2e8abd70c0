"""The sales manager's dashboard, the widgets test_dashboard_manager_b2b.py leaves to here: the
team's tasks and money falling due, the weighted pipeline, the team funnel, the win rate this
quarter, visits and pipeline per rep, won revenue by month and the team's visits this week, each
equal to a hand-written SQL query over the records of the manager's team (east and its sub-team
south), computed as the dashboard page computes them for the manager (the what-it-takes widget and the
rep's visits against the visits target are checked in test_what_it_takes.py). "Today", weeks (from
Monday) and months are the blueprint's time zone's."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from dashboard_kit import (
    ZONE,
    actor_of,
    assert_first_of,
    bounds,
    day,
    funnel_sql,
    kpi_value,
    listed_ids,
    money,
    query,
    rows,
    seeded_site,
)

from atrium.runtime.reports.runner import Reports
from atrium.runtime.schema import preaggregates

pytestmark = pytest.mark.database

WHO = "manager"
BOARD = "sales_manager"
OPEN = "stage NOT IN ('won', 'lost')"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    with seeded_site(tmp_path_factory) as site:
        yield site


def test_the_teams_tasks_and_money_falling_due(site):
    due = query(site, "SELECT id, due FROM task o WHERE NOT done AND due < :tomorrow {scope}", WHO)
    assert_first_of(listed_ids(site, WHO, BOARD, "tasks_due"), [(i, day(d)) for i, d in due], 10)
    assert due, "the demo team has tasks due"
    money_due = query(site, """SELECT id, due_on FROM instalment o WHERE status IN ('pending', 'partial', 'overdue')
        AND due_on < :week_end {scope}""", WHO)
    assert_first_of(listed_ids(site, WHO, BOARD, "instalments_due"), [(i, day(d)) for i, d in money_due], 10)
    assert money_due, "the demo team has money falling due"


def test_the_weighted_pipeline_is_the_teams_open_orders_at_their_stage_probability(site):
    [(weighted,)] = query(site, f"""SELECT sum(amount * p.probability / 100.0) FROM "order" o
        JOIN (SELECT 'initial_contact' AS stage_name, 10 AS probability
              UNION ALL SELECT 'needs_confirmed', 25 UNION ALL SELECT 'proposal', 50
              UNION ALL SELECT 'negotiation', 75) p ON p.stage_name = o.stage
        WHERE {OPEN} {{scope}}""", WHO)
    assert money(kpi_value(site, WHO, BOARD, "open_pipeline")) == money(weighted) > 0


def test_the_team_funnel_counts_the_teams_orders_that_reached_each_stage(site):
    pipeline = site.blueprint.pipelines["order"]
    [reached] = query(site, funnel_sql("order", pipeline), WHO)
    funnel = rows(site, WHO, BOARD, "funnel:order")
    assert [r["stage"] for r in funnel] == [s.name for s in pipeline.stages]
    assert [r["records"] for r in funnel] == [int(n or 0) for n in reached]
    assert funnel[0]["records"] > 0


def test_the_win_rate_is_the_share_won_of_what_closed_this_quarter(site):
    [(won, lost)] = query(site, """SELECT
            sum(CASE WHEN stage = 'won' AND won_on >= :quarter AND won_on < :next_quarter THEN 1 ELSE 0 END),
            sum(CASE WHEN stage = 'lost' AND lost_on >= :quarter AND lost_on < :next_quarter THEN 1 ELSE 0 END)
        FROM "order" o WHERE 1 = 1 {scope}""", WHO)
    won, closed = int(won or 0), int(won or 0) + int(lost or 0)
    shown = kpi_value(site, WHO, BOARD, "win_rate_quarter")
    if not closed:
        assert shown is None
    else:
        assert abs(Decimal(str(shown)) - Decimal(won * 100) / closed) < Decimal("0.001")


def test_visits_this_month_per_rep_and_status(site):
    start = dt.datetime.combine(bounds()["month"], dt.time(), ZONE).astimezone(dt.timezone.utc)
    end = dt.datetime.combine(bounds()["next_month"], dt.time(), ZONE).astimezone(dt.timezone.utc)
    found = query(site, """SELECT owner, status, count(*) FROM visit o WHERE planned_at >= :start
        AND planned_at < :end {scope} GROUP BY owner, status""", WHO, start=start, end=end)
    shown = [(r["owner"], r["status"], r["visits"]) for r in rows(site, WHO, BOARD, "visits_by_owner")
             if r.get("owner") is not None and r.get("status") is not None]
    assert sorted(shown, key=str) == sorted(((o, s, n) for o, s, n in found if o is not None), key=str)
    assert found, "the demo team has visits this month"


def test_the_open_pipeline_per_rep_and_stage(site):
    by_owner = query(site, f"""SELECT owner, stage, count(*), sum(amount), sum(amount * p.probability / 100.0)
        FROM "order" o JOIN (SELECT 'initial_contact' AS stage_name, 10 AS probability
             UNION ALL SELECT 'needs_confirmed', 25 UNION ALL SELECT 'proposal', 50
             UNION ALL SELECT 'negotiation', 75) p ON p.stage_name = o.stage
        WHERE {OPEN} {{scope}} GROUP BY owner, stage""", WHO)
    shown = [(r["owner"], r["stage"], r["orders"], money(r["amount"]), money(r["weighted"]))
             for r in rows(site, WHO, BOARD, "pipeline_by_owner")]
    assert sorted(shown, key=str) == sorted(((o, s, n, money(a), money(w)) for o, s, n, a, w in by_owner), key=str)
    assert by_owner
    # read from the pre-aggregate by owner and stage alone, not one keyed by a date too (a row per day)
    served = Reports(site).compile(actor_of(site, WHO), "pipeline_by_owner").extra.get("preaggregate")
    shapes = preaggregates.shapes(site.blueprint, site.tables)
    assert [s.keys for s in shapes if s.name == served] == [("owner", "stage")]


def test_won_revenue_by_the_month_it_was_won(site):
    start = day(bounds()["today"] - dt.timedelta(days=364)).replace(day=1)  # whole months, as the series shows
    won = query(site, """SELECT won_on, amount FROM "order" o WHERE stage = 'won'
        AND won_on >= :start AND won_on < :next_month {scope}""", WHO, start=start)
    expected: dict[dt.date, list] = {}
    for won_on, amount in won:
        totals = expected.setdefault(day(won_on).replace(day=1), [Decimal(0), 0])
        totals[0] += money(amount)
        totals[1] += 1
    shown = {r["won_on"]: [money(r["amount"]), r["orders"]] for r in rows(site, WHO, BOARD, "revenue_by_month")
             if r["orders"]}
    assert shown == expected and expected


def test_the_teams_visits_this_week(site):
    today = bounds()["today"]
    monday = today - dt.timedelta(days=today.weekday())
    start = dt.datetime.combine(monday, dt.time(), ZONE).astimezone(dt.timezone.utc)
    visits = query(site, """SELECT id, planned_at FROM visit o WHERE planned_at >= :start AND planned_at < :end
        {scope}""", WHO, start=start, end=start + dt.timedelta(days=7))
    listed = listed_ids(site, WHO, BOARD, "list:visit:Team visits this week")
    assert len(listed) == min(10, len(visits)) and set(listed) <= {i for i, _ in visits}

