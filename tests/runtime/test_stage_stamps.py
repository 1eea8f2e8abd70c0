"""Orders dated when won or lost (`stamp_on_stage`): winning today stamps today's date in the
blueprint's time zone, on every write path, and this month's won figure, the list filter, the
customer's last won date and the loss board move with it; reopening clears the date."""
from __future__ import annotations

import datetime as dt
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from atrium.metadata import load_blueprint
from atrium.runtime.access import users
from atrium.runtime.query.lists import ListQuery
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.reports.runner import Reports
from atrium.runtime.schema.migrations import migrate
from atrium.runtime.site.site import Site

B2B = Path(__file__).resolve().parents[2] / "blueprints" / "b2b_sales"
# 17:00 UTC on 31 May is 01:00 on 1 June in Asia/Shanghai, the blueprint's zone
NOW = dt.datetime(2026, 5, 31, 17, 0, tzinfo=dt.timezone.utc)
JUNE_1 = dt.date(2026, 6, 1)

pytestmark = pytest.mark.database


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def world(tmp_path, engine, database_url):
    folder = Path(shutil.copytree(B2B, tmp_path / "b2b"))
    pipeline = folder / "pipelines" / "order.yaml"  # a test pipeline that lets a closed deal reopen
    pipeline.write_text(pipeline.read_text(encoding="utf-8").replace("transitions: forward", "transitions: any", 1),
                        encoding="utf-8")
    blueprint = load_blueprint(folder)
    migrate(engine, blueprint)
    clock = Clock()
    site = Site.open(blueprint, database_url, engine=engine, clock=clock)
    with engine.begin() as connection:
        users.add_team(connection, site.tables, "east")
        rep = users.add_user(connection, site.tables, blueprint, "rep1", "sales_rep", team="east", locale="zh")
    actor = Actor(rep, "rep1", "sales_rep", None, "zh")
    customer = site.records.create("customer", {"name": "Acme", "owner": rep}, actor)
    return site, actor, customer, clock


def figure(site, actor, report: str, measure: str = "amount") -> Decimal:
    rows = Reports(site).run(actor, report).rows
    return Decimal(rows[0][measure] or 0) if rows else Decimal(0)


def listed(site, actor, where) -> list[int]:
    with site.engine.connect() as connection:
        page = site.queries.list(connection, actor, ListQuery("order", where=where), site.records.clock())
    return [r["id"] for r in page.records]


def order(site, actor, customer, **values):
    return site.records.create("order", {"name": "Deal", "customer": customer["id"], "amount": 500000,
                                         "expected_close": JUNE_1 + dt.timedelta(days=30), **values}, actor)


def test_winning_today_stamps_the_local_date_and_moves_this_months_figures(world):
    site, actor, customer, _ = world
    deal = order(site, actor, customer, stage="negotiation")
    assert deal["won_on"] is None and figure(site, actor, "won_this_month") == 0
    won = site.records.update("order", deal["id"], {"stage": "won"}, actor)
    assert won["won_on"] == JUNE_1 and won["lost_on"] is None  # the Shanghai date, not the UTC one
    assert figure(site, actor, "won_this_month") == Decimal("500000")
    assert figure(site, actor, "won_this_month", "orders") == 1
    assert [r["owner"] for r in Reports(site).run(actor, "won_by_owner").rows if r["owner"]] == [actor.user_id]
    assert listed(site, actor, {"won_on": {"within": "this_month"}}) == [deal["id"]]
    assert site.records.get("customer", customer["id"])["last_order_at"] == JUNE_1
    # later saves that do not move the stage keep the date
    site.records.update("order", deal["id"], {"next_step": "kick-off"}, actor)
    assert site.records.get("order", deal["id"])["won_on"] == JUNE_1


def test_reopening_clears_the_date_and_losing_stamps_the_loss_board(world):
    site, actor, customer, clock = world
    deal = order(site, actor, customer, stage="won")  # created won: stamped too
    assert deal["won_on"] == JUNE_1
    clock.now += dt.timedelta(days=3)
    reopened = site.records.update("order", deal["id"], {"stage": "negotiation"}, actor)
    assert reopened["won_on"] is None and figure(site, actor, "won_this_month") == 0
    assert listed(site, actor, {"won_on": {"within": "this_month"}}) == []
    assert site.records.get("customer", customer["id"])["last_order_at"] is None
    lost = site.records.update("order", deal["id"], {"stage": "lost", "lost_reason": "price"}, actor)
    assert lost["lost_on"] == JUNE_1 + dt.timedelta(days=3) and lost["won_on"] is None
    assert figure(site, actor, "lost_this_quarter") == Decimal("500000")
    assert [r["id"] for r in Reports(site).run(actor, "lost_orders").rows] == [deal["id"]]
    assert [(r["lost_reason"], r["orders"]) for r in Reports(site).run(actor, "lost_by_reason").rows
            if r["lost_reason"]] == [("price", 1)]
    rewon = site.records.update("order", deal["id"], {"stage": "won"}, actor)  # lost → won
    assert rewon["lost_on"] is None and rewon["won_on"] == JUNE_1 + dt.timedelta(days=3)
    assert figure(site, actor, "lost_this_quarter") == 0


def test_bulk_moves_stamp_each_record_and_a_given_date_is_kept(world):
    site, actor, customer, _ = world
    first, second = (order(site, actor, customer, stage="negotiation") for _ in range(2))
    already = order(site, actor, customer, stage="won", won_on=dt.date(2026, 3, 2))  # an import says when
    assert already["won_on"] == dt.date(2026, 3, 2)
    moved = site.records.bulk_update("order", [(first["id"], {"stage": "won"}), (second["id"], {"stage": "won"}),
                                               (already["id"], {"stage": "won"})], actor, affected_only=True)
    assert sorted(after["id"] for _, after in moved) == [first["id"], second["id"]]
    assert [site.records.get("order", i)["won_on"] for i in (first["id"], second["id"], already["id"])] == [
        JUNE_1, JUNE_1, dt.date(2026, 3, 2)]
    same = {"stage": "lost", "lost_reason": "timing"}  # one mapping for all: the set-wise path
    site.records.bulk_update("order", [(first["id"], same), (already["id"], same)], actor, affected_only=True)
    assert [(r["won_on"], r["lost_on"]) for r in (site.records.get("order", i) for i in (first["id"], already["id"]))
            ] == [(None, JUNE_1), (None, JUNE_1)]
