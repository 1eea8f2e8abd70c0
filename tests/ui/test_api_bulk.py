"""`POST /api/v1/{entity}/bulk`: a manager reassigns or releases many records in one request, all
or nothing, by the rules a single change obeys (runtime/access/bulk_changes.py)."""
from __future__ import annotations

import io

import openpyxl
import pytest

from atrium.runtime.access import users

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

pytestmark = pytest.mark.database  # runs on SQLite and again on PostgreSQL


def api(world, name: str):
    browser = world.browser(name)
    return browser, {"X-CSRF-Token": browser.token()}


def test_a_manager_reassigns_three_customers_and_their_open_work_follows(world):
    customers = [world.customer(name, by="rep") for name in ("Acme", "Bolt", "Crane")]
    contacts = [world.create("contact", by="rep", customer=c["id"], name=f"{c['name']} buyer") for c in customers]
    orders = [world.order(f"{c['name']} deal", by="rep", customer=c) for c in customers]
    manager, headers = api(world, "manager")
    rep2 = world.ids["rep2"]
    answer = manager.client.post("/api/v1/customer/bulk", headers=headers,
                                 json={"ids": [c["id"] for c in customers], "set": {"owner": rep2}})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"updated": 3}
    for record in customers:
        assert world.get("customer", record["id"])["owner"] == rep2
    for record in contacts:
        assert world.get("contact", record["id"])["owner"] == rep2
    for record in orders:
        assert world.get("order", record["id"])["owner"] == rep2
    listed = world.browser("rep2").client.get("/api/v1/order").json()
    assert sorted(r["name"] for r in listed["data"]) == ["Acme deal", "Bolt deal", "Crane deal"]
    assert world.browser("rep").client.get("/api/v1/customer").json()["data"] == []


def test_a_rep_cannot_reassign_or_touch_what_is_outside_their_reach_and_nothing_changes(world):
    mine = world.customer("Mine", by="rep")
    theirs = world.customer("Theirs", by="rep2")
    rep, headers = api(world, "rep")
    given = rep.client.post("/api/v1/customer/bulk", headers=headers,
                            json={"ids": [mine["id"]], "set": {"owner": world.ids["rep2"]}})
    assert given.status_code == 422  # a rep's role keeps the customer's owner read-only
    assert given.json()["errors"] == {"owner": ["You may not change this field"]}
    unseen = rep.client.post("/api/v1/customer/bulk", headers=headers,
                             json={"ids": [mine["id"], theirs["id"]], "set": {"address": "Harbour Road 1"}})
    assert unseen.status_code == 404, unseen.text
    assert list(unseen.json()["refused"]) == [str(theirs["id"])]
    assert world.get("customer", mine["id"])["owner"] == world.ids["rep"]
    assert world.get("customer", mine["id"])["address"] is None
    assert world.get("customer", theirs["id"])["owner"] == world.ids["rep2"]


def test_a_manager_cannot_give_records_outside_the_team(world):
    acme = world.customer("Acme", by="rep")
    with world.site.engine.begin() as connection:
        users.add_team(connection, world.site.tables, "west")
        stranger = users.add_user(connection, world.site.tables, world.site.blueprint, "west_rep", "sales_rep",
                                  team="west", display_name="West Rep", locale="en")
    manager, headers = api(world, "manager")
    answer = manager.client.post("/api/v1/customer/bulk", headers=headers,
                                 json={"ids": [acme["id"]], "set": {"owner": stranger}})
    assert answer.status_code == 422, answer.text
    reach = ["You can only give records to yourself or your team"]
    assert answer.json()["refused"] == {str(acme["id"]): {"owner": reach}}
    assert world.get("customer", acme["id"])["owner"] == world.ids["rep"]


def test_a_bad_value_names_the_record_and_nothing_is_written(world):
    first, second = world.customer("First", by="rep"), world.customer("Second", by="rep")
    manager, headers = api(world, "manager")
    answer = manager.client.post("/api/v1/customer/bulk", headers=headers,
                                 json={"ids": [first["id"], second["id"]], "set": {"name": ""}})
    assert answer.status_code == 422
    assert list(answer.json()["refused"]) == [str(first["id"])]
    assert world.get("customer", first["id"])["name"] == "First"
    no_ids = manager.client.post("/api/v1/customer/bulk", headers=headers, json={"ids": [], "set": {"name": "x"}})
    assert no_ids.status_code == 400 and no_ids.json()["parameter"] == "ids"  # the document's minItems
    both = manager.client.post("/api/v1/customer/bulk", headers=headers,
                               json={"ids": [first["id"]], "set": {"name": "x"}, "action": "release"})
    assert both.status_code == 400


