"""Follow-ups as a rep works them, in a real browser on the demo data, in Chinese and in English:
from a customer's page the rep logs a call in two clicks (open "Log follow-up", pick the phone
call) with a note, and the customer's last follow-up becomes now and its return-to-pool date moves
30 days on; on a planned visit the rep checks in, sharing the location when the browser is allowed
to and the time alone when it is not (the blueprint's `follow_up:` and `check_in:` on visit)."""
from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from browser_kit import B2B, DEMO_DAY, LOCALES, rows, serve, shown, sign_in, speak, user_id
from playwright.sync_api import expect

from atrium.metadata import load_blueprint

BLUEPRINT = load_blueprint(B2B)
ZONE = ZoneInfo(BLUEPRINT.timezone)
NOW = dt.datetime.combine(DEMO_DAY, dt.time(15, 45), ZONE).astimezone(dt.timezone.utc)
SHANGHAI = {"latitude": 31.230416, "longitude": 121.473701}


def label(entity: str, field: str, locale: str) -> str:
    return BLUEPRINT.entities[entity].fields[field].label.text(locale)


def option(entity: str, field: str, value: str, locale: str) -> str:
    found = BLUEPRINT.entities[entity].fields[field].option(value)
    assert found is not None
    return found.label.text(locale)


@pytest.fixture(scope="module")
def demo(seeded_database, tmp_path_factory):
    """Its own copy of the demo data (these tests write follow-ups), at a fixed moment."""
    with serve(seeded_database, tmp_path_factory.mktemp("follow-ups"), clock=lambda: NOW) as running:
        yield running


def new_page(browser, demo, **context_options):
    context = browser.new_context(base_url=demo.url, viewport={"width": 1280, "height": 900}, locale="zh-CN",
                                  **context_options)
    context.set_default_timeout(20_000)
    return context, context.new_page()


USED: set[int] = set()


def idle_customer(site) -> tuple[dict, str]:
    """A rep's customer on its way back to the pool, not followed up today (one per walk), and the rep."""
    reps = {user_id(site, name): name for name in ("rep1", "rep2", "rep3")}
    found = next(c for c in rows(site, "customer") if c["owner"] in reps and c["recycle_on"] is not None
                 and c["id"] not in USED and (c["last_followup_at"] is None or c["last_followup_at"] < NOW))
    USED.add(found["id"])
    return found, reps[found["owner"]]


@pytest.mark.parametrize("locale", LOCALES)
def test_logging_a_call_moves_the_last_follow_up_and_the_recycle_date(browser, demo, locale):
    site = demo.site
    customer, rep_name = idle_customer(site)
    rep = customer["owner"]
    visits_before = len(rows(site, "visit", customer=customer["id"]))
    context, page = new_page(browser, demo)
    try:
        sign_in(page, rep_name)
        speak(page, locale)
        page.goto(f"/r/customer/{customer['id']}")
        recycle = shown(page, label("customer", "recycle_on", locale))
        before = recycle.inner_text()
        log = page.locator("details.follow-up-log#log-visit")
        log.locator("summary").click()                                    # click one: open
        log.locator("textarea[name=note]").fill("客户要求下周报价" if locale == "zh" else "Wants a quote next week")
        log.get_by_role("button", name=option("visit", "kind", "phone", locale), exact=True).click()  # two: save
        expect(page).to_have_url(re.compile(rf"/r/customer/{customer['id']}$"))
        after = site.records.get("customer", customer["id"])
        assert after["last_followup_at"] == NOW
        assert after["recycle_on"] == min(DEMO_DAY + dt.timedelta(days=60 if after["level"] == "a" else 30),
                                          after["owned_since"] + dt.timedelta(days=90))
        assert after["recycle_on"] > customer["recycle_on"]
        expect(shown(page, label("customer", "last_followup_at", locale))).to_contain_text("15:45")
        expect(recycle).not_to_have_text(before)
        expect(recycle).to_contain_text(str(after["recycle_on"].day))
        visits = rows(site, "visit", customer=customer["id"])
        assert len(visits) == visits_before + 1
        logged = visits[-1]
        assert (logged["kind"], logged["status"], logged["owner"]) == ("phone", "done", rep)
        expect(page.locator("#related-visit")).to_contain_text(option("visit", "kind", "phone", locale))
    finally:
        context.close()


def planned_visit(site, owner: int) -> dict:
    found = next(v for v in rows(site, "visit", owner=owner, status="planned") if v["id"] not in USED)
    USED.add(found["id"])
    return found


@pytest.mark.parametrize("shares", [True, False], ids=["location-shared", "time-only"])
def test_check_in_records_the_place_only_when_the_browser_may_share_it(browser, demo, shares):
    site = demo.site
    visit = planned_visit(site, user_id(site, "rep1"))
    options = {"geolocation": SHANGHAI, "permissions": ["geolocation"]} if shares else {"permissions": []}
    context, page = new_page(browser, demo, **options)
    try:
        sign_in(page, "rep1")
        speak(page, "zh")
        page.goto(f"/r/visit/{visit['id']}")
        page.locator("form.check-in button").click()
        expect(page.locator("form.check-in")).to_have_count(0)             # back on the page, checked in
        expect(page).to_have_url(re.compile(rf"/r/visit/{visit['id']}$"))
        expect(shown(page, label("visit", "visited_at", "zh"))).to_contain_text(
            NOW.astimezone(ZONE).strftime("%H:%M"))
        checked = site.records.get("visit", visit["id"])
        assert checked["visited_at"] == NOW and checked["status"] == "done"
        if shares:
            assert (checked["location"]["lat"], checked["location"]["lng"]) == (
                SHANGHAI["latitude"], SHANGHAI["longitude"])
        else:
            assert checked["location"] == visit_location(visit)          # nothing shared: left as it was
        customer = site.records.get("customer", visit["customer"])
        assert customer["last_followup_at"] >= NOW                       # the done visit counts
    finally:
        context.close()


def visit_location(visit: dict):
    lat, lng, address = visit.get("location_lat"), visit.get("location_lng"), visit.get("location_address")
    return None if lat is None and not address else {"lat": lat, "lng": lng, "address": address}
