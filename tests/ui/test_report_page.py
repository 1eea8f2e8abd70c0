"""Report pages: the reports a user may run, one report's chart and table under the viewer's
scope (a rep sees own figures, a manager the team's, from the same YAML), filters in the URL,
CSV export, zh and en labels, 404 for unknown and forbidden reports, and escaped record values."""
from __future__ import annotations

import datetime as dt
import html
import json
import re

import pytest
from markupsafe import escape
from record_pages_kit import TODAY
from report_pages_kit import add_person, cells, open_order, won_order

pytestmark = pytest.mark.database  # runs on SQLite and again on PostgreSQL


def test_the_index_lists_the_reports_the_role_may_run(world):
    add_person(world, "mkt", "marketing", "Marketing Chen")
    page = world.browser("rep").get("/reports")
    assert page.status_code == 200
    assert '<a href="/reports/orders_by_stage">Open orders by stage</a>' in page.text
    assert 'href="/reports" class="menu-reports" aria-current="page"' in page.text  # the menu entry
    marketing = world.browser("mkt").get("/reports").text
    assert "/reports/leads_by_source" in marketing
    assert "/reports/orders_by_stage" not in marketing  # marketing may not read orders


def test_a_rep_sees_own_figures_and_the_manager_the_teams(world):
    open_order(world, "rep", 1000)
    open_order(world, "rep2", 2000)
    rep = world.browser("rep").get("/reports/orders_by_stage")
    assert rep.status_code == 200
    assert cells(rep.text) == [["Initial contact", "1", "1,000.00"], ["Total", "1", "1,000.00"]]
    manager = world.browser("manager").get("/reports/orders_by_stage").text
    assert cells(manager) == [["Initial contact", "2", "3,000.00"], ["Total", "2", "3,000.00"]]


def test_the_chart_follows_the_reports_chart_block(world):
    open_order(world, "rep", 1000)
    page = world.browser("rep").get("/reports/orders_by_stage").text
    assert '<script src="/static/vendor/echarts/echarts.min.js" defer></script>' in page
    chart = json.loads(html.unescape(re.search(r'data-chart="([^"]+)"', page).group(1)))
    series = chart["option"]["series"][0]
    assert series["type"] == "pie" and series["radius"] == ["42%", "70%"]  # chart: {type: donut}
    assert series["data"] == [{"name": "Initial contact", "value": 1000.0}]
    assert chart["format"] == "money" and chart["currency"] == "CNY"


def test_a_kpi_report_shows_its_figure(world):
    won_order(world, "rep", 1500)
    page = world.browser("rep").get("/reports/won_this_month").text
    assert '<div class="kpi-value">¥1,500.00</div>' in page


def test_filters_are_in_the_url_and_narrow_the_rows(world):
    open_order(world, "rep", 1000)
    open_order(world, "rep2", 2000)
    manager = world.browser("manager")
    page = manager.get(f"/reports/orders_by_stage?owner=user-{world.ids['rep2']}").text
    assert cells(page)[-1] == ["Total", "1", "2,000.00"]
    assert f'<option value="user-{world.ids["rep2"]}" selected>Rep Wang</option>' in page
    assert f'href="/reports/orders_by_stage.csv?owner=user-{world.ids["rep2"]}"' in page  # export keeps them
    assert cells(manager.get("/reports/orders_by_stage?owner=me").text)[-1][:2] == ["Total", "0"]
    team = manager.get(f"/reports/orders_by_stage?owner=team-{world.team}").text
    assert cells(team)[-1] == ["Total", "2", "3,000.00"]


def test_the_period_filter_replaces_the_reports_period(world):
    won_order(world, "rep", 700, close=TODAY.replace(day=1) - dt.timedelta(days=3))  # last month
    won_order(world, "rep", 300)
    rep = world.browser("rep")
    # no revenue target set: none beside the won amount
    assert cells(rep.get("/reports/won_by_owner").text)[0] == ["Rep Li", "300.00", "1", "", ""]
    last = rep.get("/reports/won_by_owner?period=last_month").text
    assert cells(last)[0] == ["Rep Li", "700.00", "1", "", ""]
    assert '<option value="last_month" selected>Last month</option>' in last


def test_bad_filters_are_refused_with_a_message(world):
    rep = world.browser("rep")
    response = rep.get("/reports/won_by_owner?period=next_decade")
    assert response.status_code == 400 and "&#39;next_decade&#39; is not a period" in response.text
    response = world.browser("manager").get("/reports/won_by_owner?owner=team-99999")
    assert response.status_code == 400 and "is not a team or person you can see" in response.text
    assert rep.get("/reports/won_by_owner?owner=me").status_code == 200


def test_csv_export_has_the_rows_labels_and_totals(world):
    open_order(world, "rep", 1000)
    open_order(world, "rep", 250)
    response = world.browser("rep").get("/reports/orders_by_stage.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="orders_by_stage.csv"' in response.headers["content-disposition"]
    lines = response.content.decode("utf-8-sig").splitlines()
    assert lines == ["Stage,Orders,Amount", "Initial contact,2,1250.00", "Total,2,1250.00"]
    same = world.browser("rep").get("/reports/orders_by_stage?format=csv")
    assert same.content == response.content


def test_unknown_and_forbidden_reports_are_not_found(world):
    add_person(world, "mkt", "marketing", "Marketing Chen")
    assert world.browser("rep").get("/reports/no_such_report").status_code == 404
    assert world.browser("rep").get("/reports/no_such_report.csv").status_code == 404
    marketing = world.browser("mkt")
    assert marketing.get("/reports/orders_by_stage").status_code == 404
    assert marketing.get("/reports/orders_by_stage.csv").status_code == 404
    assert marketing.get("/reports/leads_by_source").status_code == 200


def test_signed_out_visitors_are_sent_to_sign_in(world):
    from starlette.testclient import TestClient
    with TestClient(world.app) as client:
        response = client.get("/reports/orders_by_stage", follow_redirects=False)
    assert response.status_code == 303 and "/login" in response.headers["location"]


def test_labels_follow_the_readers_language(world):
    open_order(world, "rep", 1000)
    rep = world.browser("rep")
    english = rep.get("/reports/orders_by_stage").text
    assert "<h1>Open orders by stage</h1>" in english and "<th class=\"num\">Orders</th>" in english
    rep.post("/language", data={"locale": "zh"})
    chinese = rep.get("/reports/orders_by_stage").text
    assert "<h1>商机阶段分布</h1>" in chinese and "<th class=\"num\">订单数</th>" in chinese
    assert cells(chinese)[0][0] == "初步接触" and cells(chinese)[-1][0] == "合计"
    assert "按报表默认" not in chinese  # this report has no date to filter by
    assert rep.get("/reports/orders_by_stage.csv").content.decode("utf-8-sig").splitlines()[0] == "阶段,订单数,金额"


def test_record_values_in_report_labels_are_escaped(world):
    evil = '<script>alert("x")</script>'
    campaign = world.create("campaign", "boss", name=evil, channel="webinar", cost=100, owner=world.ids["boss"],
                            starts_on=TODAY)
    world.create("lead", "boss", company="Acme", contact_name="Li", source="website", campaign=campaign["id"],
                 owner=world.ids["boss"])
    page = world.browser("boss").get("/reports/campaign_roi").text
    assert evil not in page
    assert str(escape(evil)) in page  # in the table
    chart = json.loads(html.unescape(re.search(r'data-chart="([^"]+)"', page).group(1)))
    assert chart["option"]["xAxis"]["data"] == [evil]  # the attribute decodes to the plain text
    assert "<" not in re.search(r'data-chart="([^"]+)"', page).group(1)
