"""Periodic reports (runtime/periodic): figures that fill themselves for the submitter and the
period, drafts, submitting freezes the figures, managers see their team's reports with read
receipts and who is missing, reminders after the due time, and broken metadata at file:line:col."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from periodic_kit import DAILY, NOW, build_world, write_periodic_blueprint

from atrium.metadata import check_blueprint
from atrium.runtime.automation.notifications import Notifications
from atrium.runtime.automation.scheduler import ScheduledRules
from atrium.runtime.periodic.errors import PeriodicReportInvalid, PeriodicReportLocked, PeriodicReportNotFound

HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)


@pytest.fixture
def world(tmp_path, engine, database_url):
    made = build_world(tmp_path / "bp", engine, database_url)
    yield made
    made.site.engine.dispose()


def test_todays_daily_report_counts_todays_visits_of_the_rep(world):
    world.visit("rita", NOW - HOUR)
    world.visit("rita", NOW - 2 * HOUR)
    world.visit("rita", NOW - DAY)  # yesterday
    world.visit("rita", None, status="planned")
    world.visit("ron", NOW - HOUR)  # someone else's
    sheet = world.reports.sheet(world.actor("rita"), "daily")
    assert sheet.start == dt.date(2026, 5, 15) and sheet.status == "new" and sheet.editable
    assert sheet.figures == {"visits": 2}
    yesterday = world.reports.sheet(world.actor("rita"), "daily", dt.date(2026, 5, 14))
    assert yesterday.figures == {"visits": 1}


def test_a_draft_keeps_texts_and_plan_and_stays_live(world):
    rita = world.actor("rita")
    world.reports.save(rita, "daily", texts={"done": "Met two buyers"}, plan={"visits": "4"})
    world.visit("rita", NOW - HOUR)
    sheet = world.reports.sheet(rita, "daily")
    assert (sheet.status, sheet.texts, sheet.plan) == ("draft", {"done": "Met two buyers"}, {"visits": 4})
    assert sheet.live and sheet.figures == {"visits": 1}
    with pytest.raises(PeriodicReportInvalid) as refused:
        world.reports.save(rita, "daily", plan={"visits": "many"})
    assert list(refused.value.errors) == ["plan.visits"]


def test_submit_freezes_the_figures_and_refuses_later_edits(world):
    rita = world.actor("rita")
    world.visit("rita", NOW - HOUR)
    with pytest.raises(PeriodicReportInvalid) as refused:  # "done" is required to submit
        world.reports.save(rita, "daily", texts={}, submit=True)
    assert list(refused.value.errors) == ["texts.done"]
    sheet = world.reports.save(rita, "daily", texts={"done": "One visit"}, plan={"visits": 3}, submit=True)
    assert sheet.status == "submitted" and not sheet.editable and sheet.figures == {"visits": 1}
    world.visit("rita", NOW - HOUR)  # a later visit the same day
    again = world.reports.sheet(rita, "daily")
    assert again.figures == {"visits": 1} and not again.live
    with pytest.raises(PeriodicReportLocked):
        world.reports.save(rita, "daily", texts={"done": "Changed"})


def test_the_plan_is_graded_against_the_next_days_figures(world):
    rita = world.actor("rita")
    world.clock["now"] = NOW - DAY
    world.reports.save(rita, "daily", texts={"done": "x"}, plan={"visits": 4}, submit=True)
    world.clock["now"] = NOW
    for _ in range(3):
        world.visit("rita", NOW - HOUR)
    [check] = world.reports.sheet(rita, "daily").checks
    assert (check.planned, check.actual, check.grade) == (4, 3, "pass")


def test_manager_sees_the_teams_reports_unread_until_opened(world):
    world.reports.save(world.actor("rita"), "daily", texts={"done": "x"}, submit=True)
    world.reports.save(world.actor("ron"), "daily", texts={"done": "draft only"})
    ann = world.actor("ann")
    team = {row.name: row for row in world.reports.team(ann, "daily")}
    assert set(team) == {"rita", "ron"}  # not the other team's sue
    assert (team["rita"].status, team["rita"].unread) == ("submitted", True)
    assert team["ron"].status == "draft"
    assert world.reports.unread_count(ann) == 1
    sheet = world.reports.sheet(ann, "daily", user_id=world.users["rita"]["id"])
    assert sheet.texts == {"done": "x"} and not sheet.editable
    assert world.reports.unread_count(ann) == 0
    assert not {row.name: row for row in world.reports.team(ann, "daily")}["rita"].unread
    boss = world.actor("boss")  # `all` reaches everyone, but submits nothing himself
    assert {row.name for row in world.reports.team(boss, "daily")} == {"rita", "ron", "sue"}


def test_another_teams_manager_does_not_see_the_report(world):
    world.reports.save(world.actor("rita"), "daily", texts={"done": "x"}, submit=True)
    sam = world.actor("sam")
    assert [row.name for row in world.reports.team(sam, "daily")] == ["sue"]
    assert world.reports.unread_count(sam) == 0
    with pytest.raises(PeriodicReportNotFound):
        world.reports.sheet(sam, "daily", user_id=world.users["rita"]["id"])
    with pytest.raises(PeriodicReportNotFound):  # nor does a rep see a colleague's
        world.reports.sheet(world.actor("ron"), "daily", user_id=world.users["rita"]["id"])


def test_missing_reports_are_listed_and_reminded_after_the_due_time(world):
    world.reports.save(world.actor("rita"), "daily", texts={"done": "x"}, submit=True)
    assert [row.name for row in world.reports.team(world.actor("ann"), "daily") if row.status == "missing"] == ["ron"]
    rules = ScheduledRules(world.site)
    assert rules.send_reminders() == 0  # noon: not due before 18:00
    world.clock["now"] = NOW + 7 * HOUR  # 19:00 in Shanghai
    assert rules.send_reminders() == 2  # ron and sue
    assert rules.send_reminders() == 0  # once a period
    notes = Notifications(world.site.tables)
    with world.site.engine.connect() as connection:
        [note] = notes.list_for(connection, world.users["ron"]["id"])
        assert not notes.list_for(connection, world.users["rita"]["id"])
    assert "Daily report" in note.text("en") and note.href == "/my-reports/daily?start=2026-05-15"


def test_a_future_period_is_not_there(world):
    with pytest.raises(PeriodicReportNotFound):
        world.reports.sheet(world.actor("rita"), "daily", dt.date(2026, 5, 16))


def test_submissions_are_kept_in_their_system_table(world, engine):
    world.reports.save(world.actor("rita"), "daily", texts={"done": "x"}, submit=True)
    with engine.connect() as connection:
        row = connection.execute(sa.text("SELECT status, period_start FROM atrium_periodic_reports")).one()
    assert row.status == "submitted" and str(row.period_start) == "2026-05-15"


@pytest.mark.parametrize(("change", "where", "words"), [
    ({"report": "visits_gone"}, "figures[0].report", "'visits_gone' is not a report"),
    ({"value": "calls"}, "figures[0].value", "'calls' is not a measure or metric of the report"),
    ({"date": "subject"}, "figures[0].date", "is a text field"),
])
def test_broken_figures_are_reported_at_their_line(tmp_path, change, where, words):
    daily = {**DAILY, "figures": [{**DAILY["figures"][0], **change}]}
    folder = write_periodic_blueprint(tmp_path / "bp", daily)
    blueprint, problems = check_blueprint(folder)
    assert blueprint is None
    [problem] = problems
    assert problem.mark.file.endswith("periodic_reports/daily.yaml") and problem.path == where
    text = (folder / "periodic_reports" / "daily.yaml").read_text(encoding="utf-8").splitlines()
    key = where.rsplit(".", 1)[-1]
    assert f"{key}:" in text[problem.mark.line - 1] and problem.mark.column > 1
    assert words in problem.message


def test_an_unknown_role_and_plan_figure_are_reported(tmp_path):
    daily = {**DAILY, "roles": ["rep", "intern"], "plan": [{**DAILY["plan"][0], "actual": "calls"}]}
    blueprint, problems = check_blueprint(write_periodic_blueprint(tmp_path / "bp", daily))
    assert blueprint is None
    assert sorted(p.path for p in problems) == ["plan[0].actual", "roles[1]"]


def test_the_shipped_blueprint_declares_daily_weekly_and_monthly_reports(b2b):
    assert {name: r.period for name, r in b2b.periodic_reports.items()} == {
        "daily": "day", "weekly": "week", "monthly": "month"}
    daily = b2b.periodic_reports["daily"]
    assert [t.label.text("zh") for t in daily.texts] == ["完成情况", "问题与需要的支持", "明日计划"]
    assert (daily.plan[0].passing, daily.plan[0].excellent) == (3, 5)
