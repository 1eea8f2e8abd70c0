"""Audit trails the records service writes: field history, stage history, autonumbers."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any, Iterable, Mapping

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from atrium.runtime.schema.bulk_statements import Same, execute_columns, execute_many
from atrium.runtime.schema.tables import Tables

SEQUENCE = re.compile(r"\{seq(?::(\d+))?\}")
DATE_PARTS = {"{yyyy}": "%Y", "{yy}": "%y", "{mm}": "%m", "{dd}": "%d"}


_JSON_NATIVE = frozenset({str, int, float, bool})


def json_value(value: Any) -> Any:
    """A value as it is kept in JSON history columns."""
    if value is None or type(value) in _JSON_NATIVE:  # the common case, checked first: it is hot
        return value
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


class Audit:
    def __init__(self, tables: Tables):
        self.history = tables.system("atrium_history")
        self.stages = tables.system("atrium_stage_history")
        self.sequences = tables.system("atrium_sequences")

    def record_changes(self, connection: Connection, entity: str, record_id: int, action: str,
                       changes: Iterable[tuple[str | None, Any, Any]], at: dt.datetime,
                       by: int | None) -> None:
        rows = [{"entity": entity, "record_id": record_id, "action": action, "field": field,
                 "old_value": json_value(old), "new_value": json_value(new),
                 "changed_at": at, "changed_by": by} for field, old, new in changes]
        if rows:
            connection.execute(self.history.insert(), rows)

    def record_many(self, connection: Connection, entity: str, action: str,
                    changes: Iterable[tuple[int, Iterable[tuple[str | None, Any, Any]]]],
                    at: dt.datetime, by: int | None) -> None:
        """`record_changes` for many records in one INSERT (the bulk update path), its
        parameters built column by column: what every row shares is given once (bulk updates, and the
        fields of every record a create writes)."""
        ids, names, olds, news = [], [], [], []
        for record_id, fields in changes:
            for field, old, new in fields:
                ids.append(record_id)
                names.append(field)
                olds.append(json_value(old))
                news.append(json_value(new))
        shared = {"entity": Same(entity), "action": Same(action), "changed_at": Same(at), "changed_by": Same(by)}
        for start in range(0, len(ids), 5000):
            end = start + 5000
            execute_columns(connection, self.history.insert(), len(ids[start:end]), {
                **shared, "record_id": ids[start:end], "field": names[start:end],
                "old_value": olds[start:end], "new_value": news[start:end]})

    def record_creations(self, connection: Connection, entity: str, ids: Iterable[int],
                         at: dt.datetime, by: int | None) -> None:
        ids = list(ids)  # one row a record, built column by column: only the id differs
        execute_columns(connection, self.history.insert(), len(ids), {
            "entity": Same(entity), "record_id": ids, "action": Same("create"), "field": Same(None),
            "old_value": Same(None), "new_value": Same(None), "changed_at": Same(at), "changed_by": Same(by)})

    def record_stage(self, connection: Connection, entity: str, pipeline: str,
                     moves: Iterable[tuple[int, str | None, str]], at: dt.datetime,
                     by: int | None) -> None:
        rows = []
        for record_id, source, target in moves:
            seconds = None
            if source is not None:
                entered = connection.execute(
                    sa.select(sa.func.max(self.stages.c.changed_at))
                    .where(self.stages.c.entity == entity, self.stages.c.record_id == record_id)).scalar()
                if entered is not None:
                    if entered.tzinfo is None:
                        entered = entered.replace(tzinfo=dt.timezone.utc)
                    seconds = (at - entered).total_seconds()
            rows.append({"entity": entity, "record_id": record_id, "pipeline": pipeline,
                         "from_stage": source, "to_stage": target, "changed_at": at,
                         "changed_by": by, "seconds_in_from": seconds})
        execute_many(connection, self.stages.insert(), rows)

    def record_stage_walks(self, connection: Connection, entity: str, pipeline: str,
                           walks: Iterable[tuple[int, int | None, list[tuple[str, dt.datetime]]]]) -> None:
        """Stage history for records created directly at a later stage (demo data): each walk is
        (record id, by, [(stage, entered at), ...]) from the first stage to the current one. It
        replaces the single row the records service wrote when it created those records."""
        walks = [walk for walk in walks if len(walk[2]) > 1]
        ids = [record_id for record_id, _, _ in walks]
        for start in range(0, len(ids), 500):
            connection.execute(self.stages.delete().where(
                self.stages.c.entity == entity, self.stages.c.from_stage.is_(None),
                self.stages.c.record_id.in_(ids[start:start + 500])))
        rows = []
        for record_id, by, steps in walks:
            previous: list[tuple[str | None, dt.datetime | None]] = [(None, None), *steps[:-1]]
            for (source, left), (target, at) in zip(previous, steps, strict=False):
                rows.append({"entity": entity, "record_id": record_id, "pipeline": pipeline,
                             "from_stage": source, "to_stage": target, "changed_at": at, "changed_by": by,
                             "seconds_in_from": (at - left).total_seconds() if left else None})
        if rows:
            connection.execute(self.stages.insert(), rows)

    def next_numbers(self, connection: Connection, key: str, count: int) -> int:
        """Reserve `count` numbers of sequence `key`; returns the first. Safe across workers."""
        table = self.sequences
        updated = connection.execute(table.update().where(table.c.name == key)
                                     .values(value=table.c.value + count)
                                     .returning(table.c.value)).scalar()
        if updated is None:
            insert = (postgresql.insert(table) if connection.dialect.name == "postgresql"
                      else sqlite.insert(table))
            connection.execute(insert.values(name=key, value=0).on_conflict_do_nothing())
            updated = connection.execute(table.update().where(table.c.name == key)
                                         .values(value=table.c.value + count)
                                         .returning(table.c.value)).scalar_one()
        return updated - count + 1


def format_number(template: str, moment: dt.datetime, number: int) -> str:
    text = template
    for token, pattern in DATE_PARTS.items():
        text = text.replace(token, moment.strftime(pattern))
    return SEQUENCE.sub(lambda m: str(number).zfill(int(m.group(1) or 0)), text)


def sequence_key(entity: str, field: str, template: str, moment: dt.datetime) -> str:
    """Numbers restart when the formatted prefix changes (a new year for ORD-{yyyy}-…)."""
    prefix = SEQUENCE.sub("", template)
    for token, pattern in DATE_PARTS.items():
        prefix = prefix.replace(token, moment.strftime(pattern))
    return f"{entity}.{field}:{prefix}"[:200]


def changed_fields(before: Mapping[str, Any], after: Mapping[str, Any],
                   fields: Iterable[str]) -> list[tuple[str, Any, Any]]:
    return [(name, before.get(name), after.get(name)) for name in fields
            if before.get(name) != after.get(name)]
