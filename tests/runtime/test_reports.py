"""Reports as their readers meet them: each report type, measures and metrics over grouped rows,
totals, sorting by a metric, scope (the same YAML for a rep, a manager and an administrator),
hidden fields and targets. Expected figures are computed in Python from the records the kit made,
never by SQL, so the compiler is checked against an independent oracle on SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import pytest
from report_kit import NOW, STAGES, TODAY, ZONE, build_world, module_database

from atrium.runtime.query.conditions import ConditionError
from atrium.runtime.reports.compiler import ReportRequest
from atrium.runtime.reports.scope import ReportNotFound, ReportRefused

pytestmark = pytest.mark.database

REPORTS = {
    "by_stage": {
        "label": {"en": "By stage", "zh": "按阶段"}, "source": "deal",
        "where": {"stage": {"not_in": ["lost"]}},
        "group_by": ["stage", {"field": "close_on", "bucket": "month"}],
        "measures": {"deals": "count", "amount": {"sum": "amount"}, "avg_amount": {"avg": "amount"},
                     "low": {"min": "amount"}, "high": {"max": "amount"},
                     "accounts": {"count_distinct": "account"}, "sized": {"count": "size"},
                     "size": {"sum": "size"}, "score": {"avg": "score"}},
        "metrics": {"mean": "amount / deals if deals else 0",
                    "pair": {"expr": "deals * 2", "format": "integer", "label": {"en": "Pair", "zh": "双"}}},
        "totals": True},
    "top_owners": {"source": "deal", "group_by": ["owner"], "measures": {"deals": "count", "amount": {"sum": "amount"}},
                   "metrics": {"mean": "amount / deals"}, "sort": "-mean", "limit": 3},
    "grid": {"type": "matrix", "source": "deal", "group_by": ["owner", "stage"],
             "measures": {"deals": "count", "amount": {"sum": "amount"}, "accounts": {"count_distinct": "account"}}},
    "listing": {"type": "list", "source": "deal", "where": {"stage": {"in": ["lead", "qualify", "propose"]}},
                "columns": ["name", "account", "account.tier", "owner", "amount", "secret", "tags"],
                "sort": "-amount", "limit": 5},
    "by_tier": {"source": "deal", "group_by": ["account.tier"], "measures": {"deals": "count"}},
    "secrets": {"source": "deal", "measures": {"deals": "count", "secret": {"sum": "secret"}},
                "metrics": {"per_deal": "secret / deals", "double": "per_deal * 2", "twice": "deals * 2"}},
    "by_secret": {"source": "deal", "group_by": ["secret"], "measures": {"deals": "count"}},
    "everything": {"source": "deal", "measures": {"deals": "count", "amount": {"sum": "amount"}}},
    "kpi": {"source": "deal", "where": {"stage": "won", "close_on": {"within": "this_month"}},
            "measures": {"amount": {"sum": "amount"}},
            "metrics": {"goal": "target('revenue', 'month')", "progress": "amount / goal if goal else None"}},
}
VIEWERS = [None, "boss", "mgr", "rep1", "rep2", "rep3"]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    with module_database(tmp_path_factory) as (engine, url):
        yield build_world(tmp_path_factory.mktemp("bp"), engine, url, REPORTS)


def run(world, who, name, **request):
    return world.reports.run(world.actor(who), name, ReportRequest(**request))


def money(value) -> Decimal:
    return Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def month(day):
    return day.replace(day=1) if day else None


def aggregate(deals):
    amounts = [d["amount"] for d in deals]
    sizes = [d["size"] for d in deals if d["size"] is not None]
    return {"deals": len(deals), "amount": sum(amounts, Decimal(0)).quantize(Decimal("0.01")),
            "avg_amount": money(sum(amounts) / len(amounts)), "low": min(amounts), "high": max(amounts),
            "accounts": len({d["account"] for d in deals if d["account"] is not None}), "sized": len(sizes),
            "size": sum(sizes), "score": sum(d["score"] for d in deals) / len(deals)}


def assert_row(row, expected):
    for key, value in expected.items():
        if isinstance(value, float):
            assert row[key] == pytest.approx(value, abs=1e-5), key
        else:
            assert row[key] == value, key


@pytest.mark.parametrize("who", VIEWERS)
def test_summary_groups_measures_metrics_and_totals_under_each_scope(world, who):
    deals = [d for d in world.readable(who, world.deals) if d["stage"] != "lost"]
    groups = {}
    for deal in deals:
        groups.setdefault((deal["stage"], month(deal["close_on"])), []).append(deal)
    keys = sorted(groups, key=lambda k: (STAGES.index(k[0]), k[1] is None, k[1] or dt.date.min))
    result = run(world, who, "by_stage")
    assert [(r["stage"], r["close_on"]) for r in result.rows] == keys
    for row, key in zip(result.rows, keys, strict=False):
        expected = aggregate(groups[key])
        assert_row(row, expected)
        assert row["mean"] == pytest.approx(float(expected["amount"] / expected["deals"]), abs=1e-5)
        assert row["pair"] == 2 * expected["deals"]
    assert_row(result.totals, aggregate(deals))
    assert result.totals["pair"] == 2 * len(deals)
    assert [c.name for c in result.columns] == ["stage", "close_on", "deals", "amount", "avg_amount", "low", "high",
                                                "accounts", "sized", "size", "score", "mean", "pair"]


def test_the_same_report_gives_each_role_its_own_records(world):
    totals = {who: run(world, who, "everything").rows[0]["deals"] for who in ("boss", "mgr", "rep1", "rep2")}
    assert totals["boss"] == len(world.deals)
    assert totals["mgr"] == len(world.readable("mgr", world.deals)) == \
        len([d for d in world.deals if d["owner"] in {world.users[n] for n in ("mgr", "rep1", "rep2")}])
    assert totals["rep1"] + totals["rep2"] < totals["mgr"] < totals["boss"]
    with pytest.raises(ReportNotFound):  # the role cannot read the source at all: as if it did not exist
        run(world, "guest", "everything")
    with pytest.raises(ReportNotFound):
        run(world, "boss", "no_such_report")


def test_sort_by_a_metric_then_limit(world):
    owners = {}
    for deal in world.deals:
        owners.setdefault(deal["owner"], []).append(deal["amount"])
    means = sorted(((owner, float(sum(a) / len(a))) for owner, a in owners.items()), key=lambda p: -p[1])[:3]
    rows = run(world, "boss", "top_owners").rows
    assert [r["owner"] for r in rows] == [owner for owner, _ in means]
    assert [r["mean"] for r in rows] == pytest.approx([mean for _, mean in means], abs=1e-5)


@pytest.mark.parametrize("who", ["boss", "mgr"])
def test_matrix_has_cells_and_row_and_column_totals(world, who):
    deals = world.readable(who, world.deals)
    result = run(world, who, "grid")
    matrix = result.matrix
    assert matrix.row == "owner" and matrix.column == "stage"
    cells = {}
    for deal in deals:
        cells.setdefault((deal["owner"], deal["stage"]), []).append(deal)
    assert set(matrix.cells) == set(cells)
    for key, members in cells.items():
        assert matrix.cells[key]["deals"] == len(members)
        assert matrix.cells[key]["amount"] == sum(d["amount"] for d in members)
    for owner in {d["owner"] for d in deals}:
        members = [d for d in deals if d["owner"] == owner]
        assert matrix.row_totals[owner]["deals"] == len(members)
        assert matrix.row_totals[owner]["accounts"] == len({d["account"] for d in members if d["account"]})
    assert [k for k in matrix.column_keys] == [s for s in STAGES if any(d["stage"] == s for d in deals)]
    for stage in matrix.column_keys:
        assert matrix.column_totals[stage]["amount"] == sum(d["amount"] for d in deals if d["stage"] == stage)
    assert result.totals["deals"] == len(deals)
    assert result.totals["accounts"] == len({d["account"] for d in deals if d["account"]})


def test_list_report_shows_records_with_readable_titles_and_no_hidden_field(world):
    open_deals = [d for d in world.deals if d["stage"] in ("lead", "qualify", "propose")]
    accounts = {a["id"]: a for a in world.accounts}
    for who in ("boss", "rep1"):
        mine = sorted(world.readable(who, open_deals), key=lambda d: (-d["amount"], -d["id"]))
        result = run(world, who, "listing")
        assert [r["id"] for r in result.rows] == [d["id"] for d in mine[:5]]
        assert result.truncated == (len(mine) > 5)
        names = [c.name for c in result.columns]
        assert ("secret" in names) == (who == "boss")  # deal.secret is hidden from reps
        for row, deal in zip(result.rows, mine, strict=False):
            assert row["amount"] == deal["amount"] and row["name"] == deal["name"]
            account = accounts.get(deal["account"])
            readable = account is not None and (who == "boss" or account["owner"] == world.users[who])
            # a linked record the viewer may not read shows neither its title nor its fields
            assert row["account.tier"] == (account["tier"] if readable else None)
            assert result.text(result.column("account"), row["account"], "en") == \
                (account["name"] if readable else "")
            assert result.text(result.column("owner"), row["owner"], "en") == \
                next((n.upper() for n, i in world.users.items() if i == deal["owner"]), "")


@pytest.mark.parametrize("who", ["rep1", "mgr"])
def test_group_by_a_path_through_a_reference_counts_unreadable_links_as_empty(world, who):
    accounts = {a["id"]: a for a in world.accounts}
    mine = world.readable(who, world.deals)
    readable = {a["id"] for a in world.readable(who, world.accounts)}
    expected = {}
    for deal in mine:
        account = accounts.get(deal["account"])
        tier = account["tier"] if account and account["id"] in readable else None
        expected[tier] = expected.get(tier, 0) + 1
    rows = run(world, who, "by_tier").rows
    assert {r["tier"]: r["deals"] for r in rows} == expected
    assert sum(r["deals"] for r in rows) == len(mine)  # no row is lost to the join


def test_a_hidden_field_drops_its_measure_and_metrics_and_refuses_grouping(world):
    boss = run(world, "boss", "secrets")
    assert boss.rows[0]["secret"] == sum(d["secret"] for d in world.deals)
    assert boss.rows[0]["double"] == pytest.approx(2 * float(boss.rows[0]["secret"]) / len(world.deals), abs=1e-5)
    rep = run(world, "rep1", "secrets")
    assert [c.name for c in rep.columns] == ["deals", "twice"]
    assert "secret" not in rep.rows[0] and rep.rows[0]["twice"] == 2 * rep.rows[0]["deals"]
    with pytest.raises(ReportRefused) as refused:
        run(world, "rep1", "by_secret")
    assert "deal.secret" in refused.value.text("en") and "不可见" in refused.value.text("zh")
    assert run(world, "boss", "by_secret").rows


def test_targets_follow_the_viewers_scope_and_feed_metrics(world):
    reports = world.reports
    goal = lambda who, period="month": reports.target(world.actor(who), "revenue", period)  # noqa: E731
    assert goal("rep1") == Decimal("1000.00")  # the draft of 9999 does not count
    assert goal("rep2") == Decimal("500.00")
    assert goal("mgr") == Decimal("1500.00")   # rep1 + rep2: the team and its sub-team
    assert goal("boss") == goal(None) == Decimal("2200.00")
    assert goal("rep1", "last_month") == Decimal("333.00")
    assert goal("rep1", "quarter") == Decimal("1333.00")
    assert goal("rep3", "year") == Decimal("700.00")
    assert reports.target(world.actor("rep1"), "deals", "month") is None  # no target set
    assert goal("guest") is None  # may not read targets
    won = [d for d in world.readable("rep1", world.deals)
           if d["stage"] == "won" and d["close_on"] and month(d["close_on"]) == TODAY.replace(day=1)]
    row = run(world, "rep1", "kpi").rows[0]
    assert row["goal"] == 1000.0
    amount = sum((d["amount"] for d in won), Decimal(0))
    assert row["progress"] == pytest.approx(float(amount) / 1000, abs=1e-5)


def test_a_request_replaces_the_period_and_adds_filters_and_owners(world):
    def count(deals, start, end):
        return len([d for d in deals if d["stage"] == "won" and d["close_on"] and start <= d["close_on"] < end])
    last_month = (TODAY.replace(day=1, month=TODAY.month - 1), TODAY.replace(day=1))
    result = run(world, "boss", "kpi", period="last_month")
    expected = [d for d in world.deals if d["stage"] == "won" and d["close_on"]
                and last_month[0] <= d["close_on"] < last_month[1]]
    assert result.rows[0]["amount"] == sum((d["amount"] for d in expected), Decimal("0.00"))
    east = run(world, "boss", "everything", filters={"region": "east"}).rows[0]["deals"]
    assert east == len([d for d in world.deals if d["region"] == "east"])
    reps = (world.users["rep1"], world.users["rep3"])
    owned = run(world, "boss", "everything", owners=reps).rows[0]["deals"]
    assert owned == len([d for d in world.deals if d["owner"] in reps])
    assert count(world.deals, *last_month) == len(expected)
    with pytest.raises(ConditionError):
        run(world, "boss", "everything", period="this_month")  # no date to apply it to
    with pytest.raises(ConditionError):
        run(world, "boss", "everything", filters={"close_on": {"gt": "not a date"}})


def test_json_carries_columns_rows_totals_and_labels_in_the_asked_language(world):
    result = run(world, "boss", "by_stage")
    zh, en = result.to_json("zh"), result.to_json("en")
    assert zh["label"] == "按阶段" and en["label"] == "By stage"
    assert [c["name"] for c in zh["columns"]][:3] == ["stage", "close_on", "deals"]
    stage_column = zh["columns"][0]
    assert stage_column["kind"] == "group" and stage_column["type"] == "stage"
    assert zh["columns"][1]["bucket"] == "month" and zh["columns"][1]["label"] == "Close on（月）"
    assert zh["labels"]["stage"]["lead"] == "线索" and en["labels"]["stage"]["lead"] == "Lead"
    first = zh["rows"][0]
    assert isinstance(first["amount"], str) and Decimal(first["amount"]) == result.rows[0]["amount"]
    if first["close_on"]:
        assert zh["labels"]["close_on"][first["close_on"]].endswith("月")
    assert zh["totals"]["deals"] == sum(r["deals"] for r in result.rows)
    assert next(c for c in en["columns"] if c["name"] == "pair")["label"] == "Pair"
    assert next(c for c in en["columns"] if c["name"] == "amount")["label"] == "Amount (sum)"
    assert next(c for c in zh["columns"] if c["name"] == "amount")["label"] == "Amount合计"


def test_text_table_and_csv_are_readable(world):
    import csv
    import io
    result = run(world, "boss", "by_stage")
    table = result.table("zh")
    assert "线索" in table.splitlines()[2] and "合计" in table.splitlines()[-1]
    out = io.StringIO()
    result.write_csv(out, "en")
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[0][:3] == ["Stage", "Close on (month)", "Records"]
    assert rows[1][0] == "Lead" and rows[-1][0] == "Total"
    assert len(rows) == len(result.rows) + 2


def test_the_local_date_decides_the_bucket_of_a_date_time(world):
    zone = ZoneInfo(ZONE)
    evening = [d for d in world.deals if d["closed_at"] and d["closed_at"].hour >= 16]
    assert evening, "the kit makes date-times whose local date is the next day"
    assert all(d["closed_at"].astimezone(zone).date() != d["closed_at"].date() for d in evening)
    assert NOW.astimezone(zone).date() == TODAY
