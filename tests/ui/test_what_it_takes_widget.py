"""The what_it_takes widget as a viewer gets it (GET /dashboards/{name}/widgets/{index}): the goal,
what is achieved and what is still to go, each step's need with the ratio it comes from, the
viewer beside the peers' average and best, "not enough history" and "target reached", in English
and Chinese, and a rep's numbers never counting another rep's records."""
from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from record_pages_kit import TODAY
from report_pages_kit import open_order, widget, widget_index, won_order

pytestmark = pytest.mark.database


def target(world, who: str, amount: int) -> None:
    world.site.records.create("sales_target", {"owner": world.ids[who], "metric": "revenue", "period": TODAY,
                                               "amount": amount, "status": "approved",
                                               "approved_by": world.ids["manager"]})


def done_visit(world, who: str) -> None:
    customer = world.customer(f"Visited by {who} {world.clock.now.timestamp()}", by=who)
    at = world.clock.now - dt.timedelta(days=2)
    world.create("visit", who, customer=customer["id"], planned_at=at, visited_at=at, status="done")
    world.clock.advance(seconds=1)


def text(fragment: str) -> str:
    return html.unescape(" ".join(re.sub(r"<[^>]+>", " ", fragment).split()))


def needs(fragment: str) -> list[str]:
    return [text(c) for c in re.findall(r'<td class="num wit-need">(.*?)</td>', fragment, re.S)]


def rep_widget(world, who: str = "rep", language: str = "") -> str:
    browser = world.browser(who)
    if language:
        browser.post("/language", data={"locale": language})
    return widget(browser, "sales_rep", widget_index(world, "sales_rep", type="what_it_takes"))


def history(world) -> None:
    """rep: won 1,000 today and 3,000 + 2,000 in March (average deal 2,000 of 3 won), 6 orders
    created (3 won of 6: 0.5), 4 visits (1.5 orders a visit), 2 leads (2 visits a lead); target
    10,000. rep2: won 5,000 today of 2 orders, a visit, a lead."""
    won_order(world, "rep", 1000)
    won_order(world, "rep", 3000, close=dt.date(2026, 3, 10))
    won_order(world, "rep", 2000, close=dt.date(2026, 3, 11))
    for _ in range(3):
        open_order(world, "rep", 700)
    for _ in range(4):
        done_visit(world, "rep")
    for i in range(2):
        world.create("lead", "rep", company=f"Lead {i}", contact_name="Ms Wu")
    target(world, "rep", 10000)
    won_order(world, "rep2", 5000)
    open_order(world, "rep2", 100)
    done_visit(world, "rep2")
    world.create("lead", "rep2", company="Lead of rep2", contact_name="Mr Ma")


def test_the_widget_shows_each_need_and_how_it_is_derived(world):
    history(world)
    fragment = rep_widget(world)
    shown = text(fragment)
    assert "Target ¥10,000.00, achieved ¥1,000.00" in shown
    assert "Still to go: ¥9,000.00" in shown
    # deals ceil(9,000 / 2,000) = 5; opportunities ceil(5 / 0.5) = 10; visits ceil(10 / 1.5) = 7; leads 4
    assert needs(fragment) == ["5", "10", "7", "4"]
    assert "Average Won amount per Won deals: ¥6,000.00 / 3 = ¥2,000.00" in shown
    assert "Won deals per Opportunities: 3 / 6 = 0.50" in shown
    assert "Opportunities per Visits: 6 / 4 = 1.50" in shown
    assert "needed: ¥9,000.00 ÷ ¥2,000.00, rounded up" in shown
    # compare: company - rep's average deal 2,000 beside the reps' average 3,500 and best 5,000
    assert "Mine ¥2,000.00 · average ¥3,500.00 · best ¥5,000.00 (2 people)" in shown
    # rep2's 5,000 never counts in rep's own figures
    assert "¥11,000.00" not in shown and "¥6,000.00 / 3" in shown


def test_no_history_says_so_and_a_reached_target_says_so(world):
    target(world, "rep", 3000)
    fragment = rep_widget(world)
    assert needs(fragment) == ["not enough history"] * 4
    assert "Still to go: ¥3,000.00" in text(fragment)
    won_order(world, "rep2", 5000)
    target(world, "rep2", 4000)
    reached = text(rep_widget(world, "rep2"))
    assert "Target reached" in reached and "Still to go" not in reached


def test_the_widget_speaks_chinese(world):
    history(world)
    shown = text(rep_widget(world, language="zh"))
    assert "还差：¥9,000.00" in shown and "推算依据" in shown and "向上取整" in shown


def test_the_manager_sees_the_team_and_the_reps_beside_each_other(world):
    history(world)
    target(world, "rep2", 4000)
    browser = world.browser("manager")
    fragment = widget(browser, "sales_manager", widget_index(world, "sales_manager", type="what_it_takes"))
    shown = text(fragment)
    assert "Target ¥14,000.00, achieved ¥6,000.00" in shown
    assert "Still to go: ¥8,000.00" in shown
    assert "average ¥3,500.00 · best ¥5,000.00 (2 people)" in shown
