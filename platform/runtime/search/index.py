"""The global search's index, built and kept by the database itself, so every write path keeps it
current (the records service, bulk changes, imports, automations, recompute, owner moves, and a
person's own SQL alike):

- **SQLite**: one FTS5 table per entity, `atrium_search_<entity>`, with the `trigram` tokenizer
  (substrings of three characters or more, Chinese included, without regard to case) over the
  entity's searchable columns (a phone's digits column for a phone field). It is an external-content
  table: it stores only the index and reads the values from the entity's table; three triggers
  (`atrium_search_<entity>_insert/_delete/_update`) keep it in step with every INSERT, DELETE and
  UPDATE of those columns.
- **PostgreSQL**: a `pg_trgm` GIN index per searchable column, `atrium_search_<entity>_<column>`,
  which serves `ILIKE '%…%'`. PostgreSQL keeps indexes current on its own. Without the pg_trgm
  extension (not installed and not installable by this user) the plan says so and the search
  still works, by scanning.

`plan` says what is missing or out of date (`atrium migrate --plan` shows it); `build` makes it so,
inside the migration's transaction, with Alembic operations where they can express the DDL (the
GIN indexes) and the DDL text SQLite defines for FTS5 tables and triggers (names are the
metadata's checked identifiers, quoted by the dialect). Phones typed before their digits column
existed get their digits here too (`fill_phone_digits`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import sqlalchemy as sa
from alembic.operations import Operations
from sqlalchemy.engine import Connection

from atrium.metadata.model import Blueprint, Entity
from atrium.runtime.records.phones import fill_phone_digits
from atrium.runtime.schema.tables import Tables, bounded_name, phone_key_column

PREFIX = "atrium_search_"
TRIGGERS = ("insert", "delete", "update")


@dataclass(frozen=True)
class SearchChange:
    kind: str  # index (build or rebuild an entity's index), fill (a phone's digits), extension, unindexed
    entity: str
    description: str
    changes_database: bool = True


def search_columns(entity: Entity, columns: Any) -> list[str]:
    """The columns the search looks in for an entity: each searchable field's column (a phone's
    digits column), among those the table has."""
    found = []
    for name in entity.searchable:
        field = entity.fields.get(name)
        column = phone_key_column(name) if field is not None and field.type == "phone" else name
        if column in columns and column not in found:
            found.append(column)
    return found


def fts_name(entity: str) -> str:
    return PREFIX + entity


# --- SQLite: FTS5 ------------------------------------------------------------------------------


def _quote(connection: Connection, name: str) -> str:
    return connection.dialect.identifier_preparer.quote_identifier(name)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def fts_statements(connection: Connection, entity: str, columns: list[str]) -> dict[str, str]:
    """name → the CREATE statement of the entity's FTS5 table and of its three triggers."""
    fts, table = fts_name(entity), entity
    q = lambda name: _quote(connection, name)  # noqa: E731
    listed = ", ".join(q(c) for c in columns)
    new_values = ", ".join(f"new.{q(c)}" for c in columns)
    old_values = ", ".join(f"old.{q(c)}" for c in columns)
    statements = {fts: (f"CREATE VIRTUAL TABLE {q(fts)} USING fts5({listed}, content={_literal(table)}, "
                        f"content_rowid='id', tokenize='trigram')")}
    insert = f"INSERT INTO {q(fts)}(rowid, {listed}) VALUES (new.id, {new_values});"
    delete = f"INSERT INTO {q(fts)}({q(fts)}, rowid, {listed}) VALUES ('delete', old.id, {old_values});"
    bodies = {"insert": ("AFTER INSERT", insert), "delete": ("AFTER DELETE", delete),
              "update": (f"AFTER UPDATE OF {listed}", delete + " " + insert)}
    for kind, (when, body) in bodies.items():
        name = f"{fts}_{kind}"
        statements[name] = f"CREATE TRIGGER {q(name)} {when} ON {q(table)} BEGIN {body} END"
    return statements


