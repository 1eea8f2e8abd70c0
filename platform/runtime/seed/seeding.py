"""`atrium seed`: realistic demo data, driven by the blueprint's seed plan (seed.yaml).

What it makes: the plan's teams and demo users (each user's password is the user name), then the
records of each entity - references before the records that point to them - through
`RecordService.bulk_create`, so every record passes exactly the validation a form save applies.
Records of an entity with a pipeline are made at their final stage and get a stage history that
walks through the stages before it with plausible times. An entity whose plan says `each:` gets
exactly one record per combination of values instead of a count (seed_each.py). A blueprint
without a seed plan gets `scale` records of every entity with values chosen by field type, and
one demo user per role.

Deterministic: the same `seed` and the same `today` give the same data. `today` defaults to the
current date in the blueprint's time zone, so demo data always looks fresh: every date is placed
relative to it (creation times over the 18 months before it, planned dates after it).
"""
from __future__ import annotations

import datetime as dt
import random
import sys
import time
from typing import Any, Mapping
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from atrium.metadata.expressions import ExpressionError
from atrium.metadata.model import Blueprint, Entity, Label
from atrium.runtime.access import users as user_admin
from atrium.runtime.records.evaluation import SYSTEM, RecordEvaluator
from atrium.runtime.records.linked_values import LinkedRead
from atrium.runtime.records.rules import RECORD_ERRORS
from atrium.runtime.records.service import RecordService, ValidationFailed
from atrium.runtime.schema.database import connect, refresh_statistics
from atrium.runtime.seed.context import Context, Draft, Made, Registry, SeedPlanError, Timeline
from atrium.runtime.seed.each import Combination, combinations, missing
from atrium.runtime.seed.fields import Drafter
from atrium.runtime.seed.requests import request_approvals
from atrium.runtime.seed.values import Values

UNLISTED_PER_BASE = 0.5  # records per base record of an entity the plan does not list
MAX_BATCH = 2000
MAX_REPAIRS = 5


class _Clock:
    """The records service's clock, moved to each batch's creation time."""

    def __init__(self, now: dt.datetime):
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def seed_demo(blueprint: Blueprint, engine: Engine, scale: int = 200, seed: int = 1,
              progress: bool = False, today: dt.date | None = None) -> str:
    """Fill the database with demo data; returns a one-paragraph summary."""
    started = time.perf_counter()
    zone = ZoneInfo(blueprint.timezone)
    today = today or dt.datetime.now(zone).date()
    rng = random.Random(seed)
    plan = blueprint.seed.data if blueprint.seed is not None else None
    timeline = Timeline(today, zone, scale)
    clock = _Clock(timeline.anchor)
    # Demo data is history as it happened, drawn by the plan: automations are not replayed over it.
    service = RecordService(blueprint, engine, clock=clock)
    evaluator = RecordEvaluator(blueprint, clock=clock)
    made: dict[str, int] = {}
    notes: list[str] = []
    with connect(engine, write=True) as connection:
        with connection.begin():
            logins = _users_and_teams(connection, service, blueprint, plan)
            users = {name: uid for name, (uid, _, _) in logins.items()}
            context = Context(blueprint, rng, Values(rng), timeline, Registry(), users,
                              _writers(blueprint, logins), _holds(evaluator))
            roles = {name: role for name, (_, role, _) in logins.items()}
            for entity, count, specs in _entity_plan(blueprint, plan, scale, notes):
                existing, taken = _existing(connection, service, entity)
                drafter = Drafter(context, entity, specs, existing, taken)
                entry = plan["entities"].get(entity.name, {}) if plan else {}
                wanted = None
                if "each" in entry:  # one per combination, not a count (none without its references)
                    wanted = missing(connection, service.tables[entity.name], entry,
                                     combinations(context, entity, entry, roles)) if count else []
                    count = len(wanted)
                made[entity.name] = _make(connection, service, drafter, count, clock, progress, wanted)
                if drafter.dropped:
                    notes.append(f"{drafter.dropped} {entity.name} records left out: its rules refused "
                                 f"every value tried")
            # approvals left waiting for a decision, as their owners asked for them (seed_requests.py)
            notes += request_approvals(connection, blueprint, engine, clock, plan, rng, timeline.anchor)
    refresh_statistics(engine, service.tables.metadata.tables)
    seconds = time.perf_counter() - started
    return _summary(blueprint, made, logins, notes, seconds)


