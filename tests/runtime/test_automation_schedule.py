"""Scheduled automations on a clock the test controls: periods, leases, batches, `run-scheduled --now`."""
from __future__ import annotations

import datetime as dt
import threading

import pytest
from automation_kit import UTC, Clock, automation_site, inbox, rows

from atrium.cli import main
from atrium.runtime.automation.rules import Schedule
from atrium.runtime.automation.scheduler import ScheduledRules, Scheduler
from atrium.runtime.site.site import Site

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
RECYCLE = {"entity": "account", "on": "schedule", "every": "day",
           "where": {"owner": {"is_set": True}, "last_touch_at": {"older_than_days": 30}, "tier": {"ne": "gold"}},
           "do": [{"set": {"owner": None}},
                  {"notify": {"to": "previous_owner",
                              "message": {"en": "{name} returned to the pool", "zh": "{name} 已退回公海"}}}]}


@pytest.fixture
def clock():
    return Clock()


def local(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI)


@pytest.mark.parametrize("schedule, moment, period", [
    (Schedule("hour"), local(2026, 3, 10, 9, 59), "hour:2026-03-10T09"),
    (Schedule("hour", dt.time(0, 30)), local(2026, 3, 10, 9, 29), None),
    (Schedule("hour", dt.time(0, 30)), local(2026, 3, 10, 9, 30), "hour:2026-03-10T09"),
    (Schedule("day"), local(2026, 3, 10, 0, 0), "day:2026-03-10"),
    (Schedule("day"), dt.datetime(2026, 3, 9, 16, 0, tzinfo=UTC), "day:2026-03-10"),  # the blueprint's day
    (Schedule("day", dt.time(8, 30)), local(2026, 3, 10, 8, 29), None),
    (Schedule("day", dt.time(8, 30)), local(2026, 3, 10, 8, 30), "day:2026-03-10"),
    (Schedule("week"), local(2026, 3, 15, 23, 59), "week:2026-W11"),  # Sunday ends ISO week 11
    (Schedule("week", dt.time(9, 0)), local(2026, 3, 16, 8, 0), None),  # Monday, before 09:00
    (Schedule("week", dt.time(9, 0)), local(2026, 3, 17, 8, 0), "week:2026-W12"),  # Tuesday: due all day
])
def test_periods_in_the_blueprint_time_zone(schedule, moment, period):
    assert schedule.period(moment, "Asia/Shanghai") == period


def accounts(site, people, touched_days_ago: dict[str, int], tier: dict[str, str] | None = None):
    made = {}
    for name, days in touched_days_ago.items():
        made[name] = site.records.create("account", {
            "name": name, "owner": people.rep1.user_id, "tier": (tier or {}).get(name, "bronze"),
            "last_touch_at": site.now() - dt.timedelta(days=days)})
    return made


def test_recycle_runs_once_per_day_and_tells_the_previous_owner(tmp_path, database_url, clock):
    site, people = automation_site(tmp_path, database_url, clock, {"recycle": RECYCLE})
    accounts(site, people, {"Idle": 45, "Fresh": 3, "Gold": 90}, tier={"Gold": "gold"})
    scheduled = ScheduledRules(site)
    result, = scheduled.run_due()
    assert (result.status, result.period, result.records) == ("done", "day:2026-03-10", 1)
    owners = {a["name"]: a["owner"] for a in rows(site, "account")}
    assert owners == {"Idle": None, "Fresh": people.rep1.user_id, "Gold": people.rep1.user_id}
    assert inbox(site, people.rep1) == ["Idle returned to the pool"]
    history = [(h["field"], h["old_value"], h["new_value"]) for h in rows(site, "atrium_history")
               if h["action"] == "update"]
    assert history == [("owner", people.rep1.user_id, None)]

    clock.advance(hours=1)
    site.records.update("account", 2, {"last_touch_at": site.now() - dt.timedelta(days=40)})
    assert scheduled.run_due()[0].status == "taken"  # same day: the lease is taken, nothing runs
    assert rows(site, "account", name="Fresh")[0]["owner"] == people.rep1.user_id
    clock.advance(days=1)
    result, = scheduled.run_due()
    assert (result.status, result.period, result.records) == ("done", "day:2026-03-11", 1)
    runs = [(r["rule"], r["period"], r["status"], r["records"]) for r in rows(site, "atrium_automation_runs")]
    assert runs == [("recycle", "day:2026-03-10", "done", 1), ("recycle", "day:2026-03-11", "done", 1)]
    log = [(e["status"], e["period"], e["records"]) for e in rows(site, "atrium_automation_log")]
    assert log == [("done", "day:2026-03-10", 1), ("done", "day:2026-03-11", 1)]


def test_at_time_and_when_expression(tmp_path, database_url, clock):
    rule = {**RECYCLE, "at": "18:00", "when": "name != 'Spared'"}
    site, people = automation_site(tmp_path, database_url, clock, {"recycle": rule})
    accounts(site, people, {"Idle": 45, "Spared": 45})
    scheduled = ScheduledRules(site)
    assert scheduled.run_due()[0].status == "not_due"  # 17:00 in Shanghai
    clock.advance(hours=1)
    assert scheduled.run_due()[0].records == 1
    assert {a["name"]: a["owner"] for a in rows(site, "account")} == {"Idle": None, "Spared": people.rep1.user_id}


