"""Messages outside the browser: what queuing email and robot messages costs a save, and how fast
the outbox sends them. The shipped blueprint's lead assignment (a lead entered by marketing goes
to a rep of its region's team, who is notified) on SQLite: N saves with the inbox only, then N
with email (the rep chose each) and a group robot configured, then the queued emails sent to a
local SMTP server (aiosmtpd) and the robot posts to a local receiver. Prints the figures and
rewrites its own section of docs/benchmarks.md.

    .venv/bin/python bench/bench_messages.py [--saves 300] [--no-doc]

Not a timed test: run it on a quiet machine; the figures vary with load.
"""
from __future__ import annotations

import argparse
import dataclasses
import http.server
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT)) if str(ROOT) not in sys.path else None
from aiosmtpd.controller import Controller  # noqa: E402
from benchmarks_doc import write_section  # noqa: E402

from atrium.metadata import load_blueprint  # noqa: E402
from atrium.metadata.message_settings import build_message_settings  # noqa: E402
from atrium.runtime.access.users import add_team, add_user  # noqa: E402
from atrium.runtime.delivery.preferences import set_preferences  # noqa: E402
from atrium.runtime.records.evaluation import Actor  # noqa: E402
from atrium.runtime.schema.migrations import migrate  # noqa: E402
from atrium.runtime.site.site import Site  # noqa: E402

B2B = ROOT / "blueprints" / "b2b_sales"
START, END = "<!-- bench_messages:start -->", "<!-- bench_messages:end -->"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Accepting:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"


class RobotHandler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b'{"errcode":0}')

    def log_message(self, *args):
        pass


def saves(folder: Path, messages: dict | None, count: int):
    blueprint = load_blueprint(B2B)
    if messages is not None:
        blueprint = dataclasses.replace(blueprint, messages=build_message_settings(messages))
    site = Site.open(blueprint, f"sqlite:///{folder / 'bench.db'}")
    migrate(site.engine, blueprint)
    with site.engine.begin() as connection:
        add_team(connection, site.tables, "east")
        rep = add_user(connection, site.tables, blueprint, "li", "sales_rep", "east", locale="zh")
        marketing = add_user(connection, site.tables, blueprint, "ma", "marketing", locale="en")
        set_preferences(connection, site.tables, rep, "li@example.test", "each")
    actor = Actor(user_id=marketing, name="ma", role="marketing", locale="en")
    walls = []
    for i in range(count):
        started = time.perf_counter()
        site.records.create("lead", {"company": f"Company {i}", "contact_name": "Wang", "region": "east"}, actor)
        walls.append((time.perf_counter() - started) * 1000)
    return site, walls


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--saves", type=int, default=300)
    parser.add_argument("--no-doc", action="store_true")
    args = parser.parse_args()
    smtp_port, robot_port = free_port(), free_port()
    settings = {"site_url": "https://crm.example.test",
                "email": {"host": "127.0.0.1", "port": smtp_port, "security": "none", "from": "crm@example.test"},
                "robots": [{"name": "east", "kind": "wecom", "url": f"http://127.0.0.1:{robot_port}/east",
                            "teams": ["east"]}]}
    with tempfile.TemporaryDirectory() as plain_dir, tempfile.TemporaryDirectory() as mail_dir:
        _, plain = saves(Path(plain_dir), None, args.saves)
        site, mailed = saves(Path(mail_dir), settings, args.saves)  # nobody listens yet: saves never connect
        controller = Controller(Accepting(), hostname="127.0.0.1", port=smtp_port)
        controller.start()
        robot = http.server.ThreadingHTTPServer(("127.0.0.1", robot_port), RobotHandler)
        threading.Thread(target=robot.serve_forever, daemon=True).start()
        try:
            outbox = site.records.automations.outbox
            started = time.perf_counter()
            sent = 0
            while (report := outbox.deliver_due(site.engine)).delivered:
                sent += report.delivered
            seconds = time.perf_counter() - started
        finally:
            controller.stop()
            robot.shutdown()
        site.engine.dispose()

    def line(name: str, walls: list[float]) -> str:
        ordered = sorted(walls)
        return (f"| {name} | {statistics.median(walls):.1f} ms | {ordered[int(len(ordered) * 0.95)]:.1f} ms |")

    rows = [line("inbox only", plain), line("inbox + email + group robot queued", mailed)]
    section = "\n".join([
        START, "## Messages outside the browser (bench/bench_messages.py)", "",
        f"A lead entered by marketing and assigned by region to a rep, who is notified: {args.saves} saves on "
        "SQLite. With email and a robot configured, the save also writes one email and one robot row into the "
        "outbox; it never connects to the mail server (none was listening while the saves ran).", "",
        "| save | median | p95 |", "|---|---|---|", *rows, "",
        f"Sending them afterwards: {sent} messages (emails to a local aiosmtpd server, posts to a local "
        f"robot receiver) in {seconds:.2f} s, {sent / seconds:.0f} per second, one worker.", END])
    print(section)
    if not args.no_doc:
        write_section(section, START, END)


if __name__ == "__main__":
    main()