# --- plan ------------------------------------------------------------------------------------

def _entity_plan(blueprint: Blueprint, plan: Mapping | None, scale: int,
                 notes: list[str]) -> list[tuple[Entity, int, Mapping[str, Any]]]:
    """(entity, how many, field generators), each entity after the entities it points to."""
    listed = dict(plan["entities"]) if plan else {}
    base = plan.get("base") if plan else None
    counts: dict[str, int] = {}
    for name in list(listed) + [n for n in blueprint.entities if n not in listed]:
        entry = listed.get(name, {})
        if "count" in entry:
            counts[name] = int(entry["count"])
        elif "each" in entry:  # the number of combinations, known once the demo users are
            counts[name] = 1
        elif name == base or not plan:
            counts[name] = scale
        else:  # at least one of each as soon as there is anything
            counts[name] = max(1, round(scale * entry.get("per_base", UNLISTED_PER_BASE))) if scale > 0 else 0
    ranked = list(counts)
    done: list[str] = []
    while len(done) < len(ranked):
        waiting = [n for n in ranked if n not in done]

        def ready(name: str, hard_only: bool) -> bool:
            return all(f.to in done or f.to == name or f.to not in counts
                       for f in blueprint.entities[name]
                       if f.type == "reference" and (f.required or not hard_only) and not later(name, f))

        def later(name: str, field: Any) -> bool:
            """A link the plan leaves empty, to an entity the plan makes after this one: no wait."""
            return field.name in _left_empty(listed.get(name, {})) and ranked.index(field.to) > ranked.index(name)
        chosen = next((n for n in waiting if ready(n, False)), None) \
            or next((n for n in waiting if ready(n, True)), None)
        if chosen is None:
            raise SeedPlanError("required references form a cycle: " + ", ".join(waiting))
        done.append(chosen)
    result = []
    for name in done:
        entity = blueprint.entities[name]
        missing: list[str] = []
        for f in entity:
            if f.type == "reference" and f.required:
                assert f.to is not None  # a loaded blueprint's reference always names its entity
                if f.to == name or not counts.get(f.to):
                    missing.append(f.to)
        if missing and counts[name]:
            notes.append(f"no {name} records: they need {', '.join(sorted(set(missing)))} records")
            counts[name] = 0
        result.append((entity, counts[name], listed.get(name, {}).get("fields", {})))
    return result


def _left_empty(entry: Mapping[str, Any]) -> set[str]:
    """The fields the plan gives `{value: null}`."""
    fields = entry.get("fields", {}) if isinstance(entry, Mapping) else {}
    return {name for name, spec in fields.items()
            if isinstance(spec, Mapping) and "value" in spec and spec["value"] is None}


def _holds(evaluator: RecordEvaluator):
    def holds(entity: str, expression: Any, values: Mapping[str, Any]) -> bool:
        if expression is None:
            return False
        try:
            return bool(evaluator.bind(entity, SYSTEM).evaluate(expression, values))
        except ExpressionError:
            return False
    return holds


def _existing(connection: Connection, service: RecordService, entity: Entity) -> tuple[int, dict]:
    """How many records there already are, and the values unique fields already hold."""
    table = service.tables[entity.name]
    count = connection.execute(sa.select(sa.func.count()).select_from(table)).scalar() or 0
    taken = {f.name: set(connection.execute(sa.select(table.c[f.name]).where(
        table.c[f.name].is_not(None))).scalars()) for f in entity if f.unique and count}
    return count, taken


# --- users and teams -------------------------------------------------------------------------

def _text(label: Any, blueprint: Blueprint, fallback: str) -> str:
    return Label.of(label, fallback).text(blueprint.default_locale) if label else fallback