def test_bulk_release_puts_the_customers_back_in_the_pool(world):
    customers = [world.customer(name, by="rep") for name in ("Acme", "Bolt")]
    locked = world.customer("Kept", by="rep")
    manager, headers = api(world, "manager")
    ids = [c["id"] for c in customers]
    answer = manager.client.post("/api/v1/customer/bulk", headers=headers, json={"ids": ids, "action": "release"})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"updated": 2}
    assert [world.get("customer", i)["owner"] for i in ids] == [None, None]
    pool = world.browser("rep2").client.get("/api/v1/customer?owner__is_set=false").json()
    assert sorted(r["name"] for r in pool["data"]) == ["Acme", "Bolt"]
    again = manager.client.post("/api/v1/customer/bulk", headers=headers,
                                json={"ids": [locked["id"], ids[0]], "action": "release"})
    assert again.status_code == 409
    assert list(again.json()["refused"]) == [str(ids[0])]
    assert world.get("customer", locked["id"])["owner"] == world.ids["rep"]  # all or nothing


def test_openapi_describes_the_bulk_actions_each_role_may_take(world):
    def actions(name: str, entity: str) -> list[str]:
        document = world.browser(name).client.get("/api/v1/openapi.json").json()
        body = document["paths"][f"/api/v1/{entity}/bulk"]["post"]["requestBody"]
        return body["content"]["application/json"]["schema"]["properties"]["action"]["enum"]

    assert actions("manager", "customer") == ["assign", "release", "claim", "export"]
    assert actions("manager", "product") == ["export"]  # the manager may only read products
    assert actions("rep", "customer") == ["release", "claim", "export"]  # a rep's owner field is read-only
    document = world.browser("rep").client.get("/api/v1/openapi.json").json()
    bulk = document["paths"]["/api/v1/customer/bulk"]["post"]
    assert bulk["requestBody"]["content"]["application/json"]["schema"]["properties"]["format"]["enum"] == [
        "csv", "xlsx"]
    assert XLSX in bulk["responses"]["200"]["content"]


def test_where_picks_the_records_by_the_lists_filters(world):
    acme, bolt = world.customer("Acme", by="rep"), world.customer("Bolt", by="rep")
    crane = world.customer("Crane", by="rep2")
    manager, headers = api(world, "manager")
    answer = manager.client.post("/api/v1/customer/bulk", headers=headers,
                                 json={"where": {"owner": world.ids["rep"]}, "set": {"owner": world.ids["rep2"]}})
    assert answer.json() == {"updated": 2}
    assert {world.get("customer", r["id"])["owner"] for r in (acme, bolt, crane)} == {world.ids["rep2"]}
    listed = world.browser("rep2").client.get("/api/v1/customer?owner__is_set=true").json()
    assert sorted(r["name"] for r in listed["data"]) == ["Acme", "Bolt", "Crane"]
    released = manager.client.post("/api/v1/customer/bulk", headers=headers,
                                   json={"where": {"name__in": ["Acme", "Crane"]}, "action": "release"})
    assert released.json() == {"updated": 2}
    assert [world.get("customer", r["id"])["owner"] for r in (acme, bolt, crane)] == [None, world.ids["rep2"], None]
    none = manager.client.post("/api/v1/customer/bulk", headers=headers,
                               json={"where": {"name": "Nobody"}, "action": "release"})
    assert none.json() == {"updated": 0}
    bad = manager.client.post("/api/v1/customer/bulk", headers=headers,
                              json={"where": {"secret__gt": 1}, "action": "release"})
    assert bad.status_code == 400 and bad.json()["parameter"] == "secret__gt"
    both = manager.client.post("/api/v1/customer/bulk", headers=headers,
                               json={"ids": [acme["id"]], "where": {}, "action": "release"})
    assert both.status_code == 400


