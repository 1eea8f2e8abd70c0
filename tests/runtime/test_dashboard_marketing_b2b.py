"""The marketing dashboard on seeded demo data: leads and conversion per source, the lead funnel,
the campaign results (leads, converted leads, conversion rate, cost per lead), campaign ROI and the
new leads each equal a hand-written SQL query over every lead and campaign, computed as the
dashboard page computes them for the marketing user. A converted lead is one in the lead
pipeline's won stage ('converted'); a campaign's figures are counted from its leads by hand, not
read from its stored rollups. ROI = (won amount - cost) / cost, the won amount being the won orders
attributed to the campaign."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from dashboard_kit import assert_campaign_roi, day, funnel_sql, listed_ids, money, query, rows, seeded_site

pytestmark = pytest.mark.database

USER = "marketing"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    with seeded_site(tmp_path_factory) as site:
        yield site


def test_leads_and_conversion_per_source(site):
    found = query(site, """SELECT source, count(*), sum(CASE WHEN status = 'converted' THEN 1 ELSE 0 END)
        FROM lead o GROUP BY source""", USER)
    shown = [r for r in rows(site, USER, "marketing", "leads_by_source") if r.get("source") is not None]
    assert sorted((r["source"], r["leads"], r["converted"]) for r in shown) == \
        sorted((source, n, int(converted)) for source, n, converted in found if source is not None)
    for row in shown:
        assert abs(row["conversion"] - Decimal(row["converted"] * 100) / row["leads"]) < Decimal("0.001")
    assert any(r["converted"] for r in shown), "the demo data has converted leads"


def test_the_lead_funnel_counts_every_lead_that_reached_each_stage(site):
    pipeline = site.blueprint.pipelines["lead"]
    [reached] = query(site, funnel_sql("lead", pipeline), USER)
    funnel = rows(site, USER, "marketing", "funnel:lead")
    assert [(r["stage"], r["records"]) for r in funnel] == \
        [(s.name, int(n or 0)) for s, n in zip(pipeline.stages, reached, strict=True)]
    [(leads,)] = query(site, "SELECT count(*) FROM lead o", USER)
    assert funnel[0]["records"] == leads  # every lead starts new


def test_campaign_results_are_counted_from_the_campaigns_leads(site):
    found = query(site, """SELECT c.id, c.starts_on, c.cost, count(l.id),
            sum(CASE WHEN l.status = 'converted' THEN 1 ELSE 0 END)
        FROM campaign c LEFT JOIN lead l ON l.campaign = c.id GROUP BY c.id, c.starts_on, c.cost""", USER)
    table = rows(site, USER, "marketing", "campaign_results")
    newest_first = [(i, -day(starts).toordinal()) for i, starts, _, _, _ in found]
    keys = dict(newest_first)
    assert len(table) == min(20, len(found))
    assert [keys[r["id"]] for r in table] == sorted(keys[r["id"]] for r in table)
    expected = {i: (money(cost), n, int(converted or 0)) for i, _, cost, n, converted in found}
    for row in table:
        cost, leads, converted = expected[row["id"]]
        assert (row["leads"] or 0, row["converted_leads"] or 0) == (leads, converted)
        if leads:
            rate = (Decimal(converted * 100) / leads).quantize(Decimal("0.1"), ROUND_HALF_UP)
            assert Decimal(str(row["conversion_rate"])) == rate
            assert money(row["cost_per_lead"]) == money(cost / leads)
        else:
            assert row["conversion_rate"] is None and row["cost_per_lead"] is None
    assert any(expected[r["id"]][1] for r in table), "the demo campaigns brought leads"


def test_the_new_leads_list_shows_only_new_leads(site):
    new = {i for (i,) in query(site, "SELECT id FROM lead o WHERE status = 'new'", USER)}
    listed = listed_ids(site, USER, "marketing", "list:lead:New leads")
    assert set(listed) <= new and len(listed) == min(10, len(new)) > 0


def test_campaign_roi_is_won_amount_less_cost_over_cost(site):
    assert_campaign_roi(site, USER, "marketing")