def _users_and_teams(connection: Connection, service: RecordService, blueprint: Blueprint,
                     plan: Mapping | None) -> dict[str, tuple[int, str, bool]]:
    """Create the demo teams and users; returns name → (id, role, made now)."""
    tables = service.tables
    teams = {team["name"]: dict(team) for team in blueprint.teams}
    for team in (plan.get("teams", ()) if plan else ()):
        teams[team["name"]] = dict(team)
    if plan and plan.get("users"):
        wanted = [dict(user) for user in plan["users"]]
    else:  # one demo user per role, named after it, in the first team
        first = next(iter(teams), None)
        wanted = [{"name": name, "role": name, "label": role.label.texts,
                   "team": None if role.all else first} for name, role in blueprint.roles.items()]
    team_table, user_table = tables.system("atrium_teams"), tables.system("atrium_users")
    existing_teams = set(connection.execute(sa.select(team_table.c.name)).scalars())
    pending = [name for name in teams if name not in existing_teams]
    while pending:  # parents first
        name = next((n for n in pending if teams[n].get("parent") not in pending), pending[0])
        parent = teams[name].get("parent")
        user_admin.add_team(connection, tables, name, _text(teams[name].get("label"), blueprint, name),
                            parent if parent in teams or parent in existing_teams else None)
        pending.remove(name)
    existing = {row.name: (row.id, row.role) for row in connection.execute(
        sa.select(user_table.c.name, user_table.c.id, user_table.c.role))}
    logins: dict[str, tuple[int, str, bool]] = {}
    for user in wanted:
        name = user["name"]
        if name in existing:
            logins[name] = (existing[name][0], existing[name][1], False)
            continue
        team = user.get("team") if user.get("team") in teams or user.get("team") in existing_teams else None
        uid = user_admin.add_user(connection, tables, blueprint, name, user["role"], team, password=name,
                                  display_name=_text(user.get("label"), blueprint, name))
        logins[name] = (uid, user["role"], True)
    for name, team in teams.items():
        if team.get("manager") in logins and name not in existing_teams:
            user_admin.set_team_manager(connection, tables, name, team["manager"])
    return logins


def _writers(blueprint: Blueprint, logins: Mapping[str, tuple[int, str, bool]]):
    """Entity → the demo users who may create its records (not the all-seeing ones, if possible)."""
    cache: dict[str, list[int]] = {}

    def writers(entity: str) -> list[int]:
        if entity not in cache:
            roles = blueprint.roles
            ids = [uid for uid, role, _ in logins.values()
                   if role in roles and not roles[role].all and roles[role].grant(entity).create]
            cache[entity] = ids or [uid for uid, _, _ in logins.values()]
        return cache[entity]
    return writers


# --- records ---------------------------------------------------------------------------------

def _make(connection: Connection, service: RecordService, drafter: Drafter, count: int,
          clock: _Clock, progress: bool, wanted: list[Combination] | None = None) -> int:
    entity = drafter.entity
    drafts = ([drafter.draft(c.values, c.around) for c in wanted] if wanted is not None
              else [drafter.draft() for _ in range(count)])
    drafts.sort(key=_moment)
    drafter.renumber(drafts)
    started, done = time.perf_counter(), 0
    batch: list[Draft] = []
    links = check_links(entity)
    for index, draft in enumerate(drafts):
        batch.append(draft)
        last = index + 1 == len(drafts)
        if (last or drafts[index + 1].moment != draft.moment or len(batch) >= MAX_BATCH
                or _shares_link(links, batch, drafts[index + 1])):
            clock.now = _moment(draft)
            done += _insert(connection, service, drafter, batch)
            batch = []
            if progress:
                rate = done / max(time.perf_counter() - started, 1e-6)
                sys.stderr.write(f"\r  {entity.name}: {done:,}/{count:,} records, {rate:,.0f} records/s ")
                sys.stderr.flush()
    if progress and count:
        sys.stderr.write("\n")
    return done


def _moment(draft: Draft) -> dt.datetime:
    assert draft.moment is not None  # Drafter.draft always sets it
    return draft.moment


def _insert(connection: Connection, service: RecordService, drafter: Drafter, batch: list[Draft]) -> int:
    """Insert one batch through the records service, redrawing values it refuses."""
    entity = drafter.entity
    if entity.checks and drafter.precheck:  # checks refused a record before: try each one first
        linked = service.linked_values.reader(connection)
        batch = [draft for draft in batch if _acceptable(service, drafter, draft, linked)]
    later: list[Draft] = []  # inserted after this batch, one at a time
    walked = _walk_stages(drafter, batch)
    while True:
        try:
            created = service.bulk_create(entity.name, [d.values for d in batch], SYSTEM,
                                          connection=connection, batch_size=max(1, len(batch)))
            break
        except ValidationFailed as failure:  # nothing was written: fix or leave out that record
            if failure.row is None or failure.row >= len(batch):
                raise
            drafter.precheck = True
            draft = batch[failure.row]
            if draft.attempts >= MAX_REPAIRS or not drafter.redo(draft, _fields(failure.errors, entity)):
                del batch[failure.row]
                drafter.dropped += 1
            elif _shares_link(check_links(entity), batch[:failure.row] + batch[failure.row + 1:], draft):
                later.append(batch.pop(failure.row))  # redrawn onto a record another one here links to
    registry = drafter.c.pool
    keep = drafter.keep
    registry.add(entity.name, [Made(record["id"], _moment(draft), {k: draft.values.get(k) for k in keep})
                               for record, draft in zip(created, batch, strict=False)])
    if drafter.pipeline:
        walks = []
        for record, draft in zip(created, batch, strict=False):
            if len(draft.stages) > 1:
                times = walked[id(draft)]
                owner = record.get(entity.owner) if entity.owner else None
                walks.append((record["id"], owner, list(zip((s.name for s in draft.stages), times, strict=False))))
        service.audit.record_stage_walks(connection, entity.name, drafter.pipeline.name, walks)
    return len(created) + sum(_insert(connection, service, drafter, [draft]) for draft in later)


