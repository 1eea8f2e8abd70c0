"""`atrium user ...`: add, list, token, email (the address and which notification emails), and the
commands that end sessions at once: signout (every session of the user), disable (sessions end,
API tokens stop working), enable, password (a new password; every session ends)."""
from __future__ import annotations

import argparse
import getpass
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported when a command runs, so `atrium --help` stays quick
    from sqlalchemy.engine import Engine

    from atrium.metadata.model import Blueprint


def add_user_commands(commands: Any) -> None:
    user = commands.add_parser("user", help="manage users").add_subparsers(dest="action", required=True)
    add = user.add_parser("add", help="add a user")
    add.add_argument("name")
    add.add_argument("--role", required=True)
    add.add_argument("--team")
    add.add_argument("--display-name")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    user.add_parser("list", help="list users with their roles and teams")
    token = user.add_parser("token", help="print a new API token for a user")
    token.add_argument("name")
    signout = user.add_parser("signout", help="end every session of a user (each browser must sign in again)")
    signout.add_argument("name")
    disable = user.add_parser("disable", help="disable a user: every session ends, API tokens stop working")
    disable.add_argument("name")
    enable = user.add_parser("enable", help="let a disabled user sign in again")
    enable.add_argument("name")
    password = user.add_parser("password", help="set a user's password; every session of the user ends")
    password.add_argument("name")
    password.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    email = user.add_parser("email", help="set a user's email address and which notification emails they get")
    email.add_argument("name")
    email.add_argument("address", help="the address ('' to remove it)")
    email.add_argument("--messages", choices=["each", "daily", "off"], default="each",
                       help="each notification at once (default), a daily digest, or none")


def _password(args: argparse.Namespace) -> str | None:
    """The password asked (or read from standard input) and hashed before any transaction opens."""
    from atrium.runtime.access import users
    password = None
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif sys.stdin.isatty():
        password = getpass.getpass(f"Password for {args.name}: ")
    return users.hash_password(password) if password else None


def run(args: argparse.Namespace, blueprint: Blueprint, engine: Engine) -> int:
    from atrium.runtime.access import users
    from atrium.runtime.access.sessions import end_user_sessions
    from atrium.runtime.schema.tables import build_tables
    tables = build_tables(blueprint)
    password_hash = _password(args) if args.action in ("add", "password") else None
    if args.action == "password" and password_hash is None:
        raise users.UserError("no password given (type it, or pass it on standard input with --password-stdin)")
    with engine.begin() as connection:
        if args.action == "list":
            for row in users.list_users(connection, tables):
                team = f", team {row['team']}" if row["team"] else ""
                print(f"  {row['name']:<12} {row['role']}{team}")
            return 0
        if args.action == "token":
            print(users.issue_token(connection, tables, args.name))
            return 0
        if args.action == "signout":
            ended = end_user_sessions(connection, tables, users.user_id(connection, tables, args.name))
            print(f"Signed {args.name} out: {ended} session(s) ended.")
            return 0
        if args.action in ("disable", "enable"):
            ended = users.set_active(connection, tables, args.name, args.action == "enable")
            print(f"Disabled {args.name}: {ended} session(s) ended." if args.action == "disable"
                  else f"Enabled {args.name}.")
            return 0
        if args.action == "email":
            from atrium.runtime.delivery.preferences import set_preferences
            found = set_preferences(connection, tables, users.user_id(connection, tables, args.name), args.address,
                                    args.messages)
            if found:
                raise users.UserError("; ".join(f"{field}: {msgid}" for field, msgid in found.items()))
            print(f"{args.name}: {args.address or 'no address'}, {args.messages}.")
            return 0
        if args.action == "password":
            assert password_hash is not None
            ended = users.set_password_hash(connection, tables, users.user_id(connection, tables, args.name),
                                            password_hash)
            print(f"Set the password of {args.name}: {ended} session(s) ended.")
            return 0
        users.add_user(connection, tables, blueprint, args.name, args.role, args.team,
                       display_name=args.display_name, password_hash=password_hash)
    print(f"Added user {args.name} ({args.role}).")
    return 0
