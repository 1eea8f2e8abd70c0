"""Webhooks through the outbox: sent after commit, signed, retried with back-off, delivered once."""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import http.server
import json
import socket
import threading

import pytest
from automation_kit import Clock, automation_site, rows

from atrium.runtime.automation import outbox as outbox_module
from atrium.runtime.automation.outbox import Answer, Outbox, retry_delay
from atrium.runtime.records.errors import ValidationFailed

SECRET = "s3cr3t-key"


class Receiver:
    """A local HTTP endpoint in a thread that keeps every request it answered."""

    def __init__(self, port: int, status: int = 204, delay: float = 0.0):
        self.requests: list[tuple[dict, bytes]] = []
        self.status, self.delay = status, delay
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if receiver.delay:
                    threading.Event().wait(receiver.delay)
                receiver.requests.append((dict(self.headers), body))
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def hook_rule(port: int, **extra) -> dict:
    return {"entity": "deal", "on": {"stage": {"enter": "won"}},
            "do": [{"webhook": {"url": f"http://127.0.0.1:{port}/hooks/won", "secret": "HOOK_SECRET", **extra}}]}


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def secret(monkeypatch):
    monkeypatch.setenv("HOOK_SECRET", SECRET)


def test_receiver_down_then_up_gets_the_request_exactly_once(tmp_path, database_url, clock, secret):
    port = free_port()
    site, people = automation_site(tmp_path, database_url, clock, {"hook": hook_rule(port)})
    deal = site.records.create("deal", {"title": "Big", "amount": 900})
    site.records.update("deal", deal["id"], {"stage": "won"})
    outbox = site.records.automations.outbox
    report = outbox.deliver_due(site.engine)  # nobody listens on the port
    assert (report.delivered, report.retrying) == (0, 1)
    queued, = rows(site, "atrium_outbox")
    assert queued["status"] == "pending" and queued["attempts"] == 1 and queued["last_error"]
    assert queued["next_attempt_at"] == clock.now + dt.timedelta(seconds=30)

    receiver = Receiver(port)
    try:
        assert outbox.deliver_due(site.engine).delivered == 0  # not due again for 30 s
        clock.advance(seconds=31)
        assert outbox.deliver_due(site.engine).delivered == 1
        clock.advance(hours=1)
        assert outbox.deliver_due(site.engine).delivered == 0
    finally:
        receiver.stop()
    (headers, body), = receiver.requests
    timestamp = headers["X-Atrium-Timestamp"]  # signed with the body: an old capture cannot be replayed
    assert int(timestamp) == int((clock.now - dt.timedelta(hours=1)).timestamp())  # when it was sent
    expected = "sha256=" + hmac.new(SECRET.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    assert headers["X-Atrium-Signature"] == expected
    assert headers["X-Atrium-Delivery"] == str(queued["id"])
    payload = json.loads(body)
    assert (payload["rule"], payload["entity"], payload["record_id"], payload["event"]) == \
        ("hook", "deal", deal["id"], "update")
    assert payload["data"]["title"] == "Big" and payload["data"]["stage"] == "won"
    stored, = rows(site, "atrium_outbox")
    assert (stored["status"], stored["attempts"], stored["last_status"]) == ("delivered", 2, 204)


def test_nothing_is_sent_for_a_change_that_was_not_saved(tmp_path, database_url, clock, secret):
    port = free_port()
    site, people = automation_site(tmp_path, database_url, clock, {"hook": hook_rule(port)})
    deal = site.records.create("deal", {"title": "Big"})
    with pytest.raises(ValidationFailed):
        site.records.update("deal", deal["id"], {"stage": "lost"})  # lost requires a reason
    assert rows(site, "atrium_outbox") == []


def test_two_deliverers_at_once_send_each_request_once(tmp_path, database_url, clock, secret):
    port = free_port()
    site, people = automation_site(tmp_path, database_url, clock, {"hook": hook_rule(port)})
    for i in range(6):
        deal = site.records.create("deal", {"title": f"D{i}"})
        site.records.update("deal", deal["id"], {"stage": "won"})
    receiver = Receiver(port, delay=0.02)
    outboxes = [Outbox(site.tables, clock), Outbox(site.tables, clock)]
    start = threading.Barrier(2)

    def deliver(outbox: Outbox) -> None:
        start.wait()
        outbox.deliver_due(site.engine)

    threads = [threading.Thread(target=deliver, args=(o,)) for o in outboxes]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        receiver.stop()
    ids = sorted(int(headers["X-Atrium-Delivery"]) for headers, _ in receiver.requests)
    assert ids == [row["id"] for row in rows(site, "atrium_outbox")]
    assert {row["status"] for row in rows(site, "atrium_outbox")} == {"delivered"}


def test_a_missing_secret_is_not_sent_unsigned(tmp_path, database_url, clock, monkeypatch):
    monkeypatch.delenv("HOOK_SECRET", raising=False)
    sent = []
    site, people = automation_site(tmp_path, database_url, clock, {"hook": hook_rule(9)})
    deal = site.records.create("deal", {"title": "x"})
    site.records.update("deal", deal["id"], {"stage": "won"})
    outbox = Outbox(site.tables, clock, send=lambda *a: sent.append(a) or Answer(200))
    assert outbox.deliver_due(site.engine).retrying == 1
    assert sent == [] and "HOOK_SECRET" in rows(site, "atrium_outbox")[0]["last_error"]


def test_back_off_doubles_and_gives_up_only_after_many_attempts(tmp_path, database_url, clock, secret,
                                                                  monkeypatch):
    assert [retry_delay(n).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert retry_delay(50) == dt.timedelta(hours=6)
    monkeypatch.setattr(outbox_module, "MAX_ATTEMPTS", 3)
    site, people = automation_site(tmp_path, database_url, clock, {"hook": hook_rule(9)})
    deal = site.records.create("deal", {"title": "x"})
    site.records.update("deal", deal["id"], {"stage": "won"})
    outbox = Outbox(site.tables, clock, send=lambda *a: Answer(503, "HTTP 503"))
    waits = []
    for _ in range(3):
        outbox.deliver_due(site.engine)
        waits.append((rows(site, "atrium_outbox")[0]["next_attempt_at"] - clock.now).total_seconds())
        clock.advance(hours=1)
    final = rows(site, "atrium_outbox")[0]
    assert waits[:2] == [30, 60] and (final["status"], final["attempts"]) == ("failed", 3)
    assert final["last_status"] == 503  # kept, never deleted


def test_payload_expressions_and_schedule_events(tmp_path, database_url, clock, secret):
    rule = {"entity": "account", "on": "schedule", "every": "day",
            "do": [{"webhook": {"url": "https://erp.example.com/accounts",
                                "payload": {"name": "upper(name)", "when": "today()"}}}]}
    site, people = automation_site(tmp_path, database_url, clock, {"sync": rule})
    site.records.create("account", {"name": "acme"})
    from atrium.runtime.automation.scheduler import ScheduledRules
    sent = []
    scheduled = ScheduledRules(site)
    scheduled.automations.outbox.send = lambda url, body, headers: sent.append((url, body, headers)) or Answer(200)
    scheduled.run_due()
    assert scheduled.deliver_webhooks().delivered == 1
    (url, body, headers), = sent
    assert url == "https://erp.example.com/accounts" and "X-Atrium-Signature" not in headers
    payload = json.loads(body)
    assert payload["event"] == "schedule" and payload["data"] == {"name": "ACME", "when": "2026-03-10"}
