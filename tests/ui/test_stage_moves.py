"""Losing a deal from anywhere: the record page asks inline for exactly the fields the lost stage
needs (the reason, then the competitor when the reason is a competitor), with their errors beside
them, and saves the move and the values in one write; the board does the same; the API answers
422 naming the missing fields, then moves. Every path stamps the day the deal was lost."""
from __future__ import annotations

import re

import pytest
from record_pages_kit import TODAY

from atrium.runtime.access import users

pytestmark = pytest.mark.database  # runs on SQLite and again on PostgreSQL


def asked(html: str) -> list[str]:
    ask = html.split('<div id="stage-ask">', 1)[1].split("</form>", 1)[0]
    return re.findall(r'name="_fields" value="(\w+)"', ask)


def errors_of(html: str, field: str) -> list[str]:
    block = html.split(f'id="msg-{field}"', 1)[1].split("</span>\n", 1)[0]
    return re.findall(r'<span class="error">([^<]+)</span>', block)


def test_losing_from_the_record_page_asks_for_the_reason_then_the_competitor_and_saves_once(world):
    order = world.order("Big deal", amount=509000, expected_close=TODAY)
    rep = world.browser("rep")
    page = rep.get(f"/r/order/{order['id']}").text
    assert 'hx-post="/r/order/%d/stage" hx-target="#stage-ask"' % order["id"] in page
    assert '<div id="stage-ask">' in page  # where the question goes
    first = rep.post(f"/r/order/{order['id']}/stage", {"stage": "lost", "version": "1"}, htmx=True)
    assert first.status_code == 200 and first.text.lstrip().startswith('<div id="stage-ask">')  # the fragment alone
    assert asked(first.text) == ["lost_reason"]
    assert "Required to enter stage Lost" in errors_of(first.text, "lost_reason")
    assert 'name="stage" value="lost"' in first.text and 'name="version" value="1"' in first.text
    second = rep.post(f"/r/order/{order['id']}/stage", [("stage", "lost"), ("version", "1"), ("_fields", "lost_reason"),
                                                         ("lost_reason", "competitor")], htmx=True)
    assert asked(second.text) == ["lost_reason", "competitor"]  # the reason makes the competitor required
    assert errors_of(second.text, "competitor") == ["This field is required"]
    assert 'value="competitor" selected' in second.text  # the answer given is kept
    assert world.get("order", order["id"])["stage"] == "initial_contact"  # nothing saved yet
    done = rep.post(f"/r/order/{order['id']}/stage", [("stage", "lost"), ("version", "1"), ("_fields", "lost_reason"),
                                                      ("lost_reason", "competitor"), ("_fields", "competitor"),
                                                      ("competitor", "Siemens")], htmx=True)
    assert done.status_code == 200 and done.headers["HX-Redirect"] == f"/r/order/{order['id']}"
    saved = world.get("order", order["id"])
    assert (saved["stage"], saved["lost_reason"], saved["competitor"], saved["lost_on"]) == (
        "lost", "competitor", "Siemens", TODAY)
    assert saved["version"] == 2  # the move and the values: one write


def test_without_javascript_the_record_page_holds_the_question(world):
    order = world.order("Deal", amount=1000, expected_close=TODAY)
    rep = world.browser("rep")
    page = rep.post(f"/r/order/{order['id']}/stage", {"stage": "lost", "version": "1"})
    assert page.status_code == 422 and "<h1>" in page.text and asked(page.text) == ["lost_reason"]
    moved = rep.post(f"/r/order/{order['id']}/stage", [("stage", "lost"), ("version", "1"), ("_fields", "lost_reason"),
                                                       ("lost_reason", "price")], follow_redirects=False)
    assert moved.status_code == 303 and world.get("order", order["id"])["lost_reason"] == "price"


def test_the_question_is_in_the_users_language(world):
    order = world.order("Deal", amount=1000, expected_close=TODAY)
    table = world.site.tables.system("atrium_users")
    with world.site.engine.begin() as connection:
        connection.execute(table.update().where(table.c.id == world.ids["rep2"]).values(locale="zh"))
    world.site.records.update("order", order["id"], {"owner": world.ids["rep2"]}, world.actor("rep"))
    page = world.browser("rep2").post(f"/r/order/{order['id']}/stage", {"stage": "lost", "version": "2"}, htmx=True)
    assert "输单原因" in page.text and "保存并移动" in page.text
    assert errors_of(page.text, "lost_reason") == ["此字段为必填项", "进入阶段“输单”前必须填写"]


