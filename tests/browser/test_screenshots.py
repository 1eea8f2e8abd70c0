"""Screenshots of the main pages for docs/screenshots/ (and the README), taken on every run so
they follow the UI: a fresh copy of the seeded demo database, a 1280x800 window (and one phone at
390px), zh and en. Each page is also checked for what a broken screenshot would show: a Chinese
font installed, the style sheet applied, no page wider than the window, no menu word broken over
lines on a phone."""
from __future__ import annotations

import datetime as dt
import subprocess
from zoneinfo import ZoneInfo

import pytest
from browser_kit import B2B, DEMO_DAY, IN_CI, SCREENSHOTS, VIEWPORT, launch, serve, sign_in
from playwright.sync_api import expect

from atrium.metadata import load_blueprint

PHONE = {"width": 390, "height": 844}
# one raster thread and no subpixel text: the same page gives the same pixels run after run
STEADY = ("--num-raster-threads=1", "--disable-partial-raster", "--disable-lcd-text", "--font-render-hinting=none")


def _cjk_font() -> bool:
    """Whether fontconfig has a Chinese font (without one, Chinese renders as empty boxes)."""
    try:
        listed = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False
    return bool(listed.stdout.strip())


@pytest.fixture(scope="module", autouse=True)
def cjk_font():
    if not _cjk_font():
        message = "no Chinese font for the screenshots: apt-get install -y fonts-noto-cjk"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="module")
def demo(seeded_database, tmp_path_factory):
    """A fresh copy of the demo data whose clock stands still on the day it was seeded: the same
    pages give the same pictures, so docs/screenshots/ changes only when the pages do."""
    zone = ZoneInfo(load_blueprint(B2B).timezone)
    now = dt.datetime.combine(DEMO_DAY, dt.time(10, 30), zone).astimezone(dt.timezone.utc)
    with serve(seeded_database, tmp_path_factory.mktemp("screenshots"), clock=lambda: now) as running:
        yield running


@pytest.fixture(scope="module")
def own_browser(playwright):
    """A browser of their own, so the pictures do not depend on what other tests rendered first."""
    browser = launch(playwright, *STEADY)
    yield browser
    browser.close()


def shoot(page, name: str) -> None:
    page.wait_for_load_state("networkidle")
    styled = page.evaluate("getComputedStyle(document.body).fontFamily")
    assert "Times" not in styled  # atrium.css applied
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 1, f"{name}: the page is {overflow}px wider than the window"
    page.mouse.move(0, 0)
    page.evaluate("window.scrollTo(0, 0)")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), animations="disabled", caret="hide")


def open_page(browser, server, viewport=VIEWPORT):
    context = browser.new_context(base_url=server.url, viewport=viewport, locale="zh-CN")
    context.set_default_timeout(10_000)
    return context, context.new_page()


def test_screenshots_of_the_main_pages(own_browser, demo):
    context, page = open_page(own_browser, demo)
    try:
        page.goto("/login")
        expect(page.locator("h1")).to_have_text("登录")
        shoot(page, "login-zh")

        sign_in(page, "manager")
        shoot(page, "home-zh")
        page.goto("/r/order")
        expect(page.locator("table.records tbody tr").first).to_be_visible()
        shoot(page, "order-list-zh")
        page.locator("table.records tbody tr td:first-child a").first.click()
        expect(page.locator("h1")).to_be_visible()
        shoot(page, "order-detail-zh")
        page.goto("/r/order/kanban")
        expect(page.locator(".kanban-card").first).to_be_visible()
        shoot(page, "order-kanban-zh")
        page.goto("/r/visit/calendar")
        expect(page.locator("table.calendar")).to_be_visible()
        shoot(page, "visit-calendar-zh")

        page.goto("/r/order/new")
        page.fill("#f-name", "华东工厂自动化改造")
        page.fill("#f-amount", "-5")
        page.locator("form.record-form button.primary").click()
        expect(page.locator("#msg-customer .error")).to_be_visible()
        shoot(page, "order-form-errors-zh")

        page.goto("/r/order?lang=en")
        expect(page.locator("h1")).to_have_text("Orders")
        shoot(page, "order-list-en")
        page.goto("/r/order/kanban")
        shoot(page, "order-kanban-en")
        page.goto("/r/visit/calendar?view=week")
        shoot(page, "visit-calendar-week-en")
    finally:
        context.close()


def test_screenshot_on_a_phone(own_browser, demo):
    context, page = open_page(own_browser, demo, PHONE)
    try:
        sign_in(page, "rep1")
        page.goto("/r/order")
        expect(page.locator("table.records tbody tr").first).to_be_visible()
        heights = page.locator("nav.menu > a, nav.menu summary").evaluate_all(
            "links => links.map(a => a.offsetHeight)")
        assert max(heights) < 2 * min(heights) + 1, "a menu word broke over lines on a phone"
        shoot(page, "order-list-phone-zh")
        page.locator("table.records tbody tr td:first-child a").first.click()
        shoot(page, "order-detail-phone-zh")
    finally:
        context.close()