def _sqlite_objects(connection: Connection) -> dict[str, str]:
    master = sa.table("sqlite_master", sa.column("name"), sa.column("sql"), sa.column("type"))
    rows = connection.execute(sa.select(master.c.name, master.c.sql).where(
        master.c.type.in_(["table", "trigger"]), master.c.name.like(PREFIX + "%")))
    return {row.name: row.sql for row in rows}


def _sqlite_plan(connection: Connection, blueprint: Blueprint, tables: Tables,
                 live: dict[str, set[str]]) -> list[SearchChange]:
    objects = _sqlite_objects(connection)
    changes = []
    for entity in blueprint.entities.values():
        columns = search_columns(entity, tables[entity.name].c)  # as they will be once the schema is migrated
        wanted = fts_statements(connection, entity.name, columns) if columns else {}
        present = {name: sql for name, sql in objects.items()
                   if name == fts_name(entity.name) or name in {f"{fts_name(entity.name)}_{k}" for k in TRIGGERS}}
        if wanted and present != wanted:
            changes.append(SearchChange("index", entity.name, f"build the search index of {entity.name} "
                                        f"({', '.join(columns)}; SQLite FTS5 trigram)"))
        elif not wanted and present:
            changes.append(SearchChange("index", entity.name, f"drop the search index of {entity.name} "
                                        "(no searchable fields)"))
    return changes


def _sqlite_drop(connection: Connection, entity: Entity) -> None:
    objects = _sqlite_objects(connection)
    fts = fts_name(entity.name)
    for kind in TRIGGERS:
        if f"{fts}_{kind}" in objects:
            connection.exec_driver_sql(f"DROP TRIGGER {_quote(connection, f'{fts}_{kind}')}")
    if fts in objects:
        connection.exec_driver_sql(f"DROP TABLE {_quote(connection, fts)}")


def _sqlite_build(connection: Connection, blueprint: Blueprint, tables: Tables, entity: Entity) -> None:
    _sqlite_drop(connection, entity)
    fts = fts_name(entity.name)
    live = {c["name"] for c in sa.inspect(connection).get_columns(entity.name)}
    columns = search_columns(entity, live)
    if not columns:
        return
    for statement in fts_statements(connection, entity.name, columns).values():
        connection.exec_driver_sql(statement)
    # the index of the rows already there, read from the entity's table
    connection.exec_driver_sql(f"INSERT INTO {_quote(connection, fts)}({_quote(connection, fts)}) VALUES ('rebuild')")


# --- PostgreSQL: pg_trgm GIN indexes ---------------------------------------------------------


def gin_name(entity: str, column: str) -> str:
    return bounded_name(f"{PREFIX}{entity}_{column}")


def trigram_schema(connection: Connection) -> str | None:
    """The schema pg_trgm is installed in, or None."""
    return connection.execute(sa.text(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
        "WHERE e.extname = 'pg_trgm'")).scalar()


def trigram_installable(connection: Connection) -> tuple[bool, str]:
    """Whether this user may install pg_trgm here, and if not why."""
    row = connection.execute(sa.text(
        "SELECT v.trusted, r.rolsuper, has_database_privilege(current_database(), 'CREATE') AS may_create "
        "FROM pg_available_extension_versions v, pg_roles r "
        "WHERE v.name = 'pg_trgm' AND r.rolname = current_user ORDER BY v.version DESC LIMIT 1")).first()
    if row is None:
        return False, "the pg_trgm extension is not available on this PostgreSQL server (package postgresql-contrib)"
    if row.rolsuper or (row.trusted and row.may_create):
        return True, ""
    return False, "this database user may not install the pg_trgm extension"


