"""Browser tests: Playwright for Python driving Debian's Chromium against the real app.

One uvicorn server per test session, in a background thread on a free 127.0.0.1 port, serves
`create_app` over a temporary SQLite database migrated and seeded with the shipped b2b_sales
blueprint (demo users rep1, rep2, manager, admin; the password is the user name). The browser is
/usr/bin/chromium (`apt-get install -y chromium fonts-noto-cjk`); `playwright install` is never
used. In CI (CI=true) a missing browser is a failure; elsewhere the tests are skipped with one
line saying how to enable them. These tests use no `database_url`, so they run in the SQLite
pass only.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from browser_kit import (
    DEMO_DAY,
    HOW_TO,
    IN_CI,
    MAKE_RUN_SCALE,
    MAKE_RUN_SEED,
    VIEWPORT,
    launch,
    missing,
    seed_database,
    serve,
)

HERE = Path(__file__).resolve().parent
MISSING = missing()


def pytest_collection_modifyitems(config, items):
    mine = [item for item in items if Path(str(item.fspath)).resolve().is_relative_to(HERE)]
    if not mine or MISSING is None:
        return
    if IN_CI:  # CI must run them: the `browser` fixture fails loudly instead
        return
    skip = pytest.mark.skip(reason=f"browser tests skipped: {MISSING}; to enable them: {HOW_TO}")
    for item in mine:
        item.add_marker(skip)
    config._atrium_browser_skipped = len(mine)


def pytest_terminal_summary(terminalreporter, config):
    skipped = getattr(config, "_atrium_browser_skipped", 0)
    if skipped:
        terminalreporter.write_line(
            f"{skipped} browser tests skipped: {MISSING}; to enable them: {HOW_TO}", yellow=True)


@pytest.fixture(scope="session")
def seeded_database(tmp_path_factory) -> Path:
    """A SQLite file migrated and seeded once, as of a fixed day (so screenshots only change when
    the pages do); each server works on a copy of it."""
    return seed_database(tmp_path_factory.mktemp("seeded") / "atrium.db", today=DEMO_DAY)


@pytest.fixture(scope="session")
def make_run_database(tmp_path_factory) -> Path:
    """The demo data as `make run` seeds it (`atrium seed`'s defaults), dated DEMO_DAY: the walks of
    the issue's loops run on it; each server works on a copy of it."""
    return seed_database(tmp_path_factory.mktemp("make-run") / "atrium.db", today=DEMO_DAY,
                         scale=MAKE_RUN_SCALE, seed=MAKE_RUN_SEED)


@pytest.fixture(scope="session")
def server(seeded_database, tmp_path_factory):
    with serve(seeded_database, tmp_path_factory.mktemp("browser")) as running:
        yield running


@pytest.fixture(scope="session")
def playwright():
    if MISSING:
        pytest.fail(f"CI must run the browser tests, but {MISSING}; install with: {HOW_TO}")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="session")
def browser(playwright):
    browser = launch(playwright)
    yield browser
    browser.close()


@pytest.fixture
def context(browser, server):
    context = browser.new_context(base_url=server.url, viewport=VIEWPORT, locale="zh-CN")
    context.set_default_timeout(10_000)
    yield context
    context.close()


@pytest.fixture
def page(context):
    return context.new_page()
