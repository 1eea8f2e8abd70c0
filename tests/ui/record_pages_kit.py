"""Shared set-up for the record page tests: the shipped b2b blueprint on a database migrated once
per test module (each test starts from empty tables), a team with two reps, a manager and an
admin, a clock the test moves, and a browser-like client."""
from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import uuid
from pathlib import Path
from urllib.parse import quote

from argon2 import PasswordHasher
from starlette.testclient import TestClient

from atrium.runtime.access import users
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.schema.database import create_engine
from atrium.runtime.schema.migrations import migrate
from atrium.runtime.site.site import Site
from atrium.ui.web.app import Settings, create_app

ROOT = Path(__file__).resolve().parents[2]
B2B = ROOT / "blueprints" / "b2b_sales"
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)  # signing in stays quick
START = dt.datetime(2026, 5, 15, 4, 0, tzinfo=dt.timezone.utc)  # noon in Asia/Shanghai
TODAY = dt.date(2026, 5, 15)
PEOPLE = (("rep", "sales_rep", "Rep Li"), ("rep2", "sales_rep", "Rep Wang"),
          ("manager", "sales_manager", "Manager Zhou"), ("boss", "admin", "Boss Chen"))


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += dt.timedelta(**delta)


class World:
    """A site, its app, the people in it, and a client per person."""

    def __init__(self, engine, database_url, blueprint, folder: Path = B2B):
        migrate(engine, blueprint)
        self.clock = Clock()
        self.site = Site.open(blueprint, database_url, engine=engine, clock=self.clock)
        self.blueprint = blueprint
        self.ids: dict[str, int] = {}
        with engine.begin() as connection:
            self.team = users.add_team(connection, self.site.tables, "east")
            table = self.site.tables.system("atrium_users")
            for name, role, display in PEOPLE:
                self.ids[name] = users.add_user(connection, self.site.tables, blueprint, name, role, team="east",
                                                display_name=display, locale="en")
                connection.execute(table.update().where(table.c.id == self.ids[name]).values(
                    password_hash=FAST_HASHER.hash(f"{name}-pass")))
        self.app = create_app(Settings(str(folder), database_url, secret_key="test-secret"), site=self.site)
        self.clients: list[TestClient] = []

    def reset(self) -> None:
        """Empty every table but users and teams, and put the clock back: a fresh start."""
        keep = {"atrium_users", "atrium_teams", "atrium_tokens"}
        with self.site.engine.begin() as connection:
            for table in reversed(self.site.tables.metadata.sorted_tables):
                if table.name not in keep:
                    connection.execute(table.delete())
        self.clock.now = START
        self.close()

    def actor(self, name: str) -> Actor:
        role = next(r for n, r, _ in PEOPLE if n == name)
        return Actor(user_id=self.ids[name], name=name, role=role, team_id=self.team, locale="en")

    def create(self, entity: str, by: str = "rep", **values) -> dict:
        return self.site.records.create(entity, values, self.actor(by))

    def customer(self, name: str = "Acme", by: str = "rep", **values) -> dict:
        return self.create("customer", by, name=name, **values)

    def order(self, name: str = "Deal", by: str = "rep", customer: dict | None = None, **values) -> dict:
        customer = customer or self.customer(f"{name} customer", by)
        return self.create("order", by, name=name, customer=customer["id"], **values)

    def browser(self, name: str) -> "Browser":
        client = TestClient(self.app)
        self.clients.append(client)
        browser = Browser(client)
        response = browser.post("/login", data={"name": name, "password": f"{name}-pass"}, follow_redirects=False)
        assert response.status_code == 303, response.text
        return browser

    def get(self, entity: str, record_id: int) -> dict | None:
        return self.site.records.get(entity, record_id)

    def close(self) -> None:
        for client in self.clients:
            client.close()
        self.clients = []


@contextlib.contextmanager
def module_database(tmp_path_factory):
    """(engine, url) of a database for one test module: SQLite, or a PostgreSQL schema of its own
    when ATRIUM_TEST_DB=postgresql (as tests/conftest.py does per test)."""
    if os.environ.get("ATRIUM_TEST_DB", "sqlite") != "postgresql":
        url = f"sqlite:///{tmp_path_factory.mktemp('pages') / 'test.db'}"
        engine = create_engine(url)
        yield engine, url
        engine.dispose()
        return
    base = os.environ["ATRIUM_TEST_PG_URL"]
    schema = "t_" + uuid.uuid4().hex[:16]
    admin = create_engine(base)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = f"{base}{'&' if '?' in base else '?'}options={quote(f'-csearch_path={schema}')}"
    engine = create_engine(url)
    try:
        yield engine, url
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


class Browser:
    """A signed-in client that sends the session's CSRF token with every POST, like the pages do."""

    def __init__(self, client: TestClient):
        self.client = client
        self._token: str | None = None

    def token(self) -> str:
        if self._token is None:
            page = self.client.get("/login")
            self._token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        return self._token

    def get(self, path: str, htmx: bool = False, **kwargs):
        headers = kwargs.pop("headers", {})
        if htmx:
            headers = {"HX-Request": "true", **headers}
        return self.client.get(path, headers=headers, **kwargs)

    def post(self, path: str, data=None, htmx: bool = False, **kwargs):
        pairs = list(data.items()) if isinstance(data, dict) else list(data or [])
        pairs.append(("csrf_token", self.token()))
        headers = kwargs.pop("headers", {})
        if htmx:
            headers = {"HX-Request": "true", **headers}
        response = self.client.post(path, data=_flatten(pairs), headers=headers, **kwargs)
        if path == "/login":
            self._token = None  # signing in starts a new session with a new token
        return response


def _flatten(pairs):
    """TestClient takes a dict of lists for repeated fields."""
    result: dict[str, list[str]] = {}
    for key, value in pairs:
        result.setdefault(key, []).append(str(value))
    return {k: v if len(v) > 1 else v[0] for k, v in result.items()}


def table_rows(html: str) -> list[str]:
    """The visible text of each body row of the first records table."""
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", row).split()) for row in rows]


def record_links(html: str, entity: str) -> list[int]:
    """Ids of the records a list's first column links to, in order (after the bulk bar's tick box)."""
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [int(i) for i in re.findall(rf'<tr><td[^>]*>(?:<input [^>]*> )?<a href="/r/{entity}/(\d+)"', body)]
