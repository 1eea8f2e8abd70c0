"""Stages and options taken out of the metadata while records still hold them.

A migration never strands a record in a value the metadata no longer has (it could not be saved
again, and a board would show it in a "(none)" column). `stranded_values` counts, per stage,
select and multiselect column, the records holding a value that is no longer listed. Each such
value either has an entry in the metadata's `moved` map (the pipeline's for a stage, the field's
for an option; `moved_to:` in an overlay) and becomes a `move_values` step of the plan, or the
plan refuses, naming the count (`Stranded.text`, in the reader's language).

`move_values` runs a step inside the migration's transaction: the records get the new value
(a multiselect loses the removed value and gains the new one, once), their version goes up, field
history (atrium_history, action `update`, by nobody: the system) records each record's old and
new value, and a stage move adds a stage history row marked `migrated`, which learned
probabilities and stage durations leave out (records/stage_analytics.py).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Mapping

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from atrium.metadata.model import Blueprint, Field
from atrium.runtime.schema.tables import Tables
from atrium.translation import N_, word

MOVABLE = ("stage", "select", "multiselect")
CHUNK = 1000  # records per statement
SHOWN_VALUES = 10  # values named per column in a refusal; the rest are counted

REFUSED_STAGE = N_("{entity}.{field}: {count} record(s) hold stage '{value}', which the pipeline no longer has; "
                   "say where they go: `moved: {{{value}: STAGE}}` on pipeline {pipeline} "
                   "(or `moved_to: STAGE` beside `remove: true`)")
REFUSED_OPTION = N_("{entity}.{field}: {count} record(s) hold option '{value}', which the field no longer has; "
                    "say where they go: `moved: {{{value}: OPTION}}` on the field "
                    "(or `moved_to: OPTION` beside `remove: true`)")
MORE_VALUES = N_("{entity}.{field}: and {count} more value(s) no longer listed")
MOVE_WORDS = N_("{count} record(s) move from {value} to {target} ({entity}.{field})")


@dataclass(frozen=True)
class Stranded:
    """`records` records of `entity` hold `value` in `field`, which the metadata no longer lists;
    `target` is where the metadata says they go (None: nowhere, the migration refuses)."""

    entity: str
    field: str
    kind: str  # stage, select, multiselect
    value: Any
    records: int
    target: Any = None
    pipeline: str | None = None

    def text(self, locale: str | None) -> str:
        """Why the migration refuses, in the reader's language."""
        text = REFUSED_STAGE if self.kind == "stage" else REFUSED_OPTION
        return word(text, locale, entity=self.entity, field=self.field, count=self.records, value=self.value,
                    pipeline=self.pipeline or "")

    def move_text(self, locale: str | None) -> str:
        """The plan's step: "41 records move from needs_confirmed to proposal (order.stage)"."""
        return word(MOVE_WORDS, locale, count=self.records, value=self.value, target=self.target,
                    entity=self.entity, field=self.field)


def _listed(blueprint: Blueprint, field: Field) -> tuple[list[str], Mapping[Any, Any], str | None]:
    """(the values the field may hold as stored text, its moved map, its pipeline)."""
    if field.type == "stage":
        pipeline = blueprint.pipelines.get(field.pipeline or "")
        if pipeline is None:
            return [], {}, None
        return list(pipeline.stage_names), pipeline.moved, pipeline.name
    return [str(value) for value in field.option_values], field.moved, None


def _elements(connection: Connection, column: sa.ColumnElement) -> Any:
    """The items of a multiselect's JSON array, one row each, as a FROM item beside its table."""
    if connection.dialect.name == "postgresql":
        return sa.func.json_array_elements_text(column).table_valued("value")
    return sa.func.json_each(column).table_valued("value")


def _is_array(connection: Connection, column: sa.ColumnElement) -> sa.ColumnElement:
    function = sa.func.json_typeof if connection.dialect.name == "postgresql" else sa.func.json_type
    return function(column) == "array"


def _held(connection: Connection, table: sa.TableClause, field: Field) -> dict[str, int]:
    """Stored value (as text) → how many records hold it."""
    column = table.c[field.name]
    if field.type == "multiselect":
        items = _elements(connection, column)
        query = (sa.select(items.c.value, sa.func.count(sa.distinct(table.c.id)))
                 .select_from(table.join(items, sa.true()))
                 .where(column.is_not(None), _is_array(connection, column)).group_by(items.c.value))
    else:
        query = sa.select(column, sa.func.count()).where(column.is_not(None)).group_by(column)
    return {str(value): int(count) for value, count in connection.execute(query) if value is not None}