def check_links(entity: Entity) -> frozenset[str]:
    """The links the entity's checks follow (`assert: "amount <= instalment.outstanding"`)."""
    return frozenset(path[0] for check in entity.checks for expression in (check.assertion, check.when)
                     if expression is not None for path in expression.paths)


def _shares_link(links: frozenset[str], batch: list[Draft], draft: Draft) -> bool:
    """Whether `draft` links, through a link a check follows, to a record one of `batch` links to:
    such records go in separate batches, so each is checked against what the ones before it left."""
    return any(draft.values.get(link) is not None
               and any(other.values.get(link) == draft.values.get(link) for other in batch) for link in links)


def _walk_stages(drafter: Drafter, batch: list[Draft]) -> dict[int, list[dt.datetime]]:
    """When each draft of the batch entered each stage of its walk (by `id(draft)`); a field
    stamped on entering the final stage (`stamp_on_stage`, e.g. won_on) gets that day, so a won
    deal's date agrees with its stage history."""
    walked: dict[int, list[dt.datetime]] = {}
    if not drafter.pipeline:
        return walked
    zone = ZoneInfo(drafter.c.blueprint.timezone)
    for draft in batch:
        if len(draft.stages) <= 1:
            continue
        moment = _moment(draft)
        times = [moment] + drafter.c.timeline.walk(drafter.c.rng, moment, len(draft.stages) - 1)
        walked[id(draft)] = times
        for field in drafter.entity.stamped_fields:
            if draft.stages[-1].name in field.stamp_on_stage:
                at = times[-1].astimezone(zone)
                draft.values[field.name] = at if field.type == "datetime" else at.date()
    return walked


def _acceptable(service: RecordService, drafter: Drafter, draft: Draft, linked: LinkedRead) -> bool:
    while True:
        _, errors = service.rules.prepare(drafter.entity, None, draft.values, SYSTEM, linked=linked)
        if not errors:
            return True
        if draft.attempts >= MAX_REPAIRS or not drafter.redo(draft, _fields(errors, drafter.entity)):
            drafter.dropped += 1
            return False


def _fields(errors: Mapping[str, list[str]], entity: Entity) -> list[str]:
    names = [name for name in errors if name != RECORD_ERRORS]
    if RECORD_ERRORS in errors:  # a check that names no single field: redraw what it reads
        names += [n for check in entity.checks for n in check.assertion.names if n in entity.fields]
    return names


# --- summary ---------------------------------------------------------------------------------

def _summary(blueprint: Blueprint, made: Mapping[str, int], logins: Mapping[str, tuple[int, str, bool]],
             notes: list[str], seconds: float) -> str:
    total = sum(made.values())
    parts = ", ".join(f"{count:,} {blueprint.entities[name].plural.text('en', blueprint.default_locale)}"
                      for name, count in made.items() if count)
    new = [f"{name}/{name} ({role})" for name, (_, role, fresh) in logins.items() if fresh]
    old = [name for name, (_, _, fresh) in logins.items() if not fresh]
    text = (f"Seeded {blueprint.name} with {total:,} records in {seconds:.1f} s "
            f"({total / max(seconds, 1e-6):,.0f} records/s): {parts or 'no records'}.")
    if new:
        text += f" Demo logins (user/password): {', '.join(new)}."
    if old:
        text += f" Existing users kept: {', '.join(old)}."
    if notes:
        text += " Note: " + "; ".join(notes) + "."
    return text
