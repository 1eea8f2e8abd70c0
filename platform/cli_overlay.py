"""The consultant's commands: `atrium overlay new|lock|upgrade`, `atrium diff`, and the base-lock
part of `atrium check`. They read and write blueprint folders only, never a database."""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:
    from atrium.metadata.problems import Problem


def add_overlay_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    overlay = commands.add_parser("overlay", help="make an overlay, record its base, try a new base") \
        .add_subparsers(dest="action", required=True)
    new = overlay.add_parser("new", help="scaffold an overlay folder that extends a blueprint")
    new.add_argument("dir", metavar="DIR")
    new.add_argument("--extends", required=True, metavar="PATH", help="the base blueprint folder")
    lock = overlay.add_parser("lock", help="record the base as it is now in DIR/base.lock")
    lock.add_argument("dir", metavar="DIR")
    lock.add_argument("--base", metavar="PATH", help="the base folder (default: the overlay's extends:)")
    upgrade = overlay.add_parser("upgrade", help="check the overlay on a new base version: merges cleanly, "
                                 "or each conflict with file:line")
    upgrade.add_argument("dir", metavar="DIR")
    upgrade.add_argument("--base", required=True, metavar="NEWPATH", help="the new base blueprint folder")
    upgrade.add_argument("--write", action="store_true",
                         help="when it merges cleanly: point extends: at NEWPATH and record it in base.lock")

    diff = commands.add_parser("diff", help="what each overlay changes against its base, per document and property")
    diff.add_argument("--format", choices=["text", "yaml", "json"], default="text")


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1


def _print_problems(problems: Sequence[Any], what: str = "problem") -> None:
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"{len(problems)} {what}(s) found.", file=sys.stderr)


def _overlay_base(folder: Path, base: str | None) -> tuple[list[Path], list[Problem], Path | None]:
    """(base layers, label of the base as the overlay names it) for an overlay folder."""
    from atrium.metadata.loader import blueprint_layers
    from atrium.metadata.yaml_source import read_yaml
    if base:
        layers, problems = blueprint_layers(Path(base))
        return layers, problems, Path(base)
    manifest = folder / "blueprint.yaml"
    data, problems = read_yaml(manifest, str(manifest)) if manifest.is_file() else (None, [])
    extends = data.get("extends") if isinstance(data, dict) else None
    if not isinstance(extends, str):
        return [], problems, None
    layers, found = blueprint_layers(folder / extends)
    return layers, problems + found, folder / extends


def _relative(path: Path, start: Path) -> str:
    import os
    return Path(os.path.relpath(path.resolve(), start.resolve())).as_posix()


def overlay_new(args: argparse.Namespace) -> int:
    from atrium.metadata.overlays.scaffold import ScaffoldError, scaffold_overlay
    try:
        written = scaffold_overlay(args.dir, args.extends)
    except ScaffoldError as error:
        return _fail(str(error))
    print(f"Created overlay {args.dir} extending {args.extends} ({len(written)} files):")
    for path in written:
        print(f"  {path}")
    print(f"Next: add documents, then `atrium --blueprint {args.dir} check` and `... diff`.")
    return 0


def overlay_lock(args: argparse.Namespace) -> int:
    from atrium.metadata.loader import check_layers
    from atrium.metadata.overlays.upgrade import relock
    folder = Path(args.dir)
    layers, problems, base = _overlay_base(folder, args.base)
    if problems:
        _print_problems(problems)
        return 1
    if base is None:
        return _fail(f"{folder}/blueprint.yaml has no extends: give the base with --base PATH")
    _, problems = check_layers(list(layers) + [folder.resolve()])
    if problems:
        _print_problems(problems)
        print("Fix these first; base.lock was not written.", file=sys.stderr)
        return 1
    path = relock(folder, layers, _relative(base, folder))
    from atrium.metadata.loader import display_path
    print(f"Recorded the base {display_path(base.resolve())} in {path}.")
    return 0


