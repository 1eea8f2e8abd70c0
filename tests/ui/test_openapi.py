"""The OpenAPI 3.1 document: valid, generated from the metadata, tailored to the caller's role, and
true to the API (every filter parameter it lists is one the API accepts)."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from openapi_spec_validator import validate
from starlette.testclient import TestClient

from atrium.runtime.access import users
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.schema.migrations import migrate
from atrium.runtime.site.site import Site
from atrium.ui.api.openapi import document
from atrium.ui.web.app import Settings, create_app

DESIGN = Path(__file__).resolve().parents[1] / "fixtures" / "design_examples"
NOW = dt.datetime(2026, 5, 15, 4, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def client(engine, database_url, design_blueprint):
    migrate(engine, design_blueprint)
    site = Site.open(design_blueprint, database_url, engine=engine, clock=lambda: NOW)
    with engine.begin() as connection:
        for name, role in (("ann", "sales_rep"), ("boss", "admin")):
            users.add_user(connection, site.tables, design_blueprint, name, role)
        tokens = {name: users.issue_token(connection, site.tables, name) for name in ("ann", "boss")}
    app = create_app(Settings(str(DESIGN), database_url, secret_key="test-secret"), site=site)
    with TestClient(app) as client:
        client.tokens = tokens
        yield client


def fetch(client, user: str) -> dict:
    response = client.get("/api/v1/openapi.json", headers={"Authorization": f"Bearer {client.tokens[user]}"})
    assert response.status_code == 200
    return response.json()


def test_the_document_validates_and_lists_every_entity(client, design_blueprint):
    spec = fetch(client, "boss")
    validate(spec)
    assert spec["openapi"].startswith("3.1")
    for name in design_blueprint.entities:
        assert f"/api/v1/{name}" in spec["paths"] and f"/api/v1/{name}/{{id}}" in spec["paths"]
        assert set(spec["paths"][f"/api/v1/{name}"]) == {"get", "post"}
        assert set(spec["paths"][f"/api/v1/{name}/{{id}}"]) == {"parameters", "get", "patch", "delete"}
        assert name in spec["components"]["schemas"]
    assert spec["components"]["securitySchemes"]["bearer"] == {
        "type": "http", "scheme": "bearer",
        "description": spec["components"]["securitySchemes"]["bearer"]["description"]}
    patch = spec["paths"]["/api/v1/order/{id}"]["patch"]
    assert set(patch["responses"]) >= {"200", "400", "401", "403", "404", "409", "422"}
    assert spec["components"]["schemas"]["order_patch"]["required"] == ["version"]


def test_schemas_are_typed_from_the_fields(client, design_blueprint):
    order = fetch(client, "boss")["components"]["schemas"]["order"]
    properties = order["properties"]
    assert order["title"] == "订单"  # labels in the blueprint's default locale (zh)
    assert set(order["required"]) == {"name", "customer"}
    assert properties["stage"]["enum"] == [*design_blueprint.pipelines["order"].stage_names, None]
    assert properties["lost_reason"]["enum"] == ["price", "competitor", "no_budget", "timing", "other", None]
    assert properties["tags"]["items"]["enum"] == ["key_account", "price_sensitive", "long_decision_chain"]
    assert "string" in properties["amount"]["type"] and properties["amount"]["pattern"]
    assert properties["expected_close"]["format"] == "date"
    assert properties["created_at"]["format"] == "date-time" and properties["created_at"]["readOnly"]
    assert properties["name"]["maxLength"] == 200
    for computed in ("code", "probability", "weighted_amount", "id", "version"):
        assert properties[computed]["readOnly"] is True
    assert "readOnly" not in properties["amount"]
    customer = fetch(client, "boss")["components"]["schemas"]["customer"]["properties"]
    assert customer["lifetime_value"]["readOnly"] and customer["level"]["enum"] == ["normal", "vip", None]


def test_the_document_shows_a_role_only_what_it_may_use(client):
    spec = fetch(client, "ann")
    validate(spec)
    assert {path.split("/")[3] for path in spec["paths"]} == {"order", "customer", "reports", "search", "trash",
                                                              "files", "periodic-reports"}  # the rep's daily report
    names = {path.split("/")[-1] for path in spec["paths"] if path.startswith("/api/v1/reports/")}
    # not overdue_payments: payment is not readable
    assert names == {"orders_added", "pipeline_by_stage", "won_this_month"}
    report = spec["paths"]["/api/v1/reports/pipeline_by_stage"]["get"]
    assert {p["name"] for p in report["parameters"]} == {"period", "limit"}  # it has a date to apply a period to
    assert "delete" not in spec["paths"]["/api/v1/order/{id}"]  # sales_rep: delete none
    assert "margin" not in spec["components"]["schemas"]["order"]["properties"]  # hidden for the role
    parameters = {p["name"] for p in spec["paths"]["/api/v1/order"]["get"]["parameters"]}
    assert parameters == {"q", "sort", "limit", "after", "filters", "where"}
    filters = set(spec["components"]["schemas"]["order_filters"]["properties"])
    assert "margin" not in filters and "margin__gte" not in filters
    assert {"amount__gte", "stage__in", "expected_close__within", "customer.level"} <= filters
    assert "task" not in spec["components"]["schemas"]


def sample(schema: dict) -> str:
    """A value a client would send for a parameter of this schema."""
    if "anyOf" in schema:  # a filter's "value, or empty"
        return "2026-05-01T08:00:00Z" if "anyOf" in schema["anyOf"][0] else sample(schema["anyOf"][0])
    if "enum" in schema:
        return str(schema["enum"][0])
    if schema.get("type") == "boolean":
        return "true"
    if schema.get("type") in ("integer", "number") or schema.get("pattern", "").startswith("^-?[0-9]"):
        return "1"
    if "today" in schema.get("pattern", ""):
        return "this_month"
    return {"date": "2026-05-01", "date-time": "2026-05-01T08:00:00Z", "email": "a@example.com",
            "uri": "https://example.com"}.get(schema.get("format", ""), "x")


@pytest.mark.parametrize("entity", ["order", "customer", "visit"])
def test_every_documented_filter_is_accepted(client, entity):
    headers = {"Authorization": f"Bearer {client.tokens['boss']}"}
    spec = fetch(client, "boss")
    listing = spec["paths"][f"/api/v1/{entity}"]["get"]["parameters"]
    assert listing[-1]["schema"] == {"$ref": f"#/components/schemas/{entity}_filters"}
    assert listing[-1]["style"] == "form" and listing[-1]["explode"] is True  # each property a parameter
    filters = spec["components"]["schemas"][f"{entity}_filters"]["properties"]
    assert len(filters) > 20
    for name, schema in filters.items():
        path, _, operator = name.partition("__")
        value = sample(filters[path] if operator in ("in", "not_in") else schema)
        response = client.get(f"/api/v1/{entity}", params={name: value}, headers=headers)
        assert response.status_code == 200, (name, response.text)


def test_the_shipped_blueprint_validates(b2b):
    site = Site.open(b2b, "sqlite://")  # the document reads metadata only, never the database
    for role in b2b.roles:
        spec = document(site, Actor(user_id=1, name="x", role=role))
        if role in ("admin", "sales_rep"):  # the widest and a narrow one: validating is slow
            validate(spec)
        readable = [name for name in b2b.entities if site.access.can(Actor(1, "x", role), name, "read")]
        assert all(f"/api/v1/{name}" in spec["paths"] for name in readable)
    location = document(site, Actor(1, "x", "admin"))["components"]["schemas"]["visit"]["properties"]["location"]
    assert location["type"] == ["object", "null"] and set(location["properties"]) == {"lat", "lng", "address"}
