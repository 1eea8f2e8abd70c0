"""Users and teams in the studio: an admin adds a user (a typed password, or one made up and shown
once), changes their role and team, resets their password (the old one no longer opens anything),
disables them (their session is refused at once), builds a team tree with managers and members;
every change is in the studio's history with who made it. Only a studio role may do any of it,
and every POST needs the session's CSRF token."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from record_pages_kit import Browser
from starlette.testclient import TestClient
from studio_kit import visible_text

POSTS = ["/studio/users", "/studio/users/1", "/studio/users/1/password", "/studio/teams", "/studio/teams/1",
         "/studio/teams/1/members", "/studio/users/1/disable"]
PAGES = ["/studio/users", "/studio/users/1", "/studio/teams", "/studio/teams/1"]


def user_row(studio, name: str) -> dict | None:
    with studio.site.engine.connect() as connection:
        table = studio.site.tables.system("atrium_users")
        row = connection.execute(sa.select(table).where(table.c.name == name)).first()
        return dict(row._mapping) if row else None


def team_id(studio, name: str) -> int:
    with studio.site.engine.connect() as connection:
        table = studio.site.tables.system("atrium_teams")
        return connection.execute(sa.select(table.c.id).where(table.c.name == name)).scalar_one()


def people_history(studio) -> list[tuple[str, str, str]]:
    with studio.site.engine.connect() as connection:
        table = studio.site.tables.system("atrium_people_history")
        return [(row.user_name, row.action, row.target) for row in
                connection.execute(sa.select(table).order_by(table.c.id))]


def sign_in(studio, name: str, password: str) -> tuple[Browser, int]:
    client = TestClient(studio.app)
    studio.clients.append(client)
    browser = Browser(client)
    response = browser.post("/login", data={"name": name, "password": password}, follow_redirects=False)
    return browser, response.status_code


def add(studio, boss: Browser, **values):
    fields = {"name": "", "display_name": "", "email": "", "role": "sales_rep", "team": "", "password": ""}
    return boss.post("/studio/users", data={**fields, **values}, follow_redirects=False)


def test_an_admin_adds_a_user_who_then_signs_in_and_the_history_says_who(studio):
    boss = studio.browser("boss")
    east = team_id(studio, "east")
    response = add(studio, boss, name="mei", display_name="Mei Lin", email="mei@example.com", team=str(east),
                   password="mei-secret-1")
    assert response.status_code == 200 and "mei was added" in visible_text(response.text)
    assert "shown only this once" not in response.text  # the admin typed it: nothing to show
    row = user_row(studio, "mei")
    assert (row["display_name"], row["email"], row["role"], row["team_id"], row["active"]) == \
        ("Mei Lin", "mei@example.com", "sales_rep", east, True)
    mei, status = sign_in(studio, "mei", "mei-secret-1")
    assert status == 303 and "Mei Lin" in mei.get("/").text
    history = visible_text(boss.get("/studio/history").text)
    assert "Added user mei (sales_rep)" in history and "boss" in history
    assert people_history(studio) == [("boss", "add_user", "user:mei")]


def test_a_password_left_empty_is_made_up_and_shown_once(studio):
    boss = studio.browser("boss")
    response = add(studio, boss, name="kai", role="sales_manager")
    shown = re.search(r'<code class="password">([^<]+)</code>', response.text)
    assert response.status_code == 200 and shown
    assert shown.group(1) not in boss.get("/studio/users").text  # only once
    kai, status = sign_in(studio, "kai", shown.group(1))
    assert status == 303 and kai.get("/r/order").status_code == 200


@pytest.mark.parametrize("values, problem", [
    ({"name": "zed", "role": "pilot"}, "There is no role 'pilot'; roles.yaml has: admin"),
    ({"name": "rep"}, "There is already a user named rep"),
    ({"name": "bad name"}, "A user name is letters, digits"),
    ({"name": "zed", "email": "not-an-address"}, "This is not an email address"),
    ({"name": "zed", "password": "short"}, "The password needs at least 8 characters"),
    ({"name": "zed", "team": "999999"}, "There is no such team"),
])
def test_a_user_that_cannot_be_added_is_refused_with_the_reason(studio, values, problem):
    boss = studio.browser("boss")
    response = add(studio, boss, **values)
    assert response.status_code == 400 and problem in visible_text(response.text)
    assert user_row(studio, "zed") is None and people_history(studio) == []


def test_role_and_team_changes_take_effect_and_are_recorded(studio):
    boss, rep = studio.browser("boss"), studio.browser("rep")
    assert rep.get("/studio").status_code == 404
    page = boss.get(f"/studio/users/{studio.ids['rep']}")
    assert page.status_code == 200 and 'name="role"' in page.text
    response = boss.post(f"/studio/users/{studio.ids['rep']}", data={
        "display_name": "Rep Li", "email": "li@example.com", "role": "admin", "team": ""}, follow_redirects=False)
    assert response.status_code == 303
    assert rep.get("/studio").status_code == 200  # the same session, the new role at once
    row = user_row(studio, "rep")
    assert (row["role"], row["team_id"], row["email"]) == ("admin", None, "li@example.com")
    history = visible_text(boss.get("/studio/history").text)
    assert "Changed user rep: email, role, team" in history and "sales_rep → admin" in history
    refused = boss.post(f"/studio/users/{studio.ids['rep']}", data={"role": "pilot"})
    assert refused.status_code == 400 and "There is no role 'pilot'" in visible_text(refused.text)
    assert user_row(studio, "rep")["role"] == "admin"


def test_a_password_reset_lets_the_new_password_in_and_not_the_old(studio):
    boss, rep = studio.browser("boss"), studio.browser("rep")
    response = boss.post(f"/studio/users/{studio.ids['rep']}/password", data={"password": "brand-new-pass"},
                         follow_redirects=False)
    assert response.status_code == 303
    assert rep.get("/r/order", follow_redirects=False).status_code == 303  # the old session ended
    assert sign_in(studio, "rep", "rep-pass")[1] != 303
    fresh, status = sign_in(studio, "rep", "brand-new-pass")
    assert status == 303 and fresh.get("/r/order").status_code == 200
    made_up = boss.post(f"/studio/users/{studio.ids['rep2']}/password", data={"password": ""})
    password = re.search(r'<code class="password">([^<]+)</code>', made_up.text).group(1)
    assert sign_in(studio, "rep2", password)[1] == 303
    assert "Reset the password of rep" in visible_text(boss.get("/studio/history").text)
    assert "brand-new-pass" not in str(people_history(studio))


def test_a_disabled_users_session_is_refused_and_enabling_lets_them_back(studio):
    boss, rep = studio.browser("boss"), studio.browser("rep")
    assert rep.get("/r/order").status_code == 200
    response = boss.post(f"/studio/users/{studio.ids['rep']}/disable", follow_redirects=False)
    assert response.status_code == 303
    assert rep.get("/r/order", follow_redirects=False).status_code == 303  # to the sign-in page
    assert sign_in(studio, "rep", "rep-pass")[1] != 303
    boss.post(f"/studio/users/{studio.ids['rep']}/enable")
    assert sign_in(studio, "rep", "rep-pass")[1] == 303
    assert [a for _, a, _ in people_history(studio)] == ["disable", "enable"]


def test_the_team_tree_with_parents_managers_and_members(studio):
    boss = studio.browser("boss")
    east = team_id(studio, "east")
    response = boss.post("/studio/teams", data={"name": "shanghai", "label": "Shanghai", "parent": str(east),
                                                "manager": str(studio.ids["manager"])}, follow_redirects=False)
    assert response.status_code == 303
    shanghai = team_id(studio, "shanghai")
    joined = boss.post(f"/studio/teams/{shanghai}/members", data={"user": str(studio.ids["rep2"])},
                       follow_redirects=False)
    assert joined.status_code == 303 and user_row(studio, "rep2")["team_id"] == shanghai
    tree = boss.get("/studio/teams").text
    assert re.search(r'data-team="east".*data-team="shanghai".*└.*Manager Zhou.*Rep Wang', tree, re.S)
    # the manager of east sees what rep2 owns in the sub-team (a team scope covers sub-teams)
    order = studio.order("Sub-team deal", by="rep2")
    assert studio.browser("manager").get(f"/r/order/{order['id']}").status_code == 200
    loop = boss.post(f"/studio/teams/{east}", data={"label": "East", "parent": str(shanghai), "manager": ""})
    assert loop.status_code == 400 and "cannot be inside itself" in visible_text(loop.text)
    taken = boss.post("/studio/teams", data={"name": "east"})
    assert taken.status_code == 400 and "There is already a team named east" in visible_text(taken.text)
    renamed = boss.post(f"/studio/teams/{shanghai}", data={"label": "Shanghai office", "parent": str(east),
                                                           "manager": str(studio.ids["rep2"])},
                        follow_redirects=False)
    assert renamed.status_code == 303
    assert [a for _, a, _ in people_history(studio)] == ["add_team", "join_team", "change_team"]
    history = visible_text(boss.get("/studio/history").text)
    assert "Put rep2 in team shanghai" in history and "Changed team shanghai: label, manager" in history


def test_the_history_and_the_messages_speak_chinese_to_a_chinese_admin(studio):
    boss = studio.browser("boss")
    boss.post("/language", data={"locale": "zh"})
    response = add(studio, boss, name="zed", role="pilot")
    assert response.status_code == 400 and "没有角色" in visible_text(response.text)
    add(studio, boss, name="mei", password="mei-secret-1")
    assert "添加了用户 mei" in visible_text(boss.get("/studio/history").text)


@pytest.mark.parametrize("who", ["rep", "manager"])
def test_people_pages_are_for_studio_roles_only(studio, who):
    browser = studio.browser(who)
    for path in PAGES:
        assert browser.get(path).status_code == 404, path
    for path in POSTS:
        response = browser.post(path, data={"name": "intruder", "role": "admin", "password": "intruder-pass",
                                            "user": str(studio.ids[who]), "label": "x"})
        assert response.status_code == 404, path
    assert user_row(studio, "intruder") is None and people_history(studio) == []
    assert user_row(studio, who)["role"] != "admin"


def test_every_people_post_needs_the_csrf_token(studio):
    boss = studio.browser("boss")
    boss.get("/studio/users")
    for path in POSTS:
        response = boss.client.post(path, data={"name": "intruder", "role": "admin", "password": "intruder-pass"},
                                    follow_redirects=False)
        assert response.status_code == 403, path
    assert user_row(studio, "intruder") is None and people_history(studio) == []
