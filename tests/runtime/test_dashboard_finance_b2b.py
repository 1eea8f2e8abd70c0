"""The finance dashboard on seeded demo data: the money falling due, receivables, the overdue
amount, money received this month, the cash forecast and the overdue payments each equal a
hand-written SQL query over every customer's instalments and receipts, computed as the dashboard
page computes them for the finance user. What an instalment still lacks is summed from its
receipts by hand (not read from its stored rollup); "today" and "this month" are the blueprint's
time zone's."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from dashboard_kit import assert_first_of, bounds, day, kpi_value, listed_ids, money, query, rows, seeded_site

pytestmark = pytest.mark.database

USER = "finance"
# Per instalment what its receipts brought, and whether it is still open (not void, not covered).
LACKING = """(SELECT i.id, i.due_on, i.owner, i.planned_amount - coalesce(r.received, 0) AS lacking
    FROM instalment i LEFT JOIN (SELECT instalment, sum(amount) AS received FROM receipt GROUP BY instalment) r
         ON r.instalment = i.id
    WHERE NOT i.voided AND coalesce(r.received, 0) < i.planned_amount)"""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    with seeded_site(tmp_path_factory) as site:
        yield site


def test_money_falling_due_lists_every_open_instalment_due_within_seven_days_or_overdue(site):
    due = query(site, f"SELECT id, due_on FROM {LACKING} o WHERE due_on < :week_end", USER)
    assert_first_of(listed_ids(site, USER, "finance", "instalments_due"), [(i, day(d)) for i, d in due], 12)
    assert len({owner for (owner,) in query(site, f"SELECT DISTINCT owner FROM {LACKING} o", USER)}) > 1


def test_receivables_and_the_overdue_amount(site):
    [(open_total,)] = query(site, f"SELECT sum(lacking) FROM {LACKING} o", USER)
    assert money(kpi_value(site, USER, "finance", "receivables")) == money(open_total) > 0
    [(overdue,)] = query(site, f"SELECT sum(lacking) FROM {LACKING} o WHERE due_on < :today", USER)
    assert money(kpi_value(site, USER, "finance", "overdue_amount")) == money(overdue) > 0


def test_received_this_month_is_every_receipt_of_the_month(site):
    [(received,)] = query(site, """SELECT sum(amount) FROM receipt o WHERE received_on >= :month
        AND received_on < :next_month""", USER)
    assert money(kpi_value(site, USER, "finance", "received_this_month")) == money(received)


def test_the_cash_forecast_sums_what_is_still_to_come_by_due_month(site):
    # the next 180 days widened to whole months (a time series shows whole buckets): what fell due
    # earlier this month and is still open counts in this month's bar
    last = bounds()["today"] + dt.timedelta(days=179)
    end = (last.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    found = query(site, f"SELECT due_on, lacking FROM {LACKING} o WHERE due_on >= :month AND due_on < :end",
                  USER, end=end)
    expected: dict[dt.date, list] = {}
    for due_on, lacking in found:
        totals = expected.setdefault(day(due_on).replace(day=1), [money(0), 0])
        totals[0] += money(lacking)
        totals[1] += 1
    shown = {r["due_on"]: [money(r["outstanding"]), r["instalments"]]
             for r in rows(site, USER, "finance", "cash_forecast") if r["instalments"]}
    assert shown == expected and expected


def test_overdue_payments_show_what_each_lacks_and_for_how_many_days(site):
    today = bounds()["today"]
    found = query(site, f"SELECT id, due_on, lacking FROM {LACKING} o WHERE due_on < :today", USER)
    table = rows(site, USER, "finance", "overdue_instalments")
    assert_first_of([r["id"] for r in table], [(i, day(d)) for i, d, _ in found], 20)
    lacking = {i: (money(amount), (today - day(d)).days) for i, d, amount in found}
    for row in table:
        assert (money(row["outstanding"]), row["overdue_days"]) == lacking[row["id"]]
        assert row["overdue_days"] > 0
    assert sum(Decimal(str(r["outstanding"])) for r in table) <= money(sum(a for a, _ in lacking.values()))
