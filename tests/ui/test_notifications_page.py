"""The inbox page and header badge, and the shipped automations seen through the pages."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from atrium.runtime.automation.notifications import Notifications
from atrium.runtime.automation.scheduler import ScheduledRules


def send(world, user: str, *messages: dict, **link) -> None:
    with world.site.engine.begin() as connection:
        Notifications(world.site.tables).send(connection, [
            {"user_id": world.ids[user], "message": message, **link} for message in messages], world.clock.now)


def test_inbox_lists_a_users_notifications_and_marks_them_read(world):
    customer = world.customer("Acme")
    send(world, "rep", {"en": "First news", "zh": "第一条"}, entity="customer", record_id=customer["id"])
    world.clock.advance(minutes=1)
    send(world, "rep", {"en": "Second news", "zh": "第二条"})
    send(world, "rep2", {"en": "Not for rep"})
    rep = world.browser("rep")
    page = rep.get("/notifications").text
    assert page.index("Second news") < page.index("First news") and "Not for rep" not in page
    assert "2 unread" not in page and 'hx-get="/notifications/badge" hx-trigger="load, every 60s"' in page
    assert "2 unread" in rep.get("/notifications/badge").text  # the header's badge, asked once the page is in
    first = Notifications(world.site.tables)
    with world.site.engine.connect() as connection:
        newest, oldest = first.list_for(connection, world.ids["rep"])
    opened = rep.client.get(f"/notifications/{oldest.id}", follow_redirects=False)
    assert opened.status_code == 303 and opened.headers["location"] == f"/r/customer/{customer['id']}"
    assert "1 unread" in rep.get("/notifications/badge").text
    assert rep.post("/notifications/read", data={}, follow_redirects=False).status_code == 303
    assert "unread" not in rep.get("/notifications/badge").text
    other = world.browser("rep2")
    assert other.client.get(f"/notifications/{newest.id}", follow_redirects=False).headers["location"] == \
        "/notifications"  # someone else's notification: not opened, not marked
    assert "Not for rep" in other.get("/notifications?unread=1").text


def test_inbox_speaks_the_users_language(world):
    send(world, "rep", {"en": "Returned to the public pool", "zh": "已退回公海"})
    rep = world.browser("rep")
    rep.post("/language", data={"locale": "zh"})
    page = rep.get("/notifications").text
    assert "已退回公海" in page and "全部标为已读" in page and "消息" in page


def test_won_order_gets_a_kick_off_task(world):
    order = world.order("Big deal", amount=1000, expected_close="2026-06-30")
    world.site.records.update("order", order["id"], {"stage": "won"}, world.actor("rep"))
    task, = rows(world, "task")
    assert (task["title"], task["order"], task["owner"], task["due"]) == \
        ("Kick-off call", order["id"], world.ids["rep"], dt.date(2026, 5, 18))


def rows(world, entity: str) -> list[dict]:
    table = world.site.tables[entity]
    with world.site.engine.connect() as connection:
        return [dict(r._mapping) for r in connection.execute(sa.select(table).order_by(table.c.id))]


def test_idle_customers_return_to_the_pool_and_the_rep_is_told(world):
    world.customer("Idle", last_followup_at="2026-03-01T10:00:00+08:00", owned_since="2026-02-20")
    world.customer("Busy", last_followup_at="2026-05-10T10:00:00+08:00")
    results = ScheduledRules(world.site).run_due(["recycle_idle_customers"])
    assert [r.status for r in results] == ["done"]
    owners = {c["name"]: c["owner"] for c in rows(world, "customer")}
    assert owners["Idle"] is None and owners["Busy"] == world.ids["rep"]
    page = world.browser("rep").get("/notifications").text
    assert "Returned to the public pool" in page or "已退回公海" in page  # in the rep's language



def test_the_app_runs_its_scheduler_only_when_asked(world):
    import threading

    from starlette.testclient import TestClient

    from atrium.ui.web.app import Settings, create_app
    world.customer("Idle", last_followup_at="2026-03-01T10:00:00+08:00", owned_since="2026-02-20")
    runs = world.site.tables.system("atrium_automation_runs")
    quiet = create_app(Settings("unused", "unused", secret_key="k"), site=world.site)
    with TestClient(quiet):
        threading.Event().wait(0.3)
    assert rows_of(world, runs) == []  # tests and embedded apps: no scheduler unless asked
    busy = create_app(Settings("unused", "unused", secret_key="k", scheduler=True), site=world.site)
    with TestClient(busy):
        for _ in range(100):
            if any(r["rule"] == "recycle_idle_customers" for r in rows_of(world, runs)):
                break
            threading.Event().wait(0.1)
    assert {r["rule"] for r in rows_of(world, runs)} >= {"recycle_idle_customers"}
    assert {c["name"]: c["owner"] for c in rows(world, "customer")}["Idle"] is None


def rows_of(world, table) -> list[dict]:
    with world.site.engine.connect() as connection:
        return [dict(r._mapping) for r in connection.execute(sa.select(table))]
