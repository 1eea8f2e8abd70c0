"""Helpers for the browser tests (see conftest.py): where Chromium is, the test server, signing in."""
from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import shutil
import socket
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
B2B = ROOT / "blueprints" / "b2b_sales"
SCREENSHOTS = ROOT / "docs" / "screenshots"
CHROMIUM = os.environ.get("ATRIUM_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"]
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
HOW_TO = ("apt-get install -y chromium fonts-noto-cjk (as root) and pip install playwright "
          "(`make setup` does), or run .ci/run")
VIEWPORT = {"width": 1280, "height": 800}
DEMO_DAY = dt.date(2026, 5, 20)  # the seeded demo data is dated from this day
MAKE_RUN_SCALE, MAKE_RUN_SEED = 200, 1  # what `make run` seeds: `atrium seed`'s defaults (platform/cli.py)


def launch(playwright, *extra: str):
    """Debian's Chromium, headless; never a browser downloaded by `playwright install`."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS + list(extra), headless=True)


def missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        return f"{CHROMIUM} is missing"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is missing"
    if not os.path.isdir(ROOT / "node_modules" / "htmx.org" / "dist"):
        return "node_modules is missing (npm ci)"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """The app under uvicorn in a thread; `url` is its base address."""

    def __init__(self, app, site):
        import uvicorn
        self.site = site
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                lifespan="off", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="atrium-browser-server", daemon=True)

    def start(self) -> "Server":
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def seed_database(path: Path, today: dt.date | None = None, scale: int = 30, seed: int = 7) -> Path:
    """Migrate and seed a SQLite file with the b2b_sales demo data (dated from `today`); `make run`
    seeds with `atrium seed`'s defaults, scale=MAKE_RUN_SCALE and seed=MAKE_RUN_SEED."""
    from atrium.metadata import load_blueprint
    from atrium.runtime.schema.database import create_engine
    from atrium.runtime.schema.migrations import migrate
    from atrium.runtime.seed.seeding import seed_demo
    blueprint = load_blueprint(B2B)
    engine = create_engine(f"sqlite:///{path}")
    migrate(engine, blueprint)
    seed_demo(blueprint, engine, scale=scale, seed=seed, today=today)
    fast_passwords(engine, blueprint)
    engine.dispose()
    return path


@contextlib.contextmanager
def serve(seeded: Path, folder: Path, clock=None):
    """The app on a copy of the seeded database, served until the block ends; `clock` fixes the
    app's idea of now (the real time without it)."""
    from atrium.runtime.schema.database import create_engine
    from atrium.runtime.site.site import Site
    from atrium.ui.web.app import Settings, create_app
    path = folder / "atrium.db"
    shutil.copyfile(seeded, path)
    url = f"sqlite:///{path}"
    engine = create_engine(url)
    site = Site.open(str(B2B), url, engine=engine, clock=clock)
    app = create_app(Settings(str(B2B), url, secret_key="browser-test-secret",
                              node_modules=str(ROOT / "node_modules")), site=site)
    server = Server(app, site).start()
    try:
        yield server
    finally:
        server.stop()
        engine.dispose()


def fast_passwords(engine, blueprint) -> None:
    """Re-hash the demo passwords (still the user names) with cheap argon2 settings, so signing in
    takes milliseconds; the login code checks them exactly as it checks any hash."""
    import sqlalchemy as sa
    from argon2 import PasswordHasher

    from atrium.runtime.schema.tables import build_tables
    hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    users = build_tables(blueprint).system("atrium_users")
    with engine.begin() as connection:
        for uid, name in connection.execute(sa.select(users.c.id, users.c.name)).all():
            connection.execute(users.update().where(users.c.id == uid).values(password_hash=hasher.hash(name)))


def sign_in(page, name: str, password: str | None = None) -> None:
    """Sign in through the login form; the demo password is the user name."""
    page.goto("/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", password or name)
    page.locator("form[action='/login'] button[type=submit], form[action='/login'] button").last.click()
    page.wait_for_url(re.compile(r"^(?!.*/login).*$"))


def unique(prefix: str) -> str:
    return f"{prefix} {time.monotonic_ns() % 1_000_000:06d}"


def user_id(site, name: str) -> int:
    import sqlalchemy as sa
    users = site.tables.system("atrium_users")
    with site.engine.connect() as connection:
        return connection.execute(sa.select(users.c.id).where(users.c.name == name)).scalar_one()


def rows(site, entity: str, **where) -> list[dict]:
    """The stored records of `entity` matching `where` (straight from the table, no access rules)."""
    import sqlalchemy as sa
    table = site.tables[entity]
    with site.engine.connect() as connection:
        result = connection.execute(sa.select(table).where(*(table.c[k] == v for k, v in where.items()))
                                    .order_by(table.c.id))
        return [dict(row._mapping) for row in result]


def pick(page, field: str, text: str) -> None:
    """Choose a record in a reference picker by typing part of its title."""
    box = page.locator(f"#field-{field} .picker-text")
    box.fill(text)
    choice = page.locator(f"#field-{field} .picker-list .pick").filter(has_text=text).first
    choice.click()
    expect_value = page.locator(f"#field-{field} .picker-value")
    assert expect_value.input_value() != ""


LOCALES = ("zh", "en")  # every walk of the demo runs in both of the blueprint's languages


def speak(page, locale: str) -> None:
    """Work in `locale` for the rest of this session (the session's language, as `?lang=` sets it;
    the user's remembered language is left alone)."""
    page.goto(f"/?lang={locale}")
    page.locator(f"html[lang={locale}]").wait_for(state="attached")


def words(msgid: str, locale: str, **params) -> str:
    """An interface word as the page shows it in `locale` (from the gettext catalog)."""
    from atrium.translation import word
    return word(msgid, locale, **params)


def shown(page, label: str):
    """The value a detail page shows beside the field labelled `label` (exactly)."""
    return page.locator(f"xpath=//main//dt[normalize-space(.)='{label}']/following-sibling::dd[1]").first
