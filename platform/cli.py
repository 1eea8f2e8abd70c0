"""The `atrium` command: check, migrate, seed, users and teams, serve."""
from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path
from typing import Sequence

DEFAULT_BLUEPRINT = Path(__file__).resolve().parent.parent / "blueprints" / "b2b_sales"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="atrium", description="Atrium: a metadata-driven CRM.")
    parser.add_argument("--blueprint", default=os.environ.get("ATRIUM_BLUEPRINT", str(DEFAULT_BLUEPRINT)),
                        help="blueprint folder (env ATRIUM_BLUEPRINT; default: the shipped b2b_sales)")
    parser.add_argument("--overlay", action="append", default=[],
                        help="overlay folder merged on top of the blueprint (repeatable)")
    parser.add_argument("--db", default=os.environ.get("ATRIUM_DATABASE_URL", "sqlite:///atrium.db"),
                        help="database URL (env ATRIUM_DATABASE_URL; default sqlite:///atrium.db)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    commands.add_parser("check", help="validate the blueprint and overlays; exit 1 with file:line errors")

    migrate = commands.add_parser("migrate", help="bring the database to the blueprint")
    migrate.add_argument("--plan", action="store_true", help="print the plan and change nothing")
    migrate.add_argument("--drop", action="append", default=[], metavar="ENTITY.FIELD",
                         help="drop the column of a field removed from the blueprint, with its data")

    seed = commands.add_parser("seed", help="realistic demo data and demo users")
    seed.add_argument("--scale", type=int, default=200, help="number of base records (default 200)")
    seed.add_argument("--seed", type=int, default=1, help="random seed: same seed, same data")
    seed.add_argument("--if-empty", action="store_true", help="do nothing when the database has users")

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

    team = commands.add_parser("team", help="manage teams").add_subparsers(dest="action", required=True)
    team_add = team.add_parser("add", help="add a team")
    team_add.add_argument("name")
    team_add.add_argument("--label")
    team_add.add_argument("--parent")
    team_add.add_argument("--manager")

    serve = commands.add_parser("serve", help="run the web server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    return parser


def _blueprint(args):
    from atrium.metadata import check_blueprint
    blueprint, problems = check_blueprint(args.blueprint, args.overlay)
    if problems:
        for problem in problems:
            print(problem, file=sys.stderr)
        print(f"{len(problems)} problem(s) found.", file=sys.stderr)
        raise SystemExit(1)
    return blueprint


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    blueprint = _blueprint(args)
    if args.command == "check":
        counts = f"{len(blueprint.entities)} entities, {len(blueprint.pipelines)} pipelines, " \
                 f"{len(blueprint.reports)} reports, {len(blueprint.dashboards)} dashboards"
        print(f"{blueprint.name}: OK ({counts})")
        return 0
    from atrium.runtime.database import create_engine
    engine = create_engine(args.db)
    try:
        return COMMANDS[args.command](args, blueprint, engine)
    except Exception as error:  # a person gets the reason, not a traceback
        from atrium.runtime.migrations import MigrationRefused
        from atrium.runtime.records import RecordError
        from atrium.runtime.users import UserError
        if isinstance(error, MigrationRefused | RecordError | UserError):
            print(f"error: {error}", file=sys.stderr)
            return 1
        raise
    finally:
        engine.dispose()


def _migrate(args, blueprint, engine) -> int:
    from atrium.runtime.migrations import apply_migration, plan_migration
    with engine.connect() as connection:
        plan = plan_migration(connection, blueprint, args.drop)
    print(plan.describe())
    if plan.refused:
        print("Nothing was changed.", file=sys.stderr)
        return 1
    if args.plan or not plan.changes:
        return 0
    from sqlalchemy.exc import DBAPIError
    try:
        apply_migration(engine, blueprint, plan)
    except DBAPIError as error:  # e.g. a new unique index over values that repeat
        reason = str(error.orig).strip().splitlines()[0]
        print(f"error: the database refused the migration ({reason}); nothing was changed.",
              file=sys.stderr)
        return 1
    print(f"Applied {len(plan.changes)} change(s).")
    return 0


def _seed(args, blueprint, engine) -> int:
    from atrium.runtime.seed import seed_demo
    import sqlalchemy as sa
    from atrium.runtime.tables import build_tables
    tables = build_tables(blueprint)
    if args.if_empty:
        with engine.connect() as connection:
            if connection.execute(sa.select(sa.func.count()).select_from(tables.system("atrium_users"))).scalar():
                print("Demo data already present; nothing to do.")
                return 0
    summary = seed_demo(blueprint, engine, scale=args.scale, seed=args.seed,
                        progress=sys.stderr.isatty() or args.scale >= 10_000)
    print(summary)
    return 0


def _user(args, blueprint, engine) -> int:
    from atrium.runtime import users
    from atrium.runtime.tables import build_tables
    tables = build_tables(blueprint)
    with engine.begin() as connection:
        if args.action == "list":
            for row in users.list_users(connection, tables):
                team = f", team {row['team']}" if row["team"] else ""
                print(f"  {row['name']:<12} {row['role']}{team}")
            return 0
        if args.action == "token":
            print(users.issue_token(connection, tables, args.name))
            return 0
        password = None
        if args.password_stdin:
            password = sys.stdin.readline().rstrip("\n")
        elif sys.stdin.isatty():
            password = getpass.getpass(f"Password for {args.name}: ")
        users.add_user(connection, tables, blueprint, args.name, args.role, args.team, password,
                       display_name=args.display_name)
    print(f"Added user {args.name} ({args.role}).")
    return 0


def _team(args, blueprint, engine) -> int:
    from atrium.runtime import users
    from atrium.runtime.tables import build_tables
    with engine.begin() as connection:
        users.add_team(connection, build_tables(blueprint), args.name, args.label, args.parent, args.manager)
    print(f"Added team {args.name}.")
    return 0


def _serve(args, blueprint, engine) -> int:
    import uvicorn
    os.environ["ATRIUM_BLUEPRINT"] = str(args.blueprint)
    os.environ["ATRIUM_DATABASE_URL"] = args.db
    os.environ["ATRIUM_OVERLAYS"] = os.pathsep.join(args.overlay)
    print(f"Atrium is running at http://{args.host}:{args.port}/", flush=True)
    uvicorn.run("atrium.ui.app:app_from_environment", factory=True, host=args.host, port=args.port,
                workers=args.workers, log_level="warning")
    return 0


COMMANDS = {"migrate": _migrate, "seed": _seed, "user": _user, "team": _team, "serve": _serve}

if __name__ == "__main__":
    sys.exit(main())
