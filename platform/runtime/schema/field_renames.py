"""What follows a renamed field besides its column: the stored names that speak about it.

A `renamed_from:` (runtime/schema/migrations.py plans a `rename_column` and a `rename_field` step)
renames the column; in the same transaction this module moves
- the field history (`atrium_history.field`), so the record's timeline still shows the old
  changes, under the new name;
- an autonumber field's sequences (`entity.field:prefix` in atrium_sequences): numbering carries on;
- users' saved list views (`atrium_saved_views.query`): filter keys (`amount__min`), dotted
  filters through a reference (`customer.region`) and the sort (`-amount`);
- the change counters of the entity's table (data_versions), so no cached dashboard widget or
  report computed before the rename is served after it (their keys also carry the metadata
  version).
"""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from atrium.metadata.model import Blueprint
from atrium.metadata.renames import rename_path
from atrium.runtime.schema import data_versions
from atrium.runtime.schema.tables import Tables

SUFFIXES = ("from", "to", "period", "min", "max", "q")  # a list filter's key: path__suffix (ui list_state)


@dataclass(frozen=True)
class FieldRename:
    entity: str
    old: str
    new: str


def references(blueprint: Blueprint, renames: list[FieldRename]) -> dict[tuple[str, str], str]:
    """(entity, field) → linked entity, for the new blueprint and under each renamed field's old name
    (saved paths still read the old names)."""
    found = {(entity.name, field.name): field.to for entity in blueprint.entities.values()
             for field in entity if field.type == "reference" and field.to}
    for rename in renames:
        if (rename.entity, rename.new) in found:
            found[(rename.entity, rename.old)] = found[(rename.entity, rename.new)]
    return found


def saved_query(links: dict[tuple[str, str], str], entity: str, query: str, rename: FieldRename) -> str:
    """A saved view's query string with the renamed field's paths renamed."""
    pairs = []
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key == "sort":
            value = ",".join(rename_path(links, entity, part, rename.entity, rename.old, rename.new)
                             for part in value.split(","))
        else:
            path, _, suffix = key.rpartition("__")
            if not path or suffix not in SUFFIXES:
                path, suffix = key, ""
            path = rename_path(links, entity, path, rename.entity, rename.old, rename.new)
            key = f"{path}__{suffix}" if suffix else path
        pairs.append((key, value))
    return urlencode(pairs)


def follow_renames(connection: Connection, blueprint: Blueprint, tables: Tables, renames: list[FieldRename]) -> None:
    """Move the stored names of each renamed field (see the module's words), in the caller's transaction."""
    if not renames:
        return
    history = tables.system("atrium_history")
    views = tables.system("atrium_saved_views")
    links = references(blueprint, renames)
    sequences = tables.system("atrium_sequences")
    for rename in renames:
        connection.execute(history.update()
                           .where(history.c.entity == rename.entity, history.c.field == rename.old)
                           .values(field=rename.new))
        prefix = f"{rename.entity}.{rename.old}:"  # an autonumber's sequences: numbering carries on
        held = sa.select(sequences.c.name).where(sequences.c.name.like(prefix + "%"))
        for name in connection.execute(held).scalars():
            if name.startswith(prefix):
                connection.execute(sequences.update().where(sequences.c.name == name)
                                   .values(name=f"{rename.entity}.{rename.new}:{name[len(prefix):]}"[:200]))
    rows = connection.execute(sa.select(views.c.id, views.c.entity, views.c.query)).all()
    for row in rows:
        query = row.query
        for rename in renames:
            query = saved_query(links, row.entity, query, rename)
        if query != row.query:
            connection.execute(views.update().where(views.c.id == row.id).values(query=query))
    data_versions.bump(connection, {rename.entity for rename in renames})
