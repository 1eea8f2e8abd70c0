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
from atrium.metadata.model import SYSTEM_FIELDS, Blueprint, Entity
from atrium.runtime.schema.bulk_statements import among_ids
from atrium.runtime.schema.tables import Tables

if TYPE_CHECKING:
    from atrium.runtime.records.service import RecordService

MAX_DEPTH = 5  # chains of derived values passed on (a cycle is refused at load)
BATCH = 2_000  # dependent records recomputed at a time
Pair = tuple[Mapping[str, Any], Mapping[str, Any]]  # a record before and after an update


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
        self._formulas: dict[tuple[str, frozenset[LinkedPath]], tuple[str, ...]] = {}
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

    def dependents(self, connection: Connection, entity: str, pairs: Sequence[Pair]
                   ) -> dict[str, tuple[set[int], set[LinkedPath]]]:
        """The records whose stored formulas read, through a path, a field these updates changed,
        with the paths that changed, per dependent entity."""
        found: dict[str, tuple[set[int], set[LinkedPath]]] = {}
        for reader in self.readers.get(entity, ()):
            name = reader.field
            ids = [after["id"] for before, after in pairs
                   if name in after and before.get(name) != after.get(name)]
            if ids:
                records, paths = found.setdefault(reader.dependent, (set(), set()))
                records |= self._walk_back(connection, reader, ids)
                paths.add(reader.path)
        return found

    def formulas(self, model: Entity, paths: frozenset[LinkedPath]) -> tuple[str, ...]:
        """The formulas of `model` reading these paths, and the formulas reading those, in order."""
        key = (model.name, paths)
        if key not in self._formulas:
            steps = {path.steps for path in paths}
            chosen: list[str] = []
            for name in model.formula_order:
                formula = model.fields[name].formula
                assert formula is not None  # formula_order names formula fields only
                if formula.paths & steps or formula.names & set(chosen):
                    chosen.append(name)
            self._formulas[key] = tuple(chosen)
        return self._formulas[key]

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

    def propagate(self, connection: Connection, entity: str, pairs: Sequence[Pair], depth: int = 0) -> None:
        """Recompute the stored formulas that read these updated records through paths."""
        if depth >= MAX_DEPTH or entity not in self.readers:
            return
        for dependent, (ids, paths) in self.dependents(connection, entity, pairs).items():
            ordered = sorted(ids)
            model = self.blueprint.entities[dependent]
            formulas = self.formulas(model, frozenset(paths))
            for start in range(0, len(ordered), BATCH):
                self._recompute(connection, model, ordered[start:start + BATCH], formulas, depth)

    def _recompute(self, connection: Connection, model: Entity, ids: list[int], formulas: tuple[str, ...],
                   depth: int) -> None:
        service = self.service
        rows = service.read_where(connection, model.name, "id", ids, columns=self._columns(model, formulas))
        news = [dict(row) for row in rows]
        service.linked_values.fill(connection, model, news, self.paths[model.name])
        alike: dict[tuple, list[int]] = defaultdict(list)  # records getting the same new values
        single: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
        changed: list[tuple[dict[str, Any], dict[str, Any]]] = []
        for row, new in zip(rows, news, strict=True):
            service.rules._compute_formulas(model, new, formulas)  # as the system computes them
            updates = {name: new[name] for name in formulas if new[name] != row.get(name)}
            if updates:
                written = service.columns_of(model, updates)
                try:
                    alike[tuple(sorted(written.items()))].append(row["id"])
                except TypeError:  # a value that cannot be grouped (a list)
                    single[tuple(sorted(written))].append({"_id": row["id"], **written})
                changed.append((row, {key: value for key, value in new.items() if "." not in key}))
        self._write(connection, self.tables[model.name], alike, single)
        if changed:
            service.rollups.refresh(connection, service.rollups.parents_of(
                model.name, [record for pair in changed for record in pair]), source=model.name)
            self.propagate(connection, model.name, changed, depth + 1)

    def _columns(self, model: Entity, formulas: tuple[str, ...]) -> list[str] | None:
        """What recomputing these formulas reads of a record (None: the whole record, when a
        location field spreads over several columns)."""
        if any(field.type == "location" for field in model):
            return None
        wanted = {"id", *formulas, *self.service.rollups.links(model.name)}
        for name in formulas:
            formula = model.fields[name].formula
            assert formula is not None  # formulas names formula fields only
            wanted |= {n for n in formula.names if n in model.fields or n in SYSTEM_FIELDS}
        return sorted(wanted)

    @staticmethod
    def _write(connection: Connection, table: sa.Table, alike: Mapping[tuple, list[int]],
               single: Mapping[tuple[str, ...], list[dict[str, Any]]]) -> None:
        """One UPDATE per set of records getting the same values, one executemany for the rest.
        Derived values leave the version alone, as roll-ups do: nobody's edit of the record is stale."""
        rows = dict(single)
        for items, ids in alike.items():
            if len(ids) == 1:
                rows.setdefault(tuple(name for name, _ in items), []).append({"_id": ids[0], **dict(items)})
                continue
            among, parameter = among_ids(connection, table.c.id, "_alike")
            statement = table.update().where(among).values(dict(items))
            for start in range(0, len(ids), 5_000):
                connection.execute(statement, {"_alike": parameter(ids[start:start + 5_000])})
        for columns, parameters in rows.items():
            statement = (table.update().where(table.c.id == sa.bindparam("_id"))
                         .values({column: sa.bindparam(column) for column in columns}))
            connection.execute(statement, parameters)
