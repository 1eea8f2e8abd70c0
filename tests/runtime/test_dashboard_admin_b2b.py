"""The administrator's company overview on seeded demo data: every figure it shows (pipeline,
revenue against target, receivables, revenue by month, forecast, pipeline per rep, revenue
decomposition, top customers, RFM and level mix, the lead funnel, campaign ROI, the new leads)
equals a hand-written SQL query over the tables, computed as the dashboard page computes it for
the administrator. Won revenue counts by the day an order was won (won_on); months are the
blueprint's time zone's. Customer figures are summed from the orders themselves, not from the
customer's stored rollups, so a rollup that drifts fails here too."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from dashboard_kit import (
    assert_campaign_roi,
    bounds,
    day,
    funnel_sql,
    kpi_value,
    listed_ids,
    money,
    query,
    rows,
    seeded_site,
    widget,
)

pytestmark = pytest.mark.database

WON = """(SELECT customer, count(*) AS won, sum(amount) AS revenue, max(won_on) AS last_won FROM "order"
          WHERE stage = 'won' GROUP BY customer)"""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    with seeded_site(tmp_path_factory) as site:
        yield site


def test_open_pipeline_is_the_amount_of_the_orders_still_open(site):
    [(amount,)] = query(site, """SELECT sum(amount) FROM "order" o WHERE stage NOT IN ('won', 'lost')""", "admin")
    assert money(kpi_value(site, "admin", "admin", "open_pipeline")) == money(amount) > 0


def test_won_and_received_this_month_stand_beside_their_targets(site):
    [(won,)] = query(site, """SELECT sum(amount) FROM "order" o WHERE stage = 'won'
        AND won_on >= :month AND won_on < :next_month""", "admin")
    [(received,)] = query(site, """SELECT sum(amount) FROM receipt o WHERE received_on >= :month
        AND received_on < :next_month""", "admin")
    for report, value, metric in (("won_this_month", won, "revenue"), ("received_this_month", received, "collection")):
        [(goal,)] = query(site, f"""SELECT sum(amount) FROM sales_target o WHERE metric = '{metric}'
            AND status = 'approved' AND month >= :month AND month < :next_month""", "admin")
        shown = widget(site, "admin", "admin", report).kpi
        assert money(shown["value"]) == money(value)
        assert money(shown["target"]) == money(goal) > 0


def test_receivables_are_what_the_open_instalments_still_lack(site):
    [(outstanding,)] = query(site, """SELECT sum(i.planned_amount - coalesce(
            (SELECT sum(r.amount) FROM receipt r WHERE r.instalment = i.id), 0))
        FROM instalment i WHERE NOT i.voided
          AND coalesce((SELECT sum(r.amount) FROM receipt r WHERE r.instalment = i.id), 0) < i.planned_amount""",
                             "admin")
    assert money(kpi_value(site, "admin", "admin", "receivables")) == money(outstanding) > 0


def _month(value) -> dt.date:
    return day(value).replace(day=1)


def _month_after(month: dt.date) -> dt.date:
    return (month + dt.timedelta(days=32)).replace(day=1)


def test_revenue_by_month_buckets_won_orders_by_the_month_they_were_won(site):
    # the last 365 days, widened to whole months (a time series shows whole buckets)
    start = _month(bounds()["today"] - dt.timedelta(days=364))
    won = query(site, """SELECT won_on, amount FROM "order" o WHERE stage = 'won'
        AND won_on >= :start AND won_on < :next_month""", "admin", start=start)
    expected: dict[dt.date, list] = {}
    for won_on, amount in won:
        totals = expected.setdefault(_month(won_on), [Decimal(0), 0])
        totals[0] += money(amount)
        totals[1] += 1
    shown = {r["won_on"]: [money(r["amount"]), r["orders"]] for r in rows(site, "admin", "admin", "revenue_by_month")
             if r["orders"]}
    assert shown == expected and expected


def test_open_orders_by_stage_and_by_rep(site):
    by_stage = query(site, """SELECT stage, count(*), sum(amount) FROM "order" o
        WHERE stage NOT IN ('won', 'lost') GROUP BY stage""", "admin")
    shown = [(r["stage"], r["orders"], money(r["amount"])) for r in rows(site, "admin", "admin", "orders_by_stage")]
    assert sorted(shown) == sorted((s, n, money(a)) for s, n, a in by_stage)
    by_owner = query(site, """SELECT owner, stage, count(*), sum(amount), sum(amount * p.probability / 100.0)
        FROM "order" o JOIN (SELECT 'initial_contact' AS stage_name, 10 AS probability
             UNION ALL SELECT 'needs_confirmed', 25 UNION ALL SELECT 'proposal', 50
             UNION ALL SELECT 'negotiation', 75) p ON p.stage_name = o.stage
        GROUP BY owner, stage""", "admin")
    shown = [(r["owner"], r["stage"], r["orders"], money(r["amount"]), money(r["weighted"]))
             for r in rows(site, "admin", "admin", "pipeline_by_owner")]
    assert sorted(shown, key=str) == sorted(((o, s, n, money(a), money(w)) for o, s, n, a, w in by_owner), key=str)


def test_the_forecast_sums_open_orders_by_expected_close_month_at_the_stage_probability(site):
    # the next 180 days widened to whole months: the open orders due earlier this month count too
    last = bounds()["today"] + dt.timedelta(days=179)
    found = query(site, """SELECT expected_close, amount, weighted_amount FROM "order" o
        WHERE stage NOT IN ('won', 'lost') AND expected_close >= :month AND expected_close < :end""",
                  "admin", end=_month_after(_month(last)))
    expected: dict[dt.date, list] = {}
    for close, amount, weighted in found:
        totals = expected.setdefault(_month(close), [Decimal(0), Decimal(0)])
        totals[0] += money(amount)
        totals[1] += Decimal(str(weighted))
    shown = {r["expected_close"]: [money(r["amount"]), money(r["weighted"])]
             for r in rows(site, "admin", "admin", "forecast_by_month") if r["amount"]}
    assert shown == {month: [a, money(w)] for month, (a, w) in expected.items()} and expected


def test_revenue_decomposition_per_customer_level_from_the_orders(site):
    found = query(site, """SELECT c.level, count(*), sum(n.orders), sum(coalesce(w.won, 0)),
            sum(coalesce(w.revenue, 0))
        FROM customer c JOIN (SELECT customer, count(*) AS orders FROM "order" GROUP BY customer) n
             ON n.customer = c.id
        LEFT JOIN """ + WON + """ w ON w.customer = c.id GROUP BY c.level""", "admin")
    shown = rows(site, "admin", "admin", "revenue_decomposition")
    assert sorted((r["level"], r["customers"], r["orders"], r["won"], money(r["revenue"])) for r in shown) == \
        sorted((level, n, int(o), int(w), money(v)) for level, n, o, w, v in found)
    for row in shown:
        assert abs(row["win_rate"] - Decimal(row["won"] * 100) / row["orders"]) < Decimal("0.001")
        if row["won"]:
            assert money(row["average_deal"]) == money(row["revenue"] / row["won"])


def test_top_customers_are_the_ten_with_the_most_won_revenue(site):
    found = query(site, "SELECT c.id, w.won, w.revenue, w.last_won FROM customer c JOIN " + WON +
                  " w ON w.customer = c.id ORDER BY w.revenue DESC", "admin")
    shown = rows(site, "admin", "admin", "top_customers")
    assert len(shown) == min(10, len(found))
    assert [money(r["lifetime_value"]) for r in shown] == [money(v) for _, _, v, _ in found[:10]]
    expected = {i: (w, money(v), day(last)) for i, w, v, last in found}
    for row in shown:
        assert (row["won_orders"], money(row["lifetime_value"]), day(row["last_order_at"])) == expected[row["id"]]


def test_customers_by_rfm_segment_and_by_level(site):
    by_level = query(site, """SELECT c.level, count(*), sum(coalesce(w.revenue, 0)) FROM customer c
        LEFT JOIN """ + WON + " w ON w.customer = c.id GROUP BY c.level", "admin")
    shown = rows(site, "admin", "admin", "customers_by_level")
    assert sorted((r["level"], r["customers"], money(r["lifetime_value"])) for r in shown) == \
        sorted((level, n, money(v)) for level, n, v in by_level)
    by_segment = query(site, """SELECT c.rfm_segment, count(*), sum(coalesce(w.revenue, 0)) FROM customer c
        LEFT JOIN """ + WON + " w ON w.customer = c.id GROUP BY c.rfm_segment", "admin")
    shown = rows(site, "admin", "admin", "rfm_segments")
    assert sorted((r["rfm_segment"] or "", r["customers"], money(r["lifetime_value"])) for r in shown) == \
        sorted((segment or "", n, money(v)) for segment, n, v in by_segment)
    # a segment is set exactly on the customers who have won orders
    [(unsegmented_buyers,)] = query(site, "SELECT count(*) FROM customer c JOIN " + WON +
                                    " w ON w.customer = c.id WHERE c.rfm_segment IS NULL", "admin")
    assert unsegmented_buyers == 0


def test_the_lead_funnel_counts_the_leads_that_reached_each_stage(site):
    pipeline = site.blueprint.pipelines["lead"]
    [reached] = query(site, funnel_sql("lead", pipeline), "admin")
    shown = rows(site, "admin", "admin", "funnel:lead")
    assert [r["stage"] for r in shown] == [s.name for s in pipeline.stages]
    assert [r["records"] for r in shown] == [int(n or 0) for n in reached]
    assert shown[0]["records"] > shown[-2]["records"] > 0


def test_the_new_leads_list_shows_only_new_leads(site):
    new = {i for (i,) in query(site, "SELECT id FROM lead o WHERE status = 'new'", "admin")}
    listed = listed_ids(site, "admin", "admin", "list:lead:New leads")
    assert set(listed) <= new and len(listed) == min(10, len(new)) > 0


def test_campaign_roi_is_won_amount_less_cost_over_cost(site):
    assert_campaign_roi(site, "admin", "admin")
