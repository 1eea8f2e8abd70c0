"""The kanban board as a user meets it: a column per stage with its count and total under the
user's scope and the list's filters, capped cards with "+N more", and moves that obey the
pipeline (requires asked for in a small form, forbidden transitions refused, stale versions
refreshed), with the two touched columns swapped out of band."""
from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa
from record_pages_kit import TODAY, World

from atrium.ui.boards import kanban as kanban_page

pytestmark = pytest.mark.database  # runs on SQLite and again on PostgreSQL

LATER = (TODAY + dt.timedelta(days=30)).isoformat()


def lanes(html: str) -> dict[str | None, dict]:
    """Column value → its label, count, total, card ids, folded or not, and whether out of band."""
    result = {}
    pattern = (r'<section class="kanban-col([^"]*)" id="[^"]+" aria-label="([^"]*)"'
               r'(?: data-value="([^"]*)")?([^>]*)>(.*?)</section>')
    for classes, label, value, attributes, body in re.findall(pattern, html, re.S):
        total = re.search(r'class="lane-total"[^>]*>([^<]*)<', body)
        more = re.search(r'<a class="lane-more" href="([^"]*)">([^<]*)</a>', body)
        result[value or None] = {
            "label": label, "count": re.search(r'lane-count">([^<]*)<', body).group(1),
            "total": total.group(1) if total else None, "cards": [int(i) for i in re.findall(r'id="card-(\d+)"', body)],
            "closed": "closed" in classes, "oob": 'hx-swap-oob="true"' in attributes,
            "more": (more.group(1).replace("&amp;", "&"), more.group(2)) if more else None,
        }
    return result


def stage_history(world, record_id: int) -> list[tuple]:
    table = world.site.tables.system("atrium_stage_history")
    with world.site.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(
            sa.select(table.c.from_stage, table.c.to_stage, table.c.changed_by)
            .where(table.c.entity == "order", table.c.record_id == record_id).order_by(table.c.id))]


def asked_fields(html: str) -> list[str]:
    dialog = html.split('id="board-dialog"', 1)[1]
    return re.findall(r'<input type="hidden" name="_fields" value="([^"]+)">', dialog)


def test_columns_count_and_sum_under_the_users_scope(world):
    world.order("Alpha", amount=1000)
    world.order("Beta", amount="250.50", stage="proposal", expected_close=LATER)
    world.order("Gamma", amount=99, stage="proposal", expected_close=LATER)
    world.order("Theirs", by="rep2", amount=5000, stage="proposal", expected_close=LATER)
    world.order("No amount")
    page = world.browser("rep").get("/r/order/kanban")
    assert page.status_code == 200
    board = lanes(page.text)
    assert list(board) == ["initial_contact", "needs_confirmed", "proposal", "negotiation", "won", "lost"]
    assert (board["initial_contact"]["count"], board["initial_contact"]["total"]) == ("2", "¥1,000.00")
    assert (board["proposal"]["count"], board["proposal"]["total"]) == ("2", "¥349.50")  # not rep2's 5,000
    assert (board["negotiation"]["count"], board["negotiation"]["total"]) == ("0", "¥0.00")
    assert board["won"]["closed"] and board["lost"]["closed"] and not board["proposal"]["closed"]
    assert "Theirs" not in page.text
    assert '<a class="card-title" href="/r/order/' in page.text and ">¥250.50</div>" in page.text
    manager = lanes(world.browser("manager").get("/r/order/kanban").text)
    assert (manager["proposal"]["count"], manager["proposal"]["total"]) == ("3", "¥5,349.50")


def test_cards_show_the_card_fields_and_link_to_the_record(world):
    acme = world.customer("Acme")
    order = world.order("Pumps", customer=acme, amount=1200)
    page = world.browser("rep").get("/r/order/kanban").text
    card = page.split(f'id="card-{order["id"]}"', 1)[1].split("</li>", 1)[0]
    assert f'<a class="card-title" href="/r/order/{order["id"]}">Pumps</a>' in card
    assert f'<a href="/r/customer/{acme["id"]}">Acme</a>' in card  # a reference as its title
    assert "¥1,200.00" in card
    options = re.findall(r'<option value="([^"]*)">', card)
    assert options == ["", "needs_confirmed", "proposal", "negotiation", "won", "lost"]  # forward only


