"""Another system (an ERP) keeps records in step by its own ids: `external_key` on an entity,
`GET/PUT /api/v1/{entity}/by-key/{value}` and `POST /api/v1/{entity}/by-key` (ui/api/by_key.py)."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.database  # runs on SQLite and again on PostgreSQL


def api(world, name: str = "manager"):
    browser = world.browser(name)
    return browser.client, {"X-CSRF-Token": browser.token()}


def test_the_same_put_twice_creates_once_then_changes_nothing(world):
    client, headers = api(world)
    body = {"name": "Acme Trading", "level": "a"}
    first = client.put("/api/v1/customer/by-key/C-001", headers=headers, json=body)
    assert first.status_code == 201, first.text
    created = first.json()
    assert created["erp_code"] == "C-001" and created["name"] == "Acme Trading"
    second = client.put("/api/v1/customer/by-key/C-001", headers=headers, json=body)
    assert second.status_code == 200, second.text
    assert second.json()["id"] == created["id"] and second.json()["version"] == created["version"]
    changed = client.put("/api/v1/customer/by-key/C-001", headers=headers, json={"name": "Acme Trading Co"})
    assert changed.status_code == 200 and changed.json()["version"] == created["version"] + 1
    read = client.get("/api/v1/customer/by-key/C-001", headers=headers)
    assert read.status_code == 200 and read.json()["name"] == "Acme Trading Co"
    assert client.get("/api/v1/customer/by-key/C-404", headers=headers).status_code == 404
    listed = client.get("/api/v1/customer", params={"erp_code": "C-001"}, headers=headers).json()
    assert listed["count"] == 1  # one record, however often it was sent


def test_a_stale_version_is_refused_and_a_body_key_must_match_the_address(world):
    client, headers = api(world)
    created = client.put("/api/v1/customer/by-key/C-002", headers=headers, json={"name": "Bolt"}).json()
    client.put("/api/v1/customer/by-key/C-002", headers=headers, json={"name": "Bolt Ltd"})
    stale = client.put("/api/v1/customer/by-key/C-002", headers=headers,
                       json={"name": "Bolt Old", "version": created["version"]})
    assert stale.status_code == 409 and stale.json()["error"] == "stale"
    other = client.put("/api/v1/customer/by-key/C-002", headers=headers, json={"name": "X", "erp_code": "C-999"})
    assert other.status_code == 422 and "erp_code" in other.json()["errors"]
    assert world.get("customer", created["id"])["name"] == "Bolt Ltd"
    invalid = client.put("/api/v1/customer/by-key/C-003", headers=headers, json={"level": "a"})
    assert invalid.status_code == 422 and "name" in invalid.json()["errors"]  # required on create


def test_a_reference_given_by_the_targets_key_links_the_record(world):
    client, headers = api(world)
    customer = client.put("/api/v1/customer/by-key/C-010", headers=headers, json={"name": "Crane"}).json()
    order = client.put("/api/v1/order/by-key/SO-1", headers=headers,
                       json={"name": "Crane cranes", "customer": {"by_key": "C-010"}})
    assert order.status_code == 201, order.text
    assert order.json()["customer"] == customer["id"]
    missing = client.put("/api/v1/order/by-key/SO-2", headers=headers,
                         json={"name": "Ghost", "customer": {"by_key": "C-404"}})
    assert missing.status_code == 422
    assert missing.json()["errors"] == {"customer": ["The linked record does not exist"]}


def test_a_batch_is_all_or_nothing_and_names_each_refused_record(world):
    client, headers = api(world)
    client.put("/api/v1/customer/by-key/C-020", headers=headers, json={"name": "Delta"})
    refused = client.post("/api/v1/customer/by-key", headers=headers, json={"records": [
        {"erp_code": "C-020", "name": "Delta Group"}, {"erp_code": "C-021", "name": ""},
        {"erp_code": "C-022", "name": "Echo"}]})
    assert refused.status_code == 422, refused.text
    assert list(refused.json()["refused"]) == ["1"]
    assert "name" in refused.json()["refused"]["1"]
    assert client.get("/api/v1/customer/by-key/C-022", headers=headers).status_code == 404
    assert client.get("/api/v1/customer/by-key/C-020", headers=headers).json()["name"] == "Delta"
    done = client.post("/api/v1/customer/by-key", headers=headers, json={"records": [
        {"erp_code": "C-020", "name": "Delta Group"}, {"erp_code": "C-022", "name": "Echo"}]})
    assert done.status_code == 200, done.text
    result = done.json()
    assert [r["name"] for r in result["data"]] == ["Delta Group", "Echo"]
    assert result["created"] == [result["data"][1]["id"]] and result["updated"] == [result["data"][0]["id"]]


def test_access_holds_a_record_out_of_reach_is_not_found_and_read_only_roles_cannot_upsert(world):
    theirs = world.customer("Theirs", by="rep2", erp_code="C-030")
    rep, headers = api(world, "rep")
    assert rep.get("/api/v1/customer/by-key/C-030", headers=headers).status_code == 404
    taken = rep.put("/api/v1/customer/by-key/C-030", headers=headers, json={"name": "Mine now"})
    assert taken.status_code == 404
    assert world.get("customer", theirs["id"])["name"] == "Theirs"
    product = rep.put("/api/v1/product/by-key/P-1", headers=headers, json={"name": "Widget"})
    assert product.status_code in (403, 405)  # a rep may not change products: not in the rep's document
    no_key = rep.get("/api/v1/contact/by-key/X", headers=headers)
    assert no_key.status_code == 404


def test_the_document_lists_the_by_key_paths_of_entities_with_a_key(world):
    client, headers = api(world)
    paths = client.get("/api/v1/openapi.json", headers=headers).json()["paths"]
    assert set(paths["/api/v1/customer/by-key/{value}"]) >= {"get", "put"}
    assert "post" in paths["/api/v1/order/by-key"]
    assert "/api/v1/contact/by-key/{value}" not in paths
