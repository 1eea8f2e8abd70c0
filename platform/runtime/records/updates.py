"""Bulk updates: many records, each with its own values, by the rules a single update applies,
through the same write pipeline (pipeline.py).

Kept apart from service.py (the service inherits it) because it has its own fast path: records the
caller already read and locked are reused (whole, or only the columns a scheduled rule needs), one
outcome for every record when they all get the same values and the rules they reach read nothing
else, one UPDATE per group of records written alike (set_writes.py), one insert of history, and
optionally only the rules the changed fields can affect (`RulePlan`).
"""
from __future__ import annotations

import contextlib
import datetime as dt
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from sqlalchemy.engine import Connection

from atrium.metadata.model import Entity
from atrium.runtime.automation.messages import message
from atrium.runtime.records.audit import changed_fields
from atrium.runtime.records.errors import RecordNotFound, ValidationFailed
from atrium.runtime.records.evaluation import SYSTEM, Actor
from atrium.runtime.records.pipeline import Write, updates
from atrium.runtime.records.rules import reading_touched
from atrium.runtime.records.set_writes import plan_inputs, shared_outcome, write_alike, write_changes

if TYPE_CHECKING:
    import sqlalchemy as sa

    from atrium.metadata.model import Blueprint
    from atrium.runtime.records.linked_values import LinkedValues
    from atrium.runtime.records.pipeline import WritePipeline
    from atrium.runtime.records.rules import RecordRules
    from atrium.runtime.schema.tables import Tables


