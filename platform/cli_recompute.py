"""`atrium migrate` and `atrium recompute`: the schema, and the stored formulas and roll-ups of
existing records, brought to the metadata (records/recompute.py does the computing)."""
from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:  # imported when a command runs, so `atrium --help` stays quick
    from sqlalchemy.engine import Engine

    from atrium.metadata.model import Blueprint
    from atrium.runtime.records.recompute import Outcome, Recompute


def add_recompute_commands(commands: Any) -> None:
    migrate = commands.add_parser("migrate", help="bring the database to the blueprint, and compute new or "
                                  "changed formulas and roll-ups for every existing record")
    migrate.add_argument("--plan", action="store_true", help="print the plan and change nothing")
    migrate.add_argument("--drop", action="append", default=[], metavar="ENTITY.FIELD",
                         help="drop the column of a field removed from the blueprint, with its data")
    recompute = commands.add_parser("recompute", help="compute stored formulas and roll-ups again for every "
                                    "record; report how many values changed per field; rebuild the reports' "
                                    "pre-aggregates from the records")
    recompute.add_argument("target", nargs="?", metavar="ENTITY[.FIELD]",
                           help="only this entity's derived fields, or this one field (default: all)")
    recompute.add_argument("--dry-run", action="store_true", help="change nothing; report what would change")


def _progress(name: str, done: int, total: int) -> None:
    sys.stderr.write(f"\r  {name}: {done:,}/{total:,} records ")
    if done >= total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def _recompute(blueprint: Blueprint, engine: Engine) -> Recompute:
    from atrium.runtime.records.recompute import Recompute
    from atrium.runtime.records.service import RecordService
    return Recompute(RecordService(blueprint, engine), progress=_progress if sys.stderr.isatty() else None)


def describe(outcome: Outcome, dry_run: bool = False) -> str:
    """One line per field: how many records, how many values changed, which failed."""
    name = f"{outcome.entity}.{outcome.field}"
    if dry_run:
        text = f"{name}: {outcome.changed:,} of {outcome.records:,} value(s) would change"
    else:
        text = f"{name}: {outcome.records:,} record(s) computed, {outcome.changed:,} value(s) changed"
    if outcome.failed:
        more = ", ..." if outcome.failed > len(outcome.failed_ids) else ""
        ids = ", ".join(str(i) for i in outcome.failed_ids) + more
        text += f"; {outcome.failed:,} failed and {'would store' if dry_run else 'store'} no value (ids {ids})"
    return text


def migrate(args: argparse.Namespace, blueprint: Blueprint, engine: Engine) -> int:
    from atrium.runtime.records.moved_records import computed_follow
    from atrium.runtime.schema.migrations import apply_migration, plan_migration
    recompute = _recompute(blueprint, engine)
    with engine.connect() as connection:
        plan = plan_migration(connection, blueprint, args.drop)
        pending = recompute.stale(connection)
        records = recompute.records(connection, pending)
        forgotten = recompute.forgotten(connection)
    print(plan.describe())
    if plan.refused:
        print("Nothing was changed.", file=sys.stderr)
        return 1
    if args.plan:
        if records:
            fields = ", ".join(f"{entity.name}.{field.name}" for entity, field in pending)
            print(f"- compute {fields} for {records:,} existing record(s)")
        return 0
    if not plan.changes and not pending and not forgotten:
        return 0
    outcomes: list[Outcome] = []
    # MigrationFailed (nothing changed) is reported by main; records moved out of a removed stage or
    # option get their formulas and their parents' roll-ups recomputed in the same transaction
    apply_migration(engine, blueprint, plan,
                    after=lambda connection: outcomes.extend(recompute.after_migration(connection)),
                    after_moves=computed_follow(blueprint, engine) if plan.stranded else None)
    if plan.changes:
        print(f"Applied {len(plan.changes)} change(s).")
    for outcome in outcomes:
        if outcome.records:
            print(describe(outcome))
    return 0


def recompute(args: argparse.Namespace, blueprint: Blueprint, engine: Engine) -> int:
    runner = _recompute(blueprint, engine)
    try:
        fields = runner.chosen(args.target)
    except KeyError:
        print(f"error: {args.target} names no formula or roll-up field", file=sys.stderr)
        return 1
    from atrium.runtime.schema import preaggregates, stage_tracking
    from atrium.runtime.schema.tables import build_tables
    outcomes: Sequence[Outcome] = ()
    rebuilt: list[str] = []
    tracked: list[str] = []
    with engine.connect() as connection, connection.begin() as transaction:
        outcomes = runner.run(connection, fields)
        if args.dry_run:
            transaction.rollback()
        elif args.target is None:  # every stored value now follows the current definitions
            runner.remember(connection)
            # the triggers keep them current; a rebuild is the answer to doubt (or to SQL run with them off)
            tables = build_tables(blueprint)
            rebuilt = preaggregates.rebuild(connection, blueprint, tables)
            tracked = stage_tracking.rebuild(connection, blueprint, tables)
    for outcome in outcomes:
        print(describe(outcome, args.dry_run))
    if rebuilt:
        print(f"{len(rebuilt)} pre-aggregate(s) rebuilt from the records.")
    if tracked:
        print(f"{len(tracked)} stage tracking table(s) rebuilt from the stage history.")
    changed = sum(outcome.changed for outcome in outcomes)
    print(f"{changed:,} value(s) {'would change' if args.dry_run else 'changed'}.")
    return 0
