"""A manager ticks 20 customers at once ("tick all on this page") and releases them to the public
pool in one action, in a real browser: the outcome says 20, the list refreshes, and the pool page
then holds exactly those 20 customers."""
from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from browser_kit import rows, sign_in, unique, user_id
from playwright.sync_api import expect

from atrium.runtime.records.evaluation import Actor


def test_a_manager_releases_twenty_customers_to_the_pool_in_one_action(page, server):
    site = server.site
    rep1 = user_id(site, "rep1")
    actor = Actor(user_id=rep1, name="rep1", role="sales_rep")
    prefix = unique("Pool20")
    made = [site.records.create("customer", {"name": f"{prefix} {n:02}", "owner": rep1}, actor) for n in range(20)]
    sign_in(page, "manager")
    page.goto(f"/r/customer?q={quote(prefix)}")
    expect(page.locator("table.records tbody tr")).to_have_count(20)
    page.locator("#bulk-page").check()  # tick all on this page
    expect(page.locator("input.bulk-pick:checked")).to_have_count(20)
    with page.expect_download() as download:  # the selection through the list's exporter
        page.locator("#bulk-form button[value=export]").click()
    exported = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert sum(1 for line in exported.splitlines() if prefix in line) == 20
    expect(page.locator("input.bulk-pick:checked")).to_have_count(20)  # still ticked
    page.locator("#bulk-form button[value=release]").click()
    expect(page.locator("#bulk-outcome .ok")).to_contain_text("20")
    expect(page.locator("input.bulk-pick:checked")).to_have_count(0)  # the list came back
    assert [rows(site, "customer", id=r["id"])[0]["owner"] for r in made] == [None] * 20
    page.goto(f"/r/customer?owner=none&q={quote(prefix)}")  # the public pool
    expect(page.locator("h1")).to_contain_text("公海")
    expect(page.locator("table.records tbody tr")).to_have_count(20)
    expect(page.locator("table.records tbody")).to_contain_text(f"{prefix} 19")