def _postgres_plan(connection: Connection, blueprint: Blueprint, tables: Tables,
                   live: dict[str, set[str]]) -> list[SearchChange]:
    changes = []
    schema = trigram_schema(connection)
    if schema is None:
        installable, why = trigram_installable(connection)
        if not installable:
            return [SearchChange("unindexed", "", f"search without an index: {why}; it works, but slowly on "
                                 "large tables (ask an administrator to run CREATE EXTENSION pg_trgm, then migrate)",
                                 changes_database=False)]
        changes.append(SearchChange("extension", "", "create the extension pg_trgm (the search's trigram indexes)"))
    inspector = sa.inspect(connection)
    for entity in blueprint.entities.values():
        existing = ({str(ix["name"]) for ix in inspector.get_indexes(entity.name)} if entity.name in live else set())
        columns = search_columns(entity, tables[entity.name].c)
        wanted = {gin_name(entity.name, c) for c in columns}
        ours = {name for name in existing if name.startswith(PREFIX)}
        if wanted - existing or ours - wanted:
            changes.append(SearchChange("index", entity.name, f"build the search index of {entity.name} "
                                        f"({', '.join(columns) or 'none'}; PostgreSQL pg_trgm)"))
    return changes


def _postgres_build(connection: Connection, op: Operations, tables: Tables, entity: Entity) -> None:
    schema = trigram_schema(connection)
    if schema is None:
        return
    ops = f"{_quote(connection, schema)}.gin_trgm_ops"
    existing = {str(ix["name"]) for ix in sa.inspect(connection).get_indexes(entity.name)}
    columns = search_columns(entity, tables[entity.name].c)
    wanted = {gin_name(entity.name, c): c for c in columns}
    for name in sorted(existing):
        if name.startswith(PREFIX) and name not in wanted:
            op.drop_index(name, table_name=entity.name)
    for name, column in wanted.items():
        if name not in existing:
            op.create_index(name, entity.name, [column], postgresql_using="gin", postgresql_ops={column: ops})


# --- phones' digits -------------------------------------------------------------------------


def _phone_gaps(connection: Connection, blueprint: Blueprint, tables: Tables,
                live: dict[str, set[str]]) -> list[SearchChange]:
    changes = []
    for entity in blueprint.entities.values():
        for field in entity:
            if field.type != "phone" or field.name not in live.get(entity.name, set()):
                continue
            table, key = tables[entity.name], phone_key_column(field.name)
            if key in live[entity.name]:
                missing = connection.execute(sa.select(table.c.id).where(
                    table.c[field.name].is_not(None), table.c[key].is_(None)).limit(1)).first()
                if missing is None:
                    continue
            changes.append(SearchChange("fill", entity.name, f"fill {entity.name}.{key}: the digits of "
                                        f"{entity.name}.{field.name} for matching"))
    return changes


# --- the two steps the migration calls ---------------------------------------------------------


def plan(connection: Connection, blueprint: Blueprint, tables: Tables) -> list[SearchChange]:
    """What the search needs that the database lacks (only reads)."""
    inspector = sa.inspect(connection)
    live = {name: {c["name"] for c in inspector.get_columns(name)}
            for name in inspector.get_table_names() if name in blueprint.entities}
    changes = _phone_gaps(connection, blueprint, tables, live)
    if connection.dialect.name == "sqlite":
        return changes + _sqlite_plan(connection, blueprint, tables, live)
    return changes + _postgres_plan(connection, blueprint, tables, live)


def build(connection: Connection, op: Operations, blueprint: Blueprint, tables: Tables,
          progress: Callable[[str], None] | None = None) -> None:
    """Make the database hold what `plan` finds missing, in the caller's transaction (after the
    schema steps: a rebuilt SQLite table has lost its triggers, a new phone field has its column)."""
    changes = plan(connection, blueprint, tables)
    if connection.dialect.name == "sqlite":  # an index to rebuild goes first: the fills need not update it
        for change in changes:
            if change.kind == "index" and change.entity in blueprint.entities:
                _sqlite_drop(connection, blueprint.entities[change.entity])
    for change in changes:
        entity = blueprint.entities.get(change.entity)
        if change.kind == "fill" and entity is not None:
            fill_phone_digits(connection, blueprint, tables, entity)
        elif change.kind == "extension":
            with connection.begin_nested():
                op.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    for change in plan(connection, blueprint, tables):  # the indexes, once the digits are there
        entity = blueprint.entities.get(change.entity)
        if change.kind != "index" or entity is None:
            continue
        if progress is not None:
            progress(change.description)
        if connection.dialect.name == "sqlite":
            _sqlite_build(connection, blueprint, tables, entity)
        else:
            _postgres_build(connection, op, tables, entity)
