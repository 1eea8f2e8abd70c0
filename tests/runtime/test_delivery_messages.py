"""Notifications by email and to group robots: queued with the change, sent by the outbox."""
from __future__ import annotations

import base64
import hashlib
import hmac
import time
import urllib.parse

import pytest
from automation_kit import Clock, inbox, rows
from delivery_kit import SITE_URL, RobotReceiver, SmtpCatcher, free_port, message_site, set_email

from atrium.cli import main
from atrium.runtime.automation.scheduler import ScheduledRules

DING_SECRET = "SECdingtalk-secret"


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def ports(monkeypatch):
    smtp_port, robot_port = free_port(), free_port()
    monkeypatch.setenv("DING_SECRET", DING_SECRET)
    monkeypatch.setenv("WECOM_URL", f"http://127.0.0.1:{robot_port}/wecom?key=k")
    return smtp_port, robot_port


@pytest.fixture
def smtp(ports):
    catcher = SmtpCatcher(ports[0])
    yield catcher
    catcher.stop()


@pytest.fixture
def robots(ports):
    receiver = RobotReceiver(ports[1])
    yield receiver
    receiver.stop()


def deliver(site):
    return site.records.automations.outbox.deliver_due(site.engine)


def test_an_assignment_reaches_the_inbox_the_mailbox_and_the_group_robots(tmp_path, database_url, clock, ports,
                                                                          smtp, robots):
    site, people = message_site(tmp_path, database_url, clock, *ports)
    set_email(site, people.rep2.user_id, "rep2@example.test")  # zh; no choice made: each notification
    deal = site.records.create("deal", {"title": "Big", "owner": people.rep1.user_id}, people.admin)
    site.records.update("deal", deal["id"], {"owner": people.rep2.user_id}, people.admin)
    assert inbox(site, people.rep2)[-1] == "商机 Big 已分配给您"
    assert smtp.messages == [] and robots.posts == []  # the write only queued them

    assert deliver(site).delivered == 5  # rep1's two robot posts (rep1 has no address), rep2's email and posts
    mail, = smtp.to("rep2@example.test")
    assert mail["Subject"] == "[测试] 商机 Big 已分配给您"
    assert mail["From"] == "crm@example.test"
    assert f"{SITE_URL}/r/deal/{deal['id']}" in mail.get_content()

    (path, ding), = robots.at("/ding")[-1:]
    assert ding["msgtype"] == "markdown" and ding["markdown"]["title"] == "测试"
    assert "rep2：商机 Big 已分配给您" in ding["markdown"]["text"]  # in the robot's language
    assert f"{SITE_URL}/r/deal/{deal['id']}" in ding["markdown"]["text"]
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
    stamp = query["timestamp"][0]
    expected = base64.b64encode(hmac.new(DING_SECRET.encode(), f"{stamp}\n{DING_SECRET}".encode(),
                                         hashlib.sha256).digest()).decode()
    assert query["sign"] == [expected] and query["access_token"] == ["t"]
    assert abs(int(stamp) / 1000 - time.time()) < 60
    wecom = [body for _, body in robots.at("/wecom")]
    assert wecom[-1] == {"msgtype": "text", "text": {"content": f"For rep2: Deal Big is yours now\n"
                                                                f"{SITE_URL}/r/deal/{deal['id']}"}}


def test_a_robot_gets_only_the_teams_it_names(tmp_path, database_url, clock, ports, smtp, robots):
    site, people = message_site(tmp_path, database_url, clock, *ports)
    site.records.create("deal", {"title": "West", "owner": people.rep3.user_id}, people.admin)  # team west
    deliver(site)
    assert robots.at("/ding") == []
    assert len(robots.at("/wecom")) == 1


def test_who_turned_email_off_gets_no_email_and_still_the_inbox(tmp_path, database_url, clock, ports, smtp, robots):
    site, people = message_site(tmp_path, database_url, clock, *ports)
    set_email(site, people.rep1.user_id, "rep1@example.test", "off")
    site.records.create("deal", {"title": "Quiet", "owner": people.rep1.user_id}, people.admin)
    deliver(site)
    assert inbox(site, people.rep1) == ["Deal Quiet is yours now"]
    assert smtp.messages == []
    assert rows(site, "atrium_outbox", channel="email") == []


def test_the_daily_digest_gathers_the_days_notifications_in_one_email(tmp_path, database_url, clock, ports,
                                                                       smtp, robots):
    site, people = message_site(tmp_path, database_url, clock, *ports)
    set_email(site, people.rep1.user_id, "rep1@example.test", "daily")
    for title in ("One", "Two", "Three"):
        site.records.create("deal", {"title": title, "owner": people.rep1.user_id}, people.admin)
    scheduled = ScheduledRules(site)
    assert scheduled.send_digests() == 1  # 17:00 in Shanghai: past 08:00
    deliver(site)
    digest, = smtp.to("rep1@example.test")
    assert digest["Subject"] == "[Test] 3 new notifications"
    text = digest.get_content()
    assert all(f"- Deal {title} is yours now" in text for title in ("One", "Two", "Three"))
    assert scheduled.send_digests() == 0  # once a day

    clock.advance(hours=2)
    site.records.create("deal", {"title": "Four", "owner": people.rep1.user_id}, people.admin)
    clock.advance(days=1)
    assert scheduled.send_digests() == 1
    deliver(site)
    latest = smtp.to("rep1@example.test")[-1].get_content()
    assert "Four" in latest and "One" not in latest


