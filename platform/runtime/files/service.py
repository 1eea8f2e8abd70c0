"""Files attached to records: uploaded, listed, downloaded and removed under the record's access.

- Listing and downloading need exactly the right to read the record (and the field, for a file
  field's files); attaching and removing need the right to update it. A file of a record the
  caller may not read is not found, never forbidden.
- Crash safety: the bytes go to a temporary key first (`tmp/<token>`); the row is committed with
  the final key (`<token[:2]>/<token>`), and only then is the object moved there. A removal moves
  the object back under its temporary key before the row goes. So an object under a final key
  always has its row; `sweep` settles what a killed process left under temporary keys: moved
  forward when its row exists, deleted when it does not (after an hour, so a running upload is
  never touched).
- Each file field's column holds the list of its files (`[{id, name, size, type}]`), kept with
  the rows, so lists and exports show a record's files without reading this table.
"""
from __future__ import annotations

import datetime as dt
import itertools
import mimetypes
import posixpath
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Mapping

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from atrium.errors import AtriumError
from atrium.metadata.file_fields import DEFAULT_MAX_SIZE
from atrium.metadata.model import Field
from atrium.runtime.access.secured import SecuredRecords
from atrium.runtime.automation.messages import message
from atrium.runtime.files.storage import TEMPORARY, Readable, Storage, new_key
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.records.service import RecordNotFound, ValidationFailed
from atrium.runtime.schema.database import after_commit, connect, write_transaction
from atrium.translation import N_, word

ATTACHMENTS = "attachments"  # the error key of a file attached to the record itself, not to a field
INLINE_TYPES = frozenset({"application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp"})
SWEEP_AFTER = dt.timedelta(hours=1)
TOO_LARGE = N_("The file is larger than {size}")
NOT_ACCEPTED = N_("Files of this type are not accepted here (accepted: {accepted})")
NO_FILE = N_("Choose a file to upload")
NOT_A_FILE_FIELD = N_("There is no file field '{field}'")


def final_key(temporary: str) -> str:
    token = temporary[len(TEMPORARY):].split("/")[-1]
    return f"{token[:2]}/{token}"


def temporary_key(final: str) -> str:
    return TEMPORARY + final.split("/")[-1]


def readable_size(size: int) -> str:
    for unit, scale in (("GB", 1024 ** 3), ("MB", 1024 ** 2), ("KB", 1024)):
        if size >= scale:
            return f"{size / scale:.3g} {unit}"
    return f"{size} B"


def file_url(file_id: Any) -> str:
    """The download's path on the site (the web page's; exports link to it)."""
    return f"/files/{file_id}"


def summary(row: Any) -> dict[str, Any]:
    """A file as a file field's column and the API show it."""
    return {"id": row["id"], "name": row["name"], "size": row["size"], "type": row["content_type"]}


@dataclass(frozen=True)
class StoredFile:
    row: Mapping[str, Any]
    chunks: Iterator[bytes]

    @property
    def inline(self) -> bool:
        """Shown in the page (an image, a PDF): never HTML or SVG, which could run script."""
        return self.row["content_type"] in INLINE_TYPES


class FileTooLarge(AtriumError):
    status, code = 413, "too_large"


class _Limited:
    """Reads a stream and stops with FileTooLarge once it passes `limit` bytes."""

    def __init__(self, stream: Readable, limit: int):
        self.stream, self.limit, self.count = stream, limit, 0

    def read(self, size: int = -1) -> bytes:
        chunk = self.stream.read(size)
        self.count += len(chunk)
        if self.count > self.limit:
            raise FileTooLarge()
        return chunk


def content_type(name: str, declared: str | None) -> str:
    guessed, _ = mimetypes.guess_type(name)
    return (guessed or (declared or "").split(";")[0].strip().lower() or "application/octet-stream")[:200]


def accepted(field: Field | None, name: str, kind: str) -> bool:
    if field is None or not field.accept:
        return True
    extension = posixpath.splitext(name.lower())[1]
    for item in field.accept:
        if item.startswith("."):
            if extension == item:
                return True
        elif item.endswith("/*"):
            if kind.startswith(item[:-1]):
                return True
        elif kind == item:
            return True
    return False


