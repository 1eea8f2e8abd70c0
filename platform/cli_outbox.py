"""`atrium outbox`: what the outbox could not send (webhooks, emails, robot messages), with the
last error of each, and `--retry ID` to send one again once its cause is mended."""
from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported when a command runs, so `atrium --help` stays quick
    from sqlalchemy.engine import Engine

    from atrium.metadata.model import Blueprint


def add_outbox_commands(commands: Any) -> None:
    outbox = commands.add_parser("outbox", help="list the webhooks, emails and robot messages that failed "
                                 "or wait for a retry; --retry ID sends one again")
    outbox.add_argument("--retry", action="append", type=int, default=[], metavar="ID",
                        help="send this message again at the next delivery (repeatable)")
    outbox.add_argument("--limit", type=int, default=100)


def describe(row: dict[str, Any]) -> str:
    """One line per message: id, what and to whom (a robot's name, never its address), state, error."""
    kind = row["channel"] or "webhook"
    state = "given up" if row["status"] == "failed" else f"retry at {row['next_attempt_at']:%Y-%m-%d %H:%M} UTC"
    return (f"  #{row['id']} {kind} {row['url']} ({row['rule']}): {row['attempts']} attempt(s), {state}; "
            f"{row['last_error'] or row['last_status'] or ''}")


def run_outbox(args: argparse.Namespace, blueprint: Blueprint, engine: Engine) -> int:
    import datetime as dt

    from atrium.runtime.automation.outbox import Outbox
    from atrium.runtime.schema.database import connect, write_transaction
    from atrium.runtime.schema.tables import build_tables
    outbox = Outbox(build_tables(blueprint), lambda: dt.datetime.now(dt.timezone.utc))
    if args.retry:
        with write_transaction(engine) as connection:
            count = outbox.retry(connection, args.retry)
        print(f"{count} message(s) will be sent again at the next delivery.")
        return 0 if count == len(set(args.retry)) else 1
    with connect(engine) as connection:
        rows = outbox.troubles(connection, args.limit)
    if not rows:
        print("Nothing failing: every message was sent or waits for its first attempt.")
    for row in rows:
        print(describe(row))
    return 0