def test_two_schedulers_at_once_run_a_rule_once_per_period(tmp_path, database_url, clock):
    counting = {"entity": "account", "on": "schedule", "every": "hour",
                "do": [{"set": {"score": "(score or 0) + 1"}}]}
    site, people = automation_site(tmp_path, database_url, clock, {"count": counting})
    site.records.bulk_create("account", [{"name": f"A{i}"} for i in range(50)])
    workers = [ScheduledRules(Site.open(site.blueprint, database_url, clock=clock), worker=f"w{i}")
               for i in range(2)]
    for _hour in range(3):
        start = threading.Barrier(2)
        results = [None, None]

        def run(index: int, start: threading.Barrier = start, results: list = results) -> None:
            start.wait()
            results[index] = workers[index].run_due()[0]

        threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(r.status for r in results) == ["done", "taken"]
        clock.advance(hours=1)
    assert {a["score"] for a in rows(site, "account")} == {3}  # three hours, one run each
    assert len(rows(site, "atrium_automation_runs")) == 3
    for worker in workers:
        worker.site.engine.dispose()


def test_a_bad_record_is_logged_and_skipped_while_the_others_go_ahead(tmp_path, database_url, clock):
    lower = {"entity": "account", "on": "schedule", "every": "day", "where": {"score": {"is_set": True}},
             "do": [{"set": {"score": "score - 5"}}]}  # score has min 0
    site, people = automation_site(tmp_path, database_url, clock, {"lower": lower})
    site.records.bulk_create("account", [{"name": n, "score": s} for n, s in (("a", 10), ("b", 3), ("c", 7))])
    scheduled = ScheduledRules(site, batch_size=2)
    result, = scheduled.run_due()
    assert (result.status, result.records) == ("failed", 2)
    assert "1 record(s) failed" in result.error and "record 2" in result.error
    assert [a["score"] for a in rows(site, "account")] == [5, 3, 2]
    failed = [(e["record_id"], e["status"]) for e in rows(site, "atrium_automation_log") if e["record_id"]]
    assert failed == [(2, "failed")]


def test_stalled_records_found_by_a_schedule(tmp_path, database_url, clock):
    nudge = {"entity": "deal", "on": "schedule", "every": "day", "where": {"stage": {"stalled": True}},
             "do": [{"notify": {"to": "owner", "message": "{title} is stalled"}}]}
    site, people = automation_site(tmp_path, database_url, clock, {"nudge": nudge})
    moved = site.records.create("deal", {"title": "Moved", "owner": people.rep1.user_id})
    site.records.create("deal", {"title": "Waiting", "owner": people.rep1.user_id})
    done = site.records.create("deal", {"title": "Done", "owner": people.rep1.user_id})
    clock.advance(days=3)
    site.records.update("deal", moved["id"], {"stage": "qualified"})
    site.records.update("deal", done["id"], {"stage": "won"})
    clock.advance(days=5)
    # Waiting has been new for 8 days; Moved is 5 days in qualified; Done is closed
    assert ScheduledRules(site).run_due()[0].records == 1
    assert inbox(site, people.rep1) == ["Waiting is stalled"]


def test_scheduled_writes_fire_event_rules(tmp_path, database_url, clock):
    tell = {"entity": "account", "on": {"change": ["owner"]},
            "do": [{"notify": {"to": "manager", "message": "{name} changed owner"}}]}
    site, people = automation_site(tmp_path, database_url, clock, {"recycle": RECYCLE, "tell": tell})
    accounts(site, people, {"Idle": 45})
    ScheduledRules(site).run_due()
    assert inbox(site, people.manager) == ["Idle changed owner"]  # the owner was rep1 (team east)


def test_run_scheduled_command_with_now(tmp_path, database_url, clock, capsys):
    site, people = automation_site(tmp_path, database_url, clock, {"recycle": RECYCLE})
    accounts(site, people, {"Idle": 20, "Older": 40})
    args = ["--blueprint", str(tmp_path / "bp"), "--db", database_url, "run-scheduled"]
    assert main(args + ["--now", "2026-03-10T09:00"]) == 0
    assert capsys.readouterr().out.splitlines() == ["recycle: day:2026-03-10: 1 record(s)"]
    assert main(args + ["--now", "2026-03-10T21:00"]) == 0
    assert capsys.readouterr().out.splitlines() == ["recycle: day:2026-03-10 already run"]
    assert main(args + ["--now", "2026-03-25T09:00+08:00", "--rule", "recycle"]) == 0  # Idle is 35 days idle
    assert capsys.readouterr().out.splitlines() == ["recycle: day:2026-03-25: 1 record(s)"]
    assert [a["owner"] for a in rows(site, "account")] == [None, None]
    assert main(args + ["--now", "yesterday"]) == 1
    assert "not an ISO date" in capsys.readouterr().err
    assert main(args + ["--rule", "nope"]) == 1


def test_disabled_rules_do_not_run(tmp_path, database_url, clock):
    site, people = automation_site(tmp_path, database_url, clock, {"recycle": {**RECYCLE, "enabled": False}})
    assert ScheduledRules(site).run_due() == []


def test_the_server_scheduler_thread_runs_due_rules(tmp_path, database_url, clock):
    site, people = automation_site(tmp_path, database_url, clock, {"recycle": RECYCLE})
    accounts(site, people, {"Idle": 45})
    scheduler = Scheduler(site, interval=0.05)
    scheduler.start()
    try:
        for _ in range(200):
            if rows(site, "atrium_automation_runs") and rows(site, "atrium_automation_runs")[0]["status"] == "done":
                break
            threading.Event().wait(0.05)
    finally:
        scheduler.stop()
    assert rows(site, "account")[0]["owner"] is None
    assert len(rows(site, "atrium_automation_runs")) == 1  # many ticks, one run for the day

