"""Stored formulas that read linked records through dotted paths (`price: {formula: "product.price"}`,
`level: {formula: "order.customer.level"}`) are kept current when a record they read changes.

After a write, the pipeline passes the changed records here: each field some other entity's stored
formula follows (a link of the path, or the field it ends at, up to three links back) names its
dependent records with one query walking the path back; those are read in batches, given their
linked values set-wise, computed as the system computes formulas, and written with one
executemany per set of changed columns, like roll-ups (rollups.py). A record whose formulas come out
the same is not written. What changed passes on: to the roll-ups over it and to formulas that
follow it in turn. Derived values are not audited (like roll-ups): the history records the change
that caused them, on the record that changed.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from atrium.metadata.expression_paths import USER, LinkedPath, linked_paths
from atrium.metadata.model import Blueprint, Entity
from atrium.runtime.schema.bulk_statements import among_ids
from atrium.runtime.schema.tables import Tables

if TYPE_CHECKING:
    from atrium.runtime.records.service import RecordService

MAX_DEPTH = 5  # chains of derived values passed on (a cycle is refused at load)
BATCH = 2_000  # dependent records recomputed at a time


@dataclass(frozen=True)
class PathReader:
    """A stored formula of `dependent` reads `path`, whose link `hop` lands on the changed entity:
    a change of that entity's field `path.steps[hop]` changes what the path reads."""

    dependent: str
    path: LinkedPath
    hop: int

    @property
    def field(self) -> str:
        return self.path.steps[self.hop]


class LinkedFormulas:
    def __init__(self, blueprint: Blueprint, tables: Tables, service: RecordService):
        self.blueprint = blueprint
        self.tables = tables
        self.service = service
        self.readers: dict[str, list[PathReader]] = defaultdict(list)  # changed entity → readers
        self.paths: dict[str, list[LinkedPath]] = {}  # dependent entity → paths its formulas read
        for entity in blueprint.entities.values():
            steps = frozenset(p for f in entity if f.formula is not None for p in f.formula.paths)
            paths = linked_paths(blueprint.entities, entity.name, steps)
            if not paths:
                continue
            self.paths[entity.name] = paths
            for path in paths:
                for hop in range(1, len(path.entities)):
                    if path.entities[hop] != USER:  # users change outside the records service
                        self.readers[path.entities[hop]].append(PathReader(entity.name, path, hop))

    def dependents(self, connection: Connection, entity: str,
                   pairs: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]]) -> dict[str, set[int]]:
        """The records whose stored formulas read, through a path, a field these updates changed."""
        found: dict[str, set[int]] = defaultdict(set)
        for reader in self.readers.get(entity, ()):
            name = reader.field
            ids = [after["id"] for before, after in pairs
                   if name in after and before.get(name) != after.get(name)]
            if ids:
                found[reader.dependent] |= self._walk_back(connection, reader, ids)
        return found

    def _walk_back(self, connection: Connection, reader: PathReader, ids: list[int]) -> set[int]:
        """The ids of `reader.dependent` whose path reaches one of these records: one query."""
        path, hop = reader.path, reader.hop
        table = self.tables[path.entities[hop - 1]]
        among, parameter = among_ids(connection, table.c[path.steps[hop - 1]], "_changed")
        query = sa.select(table.c.id).where(among)
        for index in range(hop - 2, -1, -1):
            table = self.tables[path.entities[index]]
            query = sa.select(table.c.id).where(table.c[path.steps[index]].in_(query))
        found: set[int] = set()
        for start in range(0, len(ids), 5_000):
            found.update(connection.execute(query, {"_changed": parameter(ids[start:start + 5_000])}).scalars())
        return found

    def propagate(self, connection: Connection, entity: str,
                  pairs: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]], depth: int = 0) -> None:
        """Recompute the stored formulas that read these updated records through paths."""
        if depth >= MAX_DEPTH or entity not in self.readers:
            return
        for dependent, ids in self.dependents(connection, entity, pairs).items():
            ordered = sorted(ids)
            for start in range(0, len(ordered), BATCH):
                self._recompute(connection, self.blueprint.entities[dependent], ordered[start:start + BATCH], depth)

    def _recompute(self, connection: Connection, model: Entity, ids: list[int], depth: int) -> None:
        service = self.service
        rows = service.read_many(connection, model.name, ids)
        news = [dict(row) for row in rows]
        service.linked_values.fill(connection, model, news, self.paths[model.name])
        by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
        changed: list[tuple[dict[str, Any], dict[str, Any]]] = []
        for row, new in zip(rows, news, strict=True):
            service.rules._compute_formulas(model, new)  # as the system computes them
            updates = {name: new[name] for name in model.formula_order if new[name] != row.get(name)}
            if updates:
                written = service.columns_of(model, updates)
                by_columns[tuple(sorted(written))].append({"_id": row["id"], **written})
                changed.append((row, {key: value for key, value in new.items() if "." not in key}))
        table = self.tables[model.name]
        for columns, parameters in by_columns.items():
            statement = (table.update().where(table.c.id == sa.bindparam("_id"))
                         .values({column: sa.bindparam(column) for column in columns}))
            connection.execute(statement, parameters)
        if changed:
            service.rollups.refresh(connection, service.rollups.parents_of(
                model.name, [record for pair in changed for record in pair]))
            self.propagate(connection, model.name, changed, depth + 1)