def test_losing_from_the_board_asks_the_same_and_stamps_the_day(world):
    order = world.order("Board deal", amount=2000, expected_close=TODAY)
    rep = world.browser("rep")
    ask = rep.post(f"/r/order/{order['id']}/move", {"to": "lost", "version": "1"}, htmx=True)
    assert re.findall(r'name="_fields" value="(\w+)"', ask.text) == ["lost_reason"]
    rep.post(f"/r/order/{order['id']}/move", [("to", "lost"), ("version", "1"), ("_fields", "lost_reason"),
                                              ("lost_reason", "timing")], htmx=True)
    saved = world.get("order", order["id"])
    assert (saved["stage"], saved["lost_reason"], saved["lost_on"]) == ("lost", "timing", TODAY)


def test_the_api_answers_422_naming_the_missing_fields_then_moves(world):
    order = world.order("Api deal", amount=3000, expected_close=TODAY)
    with world.site.engine.begin() as connection:
        token = users.issue_token(connection, world.site.tables, "rep")
    client = world.browser("rep").client
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": "en"}
    path = f"/api/v1/order/{order['id']}"
    refused = client.patch(path, headers=headers, json={"version": 1, "stage": "lost"})
    assert refused.status_code == 422
    assert refused.json()["errors"]["lost_reason"] == ["This field is required", "Required to enter stage Lost"]
    refused = client.patch(path, headers={**headers, "Accept-Language": "zh-CN"},
                           json={"version": 1, "stage": "lost", "lost_reason": "competitor"})
    assert refused.status_code == 422 and list(refused.json()["errors"]) == ["competitor"]
    assert refused.json()["errors"]["competitor"] == ["此字段为必填项"]
    moved = client.patch(path, headers=headers, json={"version": 1, "stage": "lost", "lost_reason": "competitor",
                                                      "competitor": "Huawei"})
    assert moved.status_code == 200, moved.text
    assert (moved.json()["stage"], moved.json()["lost_on"], moved.json()["version"]) == ("lost", TODAY.isoformat(), 2)


def test_losing_from_the_list_asks_the_same_and_goes_back_to_the_list(world):
    open_deal = world.order("Open deal", amount=4000, expected_close=TODAY)
    won = world.order("Won deal", amount=5000, expected_close=TODAY)
    world.site.records.update("order", won["id"], {"stage": "won"}, world.actor("rep"))
    rep = world.browser("rep")
    page = rep.get("/r/order").text
    assert '<div id="stage-ask">' in page
    row = lambda record: page.split(f'<a href="/r/order/{record["id"]}">', 1)[1].split("</tr>", 1)[0]  # noqa: E731
    action = '{"stage": "lost", "version": "1", "back": "list"}'
    assert f'hx-post="/r/order/{open_deal["id"]}/stage" hx-vals=\'{action}\'' in row(open_deal)
    assert "/stage" not in row(won)  # a closed deal offers no closing move
    where = {"HX-Current-URL": "http://testserver/r/order?q=deal"}
    ask = rep.post(f"/r/order/{open_deal['id']}/stage", {"stage": "lost", "version": "1", "back": "list"}, htmx=True,
                   headers=where)
    assert asked(ask.text) == ["lost_reason"] and 'name="back" value="list"' in ask.text
    assert 'href="/r/order?q=deal"' in ask.text  # cancel goes back to the list as it was
    done = rep.post(f"/r/order/{open_deal['id']}/stage", [("stage", "lost"), ("version", "1"), ("back", "list"),
                                                          ("_fields", "lost_reason"), ("lost_reason", "no_budget")],
                    htmx=True, headers=where)
    assert done.headers["HX-Redirect"] == "/r/order?q=deal"
    assert world.get("order", open_deal["id"])["lost_on"] == TODAY


def test_a_refused_move_through_htmx_shows_the_page_with_the_message(world):
    order = world.order("Stale deal", amount=1000, expected_close=TODAY)
    world.site.records.update("order", order["id"], {"next_step": "call"}, world.actor("rep"))  # now version 2
    rep = world.browser("rep")
    stale = rep.post(f"/r/order/{order['id']}/stage", {"stage": "won", "version": "1"}, htmx=True)
    assert stale.headers["HX-Retarget"] == "#main" and stale.headers["HX-Reselect"] == "#main"
    assert '<div class="form-errors" role="alert">' in stale.text and '<main id="main">' in stale.text
    assert world.get("order", order["id"])["stage"] == "initial_contact"
