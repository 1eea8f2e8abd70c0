"""A period's lease: a row in atrium_automation_runs under a unique (rule, period) index, so work
done once per period (a scheduled rule, the daily email digest) runs once however many workers
or schedulers try at the same time, on SQLite and PostgreSQL alike."""
from __future__ import annotations

import datetime as dt

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from atrium.runtime.schema.database import write_transaction
from atrium.runtime.schema.tables import Tables


def take_lease(engine: Engine, tables: Tables, name: str, period: str, worker: str, now: dt.datetime) -> bool:
    """True when this caller has the period's lease (nobody had taken it)."""
    runs = tables.system("atrium_automation_runs")
    with write_transaction(engine) as connection:
        insert = postgresql.insert(runs) if connection.dialect.name == "postgresql" else sqlite.insert(runs)
        taken = connection.execute(insert.values(
            rule=name, period=period, worker=worker[:100], started_at=now, status="running")
            .on_conflict_do_nothing(index_elements=["rule", "period"]).returning(runs.c.id)).first()
    return taken is not None
