"""Role dashboards: the user's role dashboard at /, widgets as HTMX partials computed under the
viewer's scope (one YAML: a rep's own numbers, a manager's team's), KPI targets and progress,
period and team filters, results cached until a record they read changes, YAML changes shown
at once, zh and en, 404s."""
from __future__ import annotations

import datetime as dt
import re
import shutil

import pytest
from record_pages_kit import B2B, TODAY
from report_pages_kit import add_person, kpi_value, open_order, widget, widget_index, won_order

from atrium.metadata import load_blueprint
from atrium.ui.reports.widget_cache import cache_of

pytestmark = pytest.mark.database  # runs on SQLite and again on PostgreSQL


def won_kpi(world) -> int:
    return widget_index(world, "sales_rep", type="kpi", report="won_this_month")


def test_home_is_the_role_dashboard_with_a_placeholder_per_widget(world):
    page = world.browser("rep").get("/")
    assert page.status_code == 200
    assert "<h1>My sales</h1>" in page.text
    widgets = world.site.blueprint.dashboards["sales_rep"]["widgets"]
    loads = re.findall(r'hx-get="(/dashboards/sales_rep/widgets/\d+)" hx-trigger="load"', page.text)
    assert loads == [f"/dashboards/sales_rep/widgets/{i}" for i in range(len(widgets))]
    assert '<script src="/static/charts.js" defer></script>' in page.text
    manager = world.browser("manager").get("/").text
    assert "<h1>Team sales</h1>" in manager and "/dashboards/sales_manager/widgets/0" in manager


def test_every_widget_renders_for_each_role(world):
    won_order(world, "rep", 1000)
    open_order(world, "rep2", 500)
    for person, dashboard in (("rep", "sales_rep"), ("manager", "sales_manager"), ("boss", "admin")):
        browser = world.browser(person)
        for index, spec in enumerate(world.site.blueprint.dashboards[dashboard]["widgets"]):
            fragment = widget(browser, dashboard, index)
            assert fragment.startswith('<section class="card widget widget-'), fragment[:200]
            assert f'hx-get="/dashboards/{dashboard}/widgets/{index}"' in fragment  # refreshes itself
            assert "could not be computed" not in fragment and "not available" not in fragment, (dashboard, spec)


def test_the_same_widget_shows_each_viewer_their_scope(world):
    won_order(world, "rep", 1000)
    won_order(world, "rep2", 2000)
    index = won_kpi(world)
    assert kpi_value(widget(world.browser("rep"), "sales_rep", index)) == "¥1,000.00"
    assert kpi_value(widget(world.browser("rep2"), "sales_rep", index)) == "¥2,000.00"
    manager = widget_index(world, "sales_manager", type="kpi", report="won_this_month", value="amount")
    assert kpi_value(widget(world.browser("manager"), "sales_manager", manager)) == "¥3,000.00"


def test_a_kpi_shows_target_progress_and_change_against_the_previous_period(world):
    won_order(world, "rep", 1000)
    won_order(world, "rep", 500, close=TODAY.replace(day=1) - dt.timedelta(days=2))  # last month
    world.site.records.create("sales_target", {"owner": world.ids["rep"], "metric": "revenue", "period": TODAY,
                                               "amount": 4000, "status": "approved",
                                               "approved_by": world.ids["manager"]})
    fragment = widget(world.browser("rep"), "sales_rep", won_kpi(world))
    assert kpi_value(fragment) == "¥1,000.00"
    assert "Target ¥4,000.00" in fragment and "25.0% of target" in fragment
    assert 'aria-valuenow="25.0"' in fragment
    assert "▲ 100.0% vs Last month" in fragment  # 1,000 this month against 500 last month


def test_funnel_and_chart_widgets_carry_their_chart(world):
    won_order(world, "rep", 1000)
    open_order(world, "rep", 700)
    rep = world.browser("rep")
    funnel = widget(rep, "sales_rep", widget_index(world, "sales_rep", type="funnel"))
    assert 'class="chart chart-funnel"' in funnel and "&#34;type&#34;: &#34;funnel&#34;" in funnel
    assert "Initial contact" in funnel and "Won" in funnel
    chart = widget(rep, "sales_rep", widget_index(world, "sales_rep", type="chart", report="pipeline_by_stage"))
    assert 'class="chart chart-bar"' in chart


def test_list_widgets_show_the_viewers_records(world):
    visits = widget_index(world, "sales_rep", type="list", entity="visit")
    customer = world.customer("Acme")
    planned = dt.datetime(2026, 5, 15, 6, 0, tzinfo=dt.timezone.utc)  # 14:00 today in Shanghai
    world.create("visit", "rep", customer=customer["id"], planned_at=planned, purpose="demo")
    other = world.customer("Other", by="rep2")
    world.create("visit", "rep2", customer=other["id"], planned_at=planned, purpose="demo")
    fragment = widget(world.browser("rep"), "sales_rep", visits)
    assert ">Acme</a>" in fragment and "Other" not in fragment


def test_results_are_cached_until_a_record_they_read_changes(world):
    won_order(world, "rep", 1000)
    rep = world.browser("rep")
    index = won_kpi(world)
    cache = cache_of(world.app.state)
    assert kpi_value(widget(rep, "sales_rep", index)) == "¥1,000.00"
    hits = cache.hits
    assert kpi_value(widget(rep, "sales_rep", index)) == "¥1,000.00"
    assert cache.hits == hits + 1  # nothing it reads changed: served from the cache
    world.site.records.create("task", {"title": "Call", "owner": world.ids["rep"]})  # a table it does not read
    assert kpi_value(widget(rep, "sales_rep", index)) == "¥1,000.00"
    assert cache.hits == hits + 2
    won_order(world, "rep", 250)  # an order changed: the next request computes afresh
    assert kpi_value(widget(rep, "sales_rep", index)) == "¥1,250.00"
    assert cache.hits == hits + 2


