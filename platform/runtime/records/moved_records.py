"""What is computed from records a migration moved out of a removed stage or option.

The migration gives the records their new value set-wise (schema/value_moves.py); the stored
formulas that read the moved field (directly, through other formulas, or through the pipeline's
probabilities) and the roll-ups of the records' parents are refreshed here, in the migration's
transaction, as the system computes them: `probability: stage_probability(stage)` of an order moved
from needs_confirmed to proposal is proposal's afterwards, and so is its weighted amount.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any, Callable

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from atrium.metadata.model import Blueprint
from atrium.runtime.records.service import RecordService

CHUNK = 1000
Moved = list[tuple[str, str, list[int]]]  # (entity, field, ids of the records moved), as migrations.py hands it


def refresh_moved(service: RecordService, connection: Connection, moved: Moved) -> None:
    """Recompute, for the moved records, the formulas their moved field reaches, then their parents' roll-ups."""
    for entity, field, ids in moved:
        model = service.entity(entity)
        formulas = service.rules.plan(model, frozenset({field})).formulas
        table = service.tables[entity]
        for start in range(0, len(ids), CHUNK):
            rows = service.read_many(connection, entity, ids[start:start + CHUNK])
            by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
            for row in rows:
                new = dict(row)
                service.rules._compute_formulas(model, new, formulas)  # as the system computes them
                updates = {name: new[name] for name in formulas if new[name] != row.get(name)}
                if updates:
                    written = service.columns_of(model, updates)
                    by_columns[tuple(sorted(written))].append({"_id": row["id"], **written})
            for columns, parameters in by_columns.items():
                statement = (table.update().where(table.c.id == sa.bindparam("_id"))
                             .values({column: sa.bindparam(column) for column in columns}))
                connection.execute(statement, parameters)
            service.rollups.refresh(connection, service.rollups.parents_of(entity, rows), source=entity)


def computed_follow(blueprint: Blueprint, engine: Engine) -> Callable[[Connection, Moved], None]:
    """The `after_moves` of a migration to `blueprint` (migrations.apply_migration)."""
    service = RecordService(blueprint, engine)
    return lambda connection, moved: refresh_moved(service, connection, moved)
