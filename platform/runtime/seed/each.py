"""`each:` in a seed plan: one record for every combination of some fields' values - every demo
user of a role, every period from a few back to the current one, a list of values - instead of a
number of random records; `overrides` give the combinations that differ their own values.

    reviews:
      each:
        reviewer: {role: reviewer}                 # every demo user with that role
        week: {every: week, from: -4, to: 0}       # Mondays: four weeks back, and this week
        kind: [quality, pace]
      fields: {status: {value: done}}
      overrides:
        - where: {reviewer: anna, week: {within: this_week}}
          values: {status: open}

The combinations are exact: no `count` or scale applies, and seeding again adds only the
combinations the database does not hold yet. Each record is created a few working days before
the date of its combination (or now, if that date is still ahead).
"""
from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from atrium.metadata.model import Entity, Field
from atrium.runtime.query.periods import period_range
from atrium.runtime.records.coercion import CoercionError, coerce
from atrium.runtime.reports.buckets import bucket_start, shift
from atrium.runtime.seed.context import Context, SeedPlanError
from atrium.runtime.seed.plan import plan_value

TEMPORAL = ("date", "datetime")
MAX_COMBINATIONS = 100_000


@dataclass
class Combination:
    values: dict[str, Any]  # field → value as the field stores it
    around: dt.datetime | None  # when the record is created (None: as the timeline draws it)


def combinations(c: Context, entity: Entity, entry: Mapping[str, Any],
                 roles: Mapping[str, str]) -> list[Combination]:
    """Every combination of the plan's `each` values, overrides applied. `roles`: user name → role."""
    axes = [(name, _axis(c, entity, name, spec, roles)) for name, spec in entry["each"].items()]
    total = 1
    for _, options in axes:
        total *= len(options)
    if total > MAX_COMBINATIONS:
        raise SeedPlanError(f"seed plan: {entity.name}.each: {total:,} combinations; at most "
                            f"{MAX_COMBINATIONS:,}")
    overrides = [_override(c, entity, i, spec, dict(axes)) for i, spec in enumerate(entry.get("overrides", ()))]
    dated = next((name for name, _ in axes if entity.fields[name].type in TEMPORAL), None)
    found = []
    for combination in itertools.product(*(options for _, options in axes)):
        values = dict(zip((name for name, _ in axes), combination, strict=False))
        for matches, changes in overrides:
            if matches(values):
                values.update(changes)
        around = None
        if dated is not None and values.get(dated) is not None:
            day = values[dated]
            day = day.astimezone(c.timeline.zone).date() if isinstance(day, dt.datetime) else day
            around = c.values.work_time(day - dt.timedelta(days=c.rng.randint(1, 10)), c.timeline.zone)
        found.append(Combination(values, around))
    return found


def missing(connection: Connection, table: sa.Table, entry: Mapping[str, Any],
            found: list[Combination]) -> list[Combination]:
    """The combinations the table does not hold yet (by the values of the `each` fields)."""
    names = list(entry["each"])
    held = {tuple(_key(v) for v in row) for row in connection.execute(
        sa.select(*(table.c[name] for name in names)).distinct())}
    return [combination for combination in found
            if tuple(_key(combination.values[name]) for name in names) not in held]


def _key(value: Any) -> Any:
    # SQLite gives date-times back without a zone: compare instants in UTC
    if isinstance(value, dt.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)).astimezone(dt.timezone.utc)
    return value


def _field(entity: Entity, name: str, where: str) -> Field:
    field = entity.fields.get(name)
    if field is None or field.computed:
        raise SeedPlanError(f"{where}: {entity.name} has no stored field {name!r}")
    if field.type == "stage":
        raise SeedPlanError(f"{where}: a stage is drawn with its walk through the pipeline; give it under fields")
    return field


def _axis(c: Context, entity: Entity, name: str, spec: Any, roles: Mapping[str, str]) -> list[Any]:
    where = f"seed plan: {entity.name}.each.{name}"
    field = _field(entity, name, where)
    if isinstance(spec, (list, tuple)):
        return [_stored(c, entity, field, value, where) for value in spec]
    if "role" in spec:
        if field.type != "user":
            raise SeedPlanError(f"{where}: role: gives users, but {name!r} is a {field.type} field")
        if spec["role"] not in c.blueprint.roles:
            raise SeedPlanError(f"{where}: {spec['role']!r} is not a role")
        return [c.users[user] for user, role in roles.items() if role == spec["role"] and user in c.users]
    if field.type not in TEMPORAL:
        raise SeedPlanError(f"{where}: every: gives dates, but {name!r} is a {field.type} field")
    unit, first, last = spec["every"], spec.get("from", 0), spec.get("to", 0)
    if first > last:
        raise SeedPlanError(f"{where}: from ({first}) comes after to ({last})")
    current = bucket_start(c.timeline.today, unit)
    days = [shift(current, unit, step) for step in range(first, last + 1)]
    if field.type == "date":
        return days
    return [dt.datetime.combine(day, dt.time(), c.timeline.zone).astimezone(dt.timezone.utc) for day in days]


def _stored(c: Context, entity: Entity, field: Field, value: Any, where: str) -> Any:
    value = plan_value(c, entity, field, value, where)
    if value is None or field.type == "user":
        return value
    try:
        return coerce(field, value, c.blueprint.timezone)
    except CoercionError as error:
        raise SeedPlanError(f"{where}: {value!r} does not fit a {field.type} field ({error.key})") from None


def _override(c: Context, entity: Entity, index: int, spec: Mapping[str, Any],
              axes: Mapping[str, list[Any]]) -> tuple[Callable[[Mapping[str, Any]], bool], dict[str, Any]]:
    where = f"seed plan: {entity.name}.overrides[{index}]"
    tests = []
    for name, wanted in spec["where"].items():
        if name not in axes:
            raise SeedPlanError(f"{where}.where: {name!r} is not a field of each ({', '.join(axes)})")
        tests.append(_test(c, entity, entity.fields[name], wanted, f"{where}.where.{name}"))
    changes = {name: _stored(c, entity, _field(entity, name, f"{where}.values"), value, f"{where}.values.{name}")
               for name, value in spec["values"].items()}
    return (lambda values: all(test(values) for test in tests)), changes


def _test(c: Context, entity: Entity, field: Field, wanted: Any, where: str) -> Callable[[Mapping[str, Any]], bool]:
    name = field.name
    if isinstance(wanted, Mapping) and "within" in wanted:
        if field.type not in TEMPORAL:
            raise SeedPlanError(f"{where}: within is for date fields")
        try:
            start, end = period_range(wanted["within"], c.timeline.today)
        except (KeyError, ValueError):
            raise SeedPlanError(f"{where}: {wanted['within']!r} is not a period") from None

        def within(values: Mapping[str, Any]) -> bool:
            day = values[name]
            day = day.astimezone(c.timeline.zone).date() if isinstance(day, dt.datetime) else day
            return day is not None and start <= day < end
        return within
    options = wanted["in"] if isinstance(wanted, Mapping) and "in" in wanted else [wanted]
    accepted = [_stored(c, entity, field, value, where) for value in options]
    return lambda values: values[name] in accepted
