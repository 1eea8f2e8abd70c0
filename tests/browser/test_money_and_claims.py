"""Two of the B2B blueprint's loops as the role walks them, in a real browser on the demo data, in
Chinese and in English: finance records a receipt beyond what an instalment still has outstanding
from the instalment's page and is refused beside the amount, with nothing written and the
instalment's figures unchanged (what is left is accepted, and raising that receipt afterwards is
refused too); a rep claims a customer from the public pool and finds its
contacts listed on its page (and opens one), its open orders, their quotes and its planned visits
now the rep's too, as the blueprint's `owner_follows` says."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from browser_kit import B2B, DEMO_DAY, LOCALES, rows, serve, shown, sign_in, speak, user_id, words
from playwright.sync_api import expect

from atrium.metadata import load_blueprint
from atrium.runtime.pool.service import PublicPool
from atrium.runtime.records.evaluation import Actor

BLUEPRINT = load_blueprint(B2B)
NOW = dt.datetime.combine(DEMO_DAY, dt.time(10, 30), ZoneInfo(BLUEPRINT.timezone)).astimezone(dt.timezone.utc)


def label(entity: str, field: str, locale: str) -> str:
    return BLUEPRINT.entities[entity].fields[field].label.text(locale)


@pytest.fixture(scope="module")
def demo(make_run_database, tmp_path_factory):
    """Its own copy of the demo data as `make run` seeds it (these tests claim customers), on the demo's day."""
    with serve(make_run_database, tmp_path_factory.mktemp("money-claims"), clock=lambda: NOW) as running:
        yield running


@pytest.fixture
def page(browser, demo):
    context = browser.new_context(base_url=demo.url, viewport={"width": 1280, "height": 900}, locale="zh-CN")
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


# --- an over-payment refused ---------------------------------------------------------------------

def open_instalment(site, taken: set[int]) -> dict:
    """An instalment that still has money to collect (one each language's walk has not used)."""
    return next(i for i in rows(site, "instalment", voided=False)
                if i["outstanding"] and i["outstanding"] > 0 and i["id"] not in taken)


USED_INSTALMENTS: set[int] = set()


@pytest.mark.parametrize("locale", LOCALES)
def test_finance_is_refused_a_receipt_beyond_the_instalments_outstanding(page, demo, locale):
    """Refused when recorded, and again when a recorded receipt is raised past what is left."""
    site = demo.site
    instalment = open_instalment(site, USED_INSTALMENTS)
    USED_INSTALMENTS.add(instalment["id"])
    receipts_before = rows(site, "receipt", instalment=instalment["id"])
    sign_in(page, "finance")
    speak(page, locale)
    page.goto(f"/r/instalment/{instalment['id']}")
    outstanding = shown(page, label("instalment", "outstanding", locale))
    received = shown(page, label("instalment", "received_amount", locale))
    expect(outstanding).to_contain_text(f"{instalment['outstanding']:,.2f}".rstrip("0").rstrip("."))
    figures = (outstanding.inner_text(), received.inner_text())

    page.locator("#related-receipt a.button", has_text=words("Add", locale)).click()
    expect(page).to_have_url(re.compile(rf"/r/receipt/new\?instalment={instalment['id']}"))
    too_much = Decimal(instalment["outstanding"]) + 1000
    page.fill("#f-amount", str(too_much))
    page.locator("form.record-form button.primary").click()
    check = next(c for c in BLUEPRINT.entities["receipt"].checks if c.name == "not_over_collected")
    assert check.message is not None
    expect(page.locator("#msg-amount .error")).to_have_text(check.message.text(locale))  # beside the amount
    expect(page.locator("#f-amount")).to_have_value(str(too_much))  # what was typed stays to correct
    assert rows(site, "receipt", instalment=instalment["id"]) == receipts_before  # nothing written
    stored = rows(site, "instalment", id=instalment["id"])[0]
    assert (stored["received_amount"], stored["outstanding"]) == (instalment["received_amount"],
                                                                  instalment["outstanding"])
    page.goto(f"/r/instalment/{instalment['id']}")
    expect(outstanding).to_have_text(figures[0])  # the instalment's figures as they were
    expect(received).to_have_text(figures[1])

    # what is left is accepted; raising that receipt afterwards is refused the same way
    page.locator("#related-receipt a.button", has_text=words("Add", locale)).click()
    page.fill("#f-amount", str(instalment["outstanding"]))
    page.locator("form.record-form button.primary").click()
    expect(page).not_to_have_url(re.compile(r"/r/receipt/new"))
    receipt = rows(site, "receipt", instalment=instalment["id"])[-1]
    assert len(rows(site, "receipt", instalment=instalment["id"])) == len(receipts_before) + 1
    assert rows(site, "instalment", id=instalment["id"])[0]["outstanding"] == 0
    page.goto(f"/r/receipt/{receipt['id']}/edit")
    page.fill("#f-amount", str(Decimal(receipt["amount"]) + 1))
    page.locator("form.record-form button.primary").click()
    expect(page.locator("#msg-amount .error")).to_have_text(check.message.text(locale))
    assert rows(site, "receipt", id=receipt["id"])[0]["amount"] == receipt["amount"]


