"""Change the site's metadata: the studio's one write path.

An editor proposes whole documents as they should read after the change (merged, as people see
them). From them this module writes the *minimal* overlay (`minimal_overlay` against the layers
below the site overlay, so a later base upgrade still comes through everywhere else), checks the
result with the loader `atrium check` uses, plans the migration, names what would leave sight
(metadata_impacts.py), and applies metadata and schema together:

1. take the metadata lock (SQLite: the write lock of BEGIN IMMEDIATE; PostgreSQL: an advisory
   transaction lock), so two changes never interleave;
2. refuse a stale edit: the documents the editor loaded must still read as they did (their
   fingerprint is the editor's token), or, for an undo, the version must be the one shown;
3. write the overlay files, migrate in the same transaction (computing new and changed formulas
   and roll-ups for every existing record: records/recompute.py), and record the new version in
   atrium_metadata_history; on any failure the files are written back as they were and the
   transaction rolls back: nothing is half done.
"""
from __future__ import annotations

import hashlib
import json
import os
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from atrium.errors import AtriumError
from atrium.metadata.model import Blueprint
from atrium.metadata.overlays.diff import Change, document_changes
from atrium.metadata.overlays.minimal import update_overlay_document
from atrium.metadata.overlays.paths import document_file, fingerprint, plain
from atrium.metadata.overlays.upgrade import relock
from atrium.metadata.overlays.words import as_records
from atrium.metadata.problems import Problem
from atrium.runtime.access.held_roles import HeldRole, held_roles
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.records.moved_records import computed_follow
from atrium.runtime.records.recompute import Recompute
from atrium.runtime.records.service import RecordService
from atrium.runtime.schema.database import connect
from atrium.runtime.schema.migrations import (
    MigrationPlan,
    MigrationRefused,
    apply_in_transaction,
    plan_migration,
    rebuilds_tables,
)
from atrium.runtime.site import history as metadata_history
from atrium.runtime.site.impacts import Impact, impacts
from atrium.runtime.site.overlay import SiteOverlay, Snapshot, read_snapshot, snapshot_digest
from atrium.runtime.site.reversals import WayBack, way_back
from atrium.translation import N_, word

Key = tuple[str, str]  # (kind, name) of a document
HEADER = "Written by the Atrium studio: only what this site changes. Edit it here or in the studio."
LOCK_KEY = 0x6174726D  # the PostgreSQL advisory lock of metadata changes ('atrm')


class ChangeError(AtriumError):
    """The change was not applied; nothing was written."""

    status, code = 409, "change"


class StaleEdit(ChangeError):
    """Someone applied another change to what this editor shows since it was loaded."""

    code = "stale"

    def __init__(self, by: metadata_history.Entry | None):
        self.by = by
        super().__init__("the metadata changed since this editor was opened")


class ChangeRefused(ChangeError):
    """The change does not check, the migration would lose data, or it needs a confirmation."""

    status, code = 422, "refused"

    def __init__(self, preview: "Preview", reason: str):
        self.preview, self.reason = preview, reason
        super().__init__(reason)


@dataclass
class Proposal:
    """Documents as they should read afterwards (None: take the document out), a summary of the
    change in each language, and the token of what the editor loaded (see `token`)."""

    documents: dict[Key, Any]
    summary: Mapping[str, str]
    token: str | None = None
    watched: tuple[Key, ...] = ()


@dataclass
class Preview:
    before: Snapshot
    after: Snapshot
    problems: list[Problem]
    blueprint: Blueprint | None
    plan: MigrationPlan | None = None
    impacts: list[Impact] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    computed: int = 0  # records whose new or changed formulas and roll-ups the apply computes
    renames: WayBack = field(default_factory=WayBack)  # an undone rename's way back (reversals.py)
    held: list[HeldRole] = field(default_factory=list)  # roles removed while users hold them (refused)

    @property
    def files(self) -> list[tuple[str, str, str]]:
        """(relative path, text before, text after) of each file that changes."""
        names = sorted(set(self.before) | set(self.after))
        return [(n, self.before.get(n, ""), self.after.get(n, "")) for n in names
                if self.before.get(n) != self.after.get(n)]

    @property
    def applicable(self) -> bool:
        return not self.problems and self.plan is not None and not self.plan.refused and not self.held

    @property
    def empty(self) -> bool:
        return not self.files


