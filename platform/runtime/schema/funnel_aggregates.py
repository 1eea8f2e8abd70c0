"""The funnel's pre-aggregate: per owner × furthest stage × lost flags, how many records there are.

Beside each stage tracking table (stage_tracking.py), `<tracking table>_agg` holds one row per
distinct (owner column, `furthest`, `lost<i>`...) among the records of the entity that have a
tracking row, with `_count` records. A funnel that counts records (no sums, no filter but the
viewer's scope: the dashboards' funnels) is then a sum over the rows of the owners in scope
instead of a join of every record in scope to its tracking row (reports/funnel.py).

It is what `SELECT owner, furthest, lost.., count(*) FROM entity JOIN tracking` gives, kept by
row triggers in the writing transaction: on the tracking table (a record's row inserted, changed or
removed moves its count from the old key to the new one, if the record exists) and on the entity's
table (a record inserted or restored, deleted, or given another owner, if it has a tracking row).
Key tuples whose count fell to 0 stay as rows; the funnel sums them (adding 0). SQLite: an
`INSERT ... WHERE NOT EXISTS` then an `UPDATE` matching keys with `IS`; PostgreSQL (15 or later): a
unique index NULLS NOT DISTINCT on the keys and `INSERT ... ON CONFLICT DO UPDATE`, as the
report pre-aggregates (preaggregates.py) do.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from atrium.metadata.model import Entity
from atrium.runtime.schema.preaggregates import owner_key
from atrium.runtime.schema.tables import ID_TYPE, bounded_name

if TYPE_CHECKING:
    from atrium.runtime.schema.stage_tracking import Tracking

COUNT = "_count"
SQLITE_TRIGGERS = ("t_insert", "t_update", "t_delete", "e_insert", "e_delete", "e_update")


def aggregate_table(name: str, entity: Entity, losses: int) -> sa.Table:
    owner = owner_key(entity)
    keys = [owner, "furthest", *(f"lost{i}" for i in range(losses))]
    return sa.Table(bounded_name(f"{name}_agg"), sa.MetaData(),
                    sa.Column(owner, ID_TYPE), sa.Column("furthest", sa.Integer()),
                    *(sa.Column(f"lost{i}", sa.Integer()) for i in range(losses)),
                    sa.Column(COUNT, sa.BigInteger(), nullable=False),
                    sa.Index(bounded_name(f"ix_{name}_agg_keys"), *keys,
                             unique=True, postgresql_nulls_not_distinct=True))


def keys_of(tracking: Tracking) -> list[str]:
    assert tracking.aggregate is not None
    return [c.name for c in tracking.aggregate.c if c.name != COUNT]


def trigger_names(connection: Connection, tracking: Tracking) -> set[str]:
    assert tracking.aggregate is not None
    name = tracking.aggregate.name
    if connection.dialect.name == "sqlite":
        return {f"{name}_{kind}" for kind in SQLITE_TRIGGERS}
    return {f"{name}_tt", f"{name}_et"}


def _sources(connection: Connection, tracking: Tracking, owner: str) -> dict[str, str]:
    """The one-row (or empty) SELECT of a record's key tuple, per trigger row: from the tracking
    table's NEW/OLD row with the record's owner, or from the entity's NEW/OLD row with its tracking row."""
    q = connection.dialect.identifier_preparer.quote_identifier
    track, entity = q(tracking.name), q(tracking.entity)
    flags = [f"lost{i}" for i in range(len(tracking.losses))]

    def named(values: list[str]) -> str:
        return ", ".join(f"{value} AS k{i}" for i, value in enumerate(values))

    def from_tracking(row: str) -> str:
        values = named([f"e.{q(owner)}", *(f"{row}.{q(c)}" for c in ("furthest", *flags))])
        return f"SELECT {values} FROM {entity} e WHERE e.{q('id')} = {row}.{q('record_id')}"

    def from_entity(row: str) -> str:
        values = named([f"{row}.{q(owner)}", *(f"t.{q(c)}" for c in ("furthest", *flags))])
        return f"SELECT {values} FROM {track} t WHERE t.{q('record_id')} = {row}.{q('id')}"

    new, old = ("NEW", "OLD") if connection.dialect.name == "postgresql" else ("new", "old")
    return {"t_new": from_tracking(new), "t_old": from_tracking(old),
            "e_new": from_entity(new), "e_old": from_entity(old)}


def _delta(connection: Connection, tracking: Tracking, source: str, sign: str) -> str:
    """SQL adding `sign`1 to the count of the key tuple `source` selects (nothing when it selects none)."""
    assert tracking.aggregate is not None
    q = connection.dialect.identifier_preparer.quote_identifier
    agg, keys = q(tracking.aggregate.name), keys_of(tracking)
    picked = ", ".join(f"s.k{i}" for i in range(len(keys)))
    listed = ", ".join(q(k) for k in (*keys, COUNT))
    if connection.dialect.name == "postgresql":
        return (f"INSERT INTO {agg} AS a ({listed}) SELECT {picked}, {sign}1 FROM ({source}) s "
                f"ON CONFLICT ({', '.join(q(k) for k in keys)}) DO UPDATE SET {q(COUNT)} = a.{q(COUNT)} + "
                f"EXCLUDED.{q(COUNT)};")
    def match(table: str) -> str:
        return " AND ".join(f"{table}.{q(k)} IS s.k{i}" for i, k in enumerate(keys))
    return (f"INSERT INTO {agg} ({listed}) SELECT {picked}, 0 FROM ({source}) s WHERE NOT EXISTS "
            f"(SELECT 1 FROM {agg} a WHERE {match('a')}); "
            f"UPDATE {agg} SET {q(COUNT)} = {q(COUNT)} {sign} 1 WHERE EXISTS "
            f"(SELECT 1 FROM ({source}) s WHERE {match(agg)});")


