"""Keep rollup fields (`rollup: {from: child.ref, sum: amount, where: ...}`) current, and the
fields follow-ups move forward (`follow_up: {of: ref, when: ..., at: moment, sets: field}` on the
child entity).

After a child record is written, each parent it points to (before and after the write) gets its
rollups recomputed (one aggregate query per child link, however many rollups read it), then its
formulas; a parent that changed passes the change on to its own parents. A follow-up is a `max`
over the matching children that only ever raises the stored value: the field keeps what a person
typed, or a later follow-up, when the children's latest moment is older (an older visit, a deleted
one, a planned one).

`over_rows` computes a parent's roll-ups from child rows in hand instead (a form's lines as typed,
before saving), with the same definitions and `aggregate`, so what a form shows live is what the
refresh stores on save.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from atrium.metadata.model import Blueprint, Entity, Field, Rollup
from atrium.runtime.records.coercion import CoercionError, coerce
from atrium.runtime.records.evaluation import SYSTEM
from atrium.runtime.records.expression_sql import NotCompilable, compile_condition
from atrium.runtime.schema.bulk_statements import execute_many
from atrium.runtime.schema.tables import Tables

if TYPE_CHECKING:
    from atrium.runtime.records.service import RecordService

AGGREGATES: dict[str, Callable[[sa.ColumnElement], sa.ColumnElement]] = {
    "count": sa.func.count, "sum": sa.func.sum, "avg": sa.func.avg, "min": sa.func.min, "max": sa.func.max}


@dataclass(frozen=True)
class Reader:
    """A parent field that reads child records: a roll-up, or a field follow-ups move forward
    (`forward_only`: the latest moment of its follow-ups, never lower than what is stored)."""

    field: Field
    rollup: Rollup
    forward_only: bool = False


def follow_up_readers(blueprint: Blueprint) -> list[tuple[Entity, Reader]]:
    """Each entity's `follow_up:` as a reader of its parent: the max of `at` over the matching children."""
    found = []
    for child in blueprint.entities.values():
        spec = child.follow_up
        if spec is not None:
            parent = blueprint.entities[spec.parent]
            rollup = Rollup(entity=child.name, via=spec.of, function="max", field=spec.at, where=spec.when)
            found.append((parent, Reader(parent.fields[spec.sets], rollup, forward_only=True)))
    return found