class Files:
    def __init__(self, site: Any, storage: Storage):
        self.site, self.storage = site, storage
        self.secured = SecuredRecords(site)
        self.table = site.tables.system("atrium_files")
        table = self.table
        # a record's files: every detail page reads them (attachment_panel), so built once
        self.of_record_query = (sa.select(table).where(
            table.c.entity == sa.bindparam("of_entity", type_=table.c.entity.type),
            table.c.record_id == sa.bindparam("of_record_id", type_=table.c.record_id.type)).order_by(table.c.id))

    # --- access --------------------------------------------------------------------------------

    def _field(self, actor: Actor, entity: str, name: str | None, write: bool) -> Field | None:
        """The file field `name` of `entity` (None: the record's attachments), if the actor may
        see it (and, with `write`, change it)."""
        if name is None:
            return None
        field = self.site.blueprint.entities[entity].fields.get(name)
        if field is None or field.type != "file":
            raise ValidationFailed({ATTACHMENTS: [word(NOT_A_FILE_FIELD, actor.locale, field=name)]})
        if self.site.access.field_mode(actor, entity, name) == "hidden":
            raise RecordNotFound(message("not_found", actor.locale))
        role = self.site.access.role(actor)
        if write and role is not None and role.fields.get(f"{entity}.{name}") == "readonly":
            raise ValidationFailed({name: [message("field_not_allowed", actor.locale)]})
        return field

    def visible(self, actor: Actor, entity: str, rows: Iterable[Any]) -> list[dict[str, Any]]:
        return [dict(row) for row in rows
                if row["field"] is None or (row["field"] in self.site.blueprint.entities[entity].fields
                                            and self.site.access.field_mode(actor, entity, row["field"]) != "hidden")]

    def _row(self, connection: Connection, actor: Actor, file_id: int, action: str) -> dict[str, Any]:
        row = connection.execute(sa.select(self.table).where(self.table.c.id == file_id)).mappings().first()
        if row is None or row["entity"] not in self.site.blueprint.entities:
            raise RecordNotFound(message("not_found", actor.locale))
        # the record's own check: unreadable → not found; readable but not `action` → forbidden
        self.secured.get(actor, row["entity"], row["record_id"], connection, action=action)
        if not self.visible(actor, row["entity"], [row]):
            raise RecordNotFound(message("not_found", actor.locale))
        return dict(row)

    # --- reading -------------------------------------------------------------------------------

    def of_record(self, actor: Actor, entity: str, record_id: int) -> list[dict[str, Any]]:
        """The record's files the actor may see, oldest first."""
        with connect(self.site.engine) as connection:
            self.secured.get(actor, entity, record_id, connection)
            rows = connection.execute(sa.select(self.table).where(
                self.table.c.entity == entity, self.table.c.record_id == record_id,
            ).order_by(self.table.c.id)).mappings()
            return self.visible(actor, entity, rows)

    def open(self, actor: Actor, file_id: int) -> StoredFile:
        """The file's row and its bytes, if the actor may read its record."""
        with connect(self.site.engine) as connection:
            row = self._row(connection, actor, file_id, "read")
        return StoredFile(row, self._chunks(row["key"]))

    def _chunks(self, key: str) -> Iterator[bytes]:
        """The bytes, opened before the answer starts (a missing object is a 404, not a cut download)."""
        for candidate in (key, temporary_key(key)):  # committed a moment ago, not moved yet: the latter
            chunks = self.storage.open(candidate)
            try:
                first = next(chunks, b"")
            except FileNotFoundError:
                continue
            return itertools.chain([first], chunks)
        raise RecordNotFound(key)

    # --- writing -------------------------------------------------------------------------------

    def attach(self, actor: Actor, entity: str, record_id: int, field_name: str | None, name: str,
               declared_type: str | None, stream: Readable) -> dict[str, Any]:
        """Store one upload for the record (in `field_name`, or as an attachment); the new row.

        The bytes are copied in chunks to a temporary key before the record's row is locked, so a
        slow upload holds no transaction open."""
        if entity not in self.site.blueprint.entities:
            raise RecordNotFound(message("not_found", actor.locale))
        self.secured.get(actor, entity, record_id, action="update")
        field = self._field(actor, entity, field_name, write=True)
        error_key = field_name or ATTACHMENTS
        name = posixpath.basename(name.replace("\\", "/")).strip()[:255]
        if not name:
            raise ValidationFailed({error_key: [word(NO_FILE, actor.locale)]})
        kind = content_type(name, declared_type)
        if not accepted(field, name, kind):
            assert field is not None
            raise ValidationFailed({error_key: [word(NOT_ACCEPTED, actor.locale, accepted=", ".join(field.accept))]})
        limit = (field.max_size if field is not None and field.max_size else DEFAULT_MAX_SIZE)
        temporary = new_key(temporary=True)
        try:
            size = self.storage.put(temporary, _Limited(stream, limit))
        except FileTooLarge:
            self.storage.delete(temporary)
            raise ValidationFailed({error_key: [word(TOO_LARGE, actor.locale, size=readable_size(limit))]}) from None
        except BaseException:
            self.storage.delete(temporary)
            raise
        key = final_key(temporary)
        replaced: list[str] = []
        try:
            with write_transaction(self.site.engine) as connection:
                self.secured.get(actor, entity, record_id, connection, action="update")  # still so, now locked
                if field is not None and not field.multiple:
                    replaced = self._remove_rows(connection, self.table.c.entity == entity,
                                                 self.table.c.record_id == record_id, self.table.c.field == field.name)
                values = {"key": key, "name": name, "size": size, "content_type": kind, "entity": entity,
                          "record_id": record_id, "field": field_name, "created_by": actor.user_id,
                          "created_at": self.site.now()}
                file_id = connection.execute(sa.insert(self.table).values(**values)).inserted_primary_key[0]
                if field is not None:
                    self._refresh_column(connection, entity, field.name, [record_id])
        except BaseException:
            self.storage.delete(temporary)
            for retired in replaced:  # the replaced file's row is back: so is its object
                self.storage.move(retired, final_key(retired))
            raise
        self.storage.move(temporary, key)  # committed: a crash before this line is the sweep's to finish
        self._forget(replaced)
        return {"id": file_id, **values}

    def remove(self, actor: Actor, file_id: int) -> None:
        """Remove a file (the right to update its record)."""
        with write_transaction(self.site.engine) as connection:
            row = self._row(connection, actor, file_id, "update")
            if row["field"] is not None:
                self._field(actor, row["entity"], row["field"], write=True)
            retired = self._remove_rows(connection, self.table.c.id == file_id)
            if row["field"] is not None:
                self._refresh_column(connection, row["entity"], row["field"], [row["record_id"]])
        self._forget(retired)

    def _remove_rows(self, connection: Connection, *where: Any) -> list[str]:
        """Delete the matching rows, their objects moved under temporary keys first (a crash
        before the commit leaves them for `sweep` to move back); the temporary keys."""
        keys = connection.execute(sa.select(self.table.c.key).where(*where)).scalars().all()
        retired = []
        for key in keys:
            try:
                self.storage.move(key, temporary_key(key))
            except FileNotFoundError:
                continue  # still under its temporary key: a crash came between commit and move
            retired.append(temporary_key(key))
        try:
            connection.execute(sa.delete(self.table).where(*where))
        except BaseException:
            for key in retired:
                self.storage.move(key, final_key(key))
            raise
        return retired

    def _refresh_column(self, connection: Connection, entity: str, field: str, record_ids: list[int]) -> None:
        """A file field's column: the list of its files, as they are now."""
        table = self.site.tables[entity]
        for record_id in record_ids:
            rows = connection.execute(sa.select(self.table).where(
                self.table.c.entity == entity, self.table.c.record_id == record_id,
                self.table.c.field == field).order_by(self.table.c.id)).mappings()
            files = [summary(row) for row in rows]
            connection.execute(sa.update(table).where(table.c.id == record_id).values({field: files or None}))

    def _forget(self, retired: list[str]) -> None:
        for key in retired:
            self.storage.delete(key)

    # --- housekeeping --------------------------------------------------------------------------

    def sweep(self, now: dt.datetime | None = None) -> tuple[int, int]:
        """Settle temporary objects older than an hour: (moved to their row's key, deleted)."""
        cutoff = (now or self.site.now()) - SWEEP_AFTER
        moved = deleted = 0
        for temporary in self.storage.temporary(cutoff):
            with connect(self.site.engine) as connection:
                owned = connection.execute(sa.select(self.table.c.id).where(
                    self.table.c.key == final_key(temporary))).first()
            if owned is not None:
                try:
                    self.storage.move(temporary, final_key(temporary))
                except FileNotFoundError:
                    continue  # another worker's sweep settled it first
                moved += 1
            else:
                self.storage.delete(temporary)
                deleted += 1
        return moved, deleted


def remove_files_of(site: Any, connection: Connection, entity: str, record_ids: Iterable[int]) -> int:
    """Remove the file rows and stored objects of records being removed for good (a purge), in the
    caller's transaction: the objects are deleted once it commits (else `sweep` settles them).
    A record merely deleted into a recycle bin keeps its files. The number of files removed."""
    ids = list(record_ids)
    files: Files = site.files
    if not ids:
        return 0
    retired = files._remove_rows(connection, files.table.c.entity == entity, files.table.c.record_id.in_(ids))
    after_commit(connection, lambda: files._forget(retired))
    return len(retired)