class BulkUpdates:
    """Mixed into RecordService: uses its rules, tables and write pipeline."""

    if TYPE_CHECKING:  # set or defined by RecordService, the host
        blueprint: Blueprint
        tables: Tables
        rules: RecordRules
        pipeline: WritePipeline
        linked_values: LinkedValues

        def entity(self, name: str) -> Entity: ...
        def columns_of(self, entity: Entity, values: Mapping[str, Any]) -> dict[str, Any]: ...
        def read_many(self, connection: Connection, entity: str, ids: Sequence[int]) -> list[dict[str, Any]]: ...
        def read_where(self, connection: Connection, entity: str, column: str, values: Sequence[Any],
                       condition: sa.ColumnElement | None = None, lock: bool = False,
                       columns: Sequence[str] | None = None) -> list[dict[str, Any]]: ...
        def _plain_keys(self, model: Entity) -> tuple[str, ...] | None: ...
        def _connection(self, connection: Connection | None,
                        write: bool = True) -> contextlib.AbstractContextManager[Connection]: ...

    def bulk_update(self, entity: str, changes: Sequence[tuple[int, Mapping[str, Any]]], actor: Actor = SYSTEM,
                    connection: Connection | None = None, batch_size: int = 1000,
                    current: Mapping[int, dict[str, Any]] | None = None,
                    affected_only: bool = False, partial: bool = False,
                    following: bool = False) -> list[tuple[dict, dict]]:
        """Change many records, each with its own values, by the rules `update` applies; all or
        nothing. Returns (before, after) for each record that changed. Raises ValidationFailed
        naming the first bad row (0-based).

        Rows are locked as read, so no version is needed; `current` passes records the caller
        already read and locked in `connection`. `affected_only` runs only the rules the changed
        fields can affect (`RulePlan`): what automations use. `partial`: the `current` records hold
        only the columns rule_columns.py names for a scheduled rule (event rules still see whole
        records: `EventAutomations.update_pairs`). `following`: the engine moves owners after a
        parent's (owner_follows.py): only the rules reading what changes apply (`reading_touched`),
        a pending approval does not hold it back and it is no pool event (pipeline.py)."""
        model = self.entity(entity)
        changed: list[tuple[dict, dict]] = []
        with self._connection(connection) as conn:
            for start in range(0, len(changes), batch_size):
                changed += self._update_batch(conn, model, changes[start:start + batch_size], start, actor,
                                              current, affected_only, partial, following)
        return changed

    def _update_batch(self, conn: Connection, model: Entity, batch: Sequence[tuple[int, Mapping[str, Any]]],
                      first_row: int, actor: Actor, known: Mapping[int, dict[str, Any]] | None,
                      affected_only: bool, partial: bool = False,
                      following: bool = False) -> list[tuple[dict, dict]]:
        table = self.tables[model.name]
        wanted = [i for i, _ in batch if known is None or i not in known]
        currents = dict(known or {})
        currents.update({r["id"]: r for r in self.read_where(conn, model.name, "id", wanted, lock=True)})
        names = [f.name for f in model]
        # the fields a plan can change, as the entity lists them
        compared: dict[frozenset[str], list[str]] = {}
        moves: list[tuple[dict[str, Any], dict[str, Any], list[tuple[str, Any, Any]]]] = []
        # every record given the same values (one mapping): perhaps one outcome for all of them
        uniform = affected_only and all(values is batch[0][1] for _, values in batch)
        shared: dict[str, Any] | None = None  # the new values every record gets
        whole: dict[int, dict] | None = None  # partial records completed, for rules that read more
        inputs: dict[frozenset[str], frozenset[str]] = {}
        linked = None
        if self.linked_values.reads_links(model.name):  # the links the rules follow, read once for the batch
            linked = self.linked_values.reader(conn)
            linked.warm(model, [{**currents.get(record_id, {}), **values} for record_id, values in batch])
        for index, (record_id, values) in enumerate(batch):
            current = currents.get(record_id)
            if current is None:
                raise RecordNotFound(message("not_found", actor.locale))
            if shared is not None:  # the first record's outcome is every record's
                current = whole[record_id] if whole is not None else current
                found = [(name, current.get(name), new) for name, new in shared.items() if current.get(name) != new]
                if found:
                    moves.append((current, {**current, **shared}, found))
                continue
            plan = self.rules.plan(model, frozenset(values)) if affected_only else None
            if plan is not None and following:
                plan = reading_touched(plan)
            outcome = (shared_outcome(self.rules, model, plan, values, actor)
                       if uniform and index == 0 and plan is not None else None)  # uniform: plan is set
            if partial:  # records holding some columns: completed if the rules read more
                needed = (None if plan is None else plan.touched if outcome is not None
                          else inputs.setdefault(plan.touched, plan_inputs(self.blueprint, model, plan)))
                if whole is None and (needed is None or not needed.issubset(current)):
                    whole = {r["id"]: r for r in self.read_many(conn, model.name, list(currents))}
                current = whole[record_id] if whole is not None else current
            record, errors = self.rules.prepare(model, current, values, actor, plan, linked)
            if errors:
                raise ValidationFailed(errors, row=first_row + index)
            if plan is not None and plan.touched not in compared:
                compared[plan.touched] = [n for n in names if n in plan.touched]
            fields = compared[plan.touched] if plan else names
            if outcome is not None:
                shared = {name: record[name] for name in fields}
            found = changed_fields(current, record, fields)
            if found:
                moves.append((current, record, found))
        if not moves:
            return []
        if shared is not None and not any(model.fields[n].unique for n in shared):
            checked = [shared]  # every record's new values are (some of) these: one check says it for all
        else:
            checked = [{n: new for n, _, new in found} for _, _, found in moves]
        spread = self._plain_keys(model) is None  # a location field spreads over three columns
        # a phone writes its digits beside it, a field a duplicate rule compares its key
        phones = any(f.type == "phone" for f in model) or bool(model.keyed_fields)

        def store(now: dt.datetime) -> list[tuple[dict, dict]]:
            if shared is not None and not spread:  # records changing the same fields get the same values
                alike: dict[tuple[str, ...], list[int]] = {}
                every = tuple(shared)
                for current, record, found in moves:
                    alike.setdefault(every if len(found) == len(every) else tuple([n for n, _, _ in found]),
                                     []).append(current["id"])
                    record["updated_at"], record["updated_by"], record["version"] = (now, actor.user_id,
                                                                                     current["version"] + 1)
                for columns, ids in alike.items():
                    write_alike(conn, table, {**self.columns_of(model, {c: shared[c] for c in columns}),
                                              "updated_at": now, "updated_by": actor.user_id}, ids)
            else:
                by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
                for current, record, found in moves:
                    written = {name: new for name, _, new in found}
                    if spread or phones:
                        written = self.columns_of(model, written)
                    by_columns.setdefault(tuple(written), []).append(
                        {"_id": current["id"], "updated_at": now, "updated_by": actor.user_id, **written})
                    record.update(updated_at=now, updated_by=actor.user_id, version=current["version"] + 1)
                write_changes(conn, table, by_columns)  # records getting the same values: one statement
            return [(current, record) for current, record, _ in moves]

        write = Write(model, "update", actor, [(current, record) for current, record, _ in moves],
                      changes=[found for _, _, found in moves], checked=checked,
                      own_ids=[current["id"] for current, _, _ in moves], partial=partial, following=following)
        return updates(self.pipeline.run(conn, write, store))
