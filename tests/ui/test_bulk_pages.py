"""The list page's bulk bar: ticked rows assigned to another owner or released to the public pool
in one form (ui/records/bulk_actions.py), shown only to roles that may change those records."""
from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.database  # runs on SQLite and again on PostgreSQL


def owners_offered(page: str) -> list[str]:
    select = page.split('id="bulk-owner"', 1)[1].split("</select>", 1)[0]
    return re.findall(r'<option value="\d+">([^<]+)</option>', select)


def test_a_manager_assigns_ticked_customers_from_the_list(world):
    acme, bolt = world.customer("Acme", by="rep"), world.customer("Bolt", by="rep")
    crane = world.customer("Crane", by="rep")
    world.create("contact", by="rep", customer=acme["id"], name="Ms Fang")
    manager = world.browser("manager")
    page = manager.get("/r/customer").text
    assert 'id="bulk-form"' in page and f'name="ids" value="{acme["id"]}"' in page
    assert "Rep Wang" in owners_offered(page) and "Release to pool" in page
    ticked = [("ids", acme["id"]), ("ids", bolt["id"])]
    answer = manager.post("/r/customer/bulk", [*ticked, ("assign_to", world.ids["rep2"]), ("action", "assign")],
                          htmx=True)
    assert answer.status_code == 200 and "2 record(s) assigned" in answer.text
    assert answer.headers["HX-Trigger"] == "bulk-done"
    assert [world.get("customer", r["id"])["owner"] for r in (acme, bolt, crane)] == [
        world.ids["rep2"], world.ids["rep2"], world.ids["rep"]]
    listed = world.browser("rep2").get("/r/customer").text
    assert "Acme" in listed and "Bolt" in listed and "Crane" not in listed
    assert "Ms Fang" in world.browser("rep2").get("/r/contact").text  # the contact followed its customer
    plain = manager.post("/r/customer/bulk", [("ids", crane["id"]), ("action", "release")])
    assert plain.status_code == 200 and "1 record(s) released to the public pool" in plain.text
    assert world.get("customer", crane["id"])["owner"] is None


def test_a_refusal_names_the_record_and_changes_nothing(world):
    acme = world.customer("Acme", by="rep")
    in_pool = world.customer("Drifter", by="rep")
    world.site.records.update("customer", in_pool["id"], {"owner": None}, world.actor("rep"))
    manager = world.browser("manager")
    answer = manager.post("/r/customer/bulk", [("ids", acme["id"]), ("ids", in_pool["id"]), ("action", "release")])
    assert answer.status_code == 409
    assert "1 of the chosen records cannot be changed, so none was" in answer.text
    assert "Drifter: This record is already in the public pool" in answer.text
    assert world.get("customer", acme["id"])["owner"] == world.ids["rep"]
    nothing = manager.post("/r/customer/bulk", [("action", "release")], htmx=True)
    assert "Tick the records first" in nothing.text and "HX-Trigger" not in nothing.headers


def test_the_bar_shows_only_what_the_role_may_do(world):
    world.customer("Acme", by="rep")
    rep_page = world.browser("rep").get("/r/customer").text
    assert 'id="bulk-form"' in rep_page and "Release to pool" in rep_page
    assert 'id="bulk-owner"' not in rep_page  # the owner is read-only for a rep
    assert 'id="bulk-form"' not in world.browser("manager").get("/r/product").text  # may not update products
    assert 'id="bulk-form"' in world.browser("manager").get("/r/order").text
    assert "Release to pool" not in world.browser("manager").get("/r/order").text  # orders have no pool
    zh = world.browser("manager").get("/r/customer?lang=zh").text
    assert "分配给…" in zh and "对勾选的记录：" in zh