def test_a_cache_in_another_process_sees_the_change_too(world):
    """Two server processes share only the database: a second app on the same site stands in for
    the second worker, its cache warmed before the first one takes the write."""
    from record_pages_kit import Browser
    from starlette.testclient import TestClient

    from atrium.ui.web.app import Settings, create_app
    won_order(world, "rep", 1000)
    other_app = create_app(Settings(str(B2B), "unused", secret_key="test-secret"), site=world.site)
    other = Browser(TestClient(other_app))
    other.post("/login", data={"name": "rep", "password": "rep-pass"})
    index = won_kpi(world)
    assert kpi_value(widget(other, "sales_rep", index)) == "¥1,000.00"
    assert kpi_value(widget(other, "sales_rep", index)) == "¥1,000.00"  # cached there
    rep = world.browser("rep")
    order = world.order("Later", by="rep", amount=90, expected_close=TODAY + dt.timedelta(days=3))
    rep.post(f"/r/order/{order['id']}/stage", data={"stage": "won"})  # through the first app
    assert kpi_value(widget(other, "sales_rep", index)) == "¥1,090.00"
    other.client.close()


def test_filters_for_period_and_team(world):
    won_order(world, "rep", 1000)
    won_order(world, "rep2", 2000)
    won_order(world, "rep2", 400, close=TODAY.replace(day=1) - dt.timedelta(days=2))
    manager = world.browser("manager")
    index = widget_index(world, "sales_manager", type="kpi", report="won_this_month", value="amount")
    page = manager.get(f"/dashboards/sales_manager?owner=user-{world.ids['rep2']}&period=last_month").text
    url = f"/dashboards/sales_manager/widgets/{index}?period=last_month&amp;owner=user-{world.ids['rep2']}"
    assert f'hx-get="{url}"' in page
    assert '<option value="last_month" selected>Last month</option>' in page
    assert kpi_value(widget(manager, "sales_manager", index, f"owner=user-{world.ids['rep2']}")) == "¥2,000.00"
    assert kpi_value(widget(manager, "sales_manager", index, "period=last_month")) == "¥400.00"
    assert kpi_value(widget(manager, "sales_manager", index, f"owner=team-{world.team}")) == "¥3,000.00"
    assert manager.get("/dashboards/sales_manager?period=someday").status_code == 400


def test_a_changed_dashboard_yaml_shows_on_the_next_request(world, tmp_path):
    won_order(world, "rep", 1000)
    rep = world.browser("rep")
    index = won_kpi(world)
    assert "Won this month vs target" in widget(rep, "sales_rep", index)
    folder = tmp_path / "b2b_sales"
    shutil.copytree(B2B, folder)
    path = folder / "dashboards" / "sales_rep.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("label: {en: My sales, zh: 我的销售}",
                                                               "label: {en: Rep cockpit, zh: 销售驾驶舱}")
                    .replace("{en: Won this month vs target, zh: 本月赢单与目标}",
                             "{en: Revenue this month, zh: 本月收入}"), encoding="utf-8")
    original = world.site.blueprint
    world.site.blueprint = load_blueprint(folder)
    try:
        assert "<h1>Rep cockpit</h1>" in rep.get("/").text
        assert "Revenue this month" in widget(rep, "sales_rep", index)  # not the cached widget
    finally:
        world.site.blueprint = original


def test_widgets_speak_the_readers_language(world):
    won_order(world, "rep", 1000)
    rep = world.browser("rep")
    rep.post("/language", data={"locale": "zh"})
    assert "<h1>我的销售</h1>" in rep.get("/").text
    fragment = widget(rep, "sales_rep", won_kpi(world))
    assert "本月赢单与目标" in fragment and "赢单金额" in fragment


def test_dashboards_of_other_roles_and_unknown_ones_are_not_found(world):
    rep = world.browser("rep")
    assert rep.get("/dashboards/sales_manager").status_code == 404
    assert rep.get("/dashboards/sales_manager/widgets/0", htmx=True).status_code == 404
    assert rep.get("/dashboards/nope").status_code == 404
    assert rep.get("/dashboards/sales_rep/widgets/999", htmx=True).status_code == 404
    assert world.browser("boss").get("/dashboards/sales_rep").status_code == 200  # an administrator may look


def test_a_widget_whose_report_the_role_may_not_run_says_so(world, tmp_path):
    add_person(world, "mkt", "marketing", "Marketing Chen")
    folder = tmp_path / "b2b_sales"
    shutil.copytree(B2B, folder)
    path = folder / "dashboards" / "marketing.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "  - {type: kpi, report: won_this_month, value: amount}\n",
                    encoding="utf-8")
    original = world.site.blueprint
    world.site.blueprint = load_blueprint(folder)
    try:
        marketing = world.browser("mkt")
        widgets = world.site.blueprint.dashboards["marketing"]["widgets"]
        fragment = widget(marketing, "marketing", len(widgets) - 1)
        assert "This widget is not available to your role" in fragment  # marketing may not read orders
        assert "chart-bar" in widget(marketing, "marketing", 0) or "No data" in widget(marketing, "marketing", 0)
    finally:
        world.site.blueprint = original
