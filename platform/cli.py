"""The `atrium` command: check, migrate, recompute, seed, users and teams, import and export, serve."""
from __future__ import annotations

import argparse
import io
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

from atrium.cli_outbox import add_outbox_commands, run_outbox
from atrium.cli_overlay import add_overlay_commands, check_locks, run as run_overlay_command
from atrium.cli_recompute import add_recompute_commands, migrate as run_migrate, recompute as run_recompute
from atrium.cli_rename import add_rename_commands, run as run_rename_command
from atrium.cli_trash import add_trash_commands, run as run_trash_command
from atrium.cli_users import add_user_commands, run as run_user_command
from atrium.metadata.problem_words import problem_text
from atrium.translation import environment_locale, word

if TYPE_CHECKING:  # the commands import what they use when they run, so `atrium --help` stays quick
    from sqlalchemy.engine import Engine

    from atrium.metadata.model import Blueprint
    from atrium.runtime.records.evaluation import Actor

DEFAULT_BLUEPRINT = Path(__file__).resolve().parent.parent / "blueprints" / "b2b_sales"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="atrium", description="Atrium: a metadata-driven CRM.")
    parser.add_argument("--blueprint", default=os.environ.get("ATRIUM_BLUEPRINT", str(DEFAULT_BLUEPRINT)),
                        help="blueprint folder (env ATRIUM_BLUEPRINT; default: the shipped b2b_sales)")
    parser.add_argument("--overlay", action="append", default=[],
                        help="overlay folder merged on top of the blueprint (repeatable)")
    parser.add_argument("--db", default=os.environ.get("ATRIUM_DATABASE_URL", "sqlite:///atrium.db"),
                        help="database URL (env ATRIUM_DATABASE_URL; default sqlite:///atrium.db)")
    parser.add_argument("--site-overlay", default=os.environ.get("ATRIUM_SITE_OVERLAY"), metavar="DIR",
                        help="the site's own overlay, where the studio writes (env ATRIUM_SITE_OVERLAY; default "
                             "overlays/site beside a SQLite database file, else in the working directory); "
                             "merged last when it exists")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = commands.add_parser("check", help="validate the blueprint and overlays; exit 1 with file:line errors "
                                "(and conflicts with a base that changed since an overlay's base.lock)")
    check.add_argument("--lang", help="language of the messages: en or zh (default: LC_ALL / LC_MESSAGES / LANG)")
    add_overlay_commands(commands)

    add_recompute_commands(commands)
    add_outbox_commands(commands)

    seed = commands.add_parser("seed", help="realistic demo data and demo users")
    seed.add_argument("--scale", type=int, default=200, help="number of base records (default 200)")
    seed.add_argument("--seed", type=int, default=1, help="random seed: same seed, same data")
    seed.add_argument("--if-empty", action="store_true", help="do nothing when the database has users")

    add_user_commands(commands)
    add_trash_commands(commands)
    add_rename_commands(commands)

    team = commands.add_parser("team", help="manage teams").add_subparsers(dest="action", required=True)
    team_add = team.add_parser("add", help="add a team")
    team_add.add_argument("name")
    team_add.add_argument("--label")
    team_add.add_argument("--parent")
    team_add.add_argument("--manager")

    importing = commands.add_parser("import", help="import a CSV file (UTF-8 or GBK, with or without BOM) or an "
                                                   ".xlsx workbook")
    importing.add_argument("entity")
    importing.add_argument("file", metavar="FILE")
    importing.add_argument("--sheet", help="the workbook's sheet to read (default: the first)")
    importing.add_argument("--valid-rows", metavar="REJECTED", dest="valid_rows",
                           help="import the rows without errors and write the rejected ones, with the reason "
                                "on each, to this file (default: all rows or none)")
    importing.add_argument("--as", dest="as_user", metavar="USER", help="import as this user (default: the system)")
    importing.add_argument("--key", metavar="FIELD", help="field that finds an existing record (duplicates)")
    importing.add_argument("--on-duplicate", choices=["skip", "update", "create"], default="skip")
    importing.add_argument("--dry-run", action="store_true", help="check every row and write nothing")
    importing.add_argument("--map", action="append", default=[], metavar="COLUMN=FIELD",
                           help="map a column to a field (COLUMN= leaves it out); repeatable")
    importing.add_argument("--locale", help="language of the messages (default: the user's)")

    export = commands.add_parser("export", help="write records as CSV, JSON or .xlsx to standard output")
    export.add_argument("entity")
    export.add_argument("--format", choices=["csv", "json", "xlsx"], default="csv")
    export.add_argument("--as", dest="as_user", metavar="USER", help="export what this user may read")
    export.add_argument("--where", action="append", default=[], metavar="FIELD=VALUE")
    export.add_argument("--raw-headers", action="store_true", help="field names instead of labels")
    export.add_argument("--locale", help="language of labels (default: the blueprint's first)")

    scheduled = commands.add_parser("run-scheduled", help="run the scheduled automations that are due, "
                                    "then send queued webhooks")
    scheduled.add_argument("--now", metavar="ISO-TIME",
                           help="act as if it were this time (e.g. 2026-03-31T08:00; without a zone, the "
                                "blueprint's time zone)")
    scheduled.add_argument("--rule", action="append", default=[], metavar="NAME", help="only this rule (repeatable)")

    report = commands.add_parser("report", help="run a report and print its rows (what the user may see)")
    report.add_argument("name")
    report.add_argument("--format", choices=["table", "csv", "json"], default="table")
    report.add_argument("--as", dest="as_user", metavar="USER", help="run as this user (default: the system)")
    report.add_argument("--lang", dest="locale", help="language of labels (default: the user's, else the blueprint's)")
    report.add_argument("--period", help="replace the report's period, e.g. this_month, last_quarter, last_30_days")
    report.add_argument("--limit", type=int, help="at most this many rows")

    serve = commands.add_parser("serve", help="run the web server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    return parser


# Commands that work on one site's database: the site's overlay (where its studio writes) is part of
# that site, so it stacks on the blueprint. `check`, `diff` and `overlay` work on folders a person
# names; a site overlay lying beside them (a folder where `make run` was used) stays out unless asked.
SITE_COMMANDS = frozenset({"serve", "migrate", "seed", "run-scheduled", "recompute", "user", "team", "trash",
                           "outbox", "import", "export", "report"})


def _add_site_overlay(args: argparse.Namespace, asked: bool) -> None:
    """Stack the site overlay after the --overlay ones: for a site command, or when `--site-overlay` asks."""
    from atrium.runtime.site.overlay import default_site_overlay
    args.site_overlay = str(args.site_overlay or default_site_overlay(args.db))
    args.own_overlays = list(args.overlay)
    stacks = args.command in SITE_COMMANDS or asked
    if stacks and (Path(args.site_overlay) / "blueprint.yaml").is_file() and args.site_overlay not in args.overlay:
        args.overlay = args.overlay + [args.site_overlay]


def _site_overlay_asked(argv: Sequence[str]) -> bool:
    """`--site-overlay DIR` on the command line (the environment variable alone only says where it is)."""
    return any(arg == "--site-overlay" or arg.startswith("--site-overlay=") for arg in argv)


def _blueprint(args: argparse.Namespace) -> Blueprint:
    from atrium.metadata import check_blueprint
    blueprint, problems = check_blueprint(args.blueprint, args.overlay)
    if problems:
        locale = _messages_locale(args)
        for problem in problems:
            print(problem_text(problem, locale), file=sys.stderr)
        print(word("{count} problem(s) found.", locale, count=len(problems)), file=sys.stderr)
        raise SystemExit(1)
    assert blueprint is not None  # no problems: the model was built
    return blueprint


def _messages_locale(args: argparse.Namespace) -> str:
    """`check --lang`, else the environment's language (LC_ALL, LC_MESSAGES, LANG), else English."""
    return getattr(args, "lang", None) or environment_locale(os.environ) or "en"


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(argv)
    _add_site_overlay(args, _site_overlay_asked(argv))
    if args.command in ("overlay", "diff"):  # read and write blueprint folders; need no loaded model
        return run_overlay_command(args)
    blueprint = _blueprint(args)
    if args.command == "check":
        locale = _messages_locale(args)
        _print_hidden_derived(blueprint, locale)
        failed = check_locks(args)
        if failed:  # "OK" only with exit status 0
            return failed
        counts = word("{entities} entities, {pipelines} pipelines, {reports} reports, {dashboards} dashboards", locale,
                      entities=len(blueprint.entities), pipelines=len(blueprint.pipelines),
                      reports=len(blueprint.reports), dashboards=len(blueprint.dashboards))
        print(word("{name}: OK ({counts})", locale, name=blueprint.name, counts=counts))
        return 0
    from atrium.runtime.schema.database import create_engine
    engine = create_engine(args.db)
    try:
        return COMMANDS[args.command](args, blueprint, engine)
    except Exception as error:  # a person gets the reason, not a traceback
        from atrium.runtime.access.users import UserError
        from atrium.runtime.records.service import RecordError
        from atrium.runtime.schema.migrations import MigrationRefused
        if isinstance(error, MigrationRefused | RecordError | UserError):
            print(f"error: {error}", file=sys.stderr)
            return 1
        raise
    finally:
        engine.dispose()


def _print_hidden_derived(blueprint: Blueprint, locale: str) -> None:
    """Information, not an error: each derived field a role may not see because of a hidden input."""
    from atrium.metadata.derived_secrecy import hidden_by_role
    for hidden in hidden_by_role(blueprint.entities, blueprint.roles):
        print(word("info: {entity}.{field} is hidden from {role} because of its input {input}", locale,
                   entity=hidden.entity, field=hidden.field, role=hidden.role, input=hidden.because))


def _seed(args: argparse.Namespace, blueprint: Blueprint, engine: Engine) -> int:
    import sqlalchemy as sa

    from atrium.runtime.schema.tables import build_tables
    from atrium.runtime.seed.seeding import seed_demo
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


def _team(args: argparse.Namespace, blueprint: Blueprint, engine: Engine) -> int:
    from atrium.runtime.access import users
    from atrium.runtime.schema.tables import build_tables
    with engine.begin() as connection:
        users.add_team(connection, build_tables(blueprint), args.name, args.label, args.parent, args.manager)
    print(f"Added team {args.name}.")
    return 0


def _serve(args: argparse.Namespace, blueprint: Blueprint, engine: Engine) -> int:
    import uvicorn

    from atrium.runtime.schema.database import refresh_statistics
    from atrium.runtime.schema.tables import build_tables
    # once per start, not per worker: the planner's statistics may predate the last bulk change
    refresh_statistics(engine, build_tables(blueprint).metadata.tables)
    os.environ["ATRIUM_BLUEPRINT"] = str(args.blueprint)
    os.environ["ATRIUM_DATABASE_URL"] = args.db
    os.environ["ATRIUM_OVERLAYS"] = os.pathsep.join(args.own_overlays)
    os.environ["ATRIUM_SITE_OVERLAY"] = args.site_overlay
    print(f"Atrium is running at http://{args.host}:{args.port}/", flush=True)
    uvicorn.run("atrium.ui.web.app:app_from_environment", factory=True, host=args.host, port=args.port,
                workers=args.workers, log_level="warning")
    return 0


def _cli_actor(args: argparse.Namespace, blueprint: Blueprint, engine: Engine) -> Actor:
    """The user named by --as (their role, team and language), or the system."""
    from atrium.runtime.access import users
    from atrium.runtime.records.evaluation import Actor
    from atrium.runtime.schema.tables import build_tables
    if not args.as_user:
        return Actor(locale=args.locale or blueprint.default_locale)
    with engine.connect() as connection:
        user = users.find_user(connection, build_tables(blueprint), args.as_user)
    if user is None:
        raise users.UserError(f"no user '{args.as_user}'")
    return Actor(user_id=user["id"], name=user["name"], role=user["role"], team_id=user["team_id"],
                 locale=args.locale or user.get("locale") or blueprint.default_locale)


def _import(args: argparse.Namespace, blueprint: Blueprint, engine: Engine) -> int:
    from atrium.runtime.access.secured import AccessDenied
    from atrium.runtime.io.import_rejects import rejected_file
    from atrium.runtime.io.importer import Importer, ImportOptions, ImportProblem, read_table
    from atrium.runtime.site.site import Site
    if args.entity not in blueprint.entities:
        print(f"error: no entity '{args.entity}'", file=sys.stderr)
        return 1
    actor = _cli_actor(args, blueprint, engine)
    try:
        importer = Importer(Site.open(blueprint, args.db, engine=engine), actor, args.entity)
        csv_file = read_table(Path(args.file).read_bytes(), actor.locale, args.sheet)
        mapping = importer.guess_mapping(csv_file.header)
        for item in args.map:
            column, _, field = item.rpartition("=")
            mapping[column] = field.strip() or None
        if csv_file.sheet is not None:
            print(f"{args.file}: sheet {csv_file.sheet!r}, {csv_file.total} row(s)")
        else:
            print(f"{args.file}: {csv_file.encoding}, delimiter {csv_file.delimiter!r}, {csv_file.total} row(s)")
        for column, field in mapping.items():
            print(f"  {column} -> {field or '(not imported)'}")
        options = ImportOptions(mapping, key=args.key, on_duplicate=args.on_duplicate,
                                valid_rows=bool(args.valid_rows))
        report = (importer.dry_run if args.dry_run else importer.run)(csv_file, options)
        if args.valid_rows and not args.dry_run and report.written:
            Path(args.valid_rows).write_bytes(rejected_file(csv_file, report.errors, actor.locale)[0])
    except (ImportProblem, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except AccessDenied:
        print(f"error: {actor.name} may not create {args.entity} records", file=sys.stderr)
        return 1
    for problem in report.errors:
        where = f"{args.file}:{problem.row}" if problem.row else args.file
        print(f"{where}: {problem.column or problem.field or '-'}: {problem.message}", file=sys.stderr)
    counts = f"{report.created} to create, {report.updated} to update, {report.skipped} to skip"
    if args.valid_rows and not args.dry_run and report.written:
        print(f"Imported {report.total - report.rejected} of {report.total} row(s): {report.created} created, "
              f"{report.updated} updated, {report.skipped} skipped; {report.rejected} rejected, written to "
              f"{args.valid_rows}.")
        return 0
    if report.errors:
        print(f"{len(report.errors)} error(s) in {report.rows_in_error} of {report.total} row(s); "
              "nothing was written.")
        return 1
    if args.dry_run:
        print(f"Dry run of {report.total} row(s): {counts}; nothing was written.")
    else:
        print(f"Imported {report.total} row(s): {report.created} created, {report.updated} updated, "
              f"{report.skipped} skipped in {report.seconds:.1f} s.")
    return 0


def _export(args: argparse.Namespace, blueprint: Blueprint, engine: Engine) -> int:
    from atrium.runtime.access.secured import AccessDenied
    from atrium.runtime.io.exporter import Exporter, ExportProblem
    from atrium.runtime.site.site import Site
    if args.entity not in blueprint.entities:
        print(f"error: no entity '{args.entity}'", file=sys.stderr)
        return 1
    actor = _cli_actor(args, blueprint, engine)
    try:
        exporter = Exporter(Site.open(blueprint, args.db, engine=engine), actor, args.entity,
                            locale=args.locale or blueprint.default_locale)
        where = exporter.parse_where(args.where)
    except ExportProblem as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except AccessDenied:
        print(f"error: {actor.name} may not read {args.entity} records", file=sys.stderr)
        return 1
    sys.stdout.flush()
    if args.format == "xlsx":
        sys.stdout.buffer.write(exporter.xlsx(where, raw_headers=args.raw_headers))
        sys.stdout.buffer.flush()
        return 0
    out = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="", write_through=True)
    try:
        if args.format == "json":
            exporter.write_json(out, where)
        else:
            exporter.write_csv(out, where, raw_headers=args.raw_headers)
        out.flush()
    finally:
        out.detach()
    return 0


def _run_scheduled(args: argparse.Namespace, blueprint: Blueprint, engine: Engine) -> int:
    import datetime as dt
    from zoneinfo import ZoneInfo

    from atrium.runtime.automation.scheduler import ScheduledRules
    from atrium.runtime.site.site import Site
    clock = None
    if args.now:
        try:
            now = dt.datetime.fromisoformat(args.now)
        except ValueError:
            print(f"error: --now {args.now!r} is not an ISO date and time like 2026-03-31T08:00", file=sys.stderr)
            return 1
        if now.tzinfo is None:
            now = now.replace(tzinfo=ZoneInfo(blueprint.timezone))
        clock = lambda: now  # noqa: E731  every rule, condition and today() reads this time
    unknown = [name for name in args.rule if name not in blueprint.automations]
    if unknown:
        print(f"error: no automation {', '.join(unknown)}", file=sys.stderr)
        return 1
    rules = ScheduledRules(Site.open(blueprint, args.db, engine=engine, clock=clock))
    results = rules.run_due(args.rule or None)
    for result in results:
        print(result.describe())
    if not results:
        print("No scheduled rules.")
    if not args.rule:  # the recycle bin's retention, as the server's scheduler applies it
        purged = rules.site.trash.purge_expired()
        if purged:
            print(f"Recycle bin: purged {purged} record(s) deleted more than "
                  f"{blueprint.trash_retention_days} days ago.")
    reminded = rules.send_reminders()
    if reminded:
        print(f"Periodic reports: {reminded} reminder(s) sent.")
    rules.send_digests()
    sent = rules.deliver_webhooks()
    if sent.delivered or sent.retrying or sent.failed:
        print(f"Outbox (webhooks, emails, robots): {sent.delivered} delivered, {sent.retrying} to retry, "
              f"{sent.failed} given up.")
    return 1 if any(result.status == "failed" for result in results) else 0


def _report(args: argparse.Namespace, blueprint: Blueprint, engine: Engine) -> int:
    import json

    from atrium.runtime.query.conditions import ConditionError
    from atrium.runtime.reports.compiler import ReportRequest
    from atrium.runtime.reports.runner import Reports
    from atrium.runtime.reports.scope import ReportNotFound
    from atrium.runtime.site.site import Site
    actor = _cli_actor(args, blueprint, engine)
    locale = actor.locale if actor.locale in blueprint.locales else blueprint.default_locale
    try:
        result = Reports(Site.open(blueprint, args.db, engine=engine)).run(
            actor, args.name, ReportRequest(period=args.period, limit=args.limit))
    except ReportNotFound as error:
        print(f"error: {error.text(locale)}", file=sys.stderr)
        return 1
    except ConditionError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if args.format == "json":
        print(json.dumps(result.to_json(locale), ensure_ascii=False, indent=1))
    elif args.format == "csv":
        if isinstance(sys.stdout, io.TextIOWrapper):  # the CSV writer ends its own lines
            sys.stdout.reconfigure(newline="")
        result.write_csv(sys.stdout, locale)
    else:
        print(result.label.text(locale, blueprint.default_locale))
        print(result.table(locale))
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return 0


Command = Callable[[argparse.Namespace, "Blueprint", "Engine"], int]
COMMANDS: dict[str, Command] = {
    "run-scheduled": _run_scheduled, "migrate": run_migrate, "recompute": run_recompute, "seed": _seed,
    "user": run_user_command, "team": _team, "trash": run_trash_command, "outbox": run_outbox,
    "rename": run_rename_command,
    "serve": _serve, "import": _import, "export": _export, "report": _report}

if __name__ == "__main__":
    sys.exit(main())
