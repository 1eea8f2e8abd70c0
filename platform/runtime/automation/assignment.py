"""Who an automation addresses: users by role, team, manager, and owners chosen in turns or by load.

`Directory` reads users and teams once per rule run; `Assigner` picks an owner per record for the
`assign` action, among a role, a team or the team / users a field's value maps to (a role given
with a team or a field narrows that group to the members with the role): `round_robin` takes
turns (the turn is a counter in atrium_sequences, so it carries on across runs and workers),
`least_loaded` picks whoever owns the fewest open records of the entity (ties: the lower user id).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from atrium.metadata.model import Blueprint
from atrium.runtime.records.audit import Audit
from atrium.runtime.schema.tables import Tables


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    role: str
    team_id: int | None
    active: bool


class Directory:
    """Users and teams as they are in the database, read once."""

    def __init__(self, connection: Connection, tables: Tables):
        users, teams = tables.system("atrium_users"), tables.system("atrium_teams")
        self.people = {row.id: Person(row.id, row.name, row.role, row.team_id, bool(row.active))
                       for row in connection.execute(sa.select(
                           users.c.id, users.c.name, users.c.role, users.c.team_id, users.c.active))}
        self.teams = {row.id: row for row in connection.execute(
            sa.select(teams.c.id, teams.c.name, teams.c.manager_id, teams.c.parent_id))}
        self.team_ids = {row.name: row.id for row in self.teams.values()}
        self.by_name = {person.name: person for person in self.people.values()}

    def active(self, ids: Sequence[int]) -> list[int]:
        return sorted(i for i in set(ids) if i in self.people and self.people[i].active)

    def with_role(self, role: str) -> list[int]:
        return self.active([p.id for p in self.people.values() if p.role == role])

    def in_team(self, team: str) -> list[int]:
        team_id = self.team_ids.get(team)
        return self.active([p.id for p in self.people.values() if team_id is not None and p.team_id == team_id])

    def named(self, names: Sequence[str]) -> list[int]:
        return self.active([self.by_name[n].id for n in names if n in self.by_name])

    def manager_of(self, user_id: int | None) -> int | None:
        """The manager of the user's team; for a team's own manager, the parent team's."""
        person = self.people.get(user_id) if user_id is not None else None
        team_id = person.team_id if person else None
        for _ in range(20):  # team trees are shallow; the bound only guards against a cycle
            team = self.teams.get(team_id) if team_id is not None else None
            if team is None:
                return None
            if team.manager_id is not None and team.manager_id != user_id:
                return team.manager_id
            team_id = team.parent_id
        return None


class Assigner:
    def __init__(self, blueprint: Blueprint, tables: Tables, audit: Audit):
        self.blueprint = blueprint
        self.tables = tables
        self.audit = audit

    def candidates(self, directory: Directory, spec: Mapping[str, Any], record: Mapping[str, Any]) \
            -> tuple[str, list[int]]:
        """(a key naming the group of users, their ids) for one record."""
        if "role" in spec and ("team" in spec or "by_field" in spec):  # the role narrows the group
            key, users = self._group(directory, {k: v for k, v in spec.items() if k != "role"}, record)
            role = spec["role"]
            return f"{key}|role:{role}", [u for u in users if directory.people[u].role == role]
        return self._group(directory, spec, record)

    def _group(self, directory: Directory, spec: Mapping[str, Any], record: Mapping[str, Any]) \
            -> tuple[str, list[int]]:
        if "role" in spec:
            return f"role:{spec['role']}", directory.with_role(spec["role"])
        if "team" in spec:
            return f"team:{spec['team']}", directory.in_team(spec["team"])
        value = record.get(spec["by_field"])
        if value is None:
            return "", []
        target = spec["map"].get(str(value)) if "map" in spec else str(value)
        if target is None:
            return "", []
        if isinstance(target, str):
            return f"team:{target}", directory.in_team(target)
        return "users:" + ",".join(target), directory.named(target)

    def choose(self, connection: Connection, directory: Directory, rule: str, entity: str,
               index: int, spec: Mapping[str, Any], records: Sequence[Mapping[str, Any]]) -> list[int | None]:
        """An owner for each record (None where nobody qualifies)."""
        groups: dict[str, tuple[list[int], list[int]]] = {}
        for position, record in enumerate(records):
            key, users = self.candidates(directory, spec, record)
            if users:
                groups.setdefault(key, (users, []))[1].append(position)
        chosen: list[int | None] = [None] * len(records)
        owner_field = spec.get("field") or self.blueprint.entities[entity].owner
        assert owner_field is not None  # the loader refuses an assign on an entity with no owner and no field
        for key, (users, positions) in groups.items():
            if spec["strategy"] == "round_robin":
                first = self.audit.next_numbers(connection, f"assign:{rule}:{index}:{key}"[:200], len(positions))
                for offset, position in enumerate(positions):
                    chosen[position] = users[(first + offset - 1) % len(users)]
            else:
                load = self._open_records(connection, entity, owner_field, users)
                for position in positions:
                    user = min(users, key=lambda u: (load[u], u))
                    chosen[position] = user
                    load[user] += 1
        return chosen

    def _open_records(self, connection: Connection, entity: str, owner_field: str,
                      users: list[int]) -> dict[int, int]:
        table = self.tables[entity]
        owner = table.c[owner_field]
        query = sa.select(owner, sa.func.count()).where(owner.in_(users)).group_by(owner)
        pipeline = self.blueprint.pipeline_for(entity)
        if pipeline is not None:  # only open records weigh on someone
            query = query.where(table.c[pipeline.field].in_([s.name for s in pipeline.stages if s.is_open]))
        load = {user: 0 for user in users}
        load.update({user: count for user, count in connection.execute(query)})
        return load
