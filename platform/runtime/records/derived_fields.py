"""Which stored derived values (formulas, roll-ups, fields follow-ups move forward) a metadata
change makes stale, and in which order they are computed again.

The database remembers the definition each derived field was last computed by
(`atrium_derived_fields`: entity, field, definition). A field whose definition differs from the
model's (new, changed formula or roll-up, changed type) is stale; so is every derived field that
reads a stale one (a formula over a changed roll-up, a roll-up over a changed formula). They are
computed in dependency order: what a field reads first.
"""
from __future__ import annotations

from typing import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from atrium.metadata.model import Blueprint, Entity, Field
from atrium.runtime.schema.tables import Tables

Key = tuple[str, str]  # (entity, field)
STATE = "atrium_derived_fields"


def definition(field: Field) -> str | None:
    """The text a stored derived value depends on; None for a field the engine does not derive."""
    if field.formula is not None:
        return f"{field.type}|formula|{field.formula.source.strip()}"
    if field.rollup is not None:
        rollup = field.rollup
        where = rollup.where.source.strip() if rollup.where is not None else ""
        return f"{field.type}|rollup|{rollup.entity}.{rollup.via}|{rollup.function}|{rollup.field}|{where}"
    return None


def follow_up_definition(blueprint: Blueprint, entity: Entity, field: Field) -> str | None:
    """The text a field follow-ups move forward depends on (each counting entity's `follow_up:`);
    None when no entity counts for it."""
    specs = sorted((child.name, child.follow_up) for child in blueprint.entities.values()
                   if child.follow_up is not None and child.follow_up.parent == entity.name
                   and child.follow_up.sets == field.name)
    if not specs:
        return None
    parts = [f"{name}.{spec.of}|{spec.at}|{spec.when.source.strip() if spec.when is not None else ''}"
             for name, spec in specs]
    return f"{field.type}|follow_up|" + ";".join(parts)


def definition_in(blueprint: Blueprint, entity: Entity, field: Field) -> str | None:
    """`definition`, or the follow-ups' for a stored field they move forward."""
    return definition(field) or follow_up_definition(blueprint, entity, field)


def derived(blueprint: Blueprint) -> dict[Key, str]:
    return {(entity.name, field.name): text for entity in blueprint.entities.values()
            for field in entity if (text := definition_in(blueprint, entity, field)) is not None}


def remembered(connection: Connection, tables: Tables) -> dict[Key, str]:
    if not sa.inspect(connection).has_table(STATE):
        return {}
    table = tables.system(STATE)
    return {(row.entity, row.field): row.definition for row in connection.execute(sa.select(table))}


def stale(connection: Connection, blueprint: Blueprint, tables: Tables) -> list[Key]:
    """The derived fields whose stored values were computed by another definition (or never)."""
    known = remembered(connection, tables)
    return [key for key, text in derived(blueprint).items() if known.get(key) != text]


def remember(connection: Connection, blueprint: Blueprint, tables: Tables, keys: Iterable[Key] | None = None) -> None:
    """Record the model's definitions as the ones the stored values were computed by; a field
    no longer derived is forgotten (its column is no longer kept current: added back, it is stale)."""
    table = tables.system(STATE)
    current = derived(blueprint)
    chosen = set(current) if keys is None else set(keys) & set(current)
    known = remembered(connection, tables)
    for entity, field in sorted(set(known) - set(current)):
        connection.execute(table.delete().where(table.c.entity == entity, table.c.field == field))
    for entity, field in sorted(chosen):
        text = current[(entity, field)]
        if (entity, field) in known:
            connection.execute(table.update().where(table.c.entity == entity, table.c.field == field)
                               .values(definition=text))
        else:
            connection.execute(table.insert().values(entity=entity, field=field, definition=text))


def reads(blueprint: Blueprint, entity: Entity, field: Field) -> set[Key]:
    """The stored fields a derived field is computed from (its own entity's, its children's, and
    through a dotted path a linked entity's)."""
    found: set[Key] = set()
    expressions = []
    if field.formula is not None:
        expressions.append((entity, field.formula))
    if field.rollup is not None:
        child = blueprint.entities[field.rollup.entity]
        found.add((child.name, field.rollup.field))
        if field.rollup.where is not None:
            expressions.append((child, field.rollup.where))
    for child in blueprint.entities.values():  # the follow-ups that move this field forward
        spec = child.follow_up
        if spec is not None and spec.parent == entity.name and spec.sets == field.name:
            found.add((child.name, spec.at))
            if spec.when is not None:
                expressions.append((child, spec.when))
    for owner, expression in expressions:
        found |= {(owner.name, name) for name in expression.names if name in owner.fields}
        for path in expression.paths:
            found |= _path_fields(blueprint, owner, path)
    return found


def _path_fields(blueprint: Blueprint, entity: Entity, path: tuple[str, ...]) -> set[Key]:
    """Each step of a dotted path: the reference fields it follows and the field it ends on."""
    found: set[Key] = set()
    current: Entity | None = entity
    for step in path:
        if current is None or step not in current.fields:
            break
        found.add((current.name, step))
        target = current.fields[step].to
        current = blueprint.entities.get(target) if target else None
    return found


def ordered(blueprint: Blueprint, keys: Iterable[Key]) -> list[tuple[Entity, Field]]:
    """`keys` and every derived field reading one of them, each after the derived fields it reads."""
    graph = {(entity.name, field.name): reads(blueprint, entity, field)
             for entity in blueprint.entities.values() for field in entity
             if definition_in(blueprint, entity, field) is not None}
    wanted = {key for key in keys if key in graph}
    grown = True
    while grown:
        grown = False
        for key, inputs in graph.items():
            if key not in wanted and inputs & wanted:
                wanted.add(key)
                grown = True
    result: list[Key] = []
    visiting: set[Key] = set()

    def visit(key: Key) -> None:
        if key in result or key in visiting:  # a cycle is refused at load; never loop here
            return
        visiting.add(key)
        for dependency in sorted(graph[key] & wanted):
            visit(dependency)
        visiting.discard(key)
        result.append(key)

    for key in sorted(wanted):
        visit(key)
    return [(blueprint.entities[e], blueprint.entities[e].fields[f]) for e, f in result]
