"""Records as a user may see and change them: the records service behind the access rules.

The UI, the API, exports, pickers and imports all go through `SecuredRecords`, so a rule in
roles.yaml holds on every surface. A record the user may not read is reported as not found,
never as forbidden, so its existence is not confirmed.
"""
from __future__ import annotations

import builtins
import contextlib
from typing import Any, Iterable, Mapping

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from atrium.errors import AtriumError
from atrium.runtime.automation.messages import message
from atrium.runtime.duplicates.finder import DuplicateFinder
from atrium.runtime.query.lists import ListQuery, Page
from atrium.runtime.records.coercion import CoercionError, coerce
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.records.service import RecordNotFound, ValidationFailed
from atrium.runtime.schema.database import connect, write_transaction


class AccessDenied(AtriumError):
    """The actor may not do this at all (e.g. create on an entity the role cannot create)."""

    status, code, private = 403, "forbidden", True


class SecuredRecords:
    def __init__(self, site: Any):
        self.site = site
        self.access = site.access
        self.records = site.records
        self.duplicates = DuplicateFinder(site)

    def _check_entity(self, entity: str) -> None:
        if entity not in self.site.blueprint.entities:
            raise RecordNotFound(entity)

    def visible(self, actor: Actor, entity: str, record: Mapping[str, Any]) -> dict[str, Any]:
        """The record without the fields the actor's role hides."""
        hidden = self.access.hidden_fields(actor, entity)
        if not hidden:  # most roles hide nothing of most entities: a list page copies 50 records
            return dict(record)
        return {k: v for k, v in record.items() if k not in hidden}

    def get(self, actor: Actor, entity: str, record_id: int, connection: Connection | None = None,
            action: str = "read") -> dict[str, Any]:
        """The record if the actor may read it (one statement, the scope in its WHERE), else
        RecordNotFound; AccessDenied when it is readable but `action` does not reach it."""
        self._check_entity(entity)
        with self._connect(connection) as conn:
            if type(record_id) is int and -2 ** 63 <= record_id < 2 ** 63:
                found = self._read_one(conn, actor, entity, record_id)
            else:
                found = self.records.read_where(conn, entity, "id", [record_id],
                                                self.access.row_filter(conn, actor, entity, "read"))
            if not found:
                raise RecordNotFound(message("not_found", actor.locale))
            if action != "read" and not self.access.permits(conn, actor, entity, found[0], action):
                raise AccessDenied(message("not_found", actor.locale))
        return self.visible(actor, entity, found[0])

    def _read_one(self, conn: Connection, actor: Actor, entity: str, record_id: int) -> builtins.list[dict[str, Any]]:
        """The record by id within the actor's read scope: one statement per (entity, scope
        shape), built once (query/prepared.py) and run with the id and the actor's ids."""
        model = self.site.blueprint.entities[entity]
        plain = self.records._plain_keys(model)

        def build() -> sa.Select:
            table = self.site.tables[entity]
            return sa.select(*((table.c[name] for name in plain) if plain is not None else (table,))).where(
                table.c.id == sa.bindparam("record_id", type_=table.c.id.type),
                self.access.row_filter(conn, actor, entity, "read", table))
        statement = self.site.queries.statements.get(("get", plain, self.access.scope_shape(actor, entity)), build)
        row = conn.execute(statement, self.access.scope_values(actor) | {"record_id": record_id}).first()
        if row is None:
            return []
        return [dict(zip(plain, row, strict=True)) if plain is not None
                else self.records.record_of(model, row._mapping)]

    def list(self, actor: Actor, query: ListQuery, connection: Connection | None = None) -> Page:
        self._check_entity(query.entity)
        if not self.access.can(actor, query.entity, "read"):
            raise AccessDenied(query.entity)
        with self._connect(connection) as conn:
            page = self.site.queries.list(conn, actor, query, self.site.now())
        return Page([self.visible(actor, query.entity, r) for r in page.records], page.next_cursor,
                    page.count, page.count_capped)

    def refuse_fields(self, actor: Actor, entity: str, values: Mapping[str, Any]) -> None:
        """Hidden and read-only fields cannot be set by this actor."""
        fields = self.site.blueprint.entities[entity].fields
        refused = {name for name in self.access.writable(actor, entity, values)
                   if not fields[name].computed}
        if refused:
            raise ValidationFailed({name: [message("field_not_allowed", actor.locale)] for name in refused})

    def refuse_unreadable_links(self, conn: Connection, actor: Actor, entity: str,
                                 values: Mapping[str, Any]) -> None:
        """A link may only point at a record the actor can see (else it would reveal it exists)."""
        fields = self.site.blueprint.entities[entity].fields
        errors: dict[str, list[str]] = {}
        for name, value in values.items():
            field = fields.get(name)
            if field is None or field.type != "reference" or value in (None, ""):
                continue
            try:
                target = coerce(field, value)  # a whole number a BIGINT holds, or refused
            except CoercionError:
                continue  # the records service reports the malformed value
            if not self.access.allows(conn, actor, field.to, target, "read"):
                errors[name] = [message("missing_reference", actor.locale)]
        if errors:
            raise ValidationFailed(errors)

    def create(self, actor: Actor, entity: str, values: Mapping[str, Any],
               connection: Connection | None = None, check_duplicates: bool = False) -> dict[str, Any]:
        """With `check_duplicates`, a record that looks like existing ones (the entity's
        `duplicates:` rules) is refused with SimilarRecordsFound and nothing is written."""
        self._check_entity(entity)
        if not self.access.can(actor, entity, "create"):
            raise AccessDenied(entity)
        self.refuse_fields(actor, entity, values)
        with self._connect(connection, write=True) as conn:
            self.refuse_unreadable_links(conn, actor, entity, values)
            record = self.records.create(entity, values, actor, connection=conn)
            self._owner_stays_in_reach(conn, actor, entity, [record])
            if check_duplicates:  # on the record as stored (coerced, defaulted); a refusal rolls it back
                self.duplicates.refuse(conn, actor, entity, record)
        return self.visible(actor, entity, record)

    def bulk_create(self, actor: Actor, entity: str, rows: Iterable[Mapping[str, Any]],
                    connection: Connection) -> builtins.list[dict[str, Any]]:
        self._check_entity(entity)
        if not self.access.can(actor, entity, "create"):
            raise AccessDenied(entity)
        rows = list(rows)
        for values in rows:
            self.refuse_fields(actor, entity, values)
            self.refuse_unreadable_links(connection, actor, entity, values)
        created = self.records.bulk_create(entity, rows, actor, connection=connection)
        self._owner_stays_in_reach(connection, actor, entity, created)
        return created

    def update(self, actor: Actor, entity: str, record_id: int, values: Mapping[str, Any],
               version: int | None = None, connection: Connection | None = None,
               check_duplicates: bool = False) -> dict[str, Any]:
        self._check_entity(entity)
        self.refuse_fields(actor, entity, values)
        with self._connect(connection, write=True) as conn:
            before = self.get(actor, entity, record_id, conn, action="update")
            self.refuse_unreadable_links(conn, actor, entity, values)
            record = self.records.update(entity, record_id, values, actor, version=version, connection=conn)
            self._owner_stays_in_reach(conn, actor, entity, [record])
            if check_duplicates:  # only when a rule's field changed (finder.py)
                self.duplicates.refuse(conn, actor, entity, record, before=before)
        return self.visible(actor, entity, record)

    def delete(self, actor: Actor, entity: str, record_id: int, connection: Connection | None = None) -> int | None:
        """Delete into the recycle bin; returns the bin entry (for an undo)."""
        self._check_entity(entity)
        with self._connect(connection, write=True) as conn:
            self.get(actor, entity, record_id, conn, action="delete")
            return self.records.delete(entity, record_id, actor, connection=conn)

    def _owner_stays_in_reach(self, conn: Connection, actor: Actor, entity: str,
                              records: Iterable[Mapping[str, Any]]) -> None:
        """A user whose scope is 'own' or 'team' may not give a record to someone outside it."""
        owner = self.site.blueprint.entities[entity].owner
        if not owner:
            return
        for record in records:
            if not self.access.may_own(conn, actor, entity, record.get(owner)):
                raise ValidationFailed({owner: [message("owner_out_of_reach", actor.locale)]})

    def _connect(self, connection: Connection | None, write: bool = False):
        if connection is not None:
            return contextlib.nullcontext(connection)
        return write_transaction(self.site.engine) if write else connect(self.site.engine)