def test_where_any_picks_the_records_matching_either_set_of_filters(world):
    acme, bolt = world.customer("Acme", by="rep"), world.customer("Bolt", by="rep")
    crane, drill = world.customer("Crane", by="rep2"), world.customer("Drill", by="rep2")
    manager, headers = api(world, "manager")
    either = {"owner": world.ids["rep"], "any": [{"name": "Acme"}, {"name__in": ["Bolt", "Crane"]}]}
    answer = manager.client.post("/api/v1/customer/bulk", headers=headers, json={"where": either, "action": "release"})
    assert answer.json() == {"updated": 2}  # Acme or Bolt, among rep's: not Crane (rep2's)
    owners = [world.get("customer", r["id"])["owner"] for r in (acme, bolt, crane, drill)]
    assert owners == [None, None, world.ids["rep2"], world.ids["rep2"]]
    bad = manager.client.post("/api/v1/customer/bulk", headers=headers,
                              json={"where": {"any": [{"secret__gt": 1}]}, "action": "release"})
    assert bad.status_code == 400 and bad.json()["parameter"] == "secret__gt"
    empty = manager.client.post("/api/v1/customer/bulk", headers=headers,
                                json={"where": {"any": []}, "action": "release"})
    assert empty.status_code == 400


def test_assign_claim_delete_and_export_through_the_api(world):
    acme, bolt = world.customer("Acme", by="rep"), world.customer("Bolt", by="rep")
    manager, headers = api(world, "manager")
    assigned = manager.client.post("/api/v1/customer/bulk", headers=headers,
                                   json={"ids": [acme["id"], bolt["id"]], "action": "assign", "to": world.ids["rep2"]})
    assert assigned.json() == {"updated": 2}
    assert {world.get("customer", r["id"])["owner"] for r in (acme, bolt)} == {world.ids["rep2"]}
    exported = manager.client.post("/api/v1/customer/bulk", headers=headers,
                                   json={"where": {"q": "Acme"}, "action": "export"})
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    assert "Acme" in exported.text and "Bolt" not in exported.text
    workbook = manager.client.post("/api/v1/customer/bulk", headers=headers,
                                   json={"ids": [acme["id"], bolt["id"]], "action": "export", "format": "xlsx"})
    assert workbook.status_code == 200 and workbook.headers["content-type"] == XLSX
    sheet = openpyxl.load_workbook(io.BytesIO(workbook.content)).active
    assert sorted(line[1] for line in sheet.iter_rows(min_row=2, values_only=True)) == ["Acme", "Bolt"]
    assert isinstance(sheet.cell(row=2, column=1).value, int)  # typed cells: the id is a number
    odd = manager.client.post("/api/v1/customer/bulk", headers=headers,
                              json={"ids": [acme["id"]], "action": "export", "format": "pdf"})
    assert odd.status_code == 400
    manager.client.post("/api/v1/customer/bulk", headers=headers,
                        json={"ids": [acme["id"], bolt["id"]], "action": "release"})
    rep, rep_headers = api(world, "rep")
    claimed = rep.client.post("/api/v1/customer/bulk", headers=rep_headers,
                              json={"where": {"owner__is_set": False, "q": "Acme"}, "action": "claim"})
    assert claimed.json() == {"updated": 1}, claimed.text
    assert world.get("customer", acme["id"])["owner"] == world.ids["rep"]
    assert world.get("customer", bolt["id"])["owner"] is None
    refused = rep.client.post("/api/v1/customer/bulk", headers=rep_headers,
                              json={"ids": [acme["id"]], "action": "delete"})
    assert refused.status_code == 403  # a rep may not delete customers
    assert world.get("customer", acme["id"]) is not None
    task = world.create("task", by="rep", title="Call back")
    deleted = manager.client.post("/api/v1/task/bulk", headers=headers, json={"ids": [task["id"]], "action": "delete"})
    assert deleted.json() == {"updated": 1} and world.get("task", task["id"]) is None
    unknown = manager.client.post("/api/v1/customer/bulk", headers=headers, json={"ids": [1], "action": "explode"})
    assert unknown.status_code == 400 and unknown.json()["parameter"] == "action"
