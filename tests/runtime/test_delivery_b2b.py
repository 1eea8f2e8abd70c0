"""The shipped blueprint's notifications outside the browser: a lead assigned by region and a
task reminder reach the rep by email and the team's robot, in the rep's language."""
from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from automation_kit import Clock, inbox
from delivery_kit import SITE_URL, RobotReceiver, SmtpCatcher, free_port

from atrium.metadata.message_settings import build_message_settings
from atrium.runtime.access.users import add_team, add_user
from atrium.runtime.automation.scheduler import ScheduledRules
from atrium.runtime.delivery.preferences import set_preferences
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.schema.migrations import migrate
from atrium.runtime.site.site import Site

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
DAY_ONE = dt.datetime(2026, 4, 1, 7, 0, tzinfo=SHANGHAI)


@pytest.fixture
def office(b2b, database_url):
    smtp_port, robot_port = free_port(), free_port()
    blueprint = dataclasses.replace(b2b, messages=build_message_settings({
        "site_url": SITE_URL,
        "email": {"host": "127.0.0.1", "port": smtp_port, "security": "none", "from": "crm@example.test"},
        "robots": [{"name": "east", "kind": "wecom", "url": f"http://127.0.0.1:{robot_port}/east",
                    "format": "markdown", "teams": ["east"], "rules": ["assign_leads_by_region"]}]}))
    clock = Clock(DAY_ONE)
    site = Site.open(blueprint, database_url, clock=clock)
    migrate(site.engine, blueprint)
    with site.engine.begin() as connection:
        add_team(connection, site.tables, "east")
        manager = add_user(connection, site.tables, blueprint, "manager", "sales_manager", "east", locale="en")
        li = add_user(connection, site.tables, blueprint, "li", "sales_rep", "east", locale="zh")
        marketing = add_user(connection, site.tables, blueprint, "ma", "marketing", locale="en")
        assert set_preferences(connection, site.tables, li, "li@example.test", "each") == {}
    smtp, robot = SmtpCatcher(smtp_port), RobotReceiver(robot_port)
    people = {"manager": Actor(user_id=manager, name="manager", role="sales_manager", locale="en"),
              "li": Actor(user_id=li, name="li", role="sales_rep", locale="zh"),
              "marketing": Actor(user_id=marketing, name="ma", role="marketing", locale="en")}
    yield site, clock, people, smtp, robot
    smtp.stop()
    robot.stop()
    site.engine.dispose()


def test_a_lead_assigned_by_region_reaches_the_rep_and_the_teams_robot(office):
    site, _, people, smtp, robot = office
    lead = site.records.create("lead", {"company": "天成建设", "contact_name": "王工", "region": "east"},
                               people["marketing"])  # marketing's leads have no owner: assigned by region
    assert lead["owner"] == people["li"].user_id
    assert inbox(site, people["li"]) == ["新线索已分配给您：天成建设（王工）"]
    site.records.automations.outbox.deliver_due(site.engine)
    mail, = smtp.to("li@example.test")
    assert mail["Subject"].endswith("新线索已分配给您：天成建设（王工）")
    assert f"{SITE_URL}/r/lead/{lead['id']}" in mail.get_content()
    (_, post), = robot.posts
    assert post["msgtype"] == "markdown" and "天成建设" in post["markdown"]["content"]


def test_a_task_reminder_is_emailed_and_the_robot_that_wants_assignments_stays_quiet(office):
    site, clock, people, smtp, robot = office
    site.records.create("task", {"title": "回访天成", "owner": people["li"].user_id,
                                 "remind_at": DAY_ONE + dt.timedelta(hours=2)}, people["li"])
    clock.now = DAY_ONE + dt.timedelta(hours=2)  # 09:00: the reminder rule's morning run
    ScheduledRules(site).run_due(["remind_tasks"])
    site.records.automations.outbox.deliver_due(site.engine)
    assert [m["Subject"].split("] ")[1] for m in smtp.to("li@example.test")] == ["任务提醒：回访天成"]
    assert robot.posts == []  # it takes assignments only
