"""The rep's and the manager's dashboards open on the day's work: tasks due today or overdue,
payments overdue or due within a week, stalled orders; each list under the viewer's scope."""
from __future__ import annotations

import datetime as dt

import pytest
from record_pages_kit import TODAY
from report_pages_kit import widget, widget_index

pytestmark = pytest.mark.database  # runs on SQLite and again on PostgreSQL

DAY = dt.timedelta(days=1)


def test_the_days_work_comes_before_the_numbers(world):
    for dashboard, first in (("sales_rep", ["tasks_due", None, "instalments_due", "stalled_orders"]),
                             ("sales_manager", ["tasks_due", "instalments_due", "stalled_orders", "overdue_orders"])):
        widgets = world.site.blueprint.dashboards[dashboard]["widgets"]
        assert [w.get("name") for w in widgets[:len(first)]] == first
        assert all(w["type"] in ("list", "table") for w in widgets[:len(first)])
        assert widgets[len(first)]["type"] == "kpi"


def test_tasks_due_today_or_overdue(world):
    for title, due, done, by in (("Overdue call", TODAY - 3 * DAY, False, "rep"), ("Today call", TODAY, False, "rep"),
                                 ("Tomorrow call", TODAY + DAY, False, "rep"), ("Done call", TODAY - DAY, True, "rep"),
                                 ("Undated call", None, False, "rep"), ("Colleague call", TODAY, False, "rep2")):
        world.create("task", by, title=title, due=due, done=done)
    mine = widget(world.browser("rep"), "sales_rep", widget_index(world, "sales_rep", name="tasks_due"))
    assert "Overdue call" in mine and "Today call" in mine
    assert mine.index("Overdue call") < mine.index("Today call")  # the oldest first
    for absent in ("Tomorrow call", "Done call", "Undated call", "Colleague call"):
        assert absent not in mine
    team = widget(world.browser("manager"), "sales_manager", widget_index(world, "sales_manager", name="tasks_due"))
    assert "Overdue call" in team and "Colleague call" in team and "Tomorrow call" not in team


def test_payments_overdue_or_due_within_a_week(world):
    customer = world.customer("Acme")
    plan = world.create("payment_plan", "rep", name="Line 2", customer=customer["id"])
    made = {number: world.create("instalment", "rep", payment_plan=plan["id"], customer=customer["id"],
                                 number=number, due_on=due, planned_amount=amount)
            for number, due, amount in ((1, TODAY - 5 * DAY, 1001), (2, TODAY + 3 * DAY, 1002),
                                        (3, TODAY + 6 * DAY, 1003), (4, TODAY + 7 * DAY, 1004),
                                        (5, TODAY + 2 * DAY, 1005), (6, TODAY + DAY, 1006))}
    # an instalment takes its plan's owner unless it names one: this one is rep2's
    world.create("instalment", "rep2", payment_plan=plan["id"], customer=customer["id"], number=7,
                 due_on=TODAY, planned_amount=1007, owner=world.ids["rep2"])
    world.create("receipt", "boss", instalment=made[5]["id"], customer=customer["id"], amount=1005,
                 received_on=TODAY)  # received in full: nothing to collect
    world.site.records.update("instalment", made[6]["id"], {"voided": True}, world.actor("rep"))
    for dashboard, person in (("sales_rep", "rep"), ("sales_manager", "manager")):
        fragment = widget(world.browser(person), dashboard, widget_index(world, dashboard, name="instalments_due"))
        assert "1,001.00" in fragment and "1,002.00" in fragment and "1,003.00" in fragment
        assert "1,004.00" not in fragment  # a week ahead: not yet
        assert "1,005.00" not in fragment and "1,006.00" not in fragment  # received, void
        assert ("1,007.00" in fragment) == (person == "manager")  # a colleague's: the team's list
        assert fragment.index("1,001.00") < fragment.index("1,002.00")  # the most overdue first
