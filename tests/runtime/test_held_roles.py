"""A role taken out of the metadata while users hold it is named with its users (disabled ones
too), in the reader's language; roles nobody holds, and roles that stay, are not."""
from __future__ import annotations

import dataclasses

import pytest

from atrium.runtime.access import users
from atrium.runtime.access.held_roles import held_roles
from atrium.runtime.schema.migrations import migrate
from atrium.runtime.schema.tables import build_tables

pytestmark = pytest.mark.database


def without(blueprint, *names):
    return dataclasses.replace(blueprint, roles={k: v for k, v in blueprint.roles.items() if k not in names})


def test_a_removed_role_users_hold_is_named_with_them(engine, design_blueprint):
    migrate(engine, design_blueprint)
    tables = build_tables(design_blueprint)
    with engine.begin() as connection:
        users.add_team(connection, tables, "east")
        for name, role in (("zoe", "sales_rep"), ("al", "sales_rep"), ("mo", "sales_manager")):
            users.add_user(connection, tables, design_blueprint, name, role, team="east")
        users.set_active(connection, tables, "zoe", False)  # disabled: could be enabled again
    with engine.connect() as connection:
        held = held_roles(connection, design_blueprint, without(design_blueprint, "sales_rep", "admin"))
        assert [(h.role, h.users) for h in held] == [("sales_rep", ("al", "zoe"))]  # nobody holds admin
        assert held[0].text("en") == ("Role 'sales_rep' cannot be removed: 2 user(s) hold it (al, zoe). "
                                      "Give them another role first (Studio → Users).")
        assert "al, zoe" in held[0].text("zh") and "无法删除" in held[0].text("zh")
        assert held_roles(connection, design_blueprint, design_blueprint) == []
