"""b2b_sales campaign attribution on seeded demo data: the campaign_roi report equals a hand-written
SQL query over the campaigns and the won orders that carry them, and converting a trade-show lead,
then winning its order, moves the campaign's won amount and ROI (stored field, list filter, report)."""
from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from report_kit import module_database

from atrium.metadata import load_blueprint
from atrium.runtime.access.users import find_user
from atrium.runtime.pool.conversion import Conversions
from atrium.runtime.query.lists import ListQuery
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.reports.runner import Reports
from atrium.runtime.schema.migrations import migrate
from atrium.runtime.seed.seeding import seed_demo
from atrium.runtime.site.site import Site

B2B = Path(__file__).resolve().parents[2] / "blueprints" / "b2b_sales"
CENT = Decimal("0.01")
FAIR = "2025 上海工博会"

pytestmark = pytest.mark.database

# What a person writes by hand: per campaign its cost, leads, and the won orders that carry it.
ROI_SQL = """
SELECT c.name, c.cost,
       (SELECT count(*) FROM lead l WHERE l.campaign = c.id) AS leads,
       (SELECT count(*) FROM "order" o WHERE o.campaign = c.id AND o.stage = 'won') AS won_orders,
       (SELECT coalesce(sum(o.amount), 0) FROM "order" o WHERE o.campaign = c.id AND o.stage = 'won') AS won
FROM campaign c
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    with module_database(tmp_path_factory) as (engine, url):
        blueprint = load_blueprint(B2B)
        migrate(engine, blueprint)
        seed_demo(blueprint, engine, scale=120, seed=5)
        yield Site.open(blueprint, url, engine=engine)


def actor_of(site, name: str) -> Actor:
    with site.engine.connect() as connection:
        user = find_user(connection, site.tables, name)
    return Actor(user["id"], name, user["role"], user["team_id"], "zh")


def money(value) -> Decimal:
    return Decimal(str(value or 0)).quantize(CENT)


def hand_rows(site) -> dict[str, dict]:
    with site.engine.connect() as connection:
        rows = connection.execute(sa.text(ROI_SQL)).mappings().all()
    found = {}
    for row in rows:
        cost = money(row["cost"])
        won = money(row["won"])
        roi = ((won - cost) * 100 / cost).quantize(Decimal("0.1"), ROUND_HALF_UP) if cost else None
        found[row["name"]] = {"cost": cost, "leads": row["leads"], "won_orders": row["won_orders"],
                              "won_amount": won, "roi": roi}
    return found


def report_rows(site) -> dict[str, dict]:
    result = Reports(site).run(actor_of(site, "marketing"), "campaign_roi")
    return {r["name"]: {"cost": money(r["cost"]), "leads": r["leads"], "won_orders": r["won_orders"],
                        "won_amount": money(r["won_amount"]),
                        "roi": None if r["roi"] is None else Decimal(str(r["roi"])).quantize(Decimal("0.1"))}
            for r in result.rows}


def stored_roi(site, name: str) -> Decimal | None:
    campaigns = site.tables["campaign"]
    with site.engine.connect() as connection:
        roi = connection.execute(sa.select(campaigns.c.roi).where(campaigns.c.name == name)).scalar_one()
    return None if roi is None else Decimal(str(roi)).quantize(Decimal("0.1"))


def test_the_roi_report_equals_a_hand_written_query(site):
    expected = hand_rows(site)
    assert report_rows(site) == expected
    assert any(row["roi"] is not None and row["roi"] > 0 for row in expected.values()), \
        "the demo campaigns brought won orders: not every ROI is negative"
    assert any(row["cost"] == 0 and row["roi"] is None for row in expected.values()), \
        "a campaign without a cost shows no ROI"
    for name, row in expected.items():
        assert stored_roi(site, name) == row["roi"], name


def test_converting_a_trade_show_lead_and_winning_its_order_moves_the_campaign_s_roi(site):
    rep = actor_of(site, "rep1")
    campaigns = site.tables["campaign"]
    with site.engine.connect() as connection:
        fair = connection.execute(sa.select(campaigns.c.id).where(campaigns.c.name == FAIR)).scalar_one()
    leads_before = hand_rows(site)[FAIR]["leads"]
    lead = site.records.create("lead", {
        "company": "苏州精工机械有限公司", "contact_name": "周明", "phone": "0512-66881234", "source": "trade_show",
        "campaign": fair, "budget": 880000, "expected_purchase": dt.date.today() + dt.timedelta(days=30),
        "region": "east", "industry": "manufacturing", "status": "qualified", "owner": rep.user_id}, rep)
    before = hand_rows(site)[FAIR]
    assert before["leads"] == leads_before + 1
    converted = Conversions(site).convert(rep, "lead", lead["id"], {})
    order_id = converted.created["order"]
    customer = site.records.get("customer", converted.created["customer"])
    order = site.records.get("order", order_id)
    assert customer["campaign"] == fair and order["campaign"] == fair
    assert report_rows(site)[FAIR] == hand_rows(site)[FAIR] == before      # not won yet: nothing moved

    site.records.update("order", order_id, {"stage": "won"}, rep)
    after = hand_rows(site)[FAIR]
    assert after["won_amount"] == before["won_amount"] + 880000
    assert after["won_orders"] == before["won_orders"] + 1
    assert after["roi"] > before["roi"]
    assert report_rows(site)[FAIR] == after                                 # the report
    assert stored_roi(site, FAIR) == after["roi"]                           # the stored field
    with site.engine.connect() as connection:                               # the list's filter
        listed = site.queries.list(connection, actor_of(site, "marketing"),
                                   ListQuery("campaign", where={"roi": {"gte": after["roi"]}}),
                                   dt.datetime.now(dt.timezone.utc))
    assert FAIR in [row["name"] for row in listed.records]

    site.records.update("order", order_id, {"amount": 500000}, rep)         # the won amount corrected
    corrected = hand_rows(site)[FAIR]
    assert corrected["won_amount"] == before["won_amount"] + 500000 and corrected["roi"] < after["roi"]
    assert report_rows(site)[FAIR] == corrected and stored_roi(site, FAIR) == corrected["roi"]
