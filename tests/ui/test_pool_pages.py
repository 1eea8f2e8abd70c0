"""The public pool in the pages and the API, on the shipped b2b blueprint: the pool list with
the user's standing and Claim buttons (HTMX), Claim and Release on the detail page, the pool
history on the timeline, refusals shown where the user acted, CSRF on every POST, tokens on the
API, and a role without `pool: true` that sees none of it on any surface."""
from __future__ import annotations

import re
import shutil

import pytest
import yaml
from record_pages_kit import B2B, World, module_database, table_rows
from starlette.testclient import TestClient

from atrium.metadata import load_blueprint
from atrium.runtime.access import users

pytestmark = pytest.mark.database


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """The b2b blueprint plus a `trainee` role that reads its own customers but has no pool."""
    folder = tmp_path_factory.mktemp("bp") / "b2b"
    shutil.copytree(B2B, folder)
    roles = yaml.safe_load((folder / "roles.yaml").read_text(encoding="utf-8"))
    roles["roles"]["trainee"] = {"label": {"en": "Trainee", "zh": "实习生"}, "entities": {
        "customer": {"read": "own", "create": True, "update": "own", "delete": "none"}}}
    (folder / "roles.yaml").write_text(yaml.safe_dump(roles, allow_unicode=True), encoding="utf-8")
    blueprint = load_blueprint(folder)
    with module_database(tmp_path_factory) as (engine, url):
        world = World(engine, url, blueprint, folder)
        with engine.begin() as connection:
            world.ids["trainee"] = users.add_user(connection, world.site.tables, blueprint, "trainee", "trainee",
                                                  team="east", locale="en")
            table = world.site.tables.system("atrium_users")
            from record_pages_kit import FAST_HASHER
            connection.execute(table.update().where(table.c.id == world.ids["trainee"]).values(
                password_hash=FAST_HASHER.hash("trainee-pass")))
        yield world
        world.close()


@pytest.fixture
def world(shared):
    shared.reset()
    yield shared
    shared.close()


def pooled(world, name="Pool Co", **values):
    return world.site.records.create("customer", {"name": name, "owner": None, **values})


def test_the_list_links_to_the_pool_which_shows_only_unowned_records_with_claim_buttons(world):
    pooled(world, "Pool Co")
    world.customer("Mine Co", by="rep")
    rep = world.browser("rep")
    page = rep.get("/r/customer")
    assert 'href="/r/customer?owner=none"' in page.text
    assert rep.get("/r/customer/pool", follow_redirects=False).headers["location"] == "/r/customer?owner=none"
    pool = rep.get("/r/customer?owner=none")
    assert "Customers · Public pool" in pool.text
    rows = table_rows(pool.text)
    assert len(rows) == 1 and rows[0].startswith("Pool Co") and rows[0].endswith("Claim")
    assert "You own 1 / 200; claimed today: 0 / 20" in pool.text
    assert "Mine Co" in rep.get("/r/customer").text and "Claim</button>" not in rep.get("/r/customer").text


def test_a_claim_from_a_pool_row_answers_with_the_row_and_shows_on_the_timeline(world):
    record = pooled(world)
    rep = world.browser("rep")
    answer = rep.post(f"/r/customer/{record['id']}/claim", data={"from": "list"}, htmx=True)
    assert answer.status_code == 200
    assert answer.text.startswith('<tr class="pool-outcome">') and "✓ Claimed" in answer.text
    assert f'href="/r/customer/{record["id"]}"' in answer.text
    assert world.get("customer", record["id"])["owner"] == world.ids["rep"]
    detail = rep.get(f"/r/customer/{record['id']}")
    assert "Claimed from the public pool" in detail.text
    assert detail.text.count(">Owner</strong>") == 0  # the owner change is told once, as the claim
    assert "Release to pool" in detail.text and ">Claim</button>" not in detail.text


def test_claim_and_release_on_the_detail_page_and_the_cooldown_message(world):
    record = pooled(world)
    rep = world.browser("rep")
    detail = rep.get(f"/r/customer/{record['id']}")
    assert "In the public pool" in detail.text and ">Claim</button>" in detail.text
    claimed = rep.post(f"/r/customer/{record['id']}/claim", follow_redirects=False)
    assert claimed.status_code == 303 and claimed.headers["location"] == f"/r/customer/{record['id']}"
    world.clock.advance(hours=2)
    released = rep.post(f"/r/customer/{record['id']}/release", follow_redirects=False)
    assert released.status_code == 303
    assert world.get("customer", record["id"])["owner"] is None
    timeline = rep.get(f"/r/customer/{record['id']}").text
    assert "Released to the public pool" in timeline and "from Rep Li" in timeline
    again = rep.post(f"/r/customer/{record['id']}/claim")
    assert again.status_code == 409
    assert "left your hands on 2026-05-15 14:00; you may claim it again from 2026-05-22 14:00" in again.text
    assert world.browser("rep2").post(f"/r/customer/{record['id']}/claim", follow_redirects=False).status_code == 303


