"""The public pool: records nobody owns, which users claim and release within the pool's limits.

An entity with `pool:` keeps the pool in its owner field: empty means the record is in the pool
(unless its lock field is set). Roles with `pool: true` on the entity see those records (the
rule lives in `Access.row_filter`) and may claim them. Claims and releases write through the
records service, so validation, history, rollups and event automations apply as for any change;
each claim, release and recycle is also written to atrium_pool_history, which the limits read
(a release by whatever write empties the owner: pool_releases.py):

- `max_owned_per_user`: a user holding that many records of the entity cannot claim more;
- `daily_claim_cap`: claims per user per day (days of the blueprint's time zone);
- `cooldown_days`: a record released or recycled from a user cannot be claimed back by that user
  sooner.

Two claims of one record cannot both win: the claim reads the record in a writing transaction
(SQLite serialises writers; PostgreSQL locks the row, and the claimant's user row so the limits
count one claim at a time) and the update is checked against the version it read.

Recycling is a scheduled automation that sets the owner to empty (`set: {owner: null}`);
`PoolRecycling` is how the automation engine keeps locked records out of it and records it.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from atrium.metadata.model import Entity, Pool
from atrium.runtime.access.secured import AccessDenied, SecuredRecords
from atrium.runtime.automation.messages import message
from atrium.runtime.pool.messages import pool_message
from atrium.runtime.query.periods import local_today
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.records.service import RecordError, RecordNotFound, StaleRecord
from atrium.runtime.schema.database import write_transaction

HISTORY = "atrium_pool_history"


class PoolRefused(RecordError):
    """A claim or release the pool's rules refuse; `reason` names the rule, the text says why."""

    status, code = 409, "pool"

    def __init__(self, reason: str, text: str):
        self.reason = reason
        super().__init__(text)

    def payload(self) -> dict[str, Any]:
        return {"error": self.code, "reason": self.reason, "message": str(self)}


@dataclass(frozen=True)
class Standing:
    """Where a user stands against the pool's limits."""

    owned: int
    max_owned: int | None
    claimed_today: int
    daily_cap: int | None


def pool_of(blueprint: Any, entity: str, locale: str = "en") -> tuple[Entity, Pool]:
    model = blueprint.entities.get(entity)
    if model is None or model.pool is None:
        raise RecordNotFound(pool_message("no_pool", locale))
    return model, model.pool