def _moved(connection: Connection, tracking: Tracking, old: str, new: str) -> str:
    return _delta(connection, tracking, old, "-") + " " + _delta(connection, tracking, new, "+")


def statements(connection: Connection, tracking: Tracking, entity: Entity) -> list[str]:
    """The DDL of the triggers keeping the aggregate (the table itself is made by the caller)."""
    assert tracking.aggregate is not None
    q = connection.dialect.identifier_preparer.quote_identifier
    owner = owner_key(entity)
    name, track, base = tracking.aggregate.name, q(tracking.name), q(tracking.entity)
    s = _sources(connection, tracking, owner)
    if connection.dialect.name == "postgresql":
        def function(suffix: str, body: str, on: str) -> list[str]:
            return [f"CREATE FUNCTION {q(f'{name}_{suffix}f')}() RETURNS trigger LANGUAGE plpgsql AS $body$ "
                    f"BEGIN {body} RETURN NULL; END $body$",
                    f"CREATE TRIGGER {q(f'{name}_{suffix}t')} AFTER INSERT OR UPDATE OR DELETE ON {on} "
                    f"FOR EACH ROW EXECUTE FUNCTION {q(f'{name}_{suffix}f')}()"]
        same = " AND ".join(f"OLD.{q(c)} IS NOT DISTINCT FROM NEW.{q(c)}"
                            for c in ("furthest", *(f"lost{i}" for i in range(len(tracking.losses)))))
        on_track = (f"IF TG_OP = 'UPDATE' AND {same} THEN RETURN NULL; END IF; "
                    f"IF TG_OP <> 'INSERT' THEN {_delta(connection, tracking, s['t_old'], '-')} END IF; "
                    f"IF TG_OP <> 'DELETE' THEN {_delta(connection, tracking, s['t_new'], '')} END IF;")
        on_entity = (f"IF TG_OP = 'UPDATE' AND OLD.{q(owner)} IS NOT DISTINCT FROM NEW.{q(owner)} "
                     "THEN RETURN NULL; END IF; "
                     f"IF TG_OP <> 'INSERT' THEN {_delta(connection, tracking, s['e_old'], '-')} END IF; "
                     f"IF TG_OP <> 'DELETE' THEN {_delta(connection, tracking, s['e_new'], '')} END IF;")
        return [*function("t", on_track, track), *function("e", on_entity, base)]
    changed = " OR ".join(f"old.{q(c)} IS NOT new.{q(c)}"
                          for c in ("furthest", *(f"lost{i}" for i in range(len(tracking.losses)))))
    bodies = {
        "t_insert": (f"AFTER INSERT ON {track}", _delta(connection, tracking, s["t_new"], "+")),
        "t_delete": (f"AFTER DELETE ON {track}", _delta(connection, tracking, s["t_old"], "-")),
        "t_update": (f"AFTER UPDATE ON {track} WHEN {changed}", _moved(connection, tracking, s["t_old"], s["t_new"])),
        "e_insert": (f"AFTER INSERT ON {base}", _delta(connection, tracking, s["e_new"], "+")),
        "e_delete": (f"AFTER DELETE ON {base}", _delta(connection, tracking, s["e_old"], "-")),
        "e_update": (f"AFTER UPDATE OF {q(owner)} ON {base} WHEN old.{q(owner)} IS NOT new.{q(owner)}",
                     _moved(connection, tracking, s["e_old"], s["e_new"])),
    }
    return [f"CREATE TRIGGER {q(f'{name}_{kind}')} {when} BEGIN {body} END" for kind, (when, body) in bodies.items()]


def drop(connection: Connection, name: str) -> None:
    """The aggregate `name` (a tracking table's `_agg`) and its triggers gone."""
    q = connection.dialect.identifier_preparer.quote_identifier
    if connection.dialect.name == "sqlite":
        for kind in SQLITE_TRIGGERS:
            connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {q(f'{name}_{kind}')}")
    else:
        for suffix in ("t", "e"):
            connection.exec_driver_sql(f"DROP FUNCTION IF EXISTS {q(f'{name}_{suffix}f')}() CASCADE")
    connection.exec_driver_sql(f"DROP TABLE IF EXISTS {q(name)}")


def fill(connection: Connection, tracking: Tracking, base: sa.Table) -> None:
    """The aggregate's rows computed from the entity's rows and the tracking rows (one INSERT ... SELECT)."""
    assert tracking.aggregate is not None
    keys = keys_of(tracking)
    track = tracking.table
    columns = [base.c[keys[0]], *(track.c[k] for k in keys[1:])]
    select = (sa.select(*columns, sa.func.count())
              .select_from(base.join(track, track.c.record_id == base.c.id)).group_by(*columns))
    connection.execute(sa.delete(tracking.aggregate))
    connection.execute(tracking.aggregate.insert().from_select([*keys, COUNT], select))
