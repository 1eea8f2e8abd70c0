"""A renamed entity: its table renamed with the records, and every stored mention of its name moved.

An entity document that says `renamed_from: OLD` (metadata/rename_entity.py writes it) makes the
planner (migrations.py) rename table OLD to the entity's name, when OLD is there and the new name is
not: a `rename_table` step, then the columns of the table compared as usual. Before the rename, the
search index of the old name (SQLite: an FTS5 table and its triggers; PostgreSQL: trigram indexes)
is dropped: the migration builds the new name's afterwards. Its declared indexes are named after
the table (`ix_OLD_...`): the planner drops them and creates `ix_NEW_...`.

In the same transaction, `follow_table_renames` moves the entity's name where the system tables
store it as data: every system table with an `entity` column (field and stage history, comments,
files, approvals, notifications, the automation log, the outbox, the recycle bin, pool history,
saved views, derived-field definitions ...), a notification's link (`/r/OLD/...`), the autonumber
sequences (`OLD.field:...`) and the change counters.
"""
from __future__ import annotations

from typing import Mapping

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from atrium.metadata.model import Blueprint
from atrium.runtime.schema import data_versions
from atrium.runtime.schema.tables import Tables
from atrium.runtime.search.index import PREFIX, TRIGGERS, fts_name


def table_renames(blueprint: Blueprint, live_tables: set[str], extra: Mapping[str, str]) -> dict[str, str]:
    """new table name → the live table it is renamed from (`renamed_from:`, or `extra` for an undo)."""
    found: dict[str, str] = {}
    for entity in blueprint.entities.values():
        previous = extra.get(entity.name) or entity.renamed_from
        if previous and previous in live_tables and entity.name not in live_tables \
                and previous not in blueprint.entities:
            found[entity.name] = previous
    return found


def drop_search_index(connection: Connection, old: str) -> None:
    """The search objects of the table's old name (built again under the new name afterwards)."""
    quote = connection.dialect.identifier_preparer.quote
    if connection.dialect.name == "sqlite":
        master = sa.table("sqlite_master", sa.column("name"), sa.column("type"))
        present = set(connection.execute(sa.select(master.c.name).where(
            master.c.name.like(PREFIX + "%"))).scalars())
        fts = fts_name(old)
        for kind in TRIGGERS:
            if f"{fts}_{kind}" in present:
                connection.exec_driver_sql(f"DROP TRIGGER {quote(f'{fts}_{kind}')}")
        if fts in present:
            connection.exec_driver_sql(f"DROP TABLE {quote(fts)}")
        return
    for index in sa.inspect(connection).get_indexes(old):
        name = index.get("name")
        if name and name.startswith(f"{PREFIX}{old}_"):
            connection.exec_driver_sql(f"DROP INDEX {quote(name)}")


def follow_table_renames(connection: Connection, blueprint: Blueprint, tables: Tables,
                         renames: Mapping[str, str]) -> None:
    """Move the stored name of each renamed entity (new → old), in the caller's transaction."""
    if not renames:
        return
    for table in tables.metadata.tables.values():
        if not table.name.startswith("atrium_") or "entity" not in table.c:
            continue
        for new, old in renames.items():
            connection.execute(table.update().where(table.c.entity == old).values(entity=new))
    notifications = tables.system("atrium_notifications")
    sequences = tables.system("atrium_sequences")
    for new, old in renames.items():
        rows = connection.execute(sa.select(notifications.c.id, notifications.c.link)
                                  .where(notifications.c.link.like(f"/r/{old}/%"))).all()
        for row in (row for row in rows if row.link.startswith(f"/r/{old}/")):
            connection.execute(notifications.update().where(notifications.c.id == row.id)
                               .values(link=f"/r/{new}/" + row.link[len(f"/r/{old}/"):]))
        for name in connection.execute(sa.select(sequences.c.name).where(sequences.c.name.like(f"{old}.%"))).scalars():
            if name.startswith(f"{old}."):  # `_` in a LIKE pattern is any character
                connection.execute(sequences.update().where(sequences.c.name == name)
                                   .values(name=(new + name[len(old):])[:200]))
    data_versions.bump(connection, set(renames))
