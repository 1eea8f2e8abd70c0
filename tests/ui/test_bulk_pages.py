"""The list page's bulk bar: ticked rows assigned to another owner or released to the public pool
in one form (ui/records/bulk_actions.py), shown only to roles that may change those records."""
from __future__ import annotations

import re
import time

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
    assert 'value="delete"' not in rep_page  # a rep may not delete customers
    product_page = world.browser("manager").get("/r/product").text  # the manager may only read products
    assert 'value="export"' in product_page
    for action in ("assign", "set", "release", "claim", "delete"):
        assert f'name="action" value="{action}"' not in product_page
    task_page = world.browser("manager").get("/r/task").text
    assert 'value="delete"' in task_page and 'id="bulk-field"' in task_page
    refused = world.browser("rep").post("/r/customer/bulk", [("ids", "1"), ("action", "delete")])
    assert refused.status_code == 403 and "You may not do that" in refused.text


def test_a_field_is_changed_on_the_ticked_records_and_a_bad_value_changes_none(world):
    acme, bolt = world.customer("Acme", by="rep"), world.customer("Bolt", by="rep")
    manager = world.browser("manager")
    widget = manager.get("/r/customer/bulk/field?field=level", htmx=True).text
    assert '<select name="value"' in widget and '<option value="vip">VIP</option>' in widget
    assert manager.get("/r/customer/bulk/field?field=lifetime_value", htmx=True).text.count("input") == 0
    ticked = [("ids", acme["id"]), ("ids", bolt["id"])]
    answer = manager.post("/r/customer/bulk", [*ticked, ("field", "level"), ("value", "vip"), ("action", "set")],
                          htmx=True)
    assert "2 record(s) changed" in answer.text and answer.headers["HX-Trigger"] == "bulk-done"
    assert [world.get("customer", r["id"])["level"] for r in (acme, bolt)] == ["vip", "vip"]
    bad = manager.post("/r/customer/bulk", [*ticked, ("field", "level"), ("value", "platinum"), ("action", "set")],
                       htmx=True)
    assert 'class="error"' in bad.text and "HX-Trigger" not in bad.headers
    assert [world.get("customer", r["id"])["level"] for r in (acme, bolt)] == ["vip", "vip"]
    hidden = manager.post("/r/customer/bulk", [*ticked, ("field", "lifetime_value"), ("value", "1"),
                                               ("action", "set")], htmx=True)
    assert "Choose the field to change" in hidden.text  # a roll-up is never offered nor taken


def test_all_matching_acts_on_the_filter_when_it_runs_not_on_the_ticked_page(world):
    ours = [world.customer(f"Harbour {n}", by="rep") for n in range(3)]
    other = world.customer("Inland", by="rep")
    manager = world.browser("manager")
    page = manager.get("/r/customer?q=Harbour&limit=2").text
    assert "All 3 matching this filter" in page and 'name="all" value="q=Harbour&amp;limit=2"' in page
    late = world.customer("Harbour late", by="rep")  # matches when the action runs
    answer = manager.post("/r/customer/bulk", [("scope", "all"), ("all", "q=Harbour&limit=2"), ("ids", ours[0]["id"]),
                                               ("action", "release")], htmx=True)
    assert "4 record(s) released to the public pool" in answer.text
    assert [world.get("customer", r["id"])["owner"] for r in (*ours, late)] == [None] * 4
    assert world.get("customer", other["id"])["owner"] == world.ids["rep"]
    claimed = world.browser("rep2").post("/r/customer/bulk", [("scope", "all"), ("all", "q=Harbour&owner=none"),
                                                              ("action", "claim")], htmx=True)
    assert "4 record(s) claimed" in claimed.text
    assert {world.get("customer", r["id"])["owner"] for r in (*ours, late)} == {world.ids["rep2"]}


def test_the_selection_is_exported_by_the_lists_exporter(world):
    acme, bolt = world.customer("Acme", by="rep"), world.customer("Bolt", by="rep")
    world.customer("Crane", by="rep")
    manager = world.browser("manager")
    answer = manager.post("/r/customer/bulk", [("ids", acme["id"]), ("ids", bolt["id"]), ("action", "export")],
                          follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/r/customer/export.csv?id={acme['id']}&id={bolt['id']}"
    csv_text = manager.get(answer.headers["location"]).text
    assert "Acme" in csv_text and "Bolt" in csv_text and "Crane" not in csv_text
    htmx = manager.post("/r/customer/bulk", [("scope", "all"), ("all", "q=Crane"), ("action", "export")], htmx=True)
    assert htmx.headers["HX-Redirect"] == "/r/customer/export.csv?q=Crane"


def test_a_delete_reports_each_record_that_cannot_go_and_deletes_none(world):
    acme, bolt = world.customer("Acme", by="rep"), world.customer("Bolt", by="rep")
    world.order("Acme deal", by="rep", customer=acme)
    boss = world.browser("boss")
    refused = boss.post("/r/customer/bulk", [("ids", acme["id"]), ("ids", bolt["id"]), ("action", "delete")])
    assert refused.status_code == 422
    assert "1 of the chosen records cannot be changed, so none was" in refused.text
    assert "Acme: Cannot delete: 1 Orders record(s) still link to it" in refused.text
    assert world.get("customer", bolt["id"]) is not None  # all or nothing
    done = boss.post("/r/customer/bulk", [("ids", bolt["id"]), ("action", "delete")], htmx=True)
    assert "1 record(s) deleted" in done.text and world.get("customer", bolt["id"]) is None


def test_a_large_selection_answers_with_a_progress_bar_that_ends_in_the_outcome(world, monkeypatch):
    from atrium.ui.records import bulk_jobs
    monkeypatch.setattr(bulk_jobs, "WAIT", 0.0)
    made = [world.customer(f"Bulk {n}", by="rep") for n in range(5)]
    manager = world.browser("manager")
    answer = manager.post("/r/customer/bulk", [*(("ids", r["id"]) for r in made), ("action", "release")], htmx=True)
    assert answer.status_code == 200
    assert "bulk-progress" in answer.text  # not waited for: the bar polls the job
    poll = re.search(r'hx-get="(/r/customer/bulk/[A-Za-z0-9_-]{22})"', answer.text)
    assert poll and 'hx-trigger="every 500ms"' in answer.text and "<progress" in answer.text
    assert "Not found" in world.browser("rep2").get(poll.group(1), htmx=True).text  # not their job
    for _ in range(200):
        answer = manager.get(poll.group(1), htmx=True)
        if "bulk-progress" not in answer.text:
            break
        time.sleep(0.05)
    assert "5 record(s) released to the public pool" in answer.text
    assert answer.headers["HX-Trigger"] == "bulk-done"
