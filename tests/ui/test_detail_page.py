"""The 360° detail page: fields grouped as the view says (detail.sections, else the form), related
lists with counts and links, the timeline newest first, pipeline quick actions that obey the stage
rules, and nothing a user may not see."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from record_pages_kit import TODAY, table_rows

pytestmark = pytest.mark.database  # runs on SQLite and again on PostgreSQL


def section(page: str, record_entity: str) -> str:
    return page.split(f'id="related-{record_entity}"', 1)[1].split("</section>", 1)[0]


def timeline(page: str) -> list[str]:
    block = page.split('<aside class="card timeline">', 1)[1].split("</aside>", 1)[0]
    items = re.findall(r"<li[^>]*>(.*?)</li>", block, re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", item).split()) for item in items]


def test_fields_are_grouped_as_the_view_says_and_formatted(world):
    acme = world.customer("Acme", level="a", industry="retail", phone="021 5555 0101")
    page = world.browser("rep").get(f"/r/customer/{acme['id']}").text
    assert "<h1>Acme</h1>" in page
    basics = page.split("<h2>Basics</h2>", 1)[1].split("</section>", 1)[0]
    assert "<dt>Level</dt><dd><span class=\"badge badge-green\">A</span></dd>" in basics
    assert "<dt>Owner</dt><dd>Rep Li</dd>" in basics
    assert "021 5555 0101" in basics  # detail.sections puts the phone in Basics (the form has its own section)
    activity = page.split("<h2>Activity</h2>", 1)[1].split("</section>", 1)[0]
    assert "<dt>Lifetime value</dt><dd>¥0.00</dd>" in activity  # a rollup, in a detail section only


def test_related_lists_have_counts_add_buttons_and_filtered_links(world):
    acme, other = world.customer("Acme"), world.customer("Other")
    for name in ("One", "Two", "Three"):
        world.order(name, customer=acme)
    world.order("Elsewhere", customer=other)
    world.create("contact", customer=acme["id"], name="Ms Fang")
    rep = world.browser("rep")
    page = rep.get(f"/r/customer/{acme['id']}").text
    orders = section(page, "order")
    assert '<span class="pill">3</span>' in orders and "Elsewhere" not in orders
    assert f'href="/r/order?customer={acme["id"]}"' in orders
    assert f'href="/r/order/new?customer={acme["id"]}&amp;from=customer"' in orders
    assert '<span class="pill">1</span>' in section(page, "contact") and "Ms Fang" in section(page, "contact")
    assert '<span class="pill">0</span>' in section(page, "visit")
    listed = rep.get(f"/r/order?customer={acme['id']}").text
    assert sorted(row.split()[1] for row in table_rows(listed)) == ["One", "Three", "Two"]
    form = rep.get(f"/r/order/new?customer={acme['id']}").text
    assert f'value="{acme["id"]}" class="picker-value"' in form and 'value="Acme"' in form  # prefilled


def test_timeline_newest_first_with_changes_stages_and_related(world):
    order = world.order("Deal", amount=100, expected_close=(TODAY + dt.timedelta(days=30)).isoformat())
    rep = world.actor("rep")
    world.clock.advance(days=2)
    world.site.records.update("order", order["id"], {"amount": 250}, rep)
    world.clock.advance(days=1)
    world.site.records.update("order", order["id"], {"stage": "needs_confirmed"}, rep)
    world.clock.advance(hours=5)
    world.create("visit", customer=order["customer"], order=order["id"], planned_at="2026-05-20T10:00")
    page = world.browser("rep").get(f"/r/order/{order['id']}").text
    entries = timeline(page)
    assert entries[0].startswith("2026-05-18 17:00 · Rep Li New Visit")
    assert "Stage : Initial contact → Needs confirmed (3 d in Initial contact)" in entries[1]
    assert "Amount : ¥100.00 → ¥250.00" in entries[2]
    assert any("Created the record" in e for e in entries[3:])
    assert "2026-05-17 12:00" in entries[2]  # times in the blueprint's time zone


def test_next_stage_action_reports_missing_requirements(world):
    order = world.order("Deal")  # no amount nor expected close yet
    rep = world.browser("rep")
    page = rep.get(f"/r/order/{order['id']}").text
    assert 'value="needs_confirmed" class="button primary">Move to Needs confirmed' in page
    assert 'value="won"' in page and 'value="lost"' in page
    refused = rep.post(f"/r/order/{order['id']}/stage", {"stage": "needs_confirmed", "version": "1"})
    assert refused.status_code == 422  # the page asks for exactly the fields the stage requires
    ask = refused.text.split('<div id="stage-ask">', 1)[1].split("</form>", 1)[0]
    assert "To move ORD-" in ask and "to Needs confirmed, fill in:" in ask
    assert re.findall(r'name="_fields" value="(\w+)"', ask) == ["amount", "expected_close"]
    assert ask.count("Required to enter stage Needs confirmed") == 2
    assert world.get("order", order["id"])["stage"] == "initial_contact"
    lost = rep.post(f"/r/order/{order['id']}/stage", {"stage": "lost", "version": "1"})
    assert re.findall(r'name="_fields" value="(\w+)"', lost.text) == ["lost_reason"]
    assert "Required to enter stage Lost" in lost.text
    world.site.records.update("order", order["id"], {"amount": 10, "expected_close": TODAY}, world.actor("rep"))
    moved = rep.post(f"/r/order/{order['id']}/stage", {"stage": "needs_confirmed", "version": "2"},
                     follow_redirects=False)
    assert moved.status_code == 303 and world.get("order", order["id"])["stage"] == "needs_confirmed"
    after = rep.get(f"/r/order/{order['id']}").text
    assert "Move to Proposal / quote" in after


def test_hidden_fields_are_absent_and_others_records_not_found(world):
    order = world.order("Mine", margin=50)
    theirs = world.order("Theirs", by="rep2")
    rep = world.browser("rep")
    page = rep.get(f"/r/order/{order['id']}").text
    assert "Margin" not in page
    assert "Margin" in world.browser("boss").get(f"/r/order/{order['id']}").text
    path = f"/r/order/{theirs['id']}"
    assert rep.get(path).status_code == 404
    assert rep.post(path + "/stage", {"stage": "lost", "version": "1"}).status_code == 404
    assert rep.post(path + "/delete").status_code == 404
    assert world.browser("manager").get(path).status_code == 200  # the team's manager sees it
    assert world.browser("rep").get("/r/order/999999").status_code == 404


def test_delete_removes_or_explains(world):
    task = world.create("task", title="Call back")
    acme = world.customer("Acme")
    world.order("Linked", customer=acme)
    boss = world.browser("boss")
    deleted = boss.post(f"/r/task/{task['id']}/delete", follow_redirects=False)
    assert deleted.status_code == 303 and world.get("task", task["id"]) is None
    refused = boss.post(f"/r/customer/{acme['id']}/delete")
    assert refused.status_code == 422 and "Cannot delete: 1 Orders record(s) still link to it" in refused.text
    assert world.get("customer", acme["id"]) is not None
    rep = world.browser("rep")
    assert rep.post(f"/r/customer/{acme['id']}/delete").status_code == 403  # reps may not delete customers


def test_detail_escapes_values(world):
    evil = world.customer("<script>alert(1)</script>")
    order = world.order("Deal", customer=evil)
    world.site.records.update("order", order["id"], {"next_step": "<img src=x onerror=alert(1)>"}, world.actor("rep"))
    for path in (f"/r/customer/{evil['id']}", f"/r/order/{order['id']}"):
        page = world.browser("rep").get(path).text
        assert "<script>alert(1)</script>" not in page and "<img src=x" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