# --- a claimed customer's contacts ---------------------------------------------------------------

def customer_in_the_pool(site) -> dict:
    """A customer in the public pool with contacts, open orders and planned visits: the demo has
    one; once it is claimed, its owner releases another one like it (as a rep does from its page)."""
    def complete(customer: dict) -> bool:
        return bool(rows(site, "contact", customer=customer["id"])
                    and any(o["stage"] not in ("won", "lost") for o in rows(site, "order", customer=customer["id"]))
                    and rows(site, "visit", customer=customer["id"], status="planned"))
    pooled = [c for c in rows(site, "customer", owner=None) if not c["locked"] and complete(c)]
    if pooled:
        return pooled[0]
    rep1 = user_id(site, "rep1")
    customer = next(c for c in rows(site, "customer") if c["owner"] not in (None, rep1) and not c["locked"]
                    and complete(c))
    PublicPool(site).release(person(site, customer["owner"]), "customer", customer["id"])
    return rows(site, "customer", id=customer["id"])[0]


def person(site, uid: int) -> Actor:
    users = site.tables.system("atrium_users")
    with site.engine.connect() as connection:
        user = connection.execute(sa.select(users).where(users.c.id == uid)).one()
    return Actor(user_id=user.id, name=user.name, role=user.role, team_id=user.team_id, locale="en")


@pytest.mark.parametrize("locale", LOCALES)
def test_a_claimed_customers_contacts_and_open_work_are_the_claimers(page, demo, locale):
    site = demo.site
    customer = customer_in_the_pool(site)
    contacts = rows(site, "contact", customer=customer["id"])
    open_orders = [o for o in rows(site, "order", customer=customer["id"]) if o["stage"] not in ("won", "lost")]
    planned = rows(site, "visit", customer=customer["id"], status="planned")
    sign_in(page, "rep1")
    speak(page, locale)
    page.goto("/r/customer")
    page.locator(".page-head a.button", has_text=words("Public pool", locale)).click()
    row = page.locator("table.records tbody tr").filter(has=page.locator(f"a[href='/r/customer/{customer['id']}']"))
    row.locator("button", has_text=words("Claim", locale)).click()
    expect(page.locator("tr.pool-outcome").filter(has_text=customer["name"])).to_contain_text(
        words("Claimed", locale))

    rep1 = user_id(site, "rep1")
    page.goto(f"/r/customer/{customer['id']}")
    expect(page.locator("h1")).to_contain_text(customer["name"])
    listed = page.locator("#related-contact")
    expect(listed.locator("h2 .pill")).to_have_text(str(len(contacts)))
    for contact in contacts:  # every contact, listed for the claimer
        expect(listed.locator(f"a[href='/r/contact/{contact['id']}']")).to_be_visible()
    for entity, followed in (("order", open_orders), ("visit", planned)):  # "View all": the whole list
        page.locator(f"#related-{entity} header a", has_text=words("View all", locale)).click()
        for record in followed:
            expect(page.locator(f"table.records a[href='/r/{entity}/{record['id']}']")).to_be_visible()
        page.go_back()
    first = contacts[0]
    listed.locator(f"a[href='/r/contact/{first['id']}']").click()
    expect(page).to_have_url(re.compile(rf"/r/contact/{first['id']}$"))
    expect(page.locator("h1")).to_contain_text(first["name"])
    expect(shown(page, label("contact", "customer", locale))).to_contain_text(customer["name"])

    assert {c["owner"] for c in rows(site, "contact", customer=customer["id"])} == {rep1}
    assert all(rows(site, "order", id=o["id"])[0]["owner"] == rep1 for o in open_orders)
    assert all(rows(site, "visit", id=v["id"])[0]["owner"] == rep1 for v in planned)
    for order in open_orders:  # and the quotes of those orders
        assert all(q["owner"] == rep1 for q in rows(site, "quote", order=order["id"]))
