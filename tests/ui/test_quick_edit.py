"""A kanban card's quick edit: the board's `quick_edit` fields as inputs on the card, saved through
the records service with the card's version (the column's total moves with it), a refused value
kept with its message and nothing written, a stale save refused with who changed the record, and
only declared fields on cards the user may update."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from record_pages_kit import TODAY

pytestmark = pytest.mark.database  # runs on SQLite and again on PostgreSQL

LATER = (TODAY + dt.timedelta(days=30)).isoformat()


def quick(browser, order_id: int, htmx: bool = True, **values):
    return browser.post(f"/r/order/{order_id}/quick-edit", data=values, htmx=htmx, follow_redirects=False)


def lane_total(html: str, stage: str) -> str:
    lane = re.search(rf'<section class="kanban-col[^"]*" id="[^"]+" aria-label="[^"]*" data-value="{stage}"'
                     r'([^>]*)>(.*?)</section>', html, re.S)
    assert lane, f"no lane {stage}"
    return re.search(r'class="lane-total"[^>]*>([^<]*)<', lane.group(2)).group(1)


def test_the_board_offers_quick_edit_on_cards_the_user_may_update(world):
    mine = world.order("Mine", amount=100)
    theirs = world.order("Theirs", by="rep2", amount=100)
    board = world.browser("rep").get("/r/order/kanban").text
    assert f'hx-get="/r/order/{mine["id"]}/quick-edit"' in board
    assert f'/r/order/{theirs["id"]}/quick-edit' not in board  # not even on the board for a rep
    manager = world.browser("manager").get("/r/order/kanban?q=Theirs").text  # filters ride along
    assert f'hx-get="/r/order/{theirs["id"]}/quick-edit?q=Theirs"' in manager
    assert "quick-edit" not in world.browser("rep").get("/r/lead/kanban").text  # the lead board declares none


def test_the_card_opens_with_the_declared_fields_as_inputs(world):
    order = world.order("Deal", amount="1500")
    rep = world.browser("rep")
    card = rep.get(f"/r/order/{order['id']}/quick-edit", htmx=True).text
    assert f'<li class="kanban-card editing" id="card-{order["id"]}">' in card
    assert re.findall(r'<input type="(\w+)"[^>]* name="(amount|expected_close)"', card) == [
        ("text", "amount"), ("date", "expected_close")]
    assert 'value="1,500.00"' in card and 'name="version" value="1"' in card and 'name="name"' not in card
    back = rep.get(f"/r/order/{order['id']}/quick-edit?show=1", htmx=True).text  # Cancel / Esc
    assert 'class="kanban-card"' in back and "<input" not in back.split('class="card-move"')[0]
    # without JavaScript the card's link opens the record's form
    plain = rep.get(f"/r/order/{order['id']}/quick-edit", follow_redirects=False)
    assert plain.status_code == 303 and plain.headers["location"] == f"/r/order/{order['id']}/edit"


def test_a_quick_save_moves_the_columns_total(world):
    order = world.order("Deal", amount=100)
    world.order("Other", amount=50)
    rep = world.browser("rep")
    answer = quick(rep, order["id"], amount="2,500", expected_close=LATER, version=1)
    assert answer.status_code == 200 and answer.headers["HX-Retarget"] == "#board-message"
    saved = world.get("order", order["id"])
    assert saved["amount"] == Decimal("2500.00") and saved["expected_close"].isoformat() == LATER
    assert saved["version"] == 2
    assert "Saved" in answer.text and 'hx-swap-oob="true"' in answer.text
    assert lane_total(answer.text, "initial_contact") == "¥2,550.00"
    assert 'data-version="2"' in answer.text.split(f'id="card-{order["id"]}"', 1)[1].split("</li>", 1)[0]
    plain = quick(rep, order["id"], htmx=False, amount="3000", expected_close=LATER, version=2)
    assert plain.status_code == 303 and plain.headers["location"].startswith("/r/order/kanban")


def test_a_refused_value_stays_on_the_card_and_nothing_is_written(world):
    order = world.order("Deal", amount=100)
    rep = world.browser("rep")
    answer = quick(rep, order["id"], amount="-1", expected_close="2026-01-01", version=1)
    assert 'class="kanban-card editing"' in answer.text and 'value="-1"' in answer.text
    assert "Expected close date is in the past" in answer.text
    assert world.get("order", order["id"])["version"] == 1
    assert world.get("order", order["id"])["amount"] == Decimal("100.00")
    assert quick(rep, order["id"], htmx=False, amount="many", version=1).status_code == 422


def test_a_stale_quick_save_is_refused_with_who_changed_the_record(world):
    order = world.order("Deal", amount=100)
    world.clock.advance(minutes=7)
    world.site.records.update("order", order["id"], {"amount": 300}, world.actor("manager"), version=1)
    rep = world.browser("rep")
    answer = quick(rep, order["id"], amount="200", expected_close="", version=1)
    assert "Not saved: Manager Zhou changed this record at" in answer.text and "12:07" in answer.text
    assert lane_total(answer.text, "initial_contact") == "¥300.00"  # the card's column shows what is stored
    assert world.get("order", order["id"])["amount"] == Decimal("300.00")
    assert quick(rep, order["id"], htmx=False, amount="200", version=1).status_code == 409


def test_only_declared_fields_on_cards_the_user_may_update(world):
    order = world.order("Deal", amount=100)
    theirs = world.order("Theirs", by="rep2", amount=100)
    rep = world.browser("rep")
    quick(rep, order["id"], amount="120", name="Renamed", stage="won", version=1)
    saved = world.get("order", order["id"])
    assert saved["amount"] == Decimal("120.00") and saved["name"] == "Deal" and saved["stage"] == "initial_contact"
    assert quick(rep, theirs["id"], amount="1", version=1).status_code == 404
    assert world.get("order", theirs["id"])["amount"] == Decimal("100.00")
    lead = world.create("lead", company="Acme", contact_name="Li")
    assert rep.post(f"/r/lead/{lead['id']}/quick-edit", data={"company": "X"}, htmx=True).status_code == 404
