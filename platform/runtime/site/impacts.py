"""What a metadata change takes out of people's sight, counted in the live database.

Migrations never drop data: a removed field keeps its column, a removed entity its table. But
those values no longer show in forms, lists and reports, so the studio names each such loss with
how many records it touches and asks for an explicit confirmation before applying. (A removed
option or stage some record holds is the migration's business: it moves the records where the
metadata says, or refuses; schema/value_moves.py.)
"""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from atrium.metadata.model import Blueprint
from atrium.runtime.schema.tables import build_tables


@dataclass(frozen=True)
class Impact:
    """One thing that leaves sight: `records` is how many stored records hold it."""

    kind: str  # entity, field
    entity: str
    name: str
    records: int
    en: str
    zh: str

    def text(self, locale: str) -> str:
        return self.zh if locale == "zh" else self.en


def _count(connection: Connection, table: sa.Table, *where) -> int:
    return int(connection.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar() or 0)


def _live(connection: Connection) -> dict[str, set[str]]:
    inspector = sa.inspect(connection)
    return {name: {c["name"] for c in inspector.get_columns(name)} for name in inspector.get_table_names()}


def impacts(connection: Connection, old: Blueprint, new: Blueprint) -> list[Impact]:
    """Entities and fields `old` shows and `new` does not, with the number of records that hold
    each."""
    tables = build_tables(old)
    live = _live(connection)
    found: list[Impact] = []
    moved = {entity.renamed_from: entity.name for entity in new.entities.values() if entity.renamed_from}
    for name, entity in old.entities.items():
        if name not in live:
            continue
        table = tables[name]
        if name not in new.entities and moved.get(name) in new.entities:  # renamed: the records go along
            continue
        if name not in new.entities:
            count = _count(connection, table)
            found.append(Impact("entity", name, name, count,
                                f"Entity {name} is removed: its {count} record(s) stay in table {name} but no "
                                f"longer show anywhere",
                                f"实体 {name} 被移除：其 {count} 条记录仍保存在数据表 {name} 中，但不再显示"))
            continue
        kept = new.entities[name]
        renamed = {f.renamed_from for f in kept if f.renamed_from}
        for field in entity:
            if field.computed and field.name not in kept.fields:
                continue  # computed values are not data anyone typed
            if field.name not in kept.fields and field.name not in renamed:
                if field.name not in live[name] or field.type == "location":
                    continue
                count = _count(connection, table, table.c[field.name].is_not(None))
                found.append(Impact("field", name, field.name, count,
                                    f"Field {name}.{field.name} is hidden: {count} record(s) have a value; the "
                                    f"column and its values stay in the database but no longer show",
                                    f"字段 {name}.{field.name} 被隐藏：{count} 条记录有值；该列及其数据仍保留在"
                                    f"数据库中，但不再显示"))
    return found

