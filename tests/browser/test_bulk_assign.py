"""A manager ticks two customers on the list in a real browser and assigns them to another rep
in one go: the outcome line says so, the list refreshes, and the customers (with their contacts)
now belong to that rep; the row left unticked keeps its owner."""
from __future__ import annotations

from urllib.parse import quote

from browser_kit import rows, sign_in, unique, user_id
from playwright.sync_api import expect

from atrium.runtime.records.evaluation import Actor


def test_a_manager_ticks_two_customers_and_assigns_them(page, server):
    site = server.site
    rep1, rep2 = user_id(site, "rep1"), user_id(site, "rep2")
    actor = Actor(user_id=rep1, name="rep1", role="sales_rep")
    prefix = unique("Bulk")
    made = [site.records.create("customer", {"name": f"{prefix} {n}", "owner": rep1}, actor) for n in "ABC"]
    contact = site.records.create("contact", {"name": f"{prefix} buyer", "customer": made[0]["id"]}, actor)
    sign_in(page, "manager")
    page.goto(f"/r/customer?q={quote(prefix)}")
    expect(page.locator("table.records tbody tr")).to_have_count(3)
    for record in made[:2]:
        page.locator(f"input.bulk-pick[value='{record['id']}']").check()
    page.select_option("#bulk-owner", str(rep2))
    page.locator("#bulk-form button[value=assign]").click()
    expect(page.locator("#bulk-outcome")).to_contain_text("2")
    expect(page.locator("#bulk-outcome .ok")).to_be_visible()
    # the list came back without the ticks; the page did not reload the search away
    expect(page.locator("input.bulk-pick:checked")).to_have_count(0)
    expect(page.locator("table.records tbody tr")).to_have_count(3)
    owners = [rows(site, "customer", id=r["id"])[0]["owner"] for r in made]
    assert owners == [rep2, rep2, rep1]
    assert rows(site, "contact", id=contact["id"])[0]["owner"] == rep2
