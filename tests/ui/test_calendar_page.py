"""The calendar as a user meets it: month and week views, records on the right local day (a
datetime near midnight in Asia/Shanghai included), titles and colours from the view, the list's
filters, navigation, "+" on a day opening a prefilled form, localised names, and nothing from
another rep."""
from __future__ import annotations

import re

import pytest
from record_pages_kit import World

pytestmark = pytest.mark.database  # runs on SQLite and again on PostgreSQL


def days(html: str) -> dict[str, list[str]]:
    """Each day cell's date → the visible text of its entries."""
    result = {}
    for date, body in re.findall(r'<td class="day[^"]*" data-date="([\d-]+)">(.*?)</td>', html, re.S):
        entries = re.findall(r'<li class="entry[^"]*">(.*?)</li>', body, re.S)
        result[date] = [" ".join(re.sub(r"<[^>]+>", " ", e).split()) for e in entries]
    return result


def cell(html: str, date: str) -> str:
    return html.split(f'data-date="{date}">', 1)[1].split("</td>", 1)[0]


def visit(world, customer: dict, planned_at: str, by: str = "rep", **values) -> dict:
    return world.create("visit", by, customer=customer["id"], planned_at=planned_at, **values)


def test_month_view_places_records_on_their_days_under_the_users_scope(world):
    pumps = world.order("Pumps", amount=10, expected_close="2026-05-20")
    world.order("Valves", amount=10, expected_close="2026-06-02")
    world.order("Theirs", by="rep2", expected_close="2026-05-20")
    world.order("Undated")
    rep = world.browser("rep")
    page = rep.get("/r/order/calendar")
    assert page.status_code == 200
    month = days(page.text)
    assert list(month)[0] == "2026-04-27" and list(month)[-1] == "2026-05-31"  # whole weeks, Monday first
    assert month["2026-05-20"] == ["ORD-2026-00001 Pumps"]
    assert sum(len(v) for v in month.values()) == 1  # not June's, not rep2's, not undated
    assert '<h2 class="calendar-title">May 2026</h2>' in page.text
    assert 'class="day today" data-date="2026-05-15"' in page.text
    assert 'class="day outside" data-date="2026-04-27"' in page.text
    assert f'<a href="/r/order/{pumps["id"]}" title="ORD-2026-00001 Pumps">' in cell(page.text, "2026-05-20")
    june = rep.get("/r/order/calendar?date=2026-06-10").text
    assert days(june)["2026-06-02"] == ["ORD-2026-00002 Valves"] and "Pumps" not in june
    manager = days(world.browser("manager").get("/r/order/calendar").text)
    assert sorted(manager["2026-05-20"]) == ["ORD-2026-00001 Pumps", "ORD-2026-00003 Theirs"]


def test_datetimes_are_placed_by_the_local_day_in_week_view(world):
    acme = world.customer("Acme")
    visit(world, acme, "2026-05-20T23:30", purpose="demo")  # 15:30 UTC on the 20th
    visit(world, acme, "2026-05-21T00:15", purpose="negotiation", status="done",
          visited_at="2026-05-21T00:30")  # 16:15 UTC on the 20th: the 21st in Shanghai
    visit(world, acme, "2026-05-25T00:00")  # Monday of the next week
    visit(world, world.customer("Other", by="rep2"), "2026-05-20T10:00", by="rep2")
    rep = world.browser("rep")
    page = rep.get("/r/visit/calendar?view=week&date=2026-05-20")
    week = days(page.text)
    assert list(week) == [f"2026-05-{d}" for d in range(18, 25)]
    assert week["2026-05-20"] == ["23:30 Acme · Product demo"]
    assert week["2026-05-21"] == ["00:15 Acme · Negotiation"]
    assert sum(len(v) for v in week.values()) == 2  # not next week's, not rep2's
    assert '<li class="entry entry-blue">' in cell(page.text, "2026-05-20")  # planned: the option's colour
    assert '<li class="entry entry-green">' in cell(page.text, "2026-05-21")  # done
    assert "18 May 2026 – 24 May 2026" in page.text
    assert 'href="/r/visit/calendar?view=week&amp;date=2026-05-13" rel="prev">‹ Previous week' in page.text
    assert 'href="/r/visit/calendar?view=week&amp;date=2026-05-27" rel="next">Next week ›' in page.text
    following = days(rep.get("/r/visit/calendar?view=week&date=2026-05-27").text)
    assert following["2026-05-25"] == ["00:00 Acme"]
    month = days(rep.get("/r/visit/calendar?date=2026-05-01").text)
    assert month["2026-05-20"] == ["23:30 Acme · Product demo"] and month["2026-05-21"] == ["00:15 Acme · Negotiation"]


