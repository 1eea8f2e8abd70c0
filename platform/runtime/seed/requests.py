"""Approvals waiting in the demo data: a seed plan's `request:` (seed.yaml, per entity).

The seed makes records as history, without running automations, so nothing would ever be waiting
for a decision. After every record is made, each `request: {rule, where, share}` asks the named
approval rule (an automation whose action is require_approval, `on: request` or fired by writes)
for a share of the records that match `where` and the rule's own conditions, as the record's
owner (as the system for a record nobody owns), a few hours to days before today: the approval
rows, the `pending` values, the locks and the approvers' notifications are what a person's
request would have made. No other rule runs.

`share` (default 1) is the part of the matching records asked for, picked by the seed's random
numbers: below 1 it leaves at least one record unasked when two or more match (so a demo user
can still ask for one), above 0 it asks for at least one. A record whose request cannot be made
(its owner has no manager, a value is refused) is left as it is; seeding again does not ask twice.
"""
from __future__ import annotations

import datetime as dt
import random
from typing import Any, Mapping

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from atrium.metadata.model import Blueprint
from atrium.runtime.automation.rules import build_rules
from atrium.runtime.query.conditions import Joins, compile_condition
from atrium.runtime.records.errors import RecordError
from atrium.runtime.records.evaluation import SYSTEM, Actor
from atrium.runtime.records.service import RecordService
from atrium.runtime.site.services import wire_services


def requests_of(plan: Mapping[str, Any] | None) -> list[tuple[str, Mapping[str, Any]]]:
    """(entity, request) for every `request:` of the plan, in the plan's sequence."""
    found = []
    for entity, entry in ((plan or {}).get("entities") or {}).items():
        asked = entry.get("request")
        for item in ([asked] if isinstance(asked, Mapping) else list(asked or ())):
            found.append((entity, item))
    return found


def how_many(share: float, matching: int) -> int:
    if matching == 0 or share <= 0:
        return 0
    if share >= 1:
        return matching
    if matching == 1:
        return 1 if share >= 0.5 else 0
    return min(max(round(share * matching), 1), matching - 1)


def request_approvals(connection: Connection, blueprint: Blueprint, engine: Engine, clock: Any,
                      plan: Mapping[str, Any] | None, rng: random.Random, anchor: dt.datetime) -> list[str]:
    """Make the plan's requests in the seed's transaction; returns lines for the summary."""
    wanted = requests_of(plan)
    if not wanted:
        return []
    # the requests' writes fire no rule
    service = wire_services(RecordService(blueprint, engine, clock=clock), rules=(),
                            approval_rules=build_rules(blueprint))
    approvals = service.approvals
    assert approvals is not None
    people = _people(connection, service)
    lines = []
    for entity, item in wanted:
        owner_field = blueprint.entities[entity].owner
        joins = Joins(blueprint, service.tables, entity)
        condition = compile_condition(joins, item.get("where") or {}, anchor, blueprint.timezone)
        ids = connection.execute(sa.select(joins.base.c.id).select_from(joins.from_clause)
                                 .where(condition).order_by(joins.base.c.id)).scalars().all()
        records = service.read_many(connection, entity, ids)
        chosen = sorted(rng.sample(records, how_many(item.get("share", 1), len(records))), key=lambda r: r["id"])
        asked = 0
        for record in chosen:
            clock.now = max(record["created_at"], anchor - dt.timedelta(hours=rng.uniform(1, 96)))
            try:
                with connection.begin_nested():  # a refused request leaves nothing behind
                    owner_id = record.get(owner_field or "created_by")
                    actor = people.get(owner_id, SYSTEM) if owner_id is not None else SYSTEM
                    approvals.request_as_trigger(item["rule"], record["id"], actor, connection)
                asked += 1
            except RecordError:
                continue
        lines.append(f"{asked} {item['rule']} approval(s) waiting")
    clock.now = anchor
    return lines


def _people(connection: Connection, service: RecordService) -> dict[int, Actor]:
    users = service.tables.system("atrium_users")
    return {row.id: Actor(user_id=row.id, name=row.name, role=row.role, team_id=row.team_id,
                          locale=row.locale or service.blueprint.default_locale)
            for row in connection.execute(sa.select(users).where(users.c.active == sa.true()))}