def test_a_record_claimed_by_someone_else_first_gets_a_clear_answer_on_the_row(world):
    record = pooled(world)
    rep, rep2 = world.browser("rep"), world.browser("rep2")
    assert rep2.post(f"/r/customer/{record['id']}/claim", follow_redirects=False).status_code == 303
    late = rep.post(f"/r/customer/{record['id']}/claim", data={"from": "list"}, htmx=True)
    assert late.status_code == 200 and 'class="error" role="alert">Someone else claimed this record first' in late.text
    assert world.get("customer", record["id"])["owner"] == world.ids["rep2"]
    in_chinese = rep.post(f"/r/customer/{record['id']}/claim?lang=zh")
    assert in_chinese.status_code == 409 and "该记录已被他人抢先领取" in in_chinese.text


def test_pool_posts_need_the_csrf_token(world):
    record = pooled(world)
    owned = world.customer("Mine Co", by="rep")
    rep = world.browser("rep")
    for path in (f"/r/customer/{record['id']}/claim", f"/r/customer/{owned['id']}/release"):
        refused = rep.client.post(path, data={"from": "list"})
        assert refused.status_code == 403
    assert world.get("customer", record["id"])["owner"] is None
    assert world.get("customer", owned["id"])["owner"] == world.ids["rep"]


def test_a_locked_customer_offers_no_release_and_refuses_one(world):
    record = world.customer("Kept Co", by="rep", locked=True)
    rep = world.browser("rep")
    assert "Release to pool" not in rep.get(f"/r/customer/{record['id']}").text
    refused = rep.post(f"/r/customer/{record['id']}/release")
    assert refused.status_code == 409 and "locked" in refused.text


def test_a_role_without_the_pool_sees_no_unowned_record_anywhere(world):
    record = pooled(world, "Hidden Pool Co")
    trainee = world.browser("trainee")
    assert "Hidden Pool Co" not in trainee.get("/r/customer").text
    assert "Hidden Pool Co" not in trainee.get("/r/customer?owner=none").text
    assert "Public pool" not in trainee.get("/r/customer").text
    assert trainee.get(f"/r/customer/{record['id']}").status_code == 404
    assert "Hidden Pool Co" not in trainee.get("/r/customer/pick", params={"q": "Hidden"}).text
    assert "Hidden Pool Co" not in trainee.get("/r/customer/export.csv").text
    assert trainee.get("/r/customer/pool").status_code == 403
    assert trainee.post(f"/r/customer/{record['id']}/claim").status_code == 403
    assert trainee.get(f"/api/v1/customer/{record['id']}").status_code == 404
    rep = world.browser("rep")  # the same record on every surface of a role with the pool
    assert rep.get(f"/r/customer/{record['id']}").status_code == 200
    assert "Hidden Pool Co" in rep.get("/r/customer/pick", params={"q": "Hidden"}).text
    assert "Hidden Pool Co" in rep.get("/r/customer/export.csv").text


@pytest.fixture
def tokens(world):
    with world.site.engine.begin() as connection:
        return {name: users.issue_token(connection, world.site.tables, name) for name in ("rep", "rep2", "trainee")}


def bearer(token: str, **headers) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **headers}


def test_api_claim_and_release_with_a_token(world, tokens):
    record = pooled(world)
    client = world.browser("rep").client
    claimed = client.post(f"/api/v1/customer/{record['id']}/claim", headers=bearer(tokens["rep"]))
    assert claimed.status_code == 200 and claimed.json()["owner"] == world.ids["rep"]
    taken = client.post(f"/api/v1/customer/{record['id']}/claim",
                        headers=bearer(tokens["rep2"], **{"Accept-Language": "zh"}))
    assert taken.status_code == 409
    assert taken.json() == {"error": "pool", "reason": "taken", "message": "该记录已被他人抢先领取"}
    stranger = client.post(f"/api/v1/customer/{record['id']}/release", headers=bearer(tokens["rep2"]))
    assert stranger.status_code == 404
    released = client.post(f"/api/v1/customer/{record['id']}/release", headers=bearer(tokens["rep"]))
    assert released.status_code == 200 and released.json()["owner"] is None
    cooling = client.post(f"/api/v1/customer/{record['id']}/claim", headers=bearer(tokens["rep"]))
    assert cooling.status_code == 409 and cooling.json()["reason"] == "cooldown"
    forbidden = client.post(f"/api/v1/customer/{record['id']}/claim", headers=bearer(tokens["trainee"]))
    assert forbidden.status_code == 403  # the role may not claim at all: said before any record is read
    assert client.post("/api/v1/customer/999999/claim", headers=bearer(tokens["trainee"])).json() == forbidden.json()
    assert client.post("/api/v1/order/1/claim", headers=bearer(tokens["rep"])).status_code == 404  # no pool
    with TestClient(world.app) as anonymous:
        refused = anonymous.post(f"/api/v1/customer/{record['id']}/claim")  # no token, no session
        assert (refused.status_code, refused.json()) == (403, {"error": "csrf"})
        assert world.get("customer", record["id"])["owner"] is None


