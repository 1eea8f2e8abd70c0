"""A rep deletes a visit in a real browser, confirming when asked; the next page offers Undo; the
visit is in the rep's recycle bin, and Restore brings it back with its customer and contact."""
from __future__ import annotations

from browser_kit import rows, sign_in, unique, user_id, words
from playwright.sync_api import expect

from atrium.runtime.records.evaluation import Actor

SLOW = 15_000  # ms: each answer is a server round trip, and the test machine may be busy


def test_a_rep_deletes_a_visit_finds_it_in_the_bin_and_restores_it(page, server):
    site = server.site
    rep1 = user_id(site, "rep1")
    actor = Actor(user_id=rep1, name="rep1", role="sales_rep")
    name = unique("回收站客户")
    customer = site.records.create("customer", {"name": name, "owner": rep1}, actor)
    contact = site.records.create("contact", {"customer": customer["id"], "name": "张伟"}, actor)
    visit = site.records.create("visit", {"customer": customer["id"], "contact": contact["id"],
                                          "planned_at": "2026-03-09T10:00:00+00:00", "outcome": "报价"}, actor)
    sign_in(page, "rep1")
    page.goto(f"/r/visit/{visit['id']}")

    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    page.locator("form[action$='/delete'] button").click()
    expect(page.locator(".undo-note")).to_contain_text(name, timeout=SLOW)  # the list, with Undo
    assert asked == [words("Delete this record? It goes to the recycle bin.", "zh")]
    assert rows(site, "visit", id=visit["id"]) == []

    page.goto("/trash")
    entry = page.locator("table.trash tbody tr").filter(has_text=name)
    expect(entry).to_have_count(1)
    entry.locator("button", has_text=words("Restore", "zh")).click()
    page.wait_for_url(f"**/r/visit/{visit['id']}", timeout=SLOW)
    expect(page.locator("main")).to_contain_text(name)  # its customer link is back
    expect(page.locator("main")).to_contain_text("张伟")
    back = rows(site, "visit", id=visit["id"])[0]
    assert (back["customer"], back["contact"], back["outcome"]) == (customer["id"], contact["id"], "报价")
    page.goto("/trash")
    expect(page.locator("table.trash tbody tr").filter(has_text=name)).to_have_count(0)
