"""The access questions pages, the API and approvals ask instead of reading a role's grants:
`sees_everything`, `owner_reach` / `may_own` (whom a record may be given to) and `permits_each`
(whether an action reaches each of many records already read)."""
from __future__ import annotations

import pytest
from blueprint_factory import make_blueprint

from atrium.runtime.access.policy import Access
from atrium.runtime.access.users import add_team, add_user
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.schema.migrations import migrate
from atrium.runtime.schema.tables import build_tables

ROLES = {"roles": {
    "boss": {"label": "Boss", "all": True},
    "lead": {"label": "Lead", "entities": {"thing": {"read": "team", "create": True, "update": "team"}}},
    "rep": {"label": "Rep", "entities": {"thing": {"read": "own", "create": True, "update": "own"}}},
    "viewer": {"label": "Viewer", "entities": {"thing": {"read": "all", "update": "none"}}},
    "editor": {"label": "Editor", "entities": {"thing": {"read": "all", "update": "all"}}},
}}


@pytest.fixture
def world(tmp_path, engine):
    blueprint = make_blueprint(tmp_path, {"thing": {"owner": "owner", "fields": {
        "name": {"type": "text"}, "owner": {"type": "user"}}}}, roles=ROLES)
    migrate(engine, blueprint)
    tables = build_tables(blueprint)
    people = {}
    with engine.begin() as connection:
        add_team(connection, tables, "east")
        add_team(connection, tables, "south", parent="east")
        for name, role, team in [("boss", "boss", None), ("lead", "lead", "east"), ("rep", "rep", "south"),
                                 ("other", "rep", None), ("viewer", "viewer", None), ("editor", "editor", None)]:
            user = add_user(connection, tables, blueprint, name, role, team=team)
            team_id = connection.execute(tables.system("atrium_users").select().where(
                tables.system("atrium_users").c.id == user)).first().team_id
            people[name] = Actor(user_id=user, name=name, role=role, team_id=team_id, locale="en")
    return Access(blueprint, tables), people


def test_only_a_role_with_all_sees_everything(world):
    access, people = world
    assert access.sees_everything(people["boss"])
    assert not any(access.sees_everything(people[name]) for name in ("lead", "rep", "viewer", "editor"))
    assert not access.sees_everything(Actor(user_id=None, role=None))  # the system is not a role


def test_whom_a_record_may_be_given_to_follows_the_update_scope(world, engine):
    access, people = world
    rep, lead, other = people["rep"], people["lead"], people["other"]
    with engine.connect() as connection:
        assert access.owner_reach(connection, rep, "thing") == {rep.user_id}
        assert access.owner_reach(connection, lead, "thing") == {lead.user_id, rep.user_id}  # sub-teams too
        assert access.owner_reach(connection, people["viewer"], "thing") == {people["viewer"].user_id}
        assert access.owner_reach(connection, people["editor"], "thing") is None
        assert access.owner_reach(connection, people["boss"], "thing") is None
        assert access.may_own(connection, rep, "thing", rep.user_id)
        assert not access.may_own(connection, rep, "thing", other.user_id)
        assert access.may_own(connection, rep, "thing", None)  # nobody: always allowed
        assert access.may_own(connection, lead, "thing", rep.user_id)
        assert not access.may_own(connection, lead, "thing", other.user_id)
        assert access.may_own(connection, people["editor"], "thing", other.user_id)


def test_permits_each_answers_as_permits_does_for_every_record(world, engine):
    access, people = world
    records = [{"id": n, "owner": people[name].user_id} for n, name in enumerate(
        ("rep", "lead", "other", "boss"))] + [{"id": 9, "owner": None}]
    with engine.connect() as connection:
        for viewer in people.values():
            for action in ("read", "update"):
                each = access.permits_each(connection, viewer, "thing", action)
                assert [each(r) for r in records] == [access.permits(connection, viewer, "thing", r, action)
                                                      for r in records]
        lead_update = access.permits_each(connection, people["lead"], "thing", "update")
        assert [lead_update(r) for r in records] == [True, True, False, False, False]


def test_a_team_scope_covers_the_team_and_its_sub_teams(world, engine):
    access, people = world
    with engine.connect() as connection:
        east = access.teams_in_reach(connection, people["lead"])
        south = access.teams_in_reach(connection, people["rep"])
        assert south < east and len(east) == 2 and len(south) == 1
        assert access.teams_in_reach(connection, people["other"]) == set()


def test_only_a_role_with_studio_may_use_the_studio(tmp_path, engine):
    blueprint = make_blueprint(tmp_path, {"thing": {"fields": {"name": {"type": "text"}}}}, roles={"roles": {
        "admin": {"label": "Admin", "all": True, "studio": True}, "boss": {"label": "Boss", "all": True}}})
    access = Access(blueprint, build_tables(blueprint))
    assert access.may_use_studio(Actor(user_id=1, role="admin"))
    assert not access.may_use_studio(Actor(user_id=2, role="boss"))
    assert not access.may_use_studio(Actor(user_id=3, role="gone"))