def test_api_claim_with_the_session_cookie_needs_the_csrf_header(world):
    record = pooled(world)
    rep = world.browser("rep")
    assert rep.client.post(f"/api/v1/customer/{record['id']}/claim").status_code == 403
    answer = rep.client.post(f"/api/v1/customer/{record['id']}/claim", headers={"X-CSRF-Token": rep.token()})
    assert answer.status_code == 200


def test_openapi_describes_claim_and_release_for_roles_with_the_pool(world, tokens):
    client = world.browser("rep").client
    paths = client.get("/api/v1/openapi.json", headers=bearer(tokens["rep"])).json()["paths"]
    assert "post" in paths["/api/v1/customer/{id}/claim"] and "post" in paths["/api/v1/lead/{id}/release"]
    assert paths["/api/v1/customer/{id}/claim"]["post"]["responses"]["409"]["content"]
    assert "/api/v1/order/{id}/claim" not in paths
    trainee = client.get("/api/v1/openapi.json", headers=bearer(tokens["trainee"])).json()["paths"]
    assert "/api/v1/customer/{id}/claim" not in trainee


def test_the_pool_page_in_chinese(world):
    pooled(world)
    page = world.browser("rep").get("/r/customer?owner=none&lang=zh")
    assert "客户 · 公海" in page.text and ">领取</button>" in page.text
    assert re.search(r"您已拥有 0 / 200 条；今日已领取 0 / 20 条", page.text)


def test_a_recycle_shows_on_the_timeline_with_the_rule_and_the_previous_owner(world):
    from atrium.runtime.automation.scheduler import ScheduledRules
    record = world.customer("Idle Co", by="rep", last_followup_at="2026-03-01 10:00", owned_since="2026-02-20")
    ScheduledRules(world.site).run_due(["recycle_idle_customers"])
    assert world.get("customer", record["id"])["owner"] is None
    page = world.browser("manager").get(f"/r/customer/{record['id']}").text
    entry = page.split("Recycled to the public pool", 1)[1].split("</li>", 1)[0]
    assert "from Rep Li" in entry and "rule Return idle customers to the pool" in entry


def test_a_manager_emptying_the_owner_in_the_form_releases_the_record(world):
    record = world.customer("Handed Back Co", by="rep")
    manager = world.browser("manager")
    saved = manager.post(f"/r/customer/{record['id']}", [("_fields", "owner"), ("owner", ""),
                                                         ("version", str(record["version"]))],
                         follow_redirects=False)
    assert saved.status_code == 303, saved.text
    assert world.get("customer", record["id"])["owner"] is None
    page = manager.get(f"/r/customer/{record['id']}").text
    before, after = page.split("Released to the public pool", 1)
    entry = before.rsplit("<li", 1)[1] + after.split("</li>", 1)[0]
    assert "from Rep Li" in entry and "Manager Zhou" in entry
    assert page.count(">Owner</strong>") == 0  # told once, as the release
    again = world.browser("rep").post(f"/r/customer/{record['id']}/claim")
    assert again.status_code == 409 and "you may claim it again from" in again.text
    assert world.browser("rep2").post(f"/r/customer/{record['id']}/claim", follow_redirects=False).status_code == 303


def test_an_owner_emptied_through_the_api_is_a_release(world, tokens):
    with world.site.engine.begin() as connection:
        manager = users.issue_token(connection, world.site.tables, "manager")
    record = world.customer("Api Co", by="rep")
    client = world.browser("rep").client
    saved = client.patch(f"/api/v1/customer/{record['id']}", json={"owner": None, "version": record["version"]},
                         headers=bearer(manager))
    assert saved.status_code == 200 and saved.json()["owner"] is None, saved.text
    cooling = client.post(f"/api/v1/customer/{record['id']}/claim", headers=bearer(tokens["rep"]))
    assert cooling.status_code == 409 and cooling.json()["reason"] == "cooldown"
    claimed = client.post(f"/api/v1/customer/{record['id']}/claim", headers=bearer(tokens["rep2"]))
    assert claimed.status_code == 200 and claimed.json()["owner"] == world.ids["rep2"]
