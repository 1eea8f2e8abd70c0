"""A claim from the customer's page brings its contacts and open orders along (`owner_follows:` in
b2b_sales): the claimer sees them in the customer's related lists and through the API, the old
owner no longer does, and the claimer's notifications say so once."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.database  # runs on SQLite and again on PostgreSQL


def section(page: str, record_entity: str) -> str:
    return page.split(f'id="related-{record_entity}"', 1)[1].split("</section>", 1)[0]


def test_the_claimer_sees_the_customers_contacts_and_open_orders(world):
    acme = world.customer("Acme", by="rep2")
    world.create("contact", by="rep2", customer=acme["id"], name="Ms Fang")
    world.order("Open deal", by="rep2", customer=acme)
    world.site.records.update("customer", acme["id"], {"owner": None}, world.actor("rep2"))  # to the pool
    rep = world.browser("rep")
    before = rep.get(f"/r/customer/{acme['id']}").text
    assert '<span class="pill">0</span>' in section(before, "contact")  # the contact is still rep2's
    assert rep.post(f"/r/customer/{acme['id']}/claim", follow_redirects=False).status_code == 303
    page = rep.get(f"/r/customer/{acme['id']}").text
    assert '<span class="pill">1</span>' in section(page, "contact") and "Ms Fang" in section(page, "contact")
    assert "Open deal" in section(page, "order")
    api = rep.client.get(f"/api/v1/contact?customer={acme['id']}", headers={"X-CSRF-Token": rep.token()}).json()
    assert [r["name"] for r in api["data"]] == ["Ms Fang"]
    old = world.browser("rep2").client.get(f"/api/v1/contact?customer={acme['id']}").json()
    assert old["data"] == []
    notifications = rep.get("/notifications").text
    assert notifications.count("record(s) of Acme now yours") == 1 and "2 record(s) of Acme now yours" in notifications
