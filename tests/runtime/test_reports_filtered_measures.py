"""Measures with their own `where` (`won: {count: id, where: {stage: won}}`), a win rate as their
ratio, and a report `where` with `any:`: each figure checked against the records in Python, under
the viewer's scope, on SQLite and PostgreSQL."""
from __future__ import annotations

from decimal import Decimal

import pytest
from report_kit import build_world, module_database

from atrium.runtime.reports.compiler import ReportRequest

CLOSED = ("won", "lost")
REPORTS = {
    "win_rate": {"source": "deal", "group_by": ["region"], "totals": True, "measures": {
        "won": {"count": "id", "where": {"stage": "won"}},
        "closed": {"count": "id", "where": {"stage": {"in": list(CLOSED)}}},
        "won_amount": {"sum": "amount", "where": {"stage": "won"}},
        "deals": "count",
    }, "metrics": {"win_rate": {"expr": "won * 100 / closed if closed else None", "format": "percent"}}},
    "hidden_filter": {"source": "deal", "measures": {
        "deals": "count", "secret_big": {"count": "id", "where": {"secret": {"gt": 100}}}}},
    "big_or_hot": {"source": "deal", "measures": {"deals": "count", "amount": {"sum": "amount"}},
                   "where": {"any": [{"amount": {"gte": 20000}},
                                     {"all": [{"hot": True}, {"region": "east"}]}]}},
}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    with module_database(tmp_path_factory) as (engine, url):
        yield build_world(tmp_path_factory.mktemp("bp"), engine, url, REPORTS)


def _rate(won: int, closed: int) -> Decimal | None:
    """The rate as a percent column shows it: four decimal places."""
    return None if not closed else round(Decimal(won * 100) / closed, 4)


@pytest.mark.database
@pytest.mark.parametrize("viewer", [None, "mgr", "rep1"])
def test_filtered_measures_count_only_their_records_and_the_win_rate_is_their_ratio(world, viewer):
    deals = world.readable(viewer, world.deals)
    result = world.reports.run(world.actor(viewer), "win_rate")
    rows = {row["region"]: row for row in result.rows}
    regions = {d["region"] for d in deals}
    assert set(rows) == regions
    for region in regions:
        mine = [d for d in deals if d["region"] == region]
        won = [d for d in mine if d["stage"] == "won"]
        closed = [d for d in mine if d["stage"] in CLOSED]
        row = rows[region]
        assert (row["won"], row["closed"], row["deals"]) == (len(won), len(closed), len(mine)), region
        assert row["won_amount"] == sum((d["amount"] for d in won), Decimal("0.00"))
        assert row["win_rate"] == _rate(len(won), len(closed))
    won = sum(1 for d in deals if d["stage"] == "won")
    closed = sum(1 for d in deals if d["stage"] in CLOSED)
    assert (result.totals["won"], result.totals["closed"]) == (won, closed)
    assert result.totals["win_rate"] == _rate(won, closed)
    assert not result.warnings


@pytest.mark.database
def test_a_rate_over_no_closed_records_is_empty_not_an_error(world):
    result = world.reports.run(world.actor(None), "win_rate", ReportRequest(filters={"stage": "lead"}))
    assert result.rows and all(row["closed"] == 0 and row["win_rate"] is None for row in result.rows)
    assert not result.warnings


@pytest.mark.database
def test_a_measure_filtering_on_a_hidden_field_is_left_out(world):
    assert "secret_big" not in {c.name for c in world.reports.run(world.actor("rep1"), "hidden_filter").columns}
    row = world.reports.run(world.actor(None), "hidden_filter").rows[0]
    assert row["secret_big"] == sum(1 for d in world.deals if d["secret"] is not None and d["secret"] > 100)


@pytest.mark.database
def test_a_report_where_with_any_keeps_the_records_either_branch_keeps(world):
    expected = [d for d in world.deals if d["amount"] >= 20000 or (d["hot"] is True and d["region"] == "east")]
    row = world.reports.run(world.actor(None), "big_or_hot").rows[0]
    assert 0 < row["deals"] < len(world.deals)
    assert (row["deals"], row["amount"]) == (len(expected), sum((d["amount"] for d in expected), Decimal("0.00")))