def test_a_failing_mail_server_neither_fails_nor_slows_the_write_and_is_retried(tmp_path, database_url, clock,
                                                                                  ports, robots):
    site, people = message_site(tmp_path, database_url, clock, *ports)
    set_email(site, people.rep1.user_id, "rep1@example.test")
    catcher = SmtpCatcher(ports[0], refuse=True)
    try:
        started = time.perf_counter()
        deal = site.records.create("deal", {"title": "Saved", "owner": people.rep1.user_id}, people.admin)
        assert time.perf_counter() - started < 1.0 and deal["id"]
        assert deliver(site).retrying == 1
        queued, = rows(site, "atrium_outbox", channel="email")
        assert queued["status"] == "pending" and queued["attempts"] == 1 and "451" in queued["last_error"]

        catcher.refuse = False
        assert deliver(site).delivered == 0  # not due again yet: back-off
        clock.advance(seconds=31)
        assert deliver(site).delivered == 1
        assert [m["Subject"] for m in catcher.messages] == ["[Test] Deal Saved is yours now"]
        assert rows(site, "atrium_outbox", channel="email")[0]["status"] == "delivered"
    finally:
        catcher.stop()


def test_a_robot_that_refuses_the_message_is_retried(tmp_path, database_url, clock, ports, smtp, robots):
    site, people = message_site(tmp_path, database_url, clock, *ports)
    robots.errcode = 310000  # DingTalk's answer to a bad signature: HTTP 200 with an error code
    site.records.create("deal", {"title": "Refused", "owner": people.rep1.user_id}, people.admin)
    assert deliver(site).retrying == 2  # both robots answered with the error code
    failing = [row for row in rows(site, "atrium_outbox", channel="robot") if row["status"] == "pending"]
    assert failing and all("310000" in row["last_error"] for row in failing)


def test_a_feishu_robot_gets_a_signed_post_with_a_title_and_a_link(tmp_path, database_url, clock, ports, smtp,
                                                                   robots, monkeypatch):
    monkeypatch.setenv("FEISHU_SECRET", "feishu-secret")
    feishu = {"name": "feishu", "kind": "feishu", "url": f"http://127.0.0.1:{ports[1]}/feishu",
              "secret_env": "FEISHU_SECRET", "format": "markdown", "rules": ["assigned"]}
    site, people = message_site(tmp_path, database_url, clock, *ports, robots=[feishu])
    deal = site.records.create("deal", {"title": "Lark", "owner": people.rep1.user_id}, people.admin)
    assert deliver(site).delivered == 0  # created: the rule `created`, which this robot does not take
    site.records.update("deal", deal["id"], {"owner": people.rep3.user_id}, people.admin)
    assert deliver(site).delivered == 1
    (_, body), = robots.at("/feishu")
    expected = base64.b64encode(hmac.new(f"{body['timestamp']}\nfeishu-secret".encode(), b"",
                                         hashlib.sha256).digest()).decode()
    assert body["sign"] == expected and body["msg_type"] == "post"
    post = body["content"]["post"]["zh_cn"]
    assert post["title"] == "Test"
    assert post["content"] == [[{"tag": "text", "text": "For rep3: Deal Lark is yours now"},
                                {"tag": "a", "text": f"{SITE_URL}/r/deal/{deal['id']}",
                                 "href": f"{SITE_URL}/r/deal/{deal['id']}"}]]


def test_an_administrator_sees_what_failed_and_sends_it_again(tmp_path, database_url, clock, ports, robots, capsys):
    site, people = message_site(tmp_path, database_url, clock, *ports)  # nobody listens for SMTP
    set_email(site, people.rep1.user_id, "rep1@example.test")
    site.records.create("deal", {"title": "Stuck", "owner": people.rep1.user_id}, people.admin)
    assert deliver(site).retrying == 1
    queued, = rows(site, "atrium_outbox", channel="email")
    folder = ["--blueprint", str(tmp_path / "bp"), "--db", database_url]
    assert main([*folder, "outbox"]) == 0
    listed = capsys.readouterr().out
    assert f"#{queued['id']} email mailto:rep1@example.test (created): 1 attempt(s), retry at" in listed
    assert "wecom" not in listed and "robot:" not in listed  # the robots got theirs

    catcher = SmtpCatcher(ports[0])
    try:
        assert main([*folder, "outbox", "--retry", str(queued["id"])]) == 0
        clock.advance(seconds=1)  # the command's clock is the real one; the site's is the test's
        with site.engine.begin() as connection:  # due now by the site's clock
            connection.execute(site.tables.system("atrium_outbox").update().values(next_attempt_at=clock.now))
        assert deliver(site).delivered == 1 and len(catcher.messages) == 1
    finally:
        catcher.stop()


def test_an_at_mention_in_a_comment_reaches_the_mailbox_too(tmp_path, database_url, clock, ports, smtp, robots):
    site, people = message_site(tmp_path, database_url, clock, *ports)
    set_email(site, people.manager.user_id, "manager@example.test")
    deal = site.records.create("deal", {"title": "Big", "owner": people.rep1.user_id}, people.admin)
    site.comments.add(people.rep1, "deal", deal["id"], "@manager can you call them today?")
    assert smtp.to("manager@example.test") == []  # the comment only queued it
    deliver(site)
    mail, = smtp.to("manager@example.test")
    assert "@manager can you call them today?" in mail.get_content()
    assert f"{SITE_URL}/r/deal/{deal['id']}" in mail.get_content()
