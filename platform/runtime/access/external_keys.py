"""Records found and written by another system's id: an entity's `external_key` field.

An upsert by key creates the record when no record holds the key and changes it when one does,
through `SecuredRecords`, so validation, access, history and automations are those of any save.
Sending the same values twice changes nothing the second time (the records service writes only
what differs). A reference in the values may name its target by the target's own external key:
`{"by_key": "C-001"}` becomes that record's id (refused like a missing record when there is none
the caller may read). Without a version an upsert is last-writer-wins; with one, a record saved
since is refused as stale, as a change by id is.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from atrium.errors import AtriumError
from atrium.metadata.model import Entity
from atrium.runtime.access.secured import AccessDenied, SecuredRecords
from atrium.runtime.automation.messages import message
from atrium.runtime.records.coercion import CoercionError, coerce
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.records.service import RecordNotFound, ValidationFailed

BY_KEY = "by_key"


class NoExternalKey(AtriumError):
    """The entity declares no external key: there is nothing to find its records by."""

    status, code, private = 404, "not_found", True


class UpsertsRefused(AtriumError):
    """Some records of a batch were refused: none was written; `refused` says why, by position."""

    status, code = 422, "refused"

    def __init__(self, refused: Mapping[int, Any], text: str):
        super().__init__(text)
        self.refused = dict(refused)

    def payload(self) -> dict[str, Any]:
        return {"error": self.code, "message": str(self),
                "refused": {str(index): reason for index, reason in self.refused.items()}}


@dataclass(frozen=True)
class Upserted:
    record: dict[str, Any]
    created: bool


def key_field(entity: Entity) -> str:
    if entity.external_key is None:
        raise NoExternalKey(entity.name)
    return entity.external_key


def key_value(site: Any, actor: Actor, entity: Entity, raw: Any) -> Any:
    """The key as its field stores it (an integer key given as text is read as a number)."""
    field = entity.fields[key_field(entity)]
    try:
        value = coerce(field, raw, site.blueprint.timezone)
    except CoercionError as error:
        raise ValidationFailed({field.name: [message(error.key, actor.locale, **error.params)]}) from None
    if value is None or value == "":
        raise ValidationFailed({field.name: [message("required", actor.locale)]})
    return value


def find_id(connection: Connection, site: Any, entity: Entity, value: Any) -> int | None:
    """The id of the record holding this key, whoever may see it (the key is unique)."""
    table = site.tables[entity.name]
    column = table.c[key_field(entity)]
    return connection.execute(sa.select(table.c.id).where(column == sa.bindparam("key", value))).scalar()


def resolve_links(connection: Connection, site: Any, actor: Actor, entity: Entity,
                  values: Mapping[str, Any]) -> dict[str, Any]:
    """`{"by_key": KEY}` in a reference field → the id of the target holding KEY."""
    resolved, errors = dict(values), {}
    for name, value in values.items():
        field = entity.fields.get(name)
        if field is None or field.type != "reference" or not isinstance(value, Mapping):
            continue
        target = site.blueprint.entities[field.to]
        if set(value) != {BY_KEY} or target.external_key is None:
            errors[name] = [message("missing_reference", actor.locale)]
            continue
        try:
            found = find_id(connection, site, target, key_value(site, actor, target, value[BY_KEY]))
        except ValidationFailed:
            found = None
        if found is None:
            errors[name] = [message("missing_reference", actor.locale)]
        resolved[name] = found
    if errors:
        raise ValidationFailed(errors)
    return resolved


def read(site: Any, actor: Actor, entity: Entity, raw_key: Any, connection: Connection) -> dict[str, Any]:
    found = find_id(connection, site, entity, key_value(site, actor, entity, raw_key))
    if found is None:
        raise RecordNotFound(message("not_found", actor.locale))
    return SecuredRecords(site).get(actor, entity.name, found, connection)


def upsert(site: Any, actor: Actor, entity: Entity, raw_key: Any, values: Mapping[str, Any],
           connection: Connection, version: int | None = None) -> Upserted:
    """Create or change the record holding the key, in the caller's transaction."""
    name = key_field(entity)
    key = key_value(site, actor, entity, raw_key)
    if name in values and values[name] not in (None, "") and key_value(site, actor, entity, values[name]) != key:
        raise ValidationFailed({name: [message("external_key_differs", actor.locale)]})
    values = resolve_links(connection, site, actor, entity, {**values, name: key})
    secured = SecuredRecords(site)
    found = find_id(connection, site, entity, key)
    if found is None:
        return Upserted(secured.create(actor, entity.name, values, connection), True)
    del values[name]  # unchanged: the key found it
    return Upserted(secured.update(actor, entity.name, found, values, version=version, connection=connection),
                    False)


def upsert_many(site: Any, actor: Actor, entity: Entity, rows: Sequence[Mapping[str, Any]],
                connection: Connection) -> list[Upserted]:
    """All or nothing: each row carries its key; the refusals of every row are collected first."""
    name, done, refused = key_field(entity), [], {}
    for index, row in enumerate(rows):
        try:
            with connection.begin_nested():
                done.append(upsert(site, actor, entity, row.get(name), row, connection))
        except ValidationFailed as error:
            refused[index] = error.errors
        except (RecordNotFound, AccessDenied):  # out of reach, or absent and the role may not create
            refused[index] = {name: [message("not_found", actor.locale)]}
    if refused:
        raise UpsertsRefused(refused, message("upserts_refused", actor.locale, count=len(refused)))
    return done