class Rollups:
    def __init__(self, blueprint: Blueprint, tables: Tables, service: RecordService):
        self.blueprint = blueprint
        self.tables = tables
        self.service = service
        # child entity → [(parent entity, what of the parent reads it)]
        self.readers: dict[str, list[tuple[Entity, Reader]]] = defaultdict(list)
        # parent entity → what of it reads children
        self.of_parent: dict[str, list[Reader]] = defaultdict(list)
        for parent in blueprint.entities.values():
            for field in parent:
                if field.rollup is not None:
                    self._add(parent, Reader(field, field.rollup))
        for parent, reader in follow_up_readers(blueprint):
            self._add(parent, reader)

    def _add(self, parent: Entity, reader: Reader) -> None:
        self.readers[reader.rollup.entity].append((parent, reader))
        self.of_parent[parent.name].append(reader)

    def links(self, entity: str) -> set[str]:
        """The reference fields of `entity` that roll-ups and follow-ups of its parents go through."""
        return {reader.rollup.via for _, reader in self.readers.get(entity, ())}

    def parents_of(self, entity: str, rows: Iterable[Mapping[str, Any] | None]) -> dict[str, set[int]]:
        """The parents whose rollups (or follow-up fields) read these child rows."""
        affected: dict[str, set[int]] = defaultdict(set)
        for parent, reader in self.readers.get(entity, ()):
            via = reader.rollup.via
            for row in rows:
                if row is not None and row.get(via) is not None:
                    affected[parent.name].add(row[via])
        return affected

    def refresh(self, connection: Connection, affected: Mapping[str, set[int]], depth: int = 0,
                source: str | None = None) -> None:
        """Recompute the roll-ups of the `affected` parents; with `source`, only those reading that
        child entity (the one written: the parents' other roll-ups read rows that did not change)."""
        for parent_name, ids in affected.items():
            if ids and depth < 5:
                self._refresh_parent(connection, self.blueprint.entities[parent_name], sorted(ids), depth, source)

    def _refresh_parent(self, connection: Connection, parent: Entity, ids: list[int], depth: int,
                        source: str | None) -> None:
        readers = [reader for reader in self.of_parent.get(parent.name, [])
                   if source is None or reader.rollup.entity == source]
        if not readers:
            return
        values: dict[int, dict[str, Any]] = {i: {} for i in ids}
        found = self._aggregates(connection, [reader.rollup for reader in readers], ids)
        for reader, aggregated in zip(readers, found, strict=True):
            for parent_id, value in aggregated.items():
                if reader.forward_only:  # several entities may count for one field: the latest of them
                    value = latest(values[parent_id].get(reader.field.name), value)
                values[parent_id][reader.field.name] = value
        table = self.tables[parent.name]
        rows = {row["id"]: row for row in self.service.read_many(connection, parent.name, ids)}
        changed_rows = []
        pairs = []
        changed_names: set[str] = set()
        news = {parent_id: dict(row) for parent_id, row in rows.items()}
        self.service.linked_values.fill(connection, parent, list(news.values()))  # formulas reading paths
        # the formulas that read these roll-ups (directly, through other formulas, or the clock),
        # as an update of them recomputes them: the others cannot have changed
        formulas = self.service.rules.plan(parent, frozenset(reader.field.name for reader in readers)).formulas
        evaluator = self.service.rules.evaluator.bind(parent.name, SYSTEM)
        # only these can differ from the stored row (the rest of `new` is the row as read)
        refreshed = {reader.field.name for reader in readers} | set(formulas)
        compared = [name for name in parent.fields if name in refreshed]
        for parent_id, row in rows.items():
            new = news[parent_id]
            for reader in readers:
                field = reader.field
                if reader.forward_only:
                    new[field.name] = latest(row.get(field.name), values[parent_id].get(field.name))
                else:
                    new[field.name] = self._coerce_empty(field, values[parent_id].get(field.name))
            self.service.rules._compute_formulas(parent, new, formulas, evaluator)  # as the system computes them
            updates = [name for name in compared if new[name] != row.get(name)]
            if updates:
                changed_names.update(updates)
                changed_rows += [row, new]
                pairs.append((row, new))
        if pairs:  # one executemany for every changed parent: a value that did not change is written as it is
            names = [name for name in parent.fields if name in changed_names]
            parameters = [{"_id": new["id"], **self.service.columns_of(parent, {name: new[name] for name in names})}
                          for _, new in pairs]
            statement = (table.update().where(table.c.id == sa.bindparam("_id"))
                         .values({column: sa.bindparam(column) for column in parameters[0] if column != "_id"}))
            execute_many(connection, statement, parameters)
        if changed_rows:
            self.refresh(connection, self.parents_of(parent.name, changed_rows), depth + 1, source=parent.name)
            # formulas elsewhere that read these parents' changed fields through paths
            self.service.linked_formulas.propagate(connection, parent.name, pairs, depth + 1)

    @staticmethod
    def _coerce_empty(field: Field, value: Any) -> Any:
        if value is None and field.rollup and field.rollup.function in ("count", "sum"):
            return 0
        return value

    def _aggregates(self, connection: Connection, rollups: list[Rollup], ids: list[int]) -> list[dict[int, Any]]:
        """Each roll-up's value per parent. The roll-ups over the same child link share one
        aggregate query (one pass over the children, however many roll-ups read them): a `where`
        becomes the aggregate's CASE, which SQL aggregates leave out when empty as the WHERE did."""
        found: list[dict[int, Any]] = [{} for _ in rollups]
        shared: dict[tuple[str, str], list[tuple[int, sa.ColumnElement]]] = defaultdict(list)
        for position, rollup in enumerate(rollups):
            child = self.tables[rollup.entity]
            target: sa.ColumnElement = child.c[rollup.field]
            if rollup.where is not None:
                try:
                    condition = compile_condition(rollup.where, child.c, self._sql_functions(rollup.entity))
                except NotCompilable:
                    found[position] = self._aggregate_in_python(connection, rollup, ids)
                    continue
                target = sa.case((condition, child.c[rollup.field]))
            shared[(rollup.entity, rollup.via)].append((position, AGGREGATES[rollup.function](target)))
        for (entity, via_name), aggregates in shared.items():
            via = self.tables[entity].c[via_name]
            query = sa.select(via, *[aggregate for _, aggregate in aggregates]).where(via.in_(ids)).group_by(via)
            for row in connection.execute(query):
                for (position, _), value in zip(aggregates, row[1:], strict=True):
                    if value is not None or rollups[position].function == "count":
                        found[position][row[0]] = value
        return found

    def _aggregate(self, connection: Connection, rollup: Rollup, ids: list[int]) -> dict[int, Any]:
        return self._aggregates(connection, [rollup], ids)[0]

    def _aggregate_in_python(self, connection: Connection, rollup: Rollup, ids: list[int]) -> dict[int, Any]:
        assert rollup.where is not None  # a rollup whose condition has no SQL form
        groups: dict[int, list[Mapping[str, Any]]] = defaultdict(list)
        for row in self.service.read_where(connection, rollup.entity, rollup.via, ids):
            groups[row[rollup.via]].append(row)
        keep = self.keeps(rollup)
        found = {parent: aggregate(rollup, rows, keep) for parent, rows in groups.items()}
        return {parent: value for parent, value in found.items() if value is not None}

    def keeps(self, rollup: Rollup) -> Callable[[Mapping[str, Any]], bool]:
        """Whether a child row counts for `rollup` (its `where`, as the system evaluates it)."""
        if rollup.where is None:
            return lambda row: True
        where = rollup.where
        evaluator = self.service.rules.evaluator.bind(rollup.entity, SYSTEM)

        def keep(row: Mapping[str, Any]) -> bool:
            try:
                return bool(evaluator.evaluate(where, row))
            except Exception:  # an expression failing on one child leaves that child out
                return False
        return keep

    def over_rows(self, parent: Entity, child: str, via: str,
                  rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
        """The parent's roll-ups over `child` rows linked by `via`, computed from these rows (say
        the lines of a form as typed, not saved) with the same definitions the refresh stores:
        each roll-up's function and `where`, an empty count or sum 0, values as the field stores
        them. A row without an id yet (a new line) counts as one."""
        rows = list(rows)
        values: dict[str, Any] = {}
        timezone = self.blueprint.timezone
        for reader in self.of_parent.get(parent.name, ()):
            rollup = reader.rollup
            if reader.forward_only or rollup.entity != child or rollup.via != via:
                continue
            value = self._coerce_empty(reader.field, aggregate(rollup, rows, self.keeps(rollup), new_ids=True))
            try:
                values[reader.field.name] = None if value is None else coerce(reader.field, value, timezone)
            except CoercionError:
                values[reader.field.name] = None
        return values

    def _sql_functions(self, entity: str) -> dict[str, Callable[[sa.ColumnElement], sa.ColumnElement]]:
        pipeline = self.blueprint.pipeline_for(entity)
        if pipeline is None:
            return {}
        open_stages = [s.name for s in pipeline.stages if s.is_open]
        return {"is_open": lambda column: column.in_(open_stages)}


def aggregate(rollup: Rollup, rows: Iterable[Mapping[str, Any]], keep: Callable[[Mapping[str, Any]], bool],
              new_ids: bool = False) -> Any:
    """One roll-up's value over child rows in Python, as SQL aggregates them: empty values are
    left out; None when nothing is left (a count: 0). With `new_ids`, a row without an id (not
    saved yet) still counts for `count: id`."""
    present = []
    for row in rows:
        if not keep(row):
            continue
        value = row.get(rollup.field)
        if rollup.field == "id" and value is None and new_ids:
            value = 0
        if value is not None:
            present.append(value)
    if rollup.function == "count":
        return len(present)
    if not present:
        return None
    if rollup.function == "sum":
        return sum(present)
    if rollup.function == "min":
        return min(present)
    if rollup.function == "max":
        return max(present)
    return sum(present) / len(present)  # avg


def latest(stored: Any, found: Any) -> Any:
    """The later of two moments, either perhaps missing."""
    if stored is None:
        return found
    if found is None:
        return stored
    return max(stored, found)
