"""Who may do what: the one place roles.yaml is enforced.

Lists, detail pages, forms, pickers, search, exports, reports and the API all ask this module:
`scope` for an action's reach (none, own, team, all), `row_filter` for the SQL that limits rows
to that reach, `permits` / `permits_each` for records already read, `field_mode` for hidden and
read-only fields (a derived field whose inputs a role may not see is hidden from it as well:
metadata/derived_secrecy.py), `may_own` / `owner_reach` for whom a record may be given to, and
`sees_everything` for a role with `all`. Pages, the API and the approvals service ask these
questions; none of them reads a role's grants itself. A role with `pool: true` on an entity that
has a public pool also reads the records nobody owns (`in_pool`), whatever its scope.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from types import MappingProxyType
from typing import Any, Callable, Iterable, Mapping

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from atrium.metadata.derived_secrecy import hidden_derived
from atrium.metadata.model import Blueprint, Entity, Role
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.schema.tables import Tables

ACTIONS = ("read", "update", "delete")
SCOPE_USER, SCOPE_TEAM = "scope_user", "scope_team"  # row_filter's bound parameters


@dataclass(frozen=True)
class Access:
    blueprint: Blueprint
    tables: Tables

    def role(self, actor: Actor) -> Role | None:
        return self.blueprint.roles.get(actor.role or "")

    def is_system(self, actor: Actor) -> bool:
        return actor.user_id is None and actor.role is None

    def may_use_studio(self, actor: Actor) -> bool:
        """Whether the actor's role may change the metadata in the studio (`studio: true`)."""
        role = self.role(actor)
        return bool(role is not None and role.studio)

    def sees_everything(self, actor: Actor) -> bool:
        """Whether the actor's role has `all`: every dashboard, every field, and a say in every approval."""
        role = self.role(actor)
        return role is not None and role.all

    def scope(self, actor: Actor, entity: str, action: str) -> str:
        """How far `action` reaches for this actor on `entity`: none, own, team or all."""
        if self.is_system(actor):
            return "all"
        role = self.role(actor)
        if role is None:
            return "none"
        grant = role.grant(entity)
        if action == "create":
            return "all" if grant.create else "none"
        return getattr(grant, action)

    def can(self, actor: Actor, entity: str, action: str) -> bool:
        if action == "read" and self.claims(actor, entity):
            return True
        return self.scope(actor, entity, action) != "none"

    def claims(self, actor: Actor, entity: str) -> bool:
        """Whether the actor sees the entity's public pool and may claim from it (`pool: true`)."""
        if self.blueprint.entities[entity].pool is None or actor.user_id is None:
            return False
        role = self.role(actor)
        return role is not None and role.grant(entity).pool

    def in_pool(self, entity: str, table: Any = None) -> sa.ColumnElement:
        """The SQL condition of a record in the entity's public pool: no owner, and not locked."""
        pool = self.blueprint.entities[entity].pool
        assert pool is not None  # asked only of an entity with a public pool
        table = table if table is not None else self.tables[entity]
        condition = table.c[pool.owner_field].is_(None)
        if pool.lock_field:
            condition = sa.and_(condition, sa.or_(table.c[pool.lock_field].is_(None),
                                                  table.c[pool.lock_field].is_(False)))
        return condition

    @cached_property
    def derived_hidden(self) -> Mapping[str, frozenset[tuple[str, str]]]:
        """By role: the (entity, field) of each derived field hidden from it because one of its
        inputs is, computed once for this blueprint."""
        return {name: frozenset(hidden_derived(self.blueprint.entities, role))
                for name, role in self.blueprint.roles.items()}

    @cached_property
    def _modes_by_role(self) -> dict[tuple[str | None, str], Mapping[str, str]]:
        """(role name, entity) → each field's mode, filled as pages ask. A mode depends on the
        role and the immutable blueprint only, never on a record's values, so one decision per
        (role, entity) serves every row and request of this site (a new blueprint is a new Access)."""
        return {}

    def field_modes(self, actor: Actor, entity: str) -> Mapping[str, str]:
        """Every field of `entity` with its mode for the actor's role, decided once per (role, entity)."""
        key = (actor.role, entity)
        modes = self._modes_by_role.get(key)
        if modes is None:
            modes = self._modes_by_role[key] = self._decide_modes(self.role(actor), entity)
        return modes

    @cached_property
    def _hidden_by_role(self) -> dict[tuple[str | None, str], frozenset[str]]:
        """(role name, entity) → the fields hidden from the role, filled as asked (see _modes_by_role)."""
        return {}

    def hidden_fields(self, actor: Actor, entity: str) -> frozenset[str]:
        """The fields of `entity` the actor's role may not see, decided once per (role, entity):
        a list asks for every title and search it builds."""
        key = (actor.role, entity)
        hidden = self._hidden_by_role.get(key)
        if hidden is None:
            hidden = self._hidden_by_role[key] = frozenset(
                name for name, mode in self.field_modes(actor, entity).items() if mode == "hidden")
        return hidden

    def _decide_modes(self, role: Role | None, entity: str) -> Mapping[str, str]:
        return MappingProxyType({name: self._decide_mode(role, entity, name)
                                 for name in self.blueprint.entities[entity].fields})

    def _decide_mode(self, role: Role | None, entity: str, field: str) -> str:
        if role is not None and not role.all:
            if (entity, field) in self.derived_hidden.get(role.name, frozenset()):
                return "hidden"
            mode = role.fields.get(f"{entity}.{field}")
            if mode:
                return mode
        model = self.blueprint.entities[entity].fields.get(field)
        if model is not None and (model.computed or model.readonly):
            return "readonly"
        return "write"

    def field_mode(self, actor: Actor, entity: str, field: str) -> str:
        """'hidden', 'readonly' or 'write' for one field; a formula, roll-up or dotted default is
        hidden from a role that may not see one of its inputs (unless it `reveals` that input)."""
        mode = self.field_modes(actor, entity).get(field)
        if mode is None:  # not a field of the entity (a system column, a name from a request)
            return self._decide_mode(self.role(actor), entity, field)
        return mode

    def visible_fields(self, actor: Actor, entity: str) -> list[str]:
        return [f.name for f in self.blueprint.entities[entity]
                if self.field_mode(actor, entity, f.name) != "hidden"]

    def writable(self, actor: Actor, entity: str, values: Mapping[str, Any]) -> dict[str, str]:
        """The fields among `values` this actor may not set, with why ('hidden' / 'readonly')."""
        refused = {}
        for name in values:
            mode = self.field_mode(actor, entity, name) if name in self.blueprint.entities[entity].fields else "write"
            if mode != "write":
                refused[name] = mode
        return refused

    def owner_column(self, entity: Entity, table: Any) -> sa.ColumnElement:
        """The column the own/team scopes look at: the entity's owner field, else created_by."""
        if entity.owner and entity.owner in table.c:
            return table.c[entity.owner]
        return table.c.created_by

    def team_members(self, connection: Connection, actor: Actor) -> list[int]:
        """The actor and every user in the actor's team and its sub-teams."""
        if actor.team_id is None:
            return [actor.user_id] if actor.user_id is not None else []
        users = self.tables.system("atrium_users")
        covered = self.teams_in_reach(connection, actor)
        members = connection.execute(sa.select(users.c.id).where(users.c.team_id.in_(covered))).scalars()
        return sorted(set(members) | ({actor.user_id} if actor.user_id is not None else set()))

    def people_in_reach(self, connection: Connection, actor: Actor, entities: Iterable[str]) -> set[int] | None:
        """Whose records the actor reads: the widest read scope over `entities` (all: None, meaning
        everyone; team: the actor's team and sub-teams; own or none: the actor alone)."""
        ranks = ("none", "own", "team", "all")
        widest = max((self.scope(actor, entity, "read") for entity in entities if entity in self.blueprint.entities),
                     key=ranks.index, default="own")
        if widest == "all":
            return None
        if widest == "team":
            return set(self.team_members(connection, actor))
        return {actor.user_id} if actor.user_id is not None else set()

    def teams_in_reach(self, connection: Connection, actor: Actor) -> set[int]:
        """The actor's team and its sub-teams (what a `team` scope covers); none without a team."""
        if actor.team_id is None:
            return set()
        teams = self.tables.system("atrium_teams")
        parents = {row.id: row.parent_id for row in connection.execute(sa.select(teams.c.id, teams.c.parent_id))}
        covered = {actor.team_id}
        changed = True
        while changed:  # teams are few; walking the parent links in Python keeps SQL portable
            grown = covered | {team for team, parent in parents.items() if parent in covered}
            changed, covered = grown != covered, grown
        return covered

    def row_filter(self, connection: Connection, actor: Actor, entity: str, action: str = "read",
                   table: Any = None, pool: bool = True) -> sa.ColumnElement:
        """The SQL condition that limits rows of `entity` to what `actor` may `action`; with
        `pool=False` a role's public pool is left out (what it owns or its team owns, as reports count)."""
        model = self.blueprint.entities[entity]
        table = table if table is not None else self.tables[entity]
        scope = self.scope(actor, entity, action)
        if scope == "all":
            return sa.true()
        # The actor's ids are named bound parameters (SCOPE_USER, SCOPE_TEAM): a statement built
        # once for a scope shape (`scope_shape`) runs for any actor of that shape with
        # `scope_values(actor)` as its parameters.
        owned = self._owned(model, table, actor, scope)
        if pool and action == "read" and self.claims(actor, entity):  # the public pool, besides the scope
            return self.in_pool(entity, table) if owned is None else sa.or_(owned, self.in_pool(entity, table))
        return sa.false() if owned is None else owned

    def _owned(self, model: Entity, table: Any, actor: Actor, scope: str) -> sa.ColumnElement | None:
        if scope == "none" or actor.user_id is None:
            return None
        owner = self.owner_column(model, table)
        mine = owner == sa.bindparam(SCOPE_USER, actor.user_id, type_=owner.type)
        if scope == "own" or actor.team_id is None:
            return mine
        return sa.or_(mine, owner.in_(self._team_member_ids(actor.team_id)))

    def scope_shape(self, actor: Actor, entity: str, action: str = "read", pool: bool = True) -> tuple:
        """Everything of the actor that changes `row_filter`'s SQL (not its values): with the
        entity, action and pool flag, the key a statement holding that filter is kept under."""
        scope = self.scope(actor, entity, action)
        return (entity, action, scope, actor.user_id is None, actor.team_id is None,
                pool and action == "read" and self.claims(actor, entity))

    @staticmethod
    def scope_values(actor: Actor) -> dict[str, Any]:
        """The values of `row_filter`'s bound parameters for this actor."""
        return {SCOPE_USER: actor.user_id, SCOPE_TEAM: actor.team_id}

    def _team_member_ids(self, team_id: int) -> sa.Select:
        """The users of a team and its sub-teams, as a subquery: the scope stays one statement,
        read from the teams as they are when it runs. UNION (not UNION ALL) ends the walk even if
        parent links ever form a loop. The CTE is anonymous: a report joining several entities puts
        one scope per entity in the same statement, and two CTEs may not share a name."""
        teams = self.tables.system("atrium_teams")
        users = self.tables.system("atrium_users")
        covered = sa.select(teams.c.id).where(
            teams.c.id == sa.bindparam(SCOPE_TEAM, team_id, type_=teams.c.id.type)).cte(recursive=True)
        covered = covered.union(sa.select(teams.c.id).where(teams.c.parent_id == covered.c.id))
        return sa.select(users.c.id).where(users.c.team_id.in_(sa.select(covered.c.id)))

    def permits(self, connection: Connection, actor: Actor, entity: str, record: Mapping[str, Any],
                action: str) -> bool:
        """Whether `action` reaches a record already read: decided from its owner, with SQL only
        for a team scope."""
        return self.permits_each(connection, actor, entity, action)(record)

    def permits_each(self, connection: Connection, actor: Actor, entity: str,
                     action: str) -> Callable[[Mapping[str, Any]], bool]:
        """`permits` for many records already read (a board's cards): the team is read once, and
        only when a record owned by someone else asks for it."""
        scope = self.scope(actor, entity, action)
        if scope == "all":
            return lambda record: True
        model = self.blueprint.entities[entity]
        key = model.owner if model.owner and model.owner in model.fields else "created_by"
        pooled = action == "read" and self.claims(actor, entity)
        members: set[int] | None = None

        def permitted(record: Mapping[str, Any]) -> bool:
            nonlocal members
            if pooled and self.pooled(entity, record):
                return True
            if scope == "none" or actor.user_id is None:
                return False
            owner = record.get(key)
            if owner == actor.user_id:
                return True
            if scope != "team":
                return False
            if members is None:
                members = set(self.team_members(connection, actor))
            return owner in members
        return permitted

    def owner_reach(self, connection: Connection, actor: Actor, entity: str) -> set[int | None] | None:
        """The users a record of `entity` may be given to by this actor (the actor alone with an
        `own` update scope, the actor's teams with `team`), or None when anyone may own it."""
        scope = self.scope(actor, entity, "update")
        if not self.blueprint.entities[entity].owner or scope not in ("own", "team", "none"):
            return None
        if scope == "team":
            return set(self.team_members(connection, actor))
        return {actor.user_id}  # None for an actor with a role but no user

    def may_own(self, connection: Connection, actor: Actor, entity: str, owner_id: int | None) -> bool:
        """Whether this actor may leave a record of `entity` owned by `owner_id` (nobody always)."""
        if owner_id is None:
            return True
        reach = self.owner_reach(connection, actor, entity)
        return reach is None or owner_id in reach

    def pooled(self, entity: str, record: Mapping[str, Any]) -> bool:
        """Whether a record already read is in the entity's public pool (`in_pool` in Python)."""
        pool = self.blueprint.entities[entity].pool
        return (pool is not None and record.get(pool.owner_field) is None
                and not (pool.lock_field and record.get(pool.lock_field)))

    def allows(self, connection: Connection, actor: Actor, entity: str, record_id: int,
               action: str = "read") -> bool:
        if not self.can(actor, entity, action):
            return False
        table = self.tables[entity]
        query = sa.select(table.c.id).where(table.c.id == record_id,
                                            self.row_filter(connection, actor, entity, action, table))
        return connection.execute(query).first() is not None