def test_list_filters_and_search_apply_and_columns_are_capped(world, monkeypatch):
    for name in ("Pump A", "Pump B", "Pump C", "Valve"):
        world.order(name, amount=10)
    rep = world.browser("rep")
    searched = lanes(rep.get("/r/order/kanban?q=Pump").text)
    assert searched["initial_contact"]["count"] == "3" and searched["initial_contact"]["total"] == "¥30.00"
    assert lanes(rep.get(f"/r/order/kanban?owner={world.ids['rep2']}").text)["initial_contact"]["count"] == "0"
    monkeypatch.setattr(kanban_page, "CARD_CAP", 2)
    capped = lanes(rep.get("/r/order/kanban?q=Pump").text)["initial_contact"]
    assert capped["count"] == "3" and len(capped["cards"]) == 2
    assert capped["more"] == ("/r/order?q=Pump&stage=initial_contact", "+1 more")
    listed = rep.get(capped["more"][0]).text
    assert listed.count('<a href="/r/order/') == 3 and "Valve" not in listed


def test_moving_a_card_forward_updates_both_columns_and_records_the_stage(world):
    moving = world.order("Alpha", amount=1000)
    world.order("Beta", amount=20)
    rep = world.browser("rep")
    answer = rep.post(f"/r/order/{moving['id']}/move", {"to": "proposal", "version": 1}, htmx=True)
    assert answer.status_code == 200
    assert "Moved ORD-2026-00001 Alpha to Proposal / quote" in answer.text
    touched = lanes(answer.text)
    assert set(touched) == {"initial_contact", "proposal"} and all(lane["oob"] for lane in touched.values())
    assert (touched["initial_contact"]["count"], touched["initial_contact"]["total"]) == ("1", "¥20.00")
    assert touched["proposal"]["cards"] == [moving["id"]] and touched["proposal"]["total"] == "¥1,000.00"
    assert world.get("order", moving["id"])["stage"] == "proposal"
    assert stage_history(world, moving["id"])[-1] == ("initial_contact", "proposal", world.ids["rep"])
    # without JavaScript: the select's form posts and the board comes back with its filters
    plain = rep.post(f"/r/order/{moving['id']}/move?q=Alpha", {"to": "negotiation", "version": 2},
                     follow_redirects=False)
    assert plain.status_code == 303 and plain.headers["location"] == "/r/order/kanban?q=Alpha"
    assert world.get("order", moving["id"])["stage"] == "negotiation"


def test_a_stage_that_requires_fields_asks_for_them_then_moves(world):
    order = world.order("Alpha")
    rep = world.browser("rep")
    asked = rep.post(f"/r/order/{order['id']}/move", {"to": "needs_confirmed", "version": 1}, htmx=True)
    assert asked.status_code == 200 and asked.headers["HX-Retarget"] == "#board-dialog"
    assert asked_fields(asked.text) == ["amount", "expected_close"]
    assert "To move ORD-2026-00001 Alpha to Needs confirmed, fill in:" in asked.text
    assert 'name="to" value="needs_confirmed"' in asked.text and 'type="date" id="f-expected_close"' in asked.text
    assert world.get("order", order["id"])["stage"] == "initial_contact"
    half = rep.post(f"/r/order/{order['id']}/move", [("to", "needs_confirmed"), ("version", 1),
                                                      ("_fields", "amount"), ("amount", "800"),
                                                      ("_fields", "expected_close"), ("expected_close", "")], htmx=True)
    assert asked_fields(half.text) == ["amount", "expected_close"] and 'value="800"' in half.text  # input kept
    assert "Required to enter stage Needs confirmed" in half.text.split('id="field-expected_close"', 1)[1]
    assert world.get("order", order["id"])["amount"] is None  # nothing saved
    done = rep.post(f"/r/order/{order['id']}/move", [("to", "needs_confirmed"), ("version", 1),
                                                      ("_fields", "amount"), ("amount", "800"),
                                                      ("_fields", "expected_close"), ("expected_close", LATER)],
                    htmx=True)
    assert "HX-Retarget" not in done.headers
    assert '<div id="board-dialog" hx-swap-oob="true">' in done.text  # the form closes
    assert lanes(done.text)["needs_confirmed"]["total"] == "¥800.00"
    stored = world.get("order", order["id"])
    assert (stored["stage"], str(stored["amount"]), stored["expected_close"].isoformat()) == (
        "needs_confirmed", "800.00", LATER)
    lost = rep.post(f"/r/order/{order['id']}/move", {"to": "lost", "version": 2}, htmx=True)
    assert asked_fields(lost.text) == ["lost_reason"] and '<option value="competitor">Competitor</option>' in lost.text
    # without JavaScript the board page comes back with the form on it
    page = rep.post(f"/r/order/{order['id']}/move", {"to": "lost", "version": 2})
    assert page.status_code == 200 and asked_fields(page.text) == ["lost_reason"] and "kanban-col" in page.text


