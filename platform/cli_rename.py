"""`atrium rename field|entity|stage|option ... [--apply]`: the studio's renames from the shell.

It writes what the studio writes, through the same path (runtime/site/change.py): the site
overlay gets the renamed thing under its new name (a field or an entity with `renamed_from:`, a
stage or an option in the `renamed:` map of its pipeline or field) and every document that uses it
rewritten (metadata/renames.py, rename_entity.py, rename_values.py); the migration renames the
column or the table, or gives the records the new value, and keeps the data, the history and saved
views follow, and the change is a metadata version the studio can undo. Without `--apply` it prints
the reviewed plan (every use, the migration, the files) and changes nothing. Messages are in the
environment's language (LC_ALL / LC_MESSAGES / LANG) or `--lang`.
"""
from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from atrium.translation import N_

if TYPE_CHECKING:  # imported when a command runs, so `atrium --help` stays quick
    from sqlalchemy.engine import Engine

    from atrium.metadata.model import Blueprint


def add_rename_commands(commands: Any) -> None:
    rename = commands.add_parser("rename", help="rename a field, an entity, a stage or an option everywhere it is "
                                 "used (formulas, stages, roles, views, reports, dashboards, automations, seed), "
                                 "keeping its data")
    things = rename.add_subparsers(dest="what", required=True)
    shapes = {"field": ("print the reviewed rename of field OLD of ENTITY to NEW", ["entity", "old", "new"]),
              "entity": ("print the reviewed rename of entity OLD to NEW (its table, files and uses)", ["old", "new"]),
              "stage": ("print the reviewed rename of stage OLD of PIPELINE to NEW", ["pipeline", "old", "new"]),
              "option": ("print the reviewed rename of option OLD of select field ENTITY FIELD to NEW",
                         ["entity", "field", "old", "new"])}
    for what, (text, arguments) in shapes.items():
        thing = things.add_parser(what, help=text + "; --apply applies it to the site overlay and the database")
        for argument in arguments:
            thing.add_argument(argument)
        thing.add_argument("--apply", action="store_true", help="apply the change (default: only print the plan)")
        thing.add_argument("--lang", help="language of the messages: en or zh (default: the environment's)")


def run(args: argparse.Namespace, blueprint: Blueprint, engine: Engine) -> int:
    import datetime as dt
    import os

    from atrium.metadata.overlays.paths import plain
    from atrium.metadata.renames import RenameRefused
    from atrium.runtime.records.evaluation import Actor
    from atrium.runtime.site.change import ChangeRefused, MetadataChanges, Proposal
    from atrium.runtime.site.overlay import SiteOverlay
    from atrium.translation import environment_locale
    locale = args.lang or environment_locale(os.environ) or "en"
    overlay = SiteOverlay(args.blueprint, args.own_overlays, args.site_overlay)
    changes = MetadataChanges(overlay, engine, lambda: dt.datetime.now(dt.timezone.utc))
    documents = {key: plain(found.data) for key, found in changes.documents().items()}
    try:
        rewritten, uses, summary, title = _renamed(args, documents)
    except RenameRefused as refused:
        print(f"error: {refused.text(locale)}", file=sys.stderr)
        return 1
    proposal = Proposal(rewritten, summary)
    preview = changes.preview(proposal)
    print(f"{title}: {len(uses)} use(s)")
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


def _renamed(args: argparse.Namespace, documents: dict) -> tuple[dict, list, dict[str, str], str]:
    """(the rewritten documents, the uses, the change's summary in each language, the plan's title)."""
    from atrium.metadata.rename_entity import rename_entity
    from atrium.metadata.rename_values import rename_option, rename_stage
    from atrium.metadata.renames import rename_field
    from atrium.translation import word
    if args.what == "entity":
        rewritten, uses = rename_entity(documents, args.old, args.new)
        what, title = SUMMARIES["entity"], f"Rename entity {args.old} to {args.new}"
        params = {"entity": args.old, "new": args.new}
    elif args.what == "stage":
        rewritten, uses = rename_stage(documents, args.pipeline, args.old, args.new)
        what, title = SUMMARIES["stage"], f"Rename stage {args.pipeline}.{args.old} to {args.new}"
        params = {"stage": args.old, "pipeline": args.pipeline, "new": args.new}
    elif args.what == "option":
        rewritten, uses = rename_option(documents, args.entity, args.field, args.old, args.new)
        what, title = SUMMARIES["option"], f"Rename option {args.entity}.{args.field}.{args.old} to {args.new}"
        params = {"option": args.old, "entity": args.entity, "field": args.field, "new": args.new}
    else:
        rewritten, uses = rename_field(documents, args.entity, args.old, args.new)
        what, title = SUMMARIES["field"], f"Rename {args.entity}.{args.old} to {args.new}"
        params = {"field": args.old, "entity": args.entity, "new": args.new}
    return rewritten, uses, {locale: word(what, locale, **params) for locale in ("en", "zh")}, title


SUMMARIES = {"field": N_("Rename field {field} of {entity} to {new}"),
             "entity": N_("Rename entity {entity} to {new}"),
             "stage": N_("Rename stage {stage} of pipeline {pipeline} to {new}"),
             "option": N_("Rename option {option} of {entity}.{field} to {new}")}
