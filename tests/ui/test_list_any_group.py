"""The list page's "any of these" group: filters named `any:path` match records that meet one of
them, the other filters still all apply, and the group lives in the URL (bookmarks, saved views,
export) like every other filter."""
from __future__ import annotations

import datetime as dt

import pytest
from record_pages_kit import TODAY, table_rows

pytestmark = pytest.mark.database  # runs on SQLite and again on PostgreSQL


@pytest.fixture
def deals(world):
    gold, plain = world.customer("Gold Co", level="a"), world.customer("Plain Co", level="c")
    world.order("Now", customer=gold, amount=100, expected_close=TODAY.isoformat())
    world.order("Later", customer=plain, amount=5000, stage="proposal",
                expected_close=(TODAY + dt.timedelta(days=90)).isoformat())
    world.order("Undated", customer=plain, amount=50)
    return world


def names(browser, query: str) -> set[str]:
    page = browser.get("/r/order?" + query)
    assert page.status_code == 200, page.text
    return {row.split()[1] for row in table_rows(page.text) if row.startswith("ORD")}


def test_any_of_these_matches_one_of_the_group_and_all_of_the_rest(deals):
    rep = deals.browser("rep")
    assert names(rep, "any:stage=proposal&any:customer.level=a") == {"Now", "Later"}
    assert names(rep, "any:stage=proposal&any:expected_close__period=this_month") == {"Now", "Later"}
    assert names(rep, "any:stage=proposal&any:customer.level=a&expected_close__period=this_month") == {"Now"}
    assert names(rep, "any:stage=won") == set()
    assert names(rep, "any:nope=1") == {"Now", "Later", "Undated"}  # not a field: ignored like any other


def test_the_group_is_drawn_filled_in_and_named_in_both_languages(deals):
    rep = deals.browser("rep")
    page = rep.get("/r/order?any:stage=proposal").text
    assert 'Add an "any of these" group' in page.replace("&#34;", '"').replace("&quot;", '"')
    assert '<details class="filter-any" open>' in page
    assert 'name="any:stage" value="proposal" checked' in page
    assert 'name="stage" value="proposal" checked' not in page  # the plain filter is not ticked
    chinese = rep.get("/r/order?lang=zh").text
    assert '<details class="filter-any">' in chinese and "任意" in chinese


def test_a_saved_view_and_the_export_keep_the_group(deals):
    rep = deals.browser("rep")
    saved = rep.post("/r/order/views", {"name": "Gold or proposals",
                                        "query": "any:stage=proposal&any:customer.level=a"}, follow_redirects=False)
    assert saved.status_code == 303
    assert names(rep, saved.headers["location"].split("?", 1)[1]) == {"Now", "Later"}
    exported = rep.get("/r/order/export.csv?any:stage=proposal&any:customer.level=a")
    lines = exported.content.decode("utf-8-sig").splitlines()
    assert len(lines) == 3 and any("Later" in line for line in lines) and not any("Undated" in line for line in lines)