def test_a_backward_move_is_refused_and_nothing_changes(world):
    order = world.order("Alpha", amount=10, stage="proposal", expected_close=LATER)
    rep = world.browser("rep")
    refused = rep.post(f"/r/order/{order['id']}/move", {"to": "initial_contact", "version": 1}, htmx=True)
    assert refused.status_code == 200
    assert "Cannot move from Proposal / quote to Initial contact" in refused.text
    back = lanes(refused.text)
    assert list(back) == ["proposal"] and back["proposal"]["cards"] == [order["id"]]  # the card returns
    stored = world.get("order", order["id"])
    assert (stored["stage"], stored["version"]) == ("proposal", 1)
    assert stage_history(world, order["id"]) == [(None, "proposal", world.ids["rep"])]
    plain = rep.post(f"/r/order/{order['id']}/move", {"to": "initial_contact", "version": 1})
    assert plain.status_code == 422 and "Cannot move from Proposal / quote to Initial contact" in plain.text
    unknown = rep.post(f"/r/order/{order['id']}/move", {"to": "nowhere", "version": 1}, htmx=True)
    assert "Choose a column to move the card to" in unknown.text
    assert world.get("order", order["id"])["stage"] == "proposal"


def test_explicit_transitions_of_a_pipeline_are_obeyed(world):
    lead = world.create("lead", company="Acme", contact_name="Ms Fang")
    rep = world.browser("rep")
    board = rep.get("/r/lead/kanban").text
    card = board.split(f'id="card-{lead["id"]}"', 1)[1].split("</li>", 1)[0]
    assert re.findall(r'<option value="([^"]+)">', card) == ["contacted", "disqualified"]
    refused = rep.post(f"/r/lead/{lead['id']}/move", {"to": "qualified", "version": 1}, htmx=True)
    assert "Cannot move from New to Qualified" in refused.text
    assert rep.post(f"/r/lead/{lead['id']}/move", {"to": "contacted", "version": 1}, htmx=True).status_code == 200
    assert world.get("lead", lead["id"])["status"] == "contacted"


def test_a_rep_cannot_move_or_see_another_reps_card(world):
    theirs = world.order("Theirs", by="rep2", amount=10)
    rep = world.browser("rep")
    assert f'id="card-{theirs["id"]}"' not in rep.get("/r/order/kanban").text
    assert rep.post(f"/r/order/{theirs['id']}/move", {"to": "proposal", "version": 1}, htmx=True).status_code == 404
    assert rep.post("/r/order/999999/move", {"to": "proposal", "version": 1}).status_code == 404
    assert world.get("order", theirs["id"])["stage"] == "initial_contact"
    manager = world.browser("manager")
    assert manager.post(f"/r/order/{theirs['id']}/move", {"to": "proposal", "version": 1},
                        follow_redirects=False).status_code == 303  # a manager's team reach
    assert world.get("order", theirs["id"])["stage"] == "proposal"