def overlay_upgrade(args: argparse.Namespace) -> int:
    from atrium.metadata.loader import blueprint_layers
    from atrium.metadata.overlays.upgrade import relock, upgrade
    folder = Path(args.dir)
    if not (folder / "blueprint.yaml").is_file():
        return _fail(f"{folder} is not an overlay folder (no blueprint.yaml)")
    new_layers, problems = blueprint_layers(Path(args.base))
    if problems:
        _print_problems(problems)
        return 1
    old_layers, _, _ = _overlay_base(folder, None)
    result = upgrade(folder.resolve(), old_layers, new_layers)
    compared = result.compared_with or "nothing (no base.lock, and extends: already names this base)"
    print(f"{folder} on {args.base}: compared with {compared}; "
          f"{len(result.changed)} base document(s) changed.")
    for conflict in result.conflicts:
        print(conflict, file=sys.stderr)
    for problem in result.problems:
        print(problem, file=sys.stderr)
    if not result.clean:
        print(f"{len(result.conflicts)} conflict(s), {len(result.problems)} problem(s); nothing was written. "
              f"Resolve them in {folder}, then run `atrium overlay upgrade {folder} --base {args.base} --write` "
              "(it points extends: at the new base and records it in base.lock).", file=sys.stderr)
        return 1
    print("Merges cleanly.")
    if args.write:
        relative = _relative(Path(args.base), folder)
        manifest = folder / "blueprint.yaml"
        text = manifest.read_text(encoding="utf-8")
        text, count = re.subn(r"(?m)^extends:.*$", f"extends: {relative}", text)
        if not count:
            text += f"extends: {relative}\n"
        manifest.write_text(text, encoding="utf-8")
        relock(folder, new_layers, relative)
        print(f"extends: {relative} written, and the new base recorded in {folder / 'base.lock'}.")
    return 0


def diff(args: argparse.Namespace) -> int:
    from atrium.metadata.loader import blueprint_layers
    from atrium.metadata.overlays.diff import layer_changes
    from atrium.metadata.overlays.words import as_records, as_text, as_yaml
    layers, problems = blueprint_layers(Path(args.blueprint), [Path(o) for o in args.overlay])
    if problems:
        _print_problems(problems)
        return 1
    if len(layers) < 2:
        print(f"{args.blueprint} is a base blueprint: no overlay to compare (give an overlay folder, "
              "or --overlay DIR).")
        return 0
    changes, problems = layer_changes(layers)
    if problems:
        _print_problems(problems)
        return 1
    changes.sort(key=lambda c: (c.layer, c.document, c.at.file if c.at else "", c.at.line if c.at else 0,
                                c.at.column if c.at else 0))
    if args.format == "yaml":
        print(as_yaml(changes), end="")
    elif args.format == "json":
        print(json.dumps(as_records(changes), ensure_ascii=False, indent=1, default=str))
    else:
        print(as_text(changes) or "The overlay changes nothing.", end="" if changes else "\n")
    return 0


def check_locks(args: argparse.Namespace) -> int:
    """After a clean load: each overlay with a base.lock against the base below it."""
    from atrium.metadata.loader import blueprint_layers, display_path
    from atrium.metadata.overlays.lock import LockError
    from atrium.metadata.overlays.upgrade import check_against_lock
    layers, _ = blueprint_layers(Path(args.blueprint), [Path(o) for o in args.overlay])
    failed = 0
    for index in range(1, len(layers)):
        try:
            result = check_against_lock(layers, index)
        except LockError as error:
            print(f"error: {error}", file=sys.stderr)
            failed = 1
            continue
        if result is None or not result.changed:
            continue
        if result.conflicts:
            for conflict in result.conflicts:
                print(conflict, file=sys.stderr)
            changed = ", ".join(result.changed[:5]) + (" ..." if len(result.changed) > 5 else "")
            print(f"{len(result.conflicts)} conflict(s) between {display_path(layers[index])} and its base, "
                  f"which changed since base.lock ({changed}). "
                  f"Resolve them, then run `atrium overlay lock {display_path(layers[index])}`.", file=sys.stderr)
            failed = 1
        else:
            print(f"note: the base of {display_path(layers[index])} changed since base.lock "
                  f"({len(result.changed)} document(s)) and merges cleanly; "
                  f"`atrium overlay lock {display_path(layers[index])}` records it.")
    return failed


OVERLAY_COMMANDS = {"diff": diff}
OVERLAY_ACTIONS = {"new": overlay_new, "lock": overlay_lock, "upgrade": overlay_upgrade}


def run(args: argparse.Namespace) -> int:
    if args.command == "overlay":
        return OVERLAY_ACTIONS[args.action](args)
    return OVERLAY_COMMANDS[args.command](args)
