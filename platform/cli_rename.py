"""`atrium rename field ENTITY OLD NEW [--apply]`: the studio's rename from the shell.

It writes what the studio writes, through the same path (runtime/site/change.py): the site
overlay gets the field under its new name with `renamed_from:` and every document that uses it
rewritten (metadata/renames.py); the migration renames the column and keeps the data, the field
history and saved views follow, and the change is a metadata version the studio can undo. Without
`--apply` it prints the reviewed plan (every use, the migration, the files) and changes nothing.
"""
from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported when a command runs, so `atrium --help` stays quick
    from sqlalchemy.engine import Engine

    from atrium.metadata.model import Blueprint


def add_rename_commands(commands: Any) -> None:
    rename = commands.add_parser("rename", help="rename a field everywhere it is used (formulas, stages, roles, "
                                 "views, reports, dashboards, automations, seed), keeping its data")
    things = rename.add_subparsers(dest="what", required=True)
    field = things.add_parser("field", help="print the reviewed rename of ENTITY.OLD to NEW; --apply applies it "
                              "to the site overlay and the database")
    field.add_argument("entity")
    field.add_argument("old")
    field.add_argument("new")
    field.add_argument("--apply", action="store_true", help="apply the change (default: only print the plan)")


def run(args: argparse.Namespace, blueprint: Blueprint, engine: Engine) -> int:
    import datetime as dt

    from atrium.metadata.overlays.paths import plain
    from atrium.metadata.renames import RenameRefused, rename_field
    from atrium.runtime.records.evaluation import Actor
    from atrium.runtime.site.change import ChangeRefused, MetadataChanges, Proposal
    from atrium.runtime.site.overlay import SiteOverlay
    from atrium.translation import word
    overlay = SiteOverlay(args.blueprint, args.own_overlays, args.site_overlay)
    changes = MetadataChanges(overlay, engine, lambda: dt.datetime.now(dt.timezone.utc))
    documents = {key: plain(found.data) for key, found in changes.documents().items()}
    try:
        rewritten, uses = rename_field(documents, args.entity, args.old, args.new)
    except RenameRefused as refused:
        print(f"error: {refused}", file=sys.stderr)
        return 1
    summary = {locale: word("Rename field {field} of {entity} to {new}", locale, field=args.old, entity=args.entity,
                            new=args.new) for locale in ("en", "zh")}
    proposal = Proposal(rewritten, summary)
    preview = changes.preview(proposal)
    print(f"Rename {args.entity}.{args.old} to {args.new}: {len(uses)} use(s)")
    for use in uses:
        print(f"- {use.text()}")
    for problem in preview.problems:
        print(f"! {problem}", file=sys.stderr)
    if preview.plan is not None:
        print(preview.plan.describe())
    print("Files of the site overlay: " + ", ".join(path for path, _, _ in preview.files))
    if preview.problems:
        print("Refused: the metadata would not check. Nothing was changed.", file=sys.stderr)
        return 1
    if not args.apply:
        print("Nothing was changed (add --apply to apply it).")
        return 0
    try:
        version = changes.apply(proposal, Actor(name="atrium rename", locale="en"), confirm=True)
    except ChangeRefused as refused:
        print(f"error: {refused}", file=sys.stderr)
        return 1
    print(f"Applied as metadata version {version} (undo it in the studio's history).")
    return 0
