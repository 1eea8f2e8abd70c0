"""The recycle bin in the pages and the JSON API: a delete asks first (a page without JavaScript),
offers an undo after, /trash lists a user's own deletions (an admin's: everyone's) with restore and
purge, and the API lists and restores under the same rules."""
from __future__ import annotations

import re

import pytest

from atrium.runtime.access import users

pytestmark = pytest.mark.database  # runs on SQLite and again on PostgreSQL


def visit(world, by="rep", **values) -> tuple[dict, dict]:
    customer = world.customer("沈阳天成建设", by)
    contact = world.create("contact", by, customer=customer["id"], name="张伟")
    made = world.create("visit", by, customer=customer["id"], contact=contact["id"],
                        planned_at="2026-05-14T02:00:00+00:00", status="done",
                        visited_at="2026-05-14T02:30:00+00:00", outcome="报价")
    return customer, made


def test_delete_asks_first_and_offers_an_undo(world):
    customer, made = visit(world)
    rep = world.browser("rep")
    page = rep.get(f"/r/visit/{made['id']}")
    assert f'action="/r/visit/{made["id"]}/delete"' in page.text and 'method="get"' in page.text
    confirm = rep.get(f"/r/visit/{made['id']}/delete")  # the button without JavaScript
    assert confirm.status_code == 200 and "Delete this record?" in confirm.text and "沈阳天成建设" in confirm.text
    assert world.get("visit", made["id"]) is not None  # asking changed nothing

    done = rep.post(f"/r/visit/{made['id']}/delete", follow_redirects=True)
    assert world.get("visit", made["id"]) is None
    assert "it is in the recycle bin" in done.text
    undo = re.search(r'action="(/trash/\d+/restore)"', done.text).group(1)
    assert "it is in the recycle bin" not in rep.get("/r/visit").text  # the note shows once

    back = rep.post(undo, follow_redirects=False)
    assert back.status_code == 303 and back.headers["location"] == f"/r/visit/{made['id']}"
    restored = world.get("visit", made["id"])
    assert restored["customer"] == customer["id"] and restored["contact"] is not None
    assert "Restored from the recycle bin" in rep.get(f"/r/visit/{made['id']}").text


def test_the_bin_lists_own_deletions_and_restores_and_purges(world):
    _, mine = visit(world)
    _, theirs = visit(world, by="rep2")
    world.site.records.delete("visit", mine["id"], world.actor("rep"))
    world.site.records.delete("visit", theirs["id"], world.actor("rep2"))
    rep, boss = world.browser("rep"), world.browser("boss")
    page = rep.get("/trash")
    assert page.status_code == 200 and page.text.count("/restore") == 1 and "Rep Li" in page.text
    assert "Rep Wang" not in page.text
    assert boss.get("/trash").text.count("/restore") == 2  # an admin sees everyone's
    entries = re.findall(r'action="/trash/(\d+)/purge"', page.text)
    others = [e for e in re.findall(r'action="/trash/(\d+)/purge"', boss.get("/trash").text) if e not in entries]
    assert rep.post(f"/trash/{others[0]}/restore").status_code == 404  # not the rep's to restore
    assert world.get("visit", theirs["id"]) is None
    assert rep.post(f"/trash/{entries[0]}/purge", follow_redirects=False).status_code == 303
    assert "The recycle bin is empty." in rep.get("/trash").text
    assert world.get("visit", mine["id"]) is None


def test_a_refused_restore_says_why_in_the_users_language(world):
    customer, made = visit(world)
    world.site.records.delete("visit", made["id"], world.actor("rep"))
    world.site.records.delete("customer", customer["id"], world.actor("boss"))
    boss_entries = world.site.trash.entries(world.actor("boss"))
    customer_entry = next(e["id"] for e in boss_entries if e["entity"] == "customer")
    world.site.trash.purge(world.actor("boss"), customer_entry)
    rep = world.browser("rep")
    rep.post("/language", data={"locale": "zh"})
    visit_entry = world.site.trash.entries(world.actor("rep"))[0]["id"]
    refused = rep.post(f"/trash/{visit_entry}/restore")
    assert refused.status_code == 409
    assert "无法恢复拜访：客户：关联的记录不存在" in refused.text
    assert world.get("visit", made["id"]) is None


def test_the_api_lists_the_bin_and_restores(world):
    _, made = visit(world)
    with world.site.engine.begin() as connection:
        token = users.issue_token(connection, world.site.tables, "rep")
        other = users.issue_token(connection, world.site.tables, "rep2")
    client = world.browser("rep").client

    def call(method, path, who=token):
        return client.request(method, "/api/v1/" + path, headers={"Authorization": f"Bearer {who}"})

    assert call("DELETE", f"visit/{made['id']}").status_code == 204
    listed = call("GET", "trash").json()["data"]
    assert [(e["entity"], e["record_id"], e["cascaded"]) for e in listed] == [("visit", made["id"], 0)]
    assert call("GET", "trash", other).json() == {"data": []}
    assert call("POST", f"visit/{made['id']}/restore", other).status_code == 404
    restored = call("POST", f"visit/{made['id']}/restore")
    assert restored.status_code == 200 and restored.json()["id"] == made["id"]
    assert restored.json()["outcome"] == "报价"
    assert call("POST", f"visit/{made['id']}/restore").status_code == 404  # no longer in the bin
    assert call("GET", "trash?limit=0").status_code == 400
    paths = call("GET", "openapi.json").json()["paths"]
    assert "/api/v1/trash" in paths and "/api/v1/visit/{id}/restore" in paths
    assert "/api/v1/product/{id}/restore" not in paths  # a rep may not create products
