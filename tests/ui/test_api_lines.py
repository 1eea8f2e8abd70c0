"""A quote and its lines in one API call (`"lines"` beside the quote's fields): created, changed
and removed together, a bad row answered by its index with nothing written, and a stale version
refused; GET shows the lines."""
from __future__ import annotations

from decimal import Decimal

import pytest
from starlette.testclient import TestClient

from atrium.runtime.access import users

pytestmark = pytest.mark.database  # runs on SQLite and again on PostgreSQL
GRID = "quote_line.quote"


@pytest.fixture
def call(world):
    with world.site.engine.begin() as connection:
        token = users.issue_token(connection, world.site.tables, "rep")
    client = TestClient(world.app)
    world.clients.append(client)

    def request(method: str, path: str, **kwargs):
        return client.request(method, "/api/v1/" + path, headers={"Authorization": f"Bearer {token}"}, **kwargs)
    return request


def test_a_quote_with_its_lines_in_one_call(world, call):
    order = world.order("Vision system")
    robot = world.create("product", code="IR-200", name="Robot IR-200", unit_price=150000)
    body = {"name": "Vision quote", "order": order["id"], "customer": order["customer"],
            "lines": {GRID: [{"product": robot["id"], "quantity": 2, "unit_price": "150000", "discount": 10},
                             {"description": "Installation", "quantity": 1, "unit_price": 5000}]}}
    created = call("POST", "quote", json=body)
    assert created.status_code == 201, created.text
    quote = created.json()
    assert quote["line_count"] == 2 and Decimal(str(quote["total"])) == Decimal("275000")
    first, second = quote["lines"][GRID]
    assert Decimal(str(first["amount"])) == Decimal("270000") and second["description"] == "Installation"

    bad = call("PATCH", f"quote/{quote['id']}", json={"version": quote["version"], "lines": {GRID: [
        {"id": first["id"], "quantity": 3}, {"quantity": -1, "unit_price": 1}]}})
    assert bad.status_code == 422
    assert "quantity" in bad.json()["lines"][GRID]["1"] and "0" not in bad.json()["lines"][GRID]
    assert world.get("quote_line", first["id"])["quantity"] == Decimal("2")  # nothing written

    changed = call("PATCH", f"quote/{quote['id']}", json={"version": quote["version"], "lines": {GRID: [
        {"id": first["id"], "quantity": 3}, {"id": second["id"], "remove": True}]}})
    assert changed.status_code == 200, changed.text
    assert [line["quantity"] for line in changed.json()["lines"][GRID]] == [3]
    assert Decimal(str(call("GET", f"quote/{quote['id']}").json()["total"])) == Decimal("405000")
    stale = call("PATCH", f"quote/{quote['id']}", json={"version": quote["version"], "lines": {GRID: [
        {"id": first["id"], "quantity": 4}]}})
    assert stale.status_code == 409 and world.get("quote_line", first["id"])["quantity"] == Decimal("3")
    assert call("PATCH", f"quote/{quote['id']}", json={"version": 9, "lines": {"nope.quote": []}}).status_code == 400
