"""A sales rep's dashboard on seeded demo data: the day's lists (tasks due, visits today, money
falling due, stalled orders), the won/pipeline/lost KPIs and the revenue target, the funnel, the
pipeline by stage and the loss board each equal a hand-written SQL query over the rep's own
records, computed as the dashboard page computes them for rep1. Won and lost orders count by the
day they were won or lost; "today" and "this month" are the blueprint's time zone's."""
from __future__ import annotations

import datetime as dt

import pytest
from dashboard_kit import (
    ZONE,
    assert_first_of,
    bounds,
    day,
    funnel_sql,
    listed_ids,
    money,
    query,
    rows,
    seeded_site,
    widget,
)

pytestmark = pytest.mark.database

REP = "rep1"
OPEN = "stage NOT IN ('won', 'lost')"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    with seeded_site(tmp_path_factory) as site:
        yield site


def shown(site, key: str):
    return widget(site, REP, "sales_rep", key)


def test_tasks_due_today_or_overdue_and_all_open_tasks(site):
    due = query(site, "SELECT id, due FROM task o WHERE NOT done AND due < :tomorrow {scope}", REP)
    assert_first_of(listed_ids(site, REP, "sales_rep", "tasks_due"), [(i, day(d)) for i, d in due], 8)
    assert due, "the demo rep has tasks due"
    every = query(site, "SELECT id, due FROM task o WHERE NOT done {scope}", REP)
    far = dt.date.max  # a task without a due date sorts last
    assert_first_of(listed_ids(site, REP, "sales_rep", "list:task:My open tasks"),
                    [(i, day(d) or far) for i, d in every], 8)


def test_visits_today_are_the_reps_visits_planned_for_today_in_the_blueprints_zone(site):
    today = bounds()["today"]
    start = dt.datetime.combine(today, dt.time(), ZONE).astimezone(dt.timezone.utc)
    visits = query(site, """SELECT id, planned_at FROM visit o WHERE planned_at >= :start AND planned_at < :end
        {scope}""", REP, start=start, end=start + dt.timedelta(days=1))
    listed = listed_ids(site, REP, "sales_rep", "list:visit:My visits today")
    assert sorted(listed) == sorted(i for i, _ in visits)[:10] or len(visits) > 10


def test_money_falling_due_is_the_open_instalments_due_within_seven_days_or_overdue(site):
    due = query(site, """SELECT id, due_on FROM instalment o WHERE status IN ('pending', 'partial', 'overdue')
        AND due_on < :week_end {scope}""", REP)
    assert_first_of(listed_ids(site, REP, "sales_rep", "instalments_due"), [(i, day(d)) for i, d in due], 8)
    assert due, "the demo rep has money falling due"


def test_stalled_orders_are_not_repeated_on_the_overdue_orders_table(site):
    now = dt.datetime.now(dt.timezone.utc)
    found = query(site, f"""SELECT id, expected_close FROM "order" o WHERE {OPEN}
        AND coalesce((SELECT max(changed_at) FROM atrium_stage_history h
                      WHERE h.entity = 'order' AND h.record_id = o.id), o.created_at) < :cutoff
        AND (expected_close IS NULL OR expected_close >= :today) {{scope}}""", REP, cutoff=now - dt.timedelta(days=14))
    far = dt.date.max
    stalled = listed_ids(site, REP, "sales_rep", "stalled_orders")
    assert_first_of(stalled, [(i, day(c) or far) for i, c in found], 8)
    late = query(site, f"""SELECT id, expected_close FROM "order" o WHERE {OPEN} AND expected_close < :today
        {{scope}}""", REP)
    overdue = [r["id"] for r in rows(site, REP, "sales_rep", "overdue_orders")]
    assert_first_of(overdue, [(i, day(c)) for i, c in late], 8)
    assert not set(stalled) & {i for i, _ in late}
    assert stalled and overdue, "the demo rep has orders of both kinds"


def test_won_this_month_against_the_reps_revenue_target(site):
    [(won,)] = query(site, """SELECT sum(amount) FROM "order" o WHERE stage = 'won'
        AND won_on >= :month AND won_on < :next_month {scope}""", REP)
    [(goal,)] = query(site, """SELECT sum(amount) FROM sales_target o WHERE metric = 'revenue'
        AND status = 'approved' AND month >= :month AND month < :next_month {scope}""", REP)
    kpi = shown(site, "won_this_month").kpi
    assert money(kpi["value"]) == money(won)
    assert money(kpi["target"]) == money(goal) > 0


def test_open_pipeline_and_lost_this_quarter_are_the_reps_own(site):
    [(pipeline,)] = query(site, f"""SELECT sum(amount) FROM "order" o WHERE {OPEN} {{scope}}""", REP)
    assert money(shown(site, "open_pipeline").kpi["value"]) == money(pipeline) > 0
    [(lost,)] = query(site, """SELECT sum(amount) FROM "order" o WHERE stage = 'lost'
        AND lost_on >= :quarter AND lost_on < :next_quarter {scope}""", REP)
    assert money(shown(site, "lost_this_quarter").kpi["value"]) == money(lost)


def test_the_reps_funnel_counts_their_orders_that_reached_each_stage(site):
    pipeline = site.blueprint.pipelines["order"]
    [reached] = query(site, funnel_sql("order", pipeline), REP)
    funnel = rows(site, REP, "sales_rep", "funnel:order")
    assert [r["stage"] for r in funnel] == [s.name for s in pipeline.stages]
    assert [r["records"] for r in funnel] == [int(n or 0) for n in reached]
    assert funnel[0]["records"] > 0


def test_pipeline_by_stage_this_quarter(site):
    found = query(site, f"""SELECT stage, expected_close, amount FROM "order" o WHERE {OPEN}
        AND expected_close >= :quarter AND expected_close < :next_quarter {{scope}}""", REP)
    expected: dict[tuple, list] = {}
    for stage, close, amount in found:
        totals = expected.setdefault((stage, day(close).replace(day=1)), [0, money(0)])
        totals[0] += 1
        totals[1] += money(amount)
    got = {(r["stage"], r["expected_close"]): [r["orders"], money(r["amount"])]
           for r in rows(site, REP, "sales_rep", "pipeline_by_stage")}
    assert got == expected


def test_the_loss_board_by_reason_and_its_list(site):
    where = """FROM "order" o WHERE stage = 'lost' AND lost_on >= :quarter AND lost_on < :next_quarter {scope}"""
    by_reason = query(site, f"SELECT lost_reason, count(*), sum(amount) {where} GROUP BY lost_reason", REP)
    got = [r for r in rows(site, REP, "sales_rep", "lost_by_reason") if r.get("lost_reason") is not None]
    assert sorted((r["lost_reason"], r["orders"], money(r["amount"])) for r in got) == \
        sorted((reason, n, money(amount)) for reason, n, amount in by_reason)
    lost = query(site, f"SELECT id, lost_on {where}", REP)
    listed = [r["id"] for r in rows(site, REP, "sales_rep", "lost_orders")]
    # newest loss first: the sort key negated
    assert_first_of(listed, [(i, -day(d).toordinal()) for i, d in lost], 8)