def stranded_values(connection: Connection, blueprint: Blueprint, tables: Tables,
                    live: Mapping[str, set[str]], renamed: Mapping[str, str] | None = None) -> list[Stranded]:
    """Every value records hold that their stage, select or multiselect field no longer lists
    (`live`: the database's tables and their columns; a column not there yet holds nothing;
    `renamed`: a table's name → the name it has in the database until the migration renames it)."""
    found: list[Stranded] = []
    for name, entity in blueprint.entities.items():
        if name not in live:
            continue
        table: sa.TableClause = tables[name]
        if (renamed or {}).get(name, name) != name:
            table = sa.table((renamed or {})[name], *(sa.column(c.name, c.type) for c in table.columns))
        for field in entity:
            if field.type not in MOVABLE or field.computed or field.name not in live[name]:
                continue
            listed, moved, pipeline = _listed(blueprint, field)
            if field.type == "stage" and pipeline is None:
                continue
            moves = {str(old): new for old, new in moved.items()}
            for value, count in sorted(_held(connection, table, field).items()):
                if value not in listed:
                    found.append(Stranded(name, field.name, field.type, value, count, moves.get(value), pipeline))
    return found


def refusals(stranded: list[Stranded], locale: str | None) -> list[str]:
    """The refusal of each value with nowhere to go, a few per column, the rest counted."""
    texts: list[str] = []
    shown: dict[tuple[str, str], int] = {}
    for item in stranded:
        if item.target is not None:
            continue
        key = (item.entity, item.field)
        shown[key] = shown.get(key, 0) + 1
        if shown[key] <= SHOWN_VALUES:
            texts.append(item.text(locale))
    for (entity, field), count in shown.items():
        if count > SHOWN_VALUES:
            texts.append(word(MORE_VALUES, locale, entity=entity, field=field, count=count - SHOWN_VALUES))
    return texts


def move_values(connection: Connection, blueprint: Blueprint, tables: Tables, entity: str, field_name: str,
                value: Any, target: Any, at: dt.datetime | None = None) -> list[int]:
    """Give every record of `entity` holding `value` in `field_name` the value `target` instead,
    with field history and (for a stage) stage history; returns the ids of the records moved."""
    at = at or dt.datetime.now(dt.timezone.utc)
    field = blueprint.entities[entity].fields[field_name]
    table = tables[entity]
    column = table.c[field_name]
    changes: list[tuple[int, Any, Any]]  # record id, old value, new value
    if field.type == "multiselect":
        items = _elements(connection, column)
        holding = (sa.select(table.c.id).select_from(table.join(items, sa.true()))
                   .where(column.is_not(None), _is_array(connection, column), items.c.value == str(value)))
        query = sa.select(table.c.id, column).where(table.c.id.in_(holding)).order_by(table.c.id)
        rows = [(record_id, list(old)) for record_id, old in connection.execute(query)]
        changes = [(record_id, old, _replaced(old, value, target)) for record_id, old in rows]
        statement = (table.update().where(table.c.id == sa.bindparam("record_id"))
                     .values({field_name: sa.bindparam("new_value"), "version": table.c.version + 1,
                              "updated_at": at}))
        for start in range(0, len(changes), CHUNK):
            connection.execute(statement, [{"record_id": record_id, "new_value": new}
                                           for record_id, _, new in changes[start:start + CHUNK]])
    else:
        ids = [row[0] for row in connection.execute(
            sa.select(table.c.id).where(column == str(value)).order_by(table.c.id))]
        changes = [(record_id, str(value), target) for record_id in ids]
        for start in range(0, len(ids), CHUNK):
            connection.execute(table.update().where(table.c.id.in_(ids[start:start + CHUNK]))
                               .values({field_name: target, "version": table.c.version + 1, "updated_at": at}))
    _record_history(connection, blueprint, tables, entity, field, changes, at)
    return [record_id for record_id, _, _ in changes]


def _replaced(old: list[Any], value: Any, target: Any) -> list[Any]:
    kept = [item for item in old if str(item) != str(value)]
    return kept if any(str(item) == str(target) for item in kept) else kept + [target]


def _record_history(connection: Connection, blueprint: Blueprint, tables: Tables, entity: str, field: Field,
                    changes: list[tuple[int, Any, Any]], at: dt.datetime) -> None:
    history = tables.system("atrium_history")
    rows = [{"entity": entity, "record_id": record_id, "action": "update", "field": field.name,
             "old_value": old, "new_value": new, "changed_at": at, "changed_by": None}
            for record_id, old, new in changes]
    for start in range(0, len(rows), CHUNK):
        connection.execute(history.insert(), rows[start:start + CHUNK])
    if field.type != "stage":
        return
    stages = tables.system("atrium_stage_history")
    pipeline = blueprint.pipelines[field.pipeline or ""].name
    moves = [{"entity": entity, "record_id": record_id, "pipeline": pipeline, "from_stage": old,
              "to_stage": new, "changed_at": at, "changed_by": None, "seconds_in_from": None, "migrated": True}
             for record_id, old, new in changes]
    for start in range(0, len(moves), CHUNK):
        connection.execute(stages.insert(), moves[start:start + CHUNK])