def test_list_filters_apply_and_a_full_day_links_to_the_list(world):
    for name in ("Pump A", "Pump B", "Pump C", "Pump D", "Pump E", "Valve"):
        world.order(name, expected_close="2026-05-22")
    rep = world.browser("rep")
    page = rep.get("/r/order/calendar").text
    assert len(days(page)["2026-05-22"]) == 4  # a day shows four in month view ...
    more = re.search(r'<a class="day-more" href="([^"]+)">\+2 more</a>', cell(page, "2026-05-22"))
    assert more  # ... and links to the rest
    listed = rep.get(more.group(1).replace("&amp;", "&")).text
    assert listed.count('<a href="/r/order/') == 6
    searched = rep.get("/r/order/calendar?q=Valve").text
    assert days(searched)["2026-05-22"] == ["ORD-2026-00006 Valve"]
    assert 'href="/r/order/calendar?q=Valve&amp;view=month&amp;date=2026-06-01"' in searched  # filters kept
    assert len(days(rep.get("/r/order/calendar?view=week&date=2026-05-22").text)["2026-05-22"]) == 6


def test_plus_on_a_day_opens_the_new_form_with_the_date_prefilled(world):
    rep = world.browser("rep")
    orders = rep.get("/r/order/calendar").text
    assert 'href="/r/order/new?expected_close=2026-05-26"' in cell(orders, "2026-05-26")
    form = rep.get("/r/order/new?expected_close=2026-05-26").text
    assert 'type="date" id="f-expected_close" name="expected_close" value="2026-05-26"' in form
    visits = rep.get("/r/visit/calendar").text
    assert 'href="/r/visit/new?planned_at=2026-05-26T09%3A00"' in cell(visits, "2026-05-26")
    form = rep.get("/r/visit/new?planned_at=2026-05-26T09%3A00").text
    assert 'name="planned_at" value="2026-05-26T09:00"' in form
    products = rep.get("/r/customer/calendar")
    assert products.status_code == 404  # no calendar in the customer's view


def test_chinese_names_and_escaping(world):
    acme = world.customer("<script>alert(1)</script>")
    visit(world, acme, "2026-05-20T09:00")
    rep = world.browser("rep")
    rep.post("/language", {"locale": "zh"})
    page = rep.get("/r/visit/calendar").text
    assert '<h2 class="calendar-title">2026年5月</h2>' in page
    assert "<th scope=\"col\">周一</th>" in page and "<th scope=\"col\">周日</th>" in page
    assert "‹ 四月</a>" in page and "六月 ›</a>" in page and ">今天</a>" in page
    assert "<script>alert(1)</script>" not in page
    assert days(page)["2026-05-20"] == ["09:00 &lt;script&gt;alert(1)&lt;/script&gt;"]
    week = rep.get("/r/visit/calendar?view=week&date=2026-05-20").text
    assert "2026年5月18日 – 2026年5月24日" in week


def test_entries_with_an_end_span_their_days(engine, database_url, tmp_path):
    from record_pages_kit import B2B

    from atrium.metadata import load_blueprint
    (tmp_path / "views").mkdir()
    (tmp_path / "blueprint.yaml").write_text(f"name: client\nextends: {B2B}\n", encoding="utf-8")
    (tmp_path / "views" / "visit.yaml").write_text("entity: visit\ncalendar: {end: visited_at}\n", encoding="utf-8")
    world = World(engine, database_url, load_blueprint(tmp_path), folder=tmp_path)
    try:
        acme = world.customer("Acme")
        visit(world, acme, "2026-05-20T22:00", visited_at="2026-05-22T09:00", purpose="demo")
        visit(world, acme, "2026-04-28T09:00", visited_at="2026-05-18T09:00", purpose="after_sales")  # began earlier
        visit(world, acme, "2026-04-01T09:00", visited_at="2026-04-02T09:00")  # over before the week
        page = world.browser("rep").get("/r/visit/calendar?view=week&date=2026-05-20").text
        week = days(page)
        assert week["2026-05-18"] == ["Acme · After-sales"]  # its last day, no time: it did not start here
        assert week["2026-05-19"] == []
        assert week["2026-05-20"] == ["22:00 Acme · Product demo"]
        assert week["2026-05-21"] == week["2026-05-22"] == ["Acme · Product demo"]
        assert '<li class="entry entry-blue continues">' in cell(page, "2026-05-21")
        assert week["2026-05-23"] == []
    finally:
        world.close()
