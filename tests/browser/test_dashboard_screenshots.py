"""Dashboards and report pages in a real browser: every widget loads through HTMX, every chart is
drawn by ECharts (an SVG of real size), nothing fails in the console or on the network, and the
pages are saved to docs/screenshots/ (the demo data on its fixed day, so the pictures change only
when the pages do)."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from browser_kit import B2B, DEMO_DAY, SCREENSHOTS, VIEWPORT, launch, serve, sign_in
from playwright.sync_api import expect

from atrium.metadata import load_blueprint

STEADY = ("--num-raster-threads=1", "--disable-partial-raster", "--disable-lcd-text", "--font-render-hinting=none")


@pytest.fixture(scope="module")
def demo(seeded_database, tmp_path_factory):
    zone = ZoneInfo(load_blueprint(B2B).timezone)
    now = dt.datetime.combine(DEMO_DAY, dt.time(10, 30), zone).astimezone(dt.timezone.utc)
    with serve(seeded_database, tmp_path_factory.mktemp("dashboards"), clock=lambda: now) as running:
        yield running


@pytest.fixture(scope="module")
def steady_browser(playwright):
    browser = launch(playwright, *STEADY)
    yield browser
    browser.close()


class Watched:
    """A page whose console errors and failed responses are collected."""

    def __init__(self, browser, server, locale: str = "zh-CN"):
        self.context = browser.new_context(base_url=server.url, viewport=VIEWPORT, locale=locale)
        self.context.set_default_timeout(15_000)
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.page.on("console", lambda m: self.problems.append(f"console: {m.text}") if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        self.page.on("response", lambda r: self.problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)

    def close(self) -> None:
        self.context.close()


def charts_drawn(page) -> list[tuple[float, float]]:
    """Wait until each chart element holds ECharts' SVG; their sizes."""
    page.wait_for_load_state("networkidle")
    expect(page.locator(".widget .loading")).to_have_count(0)
    count = page.locator(".chart").count()
    expect(page.locator(".chart svg")).to_have_count(count)
    return page.locator(".chart svg").evaluate_all(
        "els => els.map(e => [e.getBoundingClientRect().width, e.getBoundingClientRect().height])")


def save(page, name: str) -> None:
    page.mouse.move(0, 0)
    page.evaluate("window.scrollTo(0, 0)")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True, animations="disabled", caret="hide")


@pytest.mark.parametrize("person, title, shot", [
    ("rep1", "我的销售", "dashboard-rep-zh"),
    ("manager", "团队销售", "dashboard-manager-zh"),
    ("admin", "公司概览", "dashboard-admin-zh"),
    ("finance", "财务看板", "dashboard-finance-zh"),
])
def test_role_dashboards_draw_every_widget(steady_browser, demo, person, title, shot):
    watched = Watched(steady_browser, demo)
    page = watched.page
    try:
        sign_in(page, person)
        page.goto("/")
        expect(page.locator("h1")).to_have_text(title)
        sizes = charts_drawn(page)
        widgets = page.locator("section.widget")
        assert widgets.count() >= 4
        assert page.locator("section.widget[hx-trigger^='every']").count() == widgets.count()  # all swapped in
        if person != "finance":
            # every chart widget draws its chart or says it has nothing to draw (in the demo, none
            # of rep1's open orders expects to close this quarter and none was lost this quarter)
            empty = page.locator(".widget .empty-chart")
            expect(empty).to_have_text(["暂无数据"] * empty.count())
            assert len(sizes) >= 1 and len(sizes) + empty.count() >= 2, (sizes, empty.count())
        assert all(width > 200 and height > 150 for width, height in sizes), sizes
        assert page.locator(".kpi-value").count() >= 1
        assert not watched.problems, watched.problems
        save(page, shot)
    finally:
        watched.close()


def test_a_report_page_in_english_with_its_chart_and_totals(steady_browser, demo):
    watched = Watched(steady_browser, demo, locale="en-US")
    page = watched.page
    try:
        sign_in(page, "manager")
        page.goto("/reports/pipeline_by_owner?lang=en")
        expect(page.locator("h1")).to_have_text("Pipeline by sales rep")
        sizes = charts_drawn(page)
        assert len(sizes) == 1 and sizes[0][0] > 600 and sizes[0][1] > 200
        expect(page.locator("table.report-table tfoot tr.totals td").first).to_have_text("Total")
        legend = page.locator(".chart svg text").all_text_contents()
        assert "Initial contact" in legend  # stage names from the metadata, in English
        save(page, "report-pipeline-by-owner-en")
        with page.expect_download() as download:
            page.get_by_role("link", name="Export CSV").click()
        assert download.value.suggested_filename == "pipeline_by_owner.csv"
        assert not watched.problems, watched.problems
    finally:
        watched.close()


def test_dashboard_filters_reload_the_widgets(steady_browser, demo):
    watched = Watched(steady_browser, demo)
    page = watched.page
    try:
        sign_in(page, "manager")
        page.goto("/")
        charts_drawn(page)
        page.select_option("select[name=period]", "last_month")
        page.wait_for_url("**period=last_month**")
        charts_drawn(page)
        assert "period=last_month" in page.locator("section.widget").first.get_attribute("hx-get")
        page.locator("[data-refresh]").click()
        charts_drawn(page)
        assert not watched.problems, watched.problems
    finally:
        watched.close()
