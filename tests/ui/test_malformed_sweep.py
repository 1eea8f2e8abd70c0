"""Every route the app registers, swept with malformed values — ids beyond 64 bits, NUL bytes,
crafted keyset cursors, dates like 0000-00-00 or year 99999, decimals like 1e999999, very long
strings — in its path, its query string and its body (a form for the pages, JSON for the API):
none answers with a 5xx, on SQLite and on PostgreSQL. The routes come from the app itself, so a
route added later is swept too."""
from __future__ import annotations

import base64
import json
import re
from urllib.parse import quote

import pytest
from starlette.routing import Route
from starlette.testclient import TestClient

from atrium.runtime.access import users

pytestmark = pytest.mark.database

BIG = "99999999999999999999"


def cursor(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


VALUES = [BIG, "9223372036854775808", "-9223372036854775809", "1e999999", "0000-00-00", "99999-01-01",
          "a\x00b", "x" * 1200, cursor([{"t": "date", "v": "nope"}, 1]), cursor([True, 1]), cursor([[1, 2], 1]),
          cursor([{"t": "decimal", "v": "1e999999"}, int(BIG)]), "²", "NaN"]
JSON_VALUES = [int(BIG), -int(BIG), 1e308, "a\x00b", "x" * 5000, [1, [2]], {"a": None}, "0000-00-00", "1e999999",
               True]
GENERIC = ["q", "limit", "offset", "page", "before", "after", "sort", "period", "count", "status", "mine", "entity",
           "record", "date", "view", "format", "owner", "team", "tab", "unread", "from", "field", "applied", "ids",
           "id", "version", "comment", "rule", "to", "assign_to", "action", "name", "password", "next", "lang"]
ACCOUNT_ROUTES = {"/login", "/logout", "/language"}  # swept by a visitor of their own, last
ENTITIES = ("order", "lead")


@pytest.fixture(scope="module")
def sweep(shared):
    """The b2b world with a few records, the admin's browser and API token."""
    shared.reset()
    customer = shared.customer("Acme", by="rep")
    order = shared.order("Deal", by="rep", customer=customer)
    lead = shared.create("lead", "rep", company="Huaxin", contact_name="Zhang Wei", phone="021-5555-0101",
                         region="east", status="qualified")
    ids = {"customer": customer["id"], "order": order["id"], "lead": lead["id"]}
    with shared.site.engine.begin() as connection:
        token = users.issue_token(connection, shared.site.tables, "boss")
    shared.app.state.site = shared.site
    boss = shared.browser("boss")
    boss.client = TestClient(shared.app, raise_server_exceptions=False, cookies=boss.client.cookies)
    yield shared, boss, token, ids
    shared.close()


class Sweeper:
    def __init__(self, world, browser, token: str, ids: dict[str, int]):
        self.world, self.browser, self.token, self.ids = world, browser, token, ids
        self.failures: list[str] = []
        self.count = 0

    def send(self, method: str, path: str, **kwargs) -> None:
        headers = {"X-CSRF-Token": self.browser.token(), **kwargs.pop("headers", {})}
        if path.startswith("/api/"):
            headers["Authorization"] = f"Bearer {self.token}"
        response = self.browser.client.request(method, path, headers=headers, follow_redirects=False, **kwargs)
        self.count += 1
        if response.status_code >= 500:
            self.failures.append(f"{response.status_code} {method} {path[:120]} {str(kwargs)[:200]}")

    def path(self, route: Route, entity: str, changes: dict[str, str] | None = None) -> str:
        path = route.path
        for name, convertor in re.findall(r"\{(\w+)(?::(\w+))?\}", route.path):
            value = (changes or {}).get(name)
            if value is None:
                value = entity if name == "entity" else str(self.ids.get(entity, 1)) if convertor else "x"
                if name == "name":
                    value = next(iter(self.world.blueprint.reports))
            path = re.sub(r"\{" + name + r"(:\w+)?\}", quote(value, safe=""), path)
        return path

    def fields(self, entity: str) -> list[str]:
        return list(self.world.blueprint.entities[entity].fields) if entity else []

    def route(self, route: Route, method: str) -> None:
        params = re.findall(r"\{(\w+)(?::(\w+))?\}", route.path)
        for entity in ENTITIES if any(name == "entity" for name, _ in params) else ("",):
            for name, convertor in params:
                for value in ([BIG, "9223372036854775808"] if convertor else ["a\x00b", "x" * 300]):
                    self.send(method, self.path(route, entity, {name: value}))
            base = self.path(route, entity)
            fields = self.fields(entity)
            names = GENERIC + fields + [f"{f}__{s}" for f in fields for s in ("q", "contains", "min", "from")]
            for value in VALUES:
                if method == "GET":  # value[:200]: the whole query string stays within what a client sends
                    self.send("GET", base, params={name: value[:200] for name in names})
                else:
                    self.send(method, base + "?q=" + quote(value), data={name: value for name in names})
            if base.startswith("/api/") and method == "GET":
                for name in ["q", "after", "sort", "limit", "record", "status", "period", *fields]:
                    for value in VALUES:
                        self.send("GET", base, params={name: value})
            if base.startswith("/api/") and method in ("POST", "PATCH"):
                for value in JSON_VALUES:
                    self.send(method, base, json={name: value for name in GENERIC + fields})
                    one_by_one = fields if route.name in ("api_create", "api_update") else []
                    for name in ("ids", "where", "set", "targets", "version", *one_by_one):
                        self.send(method, base, json={name: value, "version": 1})


def test_no_route_answers_malformed_input_with_a_server_error(sweep):
    world, boss, token, ids = sweep
    sweeper = Sweeper(world, boss, token, ids)
    swept = set()
    for route in world.app.router.routes:
        if not isinstance(route, Route) or route.path in ACCOUNT_ROUTES:
            continue
        for method in sorted((route.methods or set()) - {"HEAD"}):
            sweeper.route(route, method)
            swept.add(route.name)
    visitor = world.browser("rep")
    visitor.client = TestClient(world.app, raise_server_exceptions=False, cookies=visitor.client.cookies)
    account = Sweeper(world, visitor, token, ids)
    for value in VALUES:
        for path in ("/language", "/login", "/logout"):
            account.send("POST", path + "?next=" + quote(value), data={"name": value, "password": value,
                                                                      "locale": value, "next": value})
    assert sweeper.failures + account.failures == []
    routes = {r.name for r in world.app.router.routes if isinstance(r, Route) and r.path not in ACCOUNT_ROUTES}
    assert swept == routes and sweeper.count > 1000
