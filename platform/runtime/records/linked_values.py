"""The values of linked records that expressions read through dotted paths (`product.price`,
`order.customer.level`, `owner.team`), loaded set-wise and put in the records' variables under the
joined key ("order.customer.level"; None when a link is empty).

One query per link followed per batch of records, never one per record: `LinkedRead` keeps what
it read for the connection's batch, so a bulk write warms it once (`warm`) and each record's rules
then find their values without a query. Reading ignores access: rules are about integrity; what a
page shows of a derived value is the access layer's business.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from atrium.metadata.entities import system_field
from atrium.metadata.expression_paths import USER, LinkedPath, linked_paths
from atrium.metadata.expressions import Expression
from atrium.metadata.model import SYSTEM_FIELDS, Blueprint, Entity, Field
from atrium.runtime.records.coercion import CoercionError, coerce
from atrium.runtime.schema.bulk_statements import among_ids
from atrium.runtime.schema.tables import Tables

# A trie of paths: field → (the entity it links to, or None for the field read at the end; what
# is read of that entity).
Trie = dict[str, tuple[str | None, "Trie"]]
CHUNK = 5_000  # ids per query


def entity_expressions(entity: Entity) -> list[Expression]:
    """The expressions the record rules evaluate on a record: formulas, defaults, conditions, checks."""
    found = [e for field in entity for e in (field.formula, field.default, field.required_when,
                                              field.visible_when) if e is not None]
    for check in entity.checks:
        found += [check.assertion] + ([check.when] if check.when is not None else [])
    return found


def path_trie(paths: Iterable[LinkedPath]) -> Trie:
    trie: Trie = {}
    for path in paths:
        node = trie
        for index, step in enumerate(path.steps):
            last = index == len(path.steps) - 1
            target = None if last else path.entities[index + 1]
            if step not in node or (target is not None and node[step][0] is None):
                node[step] = (target, node[step][1] if step in node else {})
            node = node[step][1]
    return trie


def trie_keys(trie: Trie) -> list[str]:
    """The joined keys a trie gives a record: {"a": (x, {"b": (None, {})})} → ["a.b"]."""
    keys = []
    for step, (target, below) in trie.items():
        keys += [f"{step}.{key}" for key in trie_keys(below)] if target is not None else [step]
    return keys


class LinkedValues:
    """The paths each entity's rules read, and `fill` to give records their values."""

    def __init__(self, blueprint: Blueprint, tables: Tables):
        self.blueprint = blueprint
        self.tables = tables
        self._tries: dict[str, Trie] = {}
        self._firsts: dict[str, frozenset[str]] = {}
        for entity in blueprint.entities.values():
            paths = self.paths(entity.name, entity_expressions(entity))
            if paths:
                self._tries[entity.name] = path_trie(paths)
                self._firsts[entity.name] = frozenset(path.steps[0] for path in paths)

    def paths(self, entity: str, expressions: Iterable[Expression | None]) -> list[LinkedPath]:
        """The resolved paths these expressions (evaluated on `entity`) read."""
        steps = frozenset(p for e in expressions if e is not None for p in e.paths)
        return linked_paths(self.blueprint.entities, entity, steps) if steps else []

    def reads_links(self, entity: str) -> bool:
        return entity in self._tries

    def first_steps(self, entity: str) -> frozenset[str]:
        """The fields of `entity` its rules follow to linked records."""
        return self._firsts.get(entity, frozenset())

    def reader(self, connection: Connection) -> LinkedRead:
        return LinkedRead(self, connection)

    def fill(self, connection: Connection, entity: Entity, records: Sequence[dict[str, Any]],
             paths: Sequence[LinkedPath] | None = None) -> None:
        """Put the values of `paths` (default: every path the entity's rules read) in `records`."""
        LinkedRead(self, connection).fill(entity, records, paths)

    def for_expressions(self, connection: Connection, entity: str, records: Sequence[Mapping[str, Any]],
                        expressions: Iterable[Expression | None]) -> list[Mapping[str, Any]]:
        """The records as these expressions read them: copies holding the paths' values, or the
        records themselves when the expressions read no path (an automation's `when` and values)."""
        paths = self.paths(entity, expressions)
        if not paths:
            return list(records)
        copies = [dict(record) for record in records]
        self.fill(connection, self.blueprint.entities[entity], copies, paths)
        return list[Mapping[str, Any]](copies)

    def trie(self, entity: str, paths: Sequence[LinkedPath] | None) -> Trie:
        return self._tries.get(entity, {}) if paths is None else path_trie(paths)


