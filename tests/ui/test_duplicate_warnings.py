"""Duplicate warnings as people meet them: the form warns beside the company name when it is left
and again on save, with a link to the customer the rep may read and a count of the one they may
not; "Save anyway" saves; the API answers 409 with the same, unless `allow_duplicate` is true."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from atrium.runtime.access import users

pytestmark = pytest.mark.database

FORM = [("_fields", "name"), ("_fields", "owner")]


def count(world) -> int:
    table = world.site.tables["customer"]
    with world.site.engine.connect() as connection:
        return connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


@pytest.fixture
def twins(world):
    """Rep's own 沈阳天成 and another rep's, which rep may not read."""
    mine = world.customer("沈阳天成建设工程有限公司", owner=world.ids["rep"])
    world.customer("沈阳天成建设工程(有限公司)", by="rep2", owner=world.ids["rep2"])
    return mine


def test_leaving_the_name_warns_with_a_link_and_a_count_before_saving(world, twins):
    rep = world.browser("rep")
    form = FORM + [("name", "沈阳天成建设工程 有限公司"), ("owner", world.ids["rep"])]
    answer = rep.post("/r/customer/validate?field=name", form, htmx=True)
    assert answer.status_code == 200
    assert "A similar Customer already exists:" in answer.text
    assert f'href="/r/customer/{twins["id"]}"' in answer.text and "沈阳天成建设工程有限公司" in answer.text
    assert "and 1 more you cannot see" in answer.text and "(有限公司)" not in answer.text
    other = rep.post("/r/customer/validate?field=name", FORM + [("name", "大连海港物流")], htmx=True)
    assert "similar" not in other.text


def test_saving_a_look_alike_asks_first_and_save_anyway_saves(world, twins):
    rep = world.browser("rep")
    form = FORM + [("name", "沈阳天成建设工程 有限公司"), ("owner", world.ids["rep"])]
    refused = rep.post("/r/customer", form, follow_redirects=False)
    assert refused.status_code == 409 and count(world) == 2
    assert f'href="/r/customer/{twins["id"]}"' in refused.text and "Save anyway" in refused.text
    assert 'value="沈阳天成建设工程 有限公司"' in refused.text  # the input is kept
    saved = rep.post("/r/customer", form + [("_allow_duplicate", "1")], follow_redirects=False)
    assert saved.status_code == 303 and count(world) == 3


def test_the_warning_speaks_chinese_to_a_chinese_reader(world, twins):
    table = world.site.tables.system("atrium_users")
    with world.site.engine.begin() as connection:
        connection.execute(table.update().where(table.c.id == world.ids["rep"]).values(locale="zh"))
    try:
        rep = world.browser("rep")
        form = FORM + [("name", "沈阳天成建设工程 有限公司"), ("owner", world.ids["rep"])]
        answer = rep.post("/r/customer/validate?field=name", form, htmx=True)
        assert "已存在相似的客户：" in answer.text and "另有 1 条你无权查看" in answer.text
        refused = rep.post("/r/customer", form, follow_redirects=False)
        assert "仍然保存" in refused.text
    finally:  # the people outlive the test (record_pages_kit.World.reset)
        with world.site.engine.begin() as connection:
            connection.execute(table.update().where(table.c.id == world.ids["rep"]).values(locale="en"))


def test_editing_into_a_look_alike_warns_but_an_unrelated_change_does_not(world, twins):
    other = world.customer("大连海港物流", owner=world.ids["rep"])
    rep = world.browser("rep")
    edit = rep.get(f"/r/customer/{other['id']}/edit").text
    version = edit.split('name="version" value="', 1)[1].split('"', 1)[0]
    unrelated = rep.post(f"/r/customer/{other['id']}", [("_fields", "address"), ("address", "大连"),
                                                        ("version", version)], follow_redirects=False)
    assert unrelated.status_code == 303
    version = str(world.get("customer", other["id"])["version"])
    renamed = rep.post(f"/r/customer/{other['id']}", [("_fields", "name"), ("name", "沈阳天成建设工程有限公司"),
                                                      ("version", version)], follow_redirects=False)
    assert renamed.status_code == 409 and world.get("customer", other["id"])["name"] == "大连海港物流"


def test_the_api_answers_409_with_the_readable_candidates_unless_allowed(world, twins):
    with world.site.engine.begin() as connection:
        token = users.issue_token(connection, world.site.tables, "rep")
    client = TestClient(world.app)
    world.clients.append(client)
    headers = {"Authorization": f"Bearer {token}"}
    body = {"name": "沈阳天成建设工程 有限公司"}
    refused = client.post("/api/v1/customer", json=body, headers=headers)
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"] == "duplicates"
    assert refused.json()["duplicates"] == {"entity": "customer", "more": 0, "hidden": 1, "candidates": [
        {"id": twins["id"], "title": "沈阳天成建设工程有限公司"}]}
    assert count(world) == 2
    made = client.post("/api/v1/customer", json={**body, "allow_duplicate": True}, headers=headers)
    assert made.status_code == 201, made.text
    assert "allow_duplicate" not in made.json() and count(world) == 3
    bad = client.post("/api/v1/customer", json={**body, "allow_duplicate": "yes"}, headers=headers)
    assert bad.status_code in (400, 422) and count(world) == 3
    mine = made.json()
    changed = client.patch(f"/api/v1/customer/{mine['id']}", headers=headers,
                           json={"version": mine["version"], "name": "沈阳天成建设工程股份有限公司"})
    assert changed.status_code == 409 and changed.json()["error"] == "duplicates"
    document = client.get("/api/v1/openapi.json", headers=headers).json()
    create = document["paths"]["/api/v1/customer"]["post"]
    assert "#/components/schemas/Duplicates" in str(create["responses"]["409"])
    assert document["components"]["schemas"]["customer"]["properties"]["allow_duplicate"]["type"] == "boolean"