def token(documents: Mapping[Key, Any], keys: Sequence[Key]) -> str:
    """The fingerprint of what an editor shows: the merged documents it may change."""
    parts = [f"{kind}/{name}={fingerprint(documents[(kind, name)].data) if (kind, name) in documents else '-'}"
             for kind, name in sorted(set(keys))]
    return hashlib.sha256("|".join(parts).encode("utf-8")).hexdigest()[:24]


class MetadataChanges:
    def __init__(self, overlay: SiteOverlay, engine: Engine, clock: Callable[[], Any]):
        self.overlay, self.engine, self.clock = overlay, engine, clock
        self._loaded: OrderedDict[str, tuple[Blueprint | None, list[Problem]]] = OrderedDict()

    # --- reading -----------------------------------------------------------------------------

    def documents(self) -> dict[Key, Any]:
        """The merged documents as they read now (base, overlays, site overlay)."""
        documents, _ = self.overlay.merged(self.overlay.folder if self.overlay.exists else None)
        return documents

    def below(self) -> dict[Key, Any]:
        documents, _ = self.overlay.below_documents()
        return documents

    def check(self, snapshot: Snapshot) -> tuple[Blueprint | None, list[Problem]]:
        """The loader's verdict on the site with `snapshot` as its overlay (a few kept in memory)."""
        digest = snapshot_digest(snapshot)
        if digest not in self._loaded:
            self._loaded[digest] = self.overlay.check(snapshot)
            while len(self._loaded) > 4:
                self._loaded.popitem(last=False)
        self._loaded.move_to_end(digest)
        return self._loaded[digest]

    def files_for(self, proposal: Proposal, current: Snapshot) -> dict[str, str]:
        """The overlay files after the change: each proposed document written as its minimal
        overlay (`update_overlay_document`) into a scratch copy of the folder."""
        below = self.below()
        with self.overlay.scratch(current) as root:
            for (kind, name), target in proposal.documents.items():
                update_overlay_document(root, below, kind, name, None if target is None else plain(target), HEADER)
            return read_snapshot(root)

    # --- previewing --------------------------------------------------------------------------

    def preview(self, proposal: Proposal | None = None, snapshot: Snapshot | None = None,
                check_only: bool = False, renames: WayBack | None = None) -> Preview:
        """What the change would write, whether it checks, the migration plan and what leaves sight
        (`check_only`: only whether it checks, for checks as one types). The site folder is made,
        with a blueprint.yaml that changes nothing, the first time."""
        self.overlay.ensure()
        current = self.overlay.snapshot()
        if snapshot is not None:
            after = dict(snapshot)
        else:
            assert proposal is not None  # a preview is of a proposal or of a snapshot
            after = self.files_for(proposal, current)
        blueprint, problems = self.check(after)
        result = Preview(current, after, problems, blueprint, renames=renames or WayBack())
        if blueprint is None or check_only:
            return result
        old, _ = self.check(current)
        with connect(self.engine) as connection:
            result.plan = _plan(connection, blueprint, result.renames)
            if old is not None:
                recompute = self._recompute(blueprint)
                result.computed = recompute.records(connection, recompute.changed_since(old))
                result.impacts = impacts(connection, old, blueprint)
                result.held = held_roles(connection, old, blueprint)
        result.changes = self._changes(current, after)
        return result

    def _changes(self, before: Snapshot, after: Snapshot) -> list[Change]:
        olds, news = (self._merged(s) for s in (before, after))
        changes: list[Change] = []
        for key in sorted(set(olds) | set(news)):
            old, new = olds.get(key), news.get(key)
            if old is None or new is None or fingerprint(old.data) != fingerprint(new.data):
                changes += document_changes(key[0], key[1], old.data if old else None, new.data if new else None)
        return changes

    def _merged(self, snapshot: Snapshot) -> dict[Key, Any]:
        with self.overlay.scratch(snapshot) as root:
            documents, _ = self.overlay.merged(root if snapshot else None)
        return documents

    # --- applying ----------------------------------------------------------------------------

    def apply(self, proposal: Proposal, actor: Actor, confirm: bool = False) -> int:
        """Apply the proposal; returns the new metadata version. StaleEdit / ChangeRefused say why not."""
        files = {document_file(*key) for key in proposal.documents}
        self._check_stale(lambda connection: self._stale_documents(connection, proposal), files)
        preview = self.preview(proposal)
        return self._apply(preview, actor, confirm, proposal.summary, "change", files,
                           stale=lambda connection: self._stale_documents(connection, proposal),
                           redo=lambda: self.preview(proposal))

    def restore(self, entry_id: int, actor: Actor, version: int, confirm: bool = False,
                undo: bool = True) -> int:
        """Write back the overlay files as they were before version `entry_id` (undo) or right after
        it (restore); `version` is the newest version the person saw."""
        with connect(self.engine) as connection:
            entry = metadata_history.entry(connection, entry_id)
        if entry is None:
            raise ChangeError(f"no metadata version {entry_id}")
        files = entry.files_before if undo else entry.files_after
        self._check_stale(lambda connection: self._stale_version(connection, version), set(files))
        what = N_("Undo #{id}: {summary}") if undo else N_("Back to #{id}: {summary}")
        words = {locale: word(what, locale, id=entry.id, summary=entry.summary_text(locale)) for locale in ("en", "zh")}
        back = self.reverse_renames(entry.files_after, entry.files_before) if undo else WayBack()
        preview = self.preview(snapshot=files, renames=back)
        return self._apply(preview, actor, confirm, words, "undo" if undo else "restore", set(files),
                           stale=lambda connection: self._stale_version(connection, version),
                           redo=lambda: self.preview(snapshot=files, renames=back), undo_of=entry.id)

    def reverse_renames(self, renamed: Snapshot, before: Snapshot) -> WayBack:
        """The renames (fields, entities, stages, options) that undo those `renamed` has and `before`
        had not: each back under its old name, with its data (reversals.py)."""
        return way_back(self.check(renamed)[0], self.check(before)[0])

    def _check_stale(self, stale: Callable[[Any], bool], files: set[str]) -> None:
        """A stale edit is told as such before anything else is said about it (checked again
        under the lock when applying)."""
        with connect(self.engine) as connection:
            if stale(connection):
                raise StaleEdit(metadata_history.last_touching(connection, files)
                                if metadata_history.has_table(connection) else None)

    def _stale_documents(self, connection: Any, proposal: Proposal) -> bool:
        if proposal.token is None:
            return False
        return token(self.documents(), proposal.watched or tuple(proposal.documents)) != proposal.token

    def _stale_version(self, connection: Any, version: int) -> bool:
        return (metadata_history.latest_version(connection) if metadata_history.has_table(connection) else 0) != version

    def _apply(self, preview: Preview, actor: Actor, confirm: bool, summary: Mapping[str, str], action: str,
               files: set[str], stale: Callable[[Any], bool], redo: Callable[[], Preview],
               undo_of: int | None = None) -> int:
        self._refuse(preview, confirm)
        with connect(self.engine, write=True) as connection:
            raw = connection.connection.dbapi_connection if connection.dialect.name == "sqlite" else None
            if raw is not None:  # a table rebuild needs foreign keys off, set outside the transaction
                raw.execute("PRAGMA foreign_keys=OFF")
            try:
                with connection.begin():
                    if raw is None:
                        connection.execute(sa.select(sa.func.pg_advisory_xact_lock(LOCK_KEY)))
                    if stale(connection):
                        raise StaleEdit(metadata_history.last_touching(connection, files))
                    if self.overlay.snapshot() != preview.before:  # another change landed meanwhile
                        preview = redo()
                        self._refuse(preview, confirm)
                    if preview.empty:
                        raise ChangeRefused(preview, "nothing to change")
                    version = self._write(connection, preview, actor, summary, action, undo_of)
            finally:
                if raw is not None:
                    raw.execute("PRAGMA foreign_keys=ON")
        self._relock()
        return version

    def _write(self, connection: Any, preview: Preview, actor: Actor,
               summary: Mapping[str, str], action: str, undo_of: int | None) -> int:
        """Files, schema and history; the files are put back if anything after them fails (the
        caller's transaction then rolls back the schema and the history)."""
        assert preview.blueprint is not None  # _refuse turned away a change that does not check
        self.overlay.ensure()
        self.overlay.write_snapshot(preview.after)
        try:
            plan = _plan(connection, preview.blueprint, preview.renames)  # the schema inside the lock
            if plan.refused:
                raise ChangeRefused(preview, "; ".join(plan.refused))
            apply_in_transaction(connection, preview.blueprint, plan,
                                 computed_follow(preview.blueprint, self.engine) if plan.stranded else None)
            if rebuilds_tables(connection, plan) and connection.exec_driver_sql("PRAGMA foreign_key_check").first():
                raise ChangeRefused(preview, "rebuilding a table broke a link between records")
            old, _ = self.check(preview.before)
            computed = self._recompute(preview.blueprint).after_migration(connection, old)
            changes = [{k: v for k, v in record.items() if k not in ("at", "base_at", "layer")}
                       for record in as_records(preview.changes)]
            details = _json({"changes": changes, "plan": [s.description for s in plan.steps],
                             "computed": [{"entity": o.entity, "field": o.field, "records": o.records,
                                           "changed": o.changed, "failed": o.failed} for o in computed],
                             "impacts": [{"en": i.en, "zh": i.zh} for i in preview.impacts]})
            return metadata_history.record(
                connection, at=self.clock(), user_id=actor.user_id, user_name=actor.name,
                action=action, summary=summary, details=details, files_before=preview.before,
                files_after=preview.after, digest_after=snapshot_digest(preview.after), undo_of=undo_of)
        except MigrationRefused as error:  # the database refused a step (e.g. a unique index over duplicates)
            self.overlay.write_snapshot(preview.before)
            raise ChangeRefused(preview, str(error)) from error
        except BaseException:
            self.overlay.write_snapshot(preview.before)
            raise

    def _recompute(self, blueprint: Blueprint) -> Recompute:
        return Recompute(RecordService(blueprint, self.engine, clock=self.clock))

    @staticmethod
    def _refuse(preview: Preview, confirm: bool) -> None:
        if preview.problems:
            raise ChangeRefused(preview, "the metadata does not check")
        if preview.plan is not None and preview.plan.refused:
            raise ChangeRefused(preview, "; ".join(preview.plan.refused))
        if preview.held:
            raise ChangeRefused(preview, " ".join(held.text("en") for held in preview.held))
        if preview.impacts and not confirm:
            raise ChangeRefused(preview, "confirm what leaves sight")

    def _relock(self) -> None:
        """Record the base as it is now in the overlay's base.lock, so `atrium check` can tell a
        later base change that meets the studio's changes."""
        try:
            below = self.overlay.below()
            relock(self.overlay.folder, below, os.path.relpath(below[-1], self.overlay.folder.resolve()))
        except Exception:  # the lock helps upgrades later; a change that applied stays applied
            pass


def _plan(connection: Any, blueprint: Blueprint, back: WayBack) -> MigrationPlan:
    return plan_migration(connection, blueprint, renames=back.fields, entities=back.entities, values=back.values)


def _json(value: Any) -> Any:
    return json.loads(json.dumps(value, ensure_ascii=False, default=str))