def test_a_stale_card_refreshes_the_board(world):
    order = world.order("Alpha", amount=10)
    world.site.records.update("order", order["id"], {"amount": 20}, world.actor("rep"))  # someone saved
    answer = world.browser("rep").post(f"/r/order/{order['id']}/move", {"to": "proposal", "version": 1}, htmx=True)
    assert answer.headers["HX-Retarget"] == "#board" and answer.headers["HX-Reswap"] == "outerHTML"
    assert "Someone else saved this record first" in answer.text
    board = lanes(answer.text)
    assert board["initial_contact"]["total"] == "¥20.00" and len(board) == 6
    assert 'data-version="2"' in answer.text
    assert world.get("order", order["id"])["stage"] == "initial_contact"


def test_only_entities_with_a_board_have_one_and_csrf_guards_moves(world):
    order = world.order("Alpha")
    rep = world.browser("rep")
    assert rep.get("/r/customer/kanban").status_code == 404
    assert rep.get("/r/nothing/kanban").status_code == 404
    unsigned = rep.client.post(f"/r/order/{order['id']}/move", data={"to": "proposal", "version": "1"})
    assert unsigned.status_code == 403 and world.get("order", order["id"])["stage"] == "initial_contact"


def test_board_in_chinese_and_escaping(world):
    world.order("<script>alert(1)</script>", amount=5, customer=world.customer("<b>Acme</b>"))
    rep = world.browser("rep")
    rep.post("/language", {"locale": "zh"})
    page = rep.get("/r/order/kanban").text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>Acme</b>" not in page and "&lt;b&gt;Acme&lt;/b&gt;" in page
    board = lanes(page)
    assert board["initial_contact"]["label"] == "初步接触" and board["won"]["label"] == "赢单"
    assert "移动到…" in page and ">看板</a>" in page
    order_id = board["initial_contact"]["cards"][0]
    asked = rep.post(f"/r/order/{order_id}/move", {"to": "needs_confirmed", "version": 1}, htmx=True).text
    assert "&lt;script&gt;" in asked and "<script>alert" not in asked
    assert "进入阶段“需求确认”前必须填写" in asked


def overlay(tmp_path, views: str):
    """A client overlay of the shipped blueprint with other views."""
    from record_pages_kit import B2B

    from atrium.metadata import load_blueprint
    (tmp_path / "views").mkdir()
    (tmp_path / "blueprint.yaml").write_text(f"name: client\nextends: {B2B}\n", encoding="utf-8")
    (tmp_path / "views" / "visit.yaml").write_text(views, encoding="utf-8")
    return load_blueprint(tmp_path)


def test_a_board_by_select_options_with_required_when_and_a_column_for_no_value(engine, database_url, tmp_path):
    blueprint = overlay(tmp_path, "entity: visit\nkanban: {group_by: status, card: [customer, planned_at]}\n")
    world = World(engine, database_url, blueprint, folder=tmp_path)
    try:
        acme = world.customer("Acme")
        planned = world.create("visit", customer=acme["id"], planned_at="2026-05-20T10:00")
        blank = world.create("visit", customer=acme["id"], planned_at="2026-05-21T10:00")
        world.site.records.update("visit", blank["id"], {"status": None}, world.actor("rep"))
        rep = world.browser("rep")
        board = lanes(rep.get("/r/visit/kanban").text)
        assert list(board) == ["planned", "done", "cancelled", None]
        assert board["planned"]["cards"] == [planned["id"]] and board["planned"]["total"] is None  # no money field
        assert (board[None]["label"], board[None]["cards"]) == ("(none)", [blank["id"]])
        asked = rep.post(f"/r/visit/{planned['id']}/move", {"to": "done", "version": 1}, htmx=True)
        assert asked_fields(asked.text) == ["visited_at"] and 'type="datetime-local"' in asked.text  # required_when
        done = rep.post(f"/r/visit/{planned['id']}/move", [("to", "done"), ("version", 1), ("_fields", "visited_at"),
                                                           ("visited_at", "2026-05-20T10:30")], htmx=True)
        assert lanes(done.text)["done"]["cards"] == [planned["id"]]
        stored = world.get("visit", planned["id"])
        assert stored["status"] == "done" and stored["visited_at"].isoformat() == "2026-05-20T02:30:00+00:00"
        back = rep.post(f"/r/visit/{planned['id']}/move", {"to": "planned", "version": 2}, htmx=True)
        assert lanes(back.text)["planned"]["cards"] == [planned["id"]]  # options have no transition rules
    finally:
        world.close()
