"""A renamed stage or option: the records holding the old value get the new one, and history follows.

A pipeline's `renamed: {won: closed_won}` (a select or multiselect field's `renamed:` for an option;
metadata/rename_values.py writes them) tells the planner (migrations.py) that a value records hold
and the metadata no longer lists is the listed value under its new name, not a stranded one: a
`rename_value` step instead of a refusal. Applied in the migration's transaction, it
- gives the records the new value (a multiselect's array keeps its other items), their version up
  so a form opened before is refused as stale;
- rewrites the field history (`atrium_history` old and new values) and, for a stage, the stage
  history (`from_stage`, `to_stage`): no move is recorded, the records were never moved;
- rewrites users' saved list views that filter on the value (`stage=won`);
- raises the entity's change counter, so no cached report or widget shows the old value.
A stage history holding the old value plans the step too, even when no record is in the stage now.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping
from urllib.parse import parse_qsl, urlencode

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from atrium.metadata.model import Blueprint
from atrium.runtime.schema import data_versions
from atrium.runtime.schema.tables import Tables
from atrium.runtime.schema.value_moves import CHUNK, Stranded, _elements, _is_array

# an undo's way back: (entity, field) → {value now: the value it had}
ValueRenames = Mapping[tuple[str, str], Mapping[Any, Any]]


@dataclass(frozen=True)
class ValueRename:
    entity: str
    field: str
    kind: str  # stage, select, multiselect
    old: Any
    new: Any
    pipeline: str | None = None


def declared(blueprint: Blueprint, extra: ValueRenames | None = None) -> list[ValueRename]:
    """Every value rename the metadata declares (and `extra`), by entity and field."""
    found: list[ValueRename] = []
    for entity in blueprint.entities.values():
        for field in entity:
            if field.type == "stage":
                pipeline = blueprint.pipelines.get(field.pipeline or "")
                renamed: Mapping[Any, Any] = pipeline.renamed if pipeline is not None else {}
                listed: tuple[Any, ...] = pipeline.stage_names if pipeline is not None else ()
            elif field.type in ("select", "multiselect"):
                pipeline, renamed, listed = None, field.renamed, field.option_values
            else:
                continue
            pairs = {**renamed, **(extra or {}).get((entity.name, field.name), {})}
            found += [ValueRename(entity.name, field.name, field.type, old, new, pipeline.name if pipeline else None)
                      for old, new in pairs.items() if new in listed and old not in listed]
    return found


def of_step(blueprint: Blueprint, entity: str, field: str, old: Any, new: Any) -> ValueRename:
    """The rename a `rename_value` step applies."""
    model = blueprint.entities[entity].fields[field]
    pipeline = blueprint.pipelines.get(model.pipeline or "") if model.type == "stage" else None
    return ValueRename(entity, field, model.type, old, new, pipeline.name if pipeline is not None else None)


def planned(connection: Connection, tables: Tables, renames: list[ValueRename],
            stranded: list[Stranded]) -> tuple[list[tuple[ValueRename, int]], list[Stranded]]:
    """(each rename to apply with the records holding the old value, the stranded values left):
    a rename applies when records hold the old value or a stage history still names it."""
    by_value = {(r.entity, r.field, str(r.old)): r for r in renames}
    steps: dict[tuple[str, str, str], tuple[ValueRename, int]] = {}
    left: list[Stranded] = []
    for item in stranded:
        rename = by_value.get((item.entity, item.field, str(item.value)))
        if rename is None:
            left.append(item)
        else:
            steps[(item.entity, item.field, str(item.value))] = (rename, item.records)
    stages = tables.system("atrium_stage_history")
    for key, rename in by_value.items():
        if key in steps or rename.pipeline is None:
            continue
        held = connection.execute(sa.select(stages.c.id).where(
            stages.c.entity == rename.entity, stages.c.pipeline == rename.pipeline,
            sa.or_(stages.c.from_stage == str(rename.old), stages.c.to_stage == str(rename.old))).limit(1)).first()
        if held is not None:
            steps[key] = (rename, 0)
    return list(steps.values()), left


def rename_value(connection: Connection, tables: Tables, rename: ValueRename) -> None:
    """Apply one rename (see the module's words), in the caller's transaction."""
    table = tables[rename.entity]
    column = table.c[rename.field]
    if rename.kind == "multiselect":
        items = _elements(connection, column)
        holding = (sa.select(table.c.id).select_from(table.join(items, sa.true()))
                   .where(column.is_not(None), _is_array(connection, column), items.c.value == str(rename.old)))
        rows = connection.execute(sa.select(table.c.id, column).where(table.c.id.in_(holding))).all()
        statement = (table.update().where(table.c.id == sa.bindparam("record_id"))
                     .values({rename.field: sa.bindparam("renamed"), "version": table.c.version + 1}))
        changes = [{"record_id": row[0], "renamed": _in(row[1], rename)} for row in rows]
        for start in range(0, len(changes), CHUNK):
            connection.execute(statement, changes[start:start + CHUNK])
    else:
        connection.execute(table.update().where(column == str(rename.old))
                           .values({rename.field: rename.new, "version": table.c.version + 1}))
    _history(connection, tables, rename)
    _saved_views(connection, tables, rename)
    data_versions.bump(connection, {rename.entity})


def _in(value: Any, rename: ValueRename) -> Any:
    """A stored value (or a multiselect's list) with the old value made the new one."""
    if isinstance(value, list):
        return [rename.new if str(item) == str(rename.old) else item for item in value]
    return rename.new if value is not None and str(value) == str(rename.old) else value


def _history(connection: Connection, tables: Tables, rename: ValueRename) -> None:
    history = tables.system("atrium_history")
    mentioned = f"%{json.dumps(str(rename.old))[1:-1]}%"
    query = sa.select(history.c.id, history.c.old_value, history.c.new_value).where(
        history.c.entity == rename.entity, history.c.field == rename.field,
        sa.or_(sa.cast(history.c.old_value, sa.Text).like(mentioned),
               sa.cast(history.c.new_value, sa.Text).like(mentioned)))
    changes = [{"row": row.id, "before": _in(row.old_value, rename), "after": _in(row.new_value, rename)}
               for row in connection.execute(query)
               if (_in(row.old_value, rename), _in(row.new_value, rename)) != (row.old_value, row.new_value)]
    statement = (history.update().where(history.c.id == sa.bindparam("row"))
                 .values(old_value=sa.bindparam("before"), new_value=sa.bindparam("after")))
    for start in range(0, len(changes), CHUNK):
        connection.execute(statement, changes[start:start + CHUNK])
    if rename.pipeline is None:
        return
    stages = tables.system("atrium_stage_history")
    for column in ("from_stage", "to_stage"):
        connection.execute(stages.update().where(stages.c.entity == rename.entity,
                                                 stages.c.pipeline == rename.pipeline,
                                                 stages.c[column] == str(rename.old))
                           .values({column: rename.new}))


def _saved_views(connection: Connection, tables: Tables, rename: ValueRename) -> None:
    """Saved list queries filtering the field on the old value (`stage=won`, `stage=won,lost`)."""
    views = tables.system("atrium_saved_views")
    rows = connection.execute(sa.select(views.c.id, views.c.query).where(views.c.entity == rename.entity)).all()
    for row in rows:
        pairs = []
        for key, value in parse_qsl(row.query, keep_blank_values=True):
            if key == rename.field:
                value = ",".join(str(rename.new) if part == str(rename.old) else part for part in value.split(","))
            pairs.append((key, value))
        query = urlencode(pairs)
        if query != row.query:
            connection.execute(views.update().where(views.c.id == row.id).values(query=query))
