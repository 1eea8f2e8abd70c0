"""`atrium trash list|restore ID|purge [--older-than DAYS]`: the recycle bin from the shell, as the
system (every user's deletions), through the same service as the pages (runtime/trash/bin.py)."""
from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported when a command runs, so `atrium --help` stays quick
    from sqlalchemy.engine import Engine

    from atrium.metadata.model import Blueprint


def add_trash_commands(commands: Any) -> None:
    trash = commands.add_parser("trash", help="the recycle bin: list deleted records, restore one, purge old ones")
    actions = trash.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="the deletions in the bin, newest first")
    listing.add_argument("--limit", type=int, default=200, help="at most this many (default 200)")
    restore = actions.add_parser("restore", help="bring a deletion back (the record and what its delete took), "
                                 "with the same ids and links")
    restore.add_argument("entry", type=int, metavar="ID", help="the bin entry's id (from `atrium trash list`)")
    purge = actions.add_parser("purge", help="remove deletions for good: those older than the blueprint's "
                               "retention (trash.retention_days), or --older-than, or one --entry")
    purge.add_argument("--older-than", type=float, metavar="DAYS", dest="older_than",
                       help="purge deletions made more than DAYS days ago (0: all of them)")
    purge.add_argument("--entry", type=int, metavar="ID", help="purge this one entry (and its batch)")


def run(args: argparse.Namespace, blueprint: Blueprint, engine: Engine) -> int:
    from atrium.runtime.records.evaluation import SYSTEM
    from atrium.runtime.site.site import Site
    from atrium.runtime.trash.restore import RestoreRefused
    site = Site.open(blueprint, args.db, engine=engine)
    if args.action == "list":
        entries = site.trash.entries(SYSTEM, args.limit)
        for entry in entries:
            more = f" (+{entry['cascaded']} linked)" if entry["cascaded"] else ""
            print(f"{entry['id']:>6}  {entry['deleted_at']:%Y-%m-%d %H:%M}  {entry['deleted_by_name'] or '-':<12}  "
                  f"{entry['entity']} #{entry['record_id']}  {entry['title']}{more}")
        print(f"{len(entries)} deletion(s) in the bin.")
        return 0
    if args.action == "restore":
        try:
            back = site.trash.restore(SYSTEM, args.entry)
        except RestoreRefused as refused:
            print(f"error: {refused}", file=sys.stderr)
            return 1
        print(f"Restored {back['entity']} #{back['record_id']}.")
        return 0
    if args.entry is not None:
        removed = site.trash.purge(SYSTEM, args.entry)
    else:
        days = blueprint.trash_retention_days if args.older_than is None else args.older_than
        removed = site.trash.purge_older(days)
    print(f"Purged {removed} record(s) from the bin.")
    return 0