class PublicPool:
    def __init__(self, site: Any):
        self.site = site
        self.access = site.access
        self.records = site.records
        self.history_table = site.tables.system(HISTORY)

    # --- what the pages ask ------------------------------------------------------------------

    def can_claim(self, actor: Actor, entity: str, record: Mapping[str, Any]) -> bool:
        return self.access.claims(actor, entity) and self.access.pooled(entity, record)

    def can_release(self, connection: Connection, actor: Actor, entity: str, record: Mapping[str, Any]) -> bool:
        model = self.site.blueprint.entities[entity]
        if model.pool is None or actor.user_id is None:
            return False
        owner = record.get(model.pool.owner_field)
        if owner is None or (model.pool.lock_field and record.get(model.pool.lock_field)):
            return False
        return owner == actor.user_id or self.access.permits(connection, actor, entity, record, "update")

    def standing(self, connection: Connection, actor: Actor, entity: str) -> Standing:
        model, pool = pool_of(self.site.blueprint, entity, actor.locale)
        return Standing(self._owned(connection, model, pool, actor.user_id), pool.max_owned_per_user,
                        self._claimed_today(connection, entity, actor.user_id), pool.daily_claim_cap)

    def history(self, connection: Connection, entity: str, record_id: int, limit: int = 50) -> list[dict[str, Any]]:
        table = self.history_table
        rows = connection.execute(sa.select(table).where(table.c.entity == entity, table.c.record_id == record_id)
                                  .order_by(table.c.at.desc(), table.c.id.desc()).limit(limit))
        return [dict(row._mapping) for row in rows]

    # --- claim and release -------------------------------------------------------------------

    def claim(self, actor: Actor, entity: str, record_id: int) -> dict[str, Any]:
        """Take a record from the pool: the actor becomes its owner. Raises PoolRefused (with the
        rule that refused), AccessDenied (the role may not claim) or RecordNotFound."""
        with write_transaction(self.site.engine) as connection:
            return self.claim_in(connection, actor, entity, record_id)

    def claim_in(self, connection: Connection, actor: Actor, entity: str, record_id: int) -> dict[str, Any]:
        """`claim` inside the caller's transaction (a bulk claim: all or nothing, the limits counted
        as the claims add up)."""
        model, pool = pool_of(self.site.blueprint, entity, actor.locale)
        if not self.access.claims(actor, entity):
            raise AccessDenied(pool_message("pool_no_claim", actor.locale))
        self._one_claim_at_a_time(connection, actor)
        record = self._locked_record(connection, entity, record_id, actor)
        owner = record.get(pool.owner_field)
        if owner is not None:  # the claimant saw it in the pool: say only that it has gone
            key = "yours" if owner == actor.user_id else "taken"
            raise PoolRefused(key, pool_message("pool_" + key, actor.locale))
        if not self.access.pooled(entity, record):
            raise PoolRefused("locked", pool_message("pool_locked", actor.locale))
        self._check_limits(connection, model, pool, actor, record_id)
        claimed = self._set_owner(connection, entity, record, pool, actor.user_id, actor)
        self._write(connection, [{"entity": entity, "record_id": record_id, "action": "claim",
                                  "user_id": actor.user_id, "previous_owner": None}])
        return SecuredRecords(self.site).visible(actor, entity, claimed)

    def release(self, actor: Actor, entity: str, record_id: int) -> dict[str, Any]:
        """Give a record back to the pool: by its owner, or by someone whose update scope reaches it."""
        with write_transaction(self.site.engine) as connection:
            return self.release_in(connection, actor, entity, record_id)

    def release_in(self, connection: Connection, actor: Actor, entity: str, record_id: int) -> dict[str, Any]:
        """`release` inside the caller's transaction (a bulk release: all or nothing)."""
        model, pool = pool_of(self.site.blueprint, entity, actor.locale)
        secured = SecuredRecords(self.site)
        secured.get(actor, entity, record_id, connection)  # not readable: not found
        record = self._locked_record(connection, entity, record_id, actor)
        owner = record.get(pool.owner_field)
        if owner is None:
            raise PoolRefused("in_pool", pool_message("pool_not_owned", actor.locale))
        if pool.lock_field and record.get(pool.lock_field):
            raise PoolRefused("locked", pool_message("pool_locked", actor.locale))
        if owner != actor.user_id and not self.access.permits(connection, actor, entity, record, "update"):
            raise AccessDenied(pool_message("pool_not_yours", actor.locale))
        # the records service writes the `release` row, as for any write that empties the owner
        released = self._set_owner(connection, entity, record, pool, None, actor)
        readable = self.access.permits(connection, actor, entity, released, "read")
        # a role without the pool no longer sees what it released
        return secured.visible(actor, entity, released) if readable else {"id": record_id}

    # --- the steps ---------------------------------------------------------------------------

    def _one_claim_at_a_time(self, connection: Connection, actor: Actor) -> None:
        """PostgreSQL: lock the claimant's user row, so two claims by one user count their limits
        one after the other (SQLite already runs one writer at a time)."""
        if connection.dialect.name == "postgresql":
            users = self.site.tables.system("atrium_users")
            connection.execute(sa.select(users.c.id).where(users.c.id == actor.user_id).with_for_update())

    def _locked_record(self, connection: Connection, entity: str, record_id: int, actor: Actor) -> dict[str, Any]:
        found = self.records.read_where(connection, entity, "id", [record_id], lock=True)
        if not found:
            raise RecordNotFound(message("not_found", actor.locale))
        return found[0]

    def _check_limits(self, connection: Connection, model: Entity, pool: Pool, actor: Actor, record_id: int) -> None:
        locale = actor.locale
        if pool.max_owned_per_user is not None:
            owned = self._owned(connection, model, pool, actor.user_id)
            if owned >= pool.max_owned_per_user:
                raise PoolRefused("max_owned", pool_message("pool_max_owned", locale, owned=owned,
                                                            max=pool.max_owned_per_user))
        if pool.daily_claim_cap is not None:
            if self._claimed_today(connection, model.name, actor.user_id) >= pool.daily_claim_cap:
                raise PoolRefused("daily_cap", pool_message("pool_daily_cap", locale, cap=pool.daily_claim_cap))
        if pool.cooldown_days:
            table = self.history_table
            now = self.site.now()
            left = connection.execute(
                sa.select(sa.func.max(table.c.at)).where(
                    table.c.entity == model.name, table.c.record_id == record_id,
                    table.c.action.in_(("release", "recycle")), table.c.previous_owner == actor.user_id,
                    table.c.at > now - dt.timedelta(days=pool.cooldown_days))).scalar()
            if left is not None:
                left = left if left.tzinfo else left.replace(tzinfo=dt.timezone.utc)
                zone = ZoneInfo(self.site.blueprint.timezone)
                until = left + dt.timedelta(days=pool.cooldown_days)
                raise PoolRefused("cooldown", pool_message(
                    "pool_cooldown", locale, left=left.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                    until=until.astimezone(zone).strftime("%Y-%m-%d %H:%M")))

    def _owned(self, connection: Connection, model: Entity, pool: Pool, user_id: int | None) -> int:
        table = self.site.tables[model.name]
        return connection.execute(sa.select(sa.func.count()).select_from(table)
                                  .where(table.c[pool.owner_field] == user_id)).scalar() or 0

    def _claimed_today(self, connection: Connection, entity: str, user_id: int | None) -> int:
        zone = ZoneInfo(self.site.blueprint.timezone)
        today = local_today(self.site.now(), self.site.blueprint.timezone)
        start = dt.datetime.combine(today, dt.time(), zone).astimezone(dt.timezone.utc)
        table = self.history_table
        return connection.execute(sa.select(sa.func.count()).select_from(table).where(
            table.c.entity == entity, table.c.user_id == user_id, table.c.action == "claim",
            table.c.at >= start)).scalar() or 0

    def _set_owner(self, connection: Connection, entity: str, record: Mapping[str, Any], pool: Pool,
                   owner: int | None, actor: Actor) -> dict[str, Any]:
        try:
            return self.records.update(entity, record["id"], {pool.owner_field: owner}, actor,
                                       version=record["version"], connection=connection)
        except StaleRecord:  # changed between the read and the write: someone got there first
            raise PoolRefused("taken", pool_message("pool_taken", actor.locale)) from None

    def _write(self, connection: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        write_history(connection, self.history_table, rows, self.site.now())


def write_history(connection: Connection, table: sa.Table, rows: Iterable[Mapping[str, Any]],
                  at: dt.datetime) -> None:
    batch = [{"rule": None, **row, "at": at} for row in rows]
    if batch:
        connection.execute(table.insert(), batch)
