"""The site's own overlay folder: where the studio writes every metadata change as YAML.

A site loads its base blueprint, then the consultant's overlays, then this folder (when it has a
blueprint.yaml). The folder is plain YAML a person can read, diff and keep in git; the database
only keeps a history of its contents (metadata_history.py). Its default place is `overlays/site`
next to a SQLite database file (so each database has its own), else below the working directory;
`--site-overlay` or ATRIUM_SITE_OVERLAY choose another.

A snapshot is the text of every file the loader reads in the folder, by relative path; the
studio validates a new snapshot in a scratch copy before writing it, and writes a snapshot back
to undo.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Iterator, Mapping, Sequence

from sqlalchemy.engine import make_url

from atrium.metadata.loader import (
    FOLDERS,
    SINGLE_FILES,
    YAML_SUFFIXES,
    blueprint_layers,
    check_documents,
    display_path,
    merged_documents,
)
from atrium.metadata.model import Blueprint
from atrium.metadata.overlays.documents import write_text_atomically
from atrium.metadata.overlays.scaffold import scaffold_overlay
from atrium.metadata.problems import BlueprintError, Problem

Snapshot = Mapping[str, str]
DEFAULT_FOLDER = Path("overlays") / "site"


def default_site_overlay(database_url: str) -> Path:
    """`overlays/site` beside a SQLite file, else below the working directory."""
    try:
        url = make_url(database_url)
    except Exception:  # not a URL SQLAlchemy reads: the working directory it is
        return DEFAULT_FOLDER
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).resolve().parent / DEFAULT_FOLDER
    return DEFAULT_FOLDER


def snapshot_digest(snapshot: Snapshot) -> str:
    text = json.dumps(dict(sorted(snapshot.items())), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def is_document_file(relative: str) -> bool:
    """A file of the folder the loader reads (the README, examples and base.lock are not)."""
    parts = relative.split("/")
    if not relative.endswith(YAML_SUFFIXES):
        return False
    if len(parts) == 1:
        return Path(parts[0]).stem + ".yaml" in SINGLE_FILES
    return len(parts) == 2 and parts[0] in FOLDERS


def read_snapshot(folder: Path) -> dict[str, str]:
    """The text of every document file in `folder`, by relative path."""
    if not folder.is_dir():
        return {}
    found: dict[str, str] = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).as_posix()
        if path.is_file() and is_document_file(relative):
            found[relative] = path.read_text(encoding="utf-8")
    return found


class SiteOverlay:
    """The layers of one site: base blueprint, consultant overlays, then the site's own folder."""

    def __init__(self, blueprint: str | Path, overlays: Sequence[str | Path], folder: str | Path):
        self.blueprint = Path(blueprint)
        self.overlays = tuple(Path(o) for o in overlays)
        self.folder = Path(folder)
        self._below: tuple[tuple, dict, list] | None = None  # (file stamps, merged documents, problems)

    @property
    def exists(self) -> bool:
        return (self.folder / "blueprint.yaml").is_file()

    def below(self) -> list[Path]:
        """The folders merged under the site overlay, base first."""
        layers, problems = blueprint_layers(self.blueprint, list(self.overlays))
        if problems:
            raise BlueprintError(problems)
        site = self.folder.resolve()
        return [layer for layer in layers if layer != site]

    def below_documents(self) -> tuple[dict, list[Problem]]:
        """The documents of the layers below, merged; read again only when one of their files
        changed (the studio checks many versions of the site overlay against the same base)."""
        layers = self.below()
        stamp = tuple((str(path), path.stat().st_mtime_ns) for layer in layers
                      for path in sorted(layer.rglob("*.y*ml")))
        if self._below is None or self._below[0] != stamp:
            documents, problems = merged_documents(layers)
            self._below = (stamp, documents, problems)
        return dict(self._below[1]), list(self._below[2])

    def merged(self, folder: Path | None) -> tuple[dict, list[Problem]]:
        """The documents with `folder` (the site overlay or a scratch copy) merged on top."""
        documents, problems = self.below_documents()
        if folder is None:
            return documents, problems
        merged, found = merged_documents([folder], documents)
        return merged, problems + found

    def layers(self) -> list[Path]:
        return self.below() + ([self.folder.resolve()] if self.exists else [])

    def load_overlays(self) -> tuple[Path, ...]:
        """What to pass as `overlays` when loading the site's blueprint."""
        return self.overlays + ((self.folder,) if self.exists else ())

    def ensure(self) -> None:
        """Make the folder the first time the studio writes to it: an overlay of the layers below
        (README with the merge rules, examples, base.lock) whose blueprint.yaml only says what it
        extends, so the site keeps the base's name and label."""
        if self.exists:
            return
        below = self.below()[-1]
        if not self.folder.exists() or not any(self.folder.iterdir()):
            self.folder.mkdir(parents=True, exist_ok=True)
            self.folder.rmdir()
            scaffold_overlay(self.folder, below)
        write_text_atomically(self.folder / "blueprint.yaml", self.manifest())

    def manifest(self) -> str:
        extends = Path(os.path.relpath(self.below()[-1], self.folder.resolve())).as_posix()
        return ("# This site's own changes to its blueprint, written by the Atrium studio (see README.md).\n"
                f"extends: {extends}\n")

    # --- snapshots ---------------------------------------------------------------------------

    def snapshot(self) -> dict[str, str]:
        return read_snapshot(self.folder)

    def digest(self) -> str:
        return snapshot_digest(self.snapshot())

    def write_snapshot(self, snapshot: Snapshot) -> None:
        """Make the folder's document files exactly `snapshot` (each file replaced atomically)."""
        current = self.snapshot()
        for relative, text in snapshot.items():
            if current.get(relative) != text:
                write_text_atomically(self.folder / relative, text)
        for relative in current:
            if relative not in snapshot:
                (self.folder / relative).unlink(missing_ok=True)

    @contextmanager
    def scratch(self, snapshot: Snapshot) -> Iterator[Path]:
        """A temporary copy of the folder holding `snapshot` (for checking before writing)."""
        with tempfile.TemporaryDirectory(prefix="atrium-site-") as directory:
            root = Path(directory) / "site"
            root.mkdir()
            for relative, text in snapshot.items():
                target = root / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8")
            yield root

    def check(self, snapshot: Snapshot) -> tuple[Blueprint | None, list[Problem]]:
        """Load the layers below with `snapshot` on top, as `atrium check` would; problems name the
        site folder's files (not the scratch copy's)."""
        below = self.below()
        with self.scratch(snapshot) as root:
            documents, found = self.merged(root if snapshot else None)
            blueprint, problems = check_documents(documents, found, below + ([root] if snapshot else []))
            shown = _display(root)
        real = _display(self.folder)
        return blueprint, [_moved(problem, shown, real) for problem in problems]

    def load(self) -> Blueprint:
        documents, found = self.merged(self.folder if self.exists else None)
        blueprint, problems = check_documents(documents, found, self.layers())
        if blueprint is None:
            raise BlueprintError(problems)
        return blueprint


def _display(path: Path) -> str:
    return display_path(path.resolve())


def _moved(problem: Problem, scratch: str, real: str) -> Problem:
    mark = problem.mark
    if mark is None or not mark.file.startswith(scratch):
        return problem
    return replace(problem, mark=replace(mark, file=real + mark.file[len(scratch):]))