class LinkedRead:
    """Reads for one connection and batch of records: each linked record is read once."""

    def __init__(self, values: LinkedValues, connection: Connection):
        self.values = values
        self.connection = connection
        self._rows: dict[tuple[str, tuple[str, ...]], dict[int, dict[str, Any]]] = {}

    def fill(self, entity: Entity, records: Sequence[dict[str, Any]],
             paths: Sequence[LinkedPath] | None = None) -> None:
        trie = self.values.trie(entity.name, paths)
        if trie and records:
            self._fill(trie, records)

    def warm(self, entity: Entity, rows: Iterable[Mapping[str, Any]]) -> None:
        """Read ahead what the rules of these records (as given, before coercion) will follow."""
        trie = self.values.trie(entity.name, None)
        if not trie:
            return
        timezone = self.values.blueprint.timezone
        wanted: dict[str, set[int]] = {}
        for row in rows:
            for step in trie:
                value = row.get(step)
                if value is None or value == "":
                    continue
                try:
                    value = coerce(_field(entity, step), value, timezone)
                except CoercionError:
                    continue
                if isinstance(value, int):
                    wanted.setdefault(step, set()).add(value)
        for step, ids in wanted.items():
            target, below = trie[step]
            if target is not None:
                self._linked(target, below, ids)

    def _fill(self, trie: Trie, records: Sequence[dict[str, Any]]) -> None:
        for step, (target, below) in trie.items():
            if target is None:
                continue  # a field of the records themselves
            ids = {record[step] for record in records if isinstance(record.get(step), int)}
            linked = self._linked(target, below, ids)
            keys = trie_keys(below)
            for record in records:
                row = linked.get(record.get(step))  # type: ignore[arg-type]
                for key in keys:
                    record[f"{step}.{key}"] = row.get(key) if row is not None else None

    def _linked(self, target: str, trie: Trie, ids: set[int]) -> dict[int, dict[str, Any]]:
        """The rows of `target` with these ids, each holding what `trie` reads (read once)."""
        columns = tuple(sorted(trie))
        cached = self._rows.setdefault((target, columns), {})
        missing = [i for i in ids if i not in cached]
        if missing:
            fresh = self._query(target, columns, missing)
            self._fill(trie, list(fresh.values()))
            cached.update(fresh)
        return {i: cached[i] for i in ids if i in cached}

    def _query(self, target: str, columns: tuple[str, ...], ids: list[int]) -> dict[int, dict[str, Any]]:
        if target == USER:
            users, teams = self.values.tables.system("atrium_users"), self.values.tables.system("atrium_teams")
            query = (sa.select(users.c.id, users.c.name, users.c.display_name, users.c.role,
                               teams.c.name.label("team"))
                     .select_from(users.outerjoin(teams, teams.c.id == users.c.team_id)))
            key = users.c.id
        else:
            table = self.values.tables[target]
            query = sa.select(table.c.id, *(table.c[c] for c in columns if c != "id"))
            key = table.c.id
        among, parameter = among_ids(self.connection, key, "_linked")
        found: dict[int, dict[str, Any]] = {}
        for start in range(0, len(ids), CHUNK):
            for row in self.connection.execute(query.where(among), {"_linked": parameter(ids[start:start + CHUNK])}):
                found[row[0]] = dict(row._mapping)
        return found


def _field(entity: Entity, name: str) -> Field:
    return entity.fields.get(name) or system_field(name if name in SYSTEM_FIELDS else "id")
