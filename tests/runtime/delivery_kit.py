"""A local SMTP catcher (aiosmtpd) and a local group-robot receiver (http.server in a thread) for
the tests of messages outside the browser, and a site whose notifications go to both.

    site, people = message_site(tmp_path, database_url, clock, smtp_port, robot_port)
"""
from __future__ import annotations

import email
import email.policy
import http.server
import json
import socket
import threading
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from automation_kit import automation_site

SITE_URL = "https://crm.example.test"
ASSIGNED = {"entity": "deal", "on": {"change": ["owner"]},
            "do": [{"notify": {"to": "owner", "message": {"en": "Deal {title} is yours now",
                                                          "zh": "商机 {title} 已分配给您"}}}]}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SmtpCatcher:
    """An SMTP server on localhost that keeps every message it accepts (or refuses them all)."""

    def __init__(self, port: int, refuse: bool = False):
        self.messages: list[EmailMessage] = []
        self.refuse = refuse
        catcher = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                if catcher.refuse:
                    return "451 4.3.0 try again later"
                catcher.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
                return "250 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=port)
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


class RobotReceiver:
    """A group robot's webhook on localhost: keeps each POST (path with query, JSON body) and
    answers like the robots do (`{"errcode": 0}`), or with an error code when told to."""

    def __init__(self, port: int):
        self.posts: list[tuple[str, dict[str, Any]]] = []
        self.errcode = 0
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.posts.append((self.path, json.loads(body)))
                answer = json.dumps({"errcode": receiver.errcode, "errmsg": "ok" if not receiver.errcode else "bad"})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(answer.encode())

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def at(self, path: str) -> list[tuple[str, dict[str, Any]]]:
        return [(p, body) for p, body in self.posts if p.split("?")[0] == path]


def messages_settings(smtp_port: int, robot_port: int, robots: list[dict] | None = None) -> dict[str, Any]:
    return {"site_url": SITE_URL,
            "email": {"host": "127.0.0.1", "port": smtp_port, "security": "none", "from": "crm@example.test",
                      "digest_at": "08:00"},
            "robots": robots if robots is not None else [
                {"name": "east_ding", "kind": "dingtalk", "url": f"http://127.0.0.1:{robot_port}/ding?access_token=t",
                 "secret_env": "DING_SECRET", "format": "markdown", "locale": "zh", "teams": ["east"]},
                {"name": "all_wecom", "kind": "wecom", "url_env": "WECOM_URL"}]}


def message_site(tmp_path, database_url, clock, smtp_port: int, robot_port: int, **settings: Any):
    created = {**ASSIGNED, "on": "create"}
    site, people = automation_site(tmp_path, database_url, clock, {"assigned": ASSIGNED, "created": created},
                                   manifest={"messages": messages_settings(smtp_port, robot_port, **settings)})
    return site, people


def set_email(site, user_id: int, address: str | None, choice: str | None = None) -> None:
    users = site.tables.system("atrium_users")
    with site.engine.begin() as connection:
        connection.execute(users.update().where(users.c.id == user_id).values(email=address, email_messages=choice))
