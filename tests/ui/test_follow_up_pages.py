"""The detail page's follow-up actions: "Log follow-up" on a customer (pick a kind, perhaps a
note, save) creates a done visit that moves the customer's last follow-up and recycle date; the
visit's "Check in" stamps the time, and the place only when the browser sent it; the customer
list sorted by last follow-up and the visits report show what was logged."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from record_pages_kit import START, table_rows

pytestmark = pytest.mark.database  # runs on SQLite and again on PostgreSQL


def log_form(page: str) -> str:
    return page.split('<details class="follow-up-log" id="log-visit">', 1)[1].split("</details>", 1)[0]


def test_the_customer_page_offers_the_log_with_each_kind_and_an_optional_note(world):
    acme = world.customer("Acme", owned_since="2026-05-01")
    menu = log_form(world.browser("rep").get(f"/r/customer/{acme['id']}").text)
    assert "<summary class=\"button primary\">Log follow-up</summary>" in menu
    assert f'action="/r/customer/{acme["id"]}/follow-up/visit"' in menu
    kinds = re.findall(r'<button class="button" name="kind" value="([a-z_]+)">([^<]+)</button>', menu)
    assert kinds == [("on_site", "On site"), ("hosted", "Customer came to us"), ("video", "Video call"),
                     ("phone", "Phone call"), ("wechat", "WeChat")]
    assert '<textarea name="note"' in menu and "Outcome" in menu


def test_logging_a_call_moves_the_last_follow_up_and_the_recycle_date(world):
    acme = world.customer("Acme", owned_since="2026-05-01", last_followup_at="2026-05-02 10:00")
    assert acme["recycle_on"] == dt.date(2026, 6, 1)
    world.clock.advance(days=3)                                      # 18 May, noon in Shanghai
    rep = world.browser("rep")
    response = rep.post(f"/r/customer/{acme['id']}/follow-up/visit",
                        {"kind": "phone", "note": "Asked for a new quote"}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == f"/r/customer/{acme['id']}"
    customer = world.get("customer", acme["id"])
    assert customer["last_followup_at"] == START + dt.timedelta(days=3)
    assert customer["recycle_on"] == dt.date(2026, 6, 17)
    page = rep.get(f"/r/customer/{acme['id']}").text
    visits = page.split('id="related-visit"', 1)[1].split("</section>", 1)[0]
    assert '<span class="pill">1</span>' in visits and "Phone call" in visits and "Done" in visits
    table = world.site.tables["visit"]
    with world.site.engine.connect() as connection:
        row = connection.execute(table.select()).mappings().one()
    assert (row["kind"], row["status"], row["outcome"], row["customer"]) == ("phone", "done",
                                                                             "Asked for a new quote", acme["id"])


def test_the_customer_list_sorted_by_last_follow_up_and_the_visits_report_show_the_log(world):
    quiet = world.customer("Quiet Co", owned_since="2026-05-01", last_followup_at="2026-05-10 10:00")
    world.customer("Busy Co", owned_since="2026-05-01", last_followup_at="2026-05-12 10:00")
    rep = world.browser("rep")
    names = [row.split()[0] + " " + row.split()[1] for row in table_rows(rep.get("/r/customer").text)]
    assert names == ["Busy Co", "Quiet Co"]
    rep.post(f"/r/customer/{quiet['id']}/follow-up/visit", {"kind": "wechat"}, follow_redirects=False)
    names = [row.split()[0] + " " + row.split()[1] for row in table_rows(rep.get("/r/customer").text)]
    assert names == ["Quiet Co", "Busy Co"]                          # the default sort: -last_followup_at
    report = rep.get("/api/v1/reports/visits_by_owner").json()
    assert [(row["owner"], row["status"], row["visits"]) for row in report["rows"]] == [
        (world.ids["rep"], "done", 1)]                               # this month's visits, by rep and status


def test_a_log_others_may_not_make_is_refused_and_writes_nothing(world):
    acme = world.customer("Acme")
    other = world.browser("rep2")                                    # not rep2's customer
    response = other.post(f"/r/customer/{acme['id']}/follow-up/visit", {"kind": "phone"})
    assert response.status_code == 404
    bad = world.browser("rep").post(f"/r/customer/{acme['id']}/follow-up/visit", {"kind": "telegram"})
    assert bad.status_code == 422 and "Kind" in bad.text
    assert world.get("customer", acme["id"])["last_followup_at"] is None
    with world.site.engine.connect() as connection:
        assert connection.execute(world.site.tables["visit"].select()).first() is None


def test_check_in_stamps_the_time_and_the_place_only_when_shared(world):
    acme = world.customer("Acme", owned_since="2026-05-01")
    planned = world.create("visit", customer=acme["id"], planned_at="2026-05-15 15:00")
    shared = world.create("visit", customer=acme["id"], planned_at="2026-05-15 16:00")
    rep = world.browser("rep")
    page = rep.get(f"/r/visit/{planned['id']}").text
    assert 'class="inline check-in" data-ask-place' in page and "/static/check_in.js" in page
    world.clock.advance(hours=3)
    response = rep.post(f"/r/visit/{planned['id']}/check-in", {"version": planned["version"], "lat": "", "lng": ""},
                        follow_redirects=False)
    assert response.status_code == 303
    visit = world.get("visit", planned["id"])
    assert visit["visited_at"] == START + dt.timedelta(hours=3) and visit["status"] == "done"
    assert visit["location"] is None                                 # time only: nothing was shared
    assert "check-in" not in rep.get(f"/r/visit/{planned['id']}").text   # checked in: no second button
    assert world.get("customer", acme["id"])["last_followup_at"] == START + dt.timedelta(hours=3)
    rep.post(f"/r/visit/{shared['id']}/check-in",
             {"version": shared["version"], "lat": "31.230416", "lng": "121.473701"})
    located = world.get("visit", shared["id"])["location"]
    assert (located["lat"], located["lng"]) == (31.230416, 121.473701)
    stale = rep.post(f"/r/visit/{planned['id']}/check-in", {"version": planned["version"]})
    assert stale.status_code == 409
    wrong = rep.post(f"/r/visit/{shared['id']}/check-in", {"version": 2, "lat": "95", "lng": "10"})
    assert wrong.status_code == 422 and "Check-in location" in wrong.text


@pytest.mark.parametrize("value", ["a\x00b", "1e999999", "NaN", "x" * 3000, "99999999999999999999", "91"])
def test_malformed_values_are_refused_without_a_server_error(world, value):
    acme = world.customer("Acme")
    planned = world.create("visit", customer=acme["id"], planned_at="2026-05-15 15:00")
    rep = world.browser("rep")
    rep.client = type(rep.client)(world.app, raise_server_exceptions=False, cookies=rep.client.cookies)
    logged = rep.post(f"/r/customer/{acme['id']}/follow-up/visit", {"kind": value, "note": value})
    checked = rep.post(f"/r/visit/{planned['id']}/check-in", {"version": value, "lat": value, "lng": value})
    located = rep.post(f"/r/visit/{planned['id']}/check-in", {"version": planned["version"], "lat": value, "lng": "1"})
    assert {logged.status_code, checked.status_code, located.status_code} <= {400, 409, 422}
    assert world.get("visit", planned["id"])["visited_at"] is None                # nothing written
