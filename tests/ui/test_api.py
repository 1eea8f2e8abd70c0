"""The JSON API as a client meets it: tokens or the session cookie (with CSRF), filters typed by the
field, keyset pages that never skip or repeat, field errors in the caller's language, 404 that
reveals nothing, 409 on a stale version, hidden fields neither shown nor accepted."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from atrium.runtime.access import users
from atrium.runtime.schema.migrations import migrate
from atrium.runtime.site.site import Site
from atrium.ui.web.app import Settings, create_app

DESIGN = Path(__file__).resolve().parents[1] / "fixtures" / "design_examples"
NOW = dt.datetime(2026, 5, 15, 4, 0, tzinfo=dt.timezone.utc)  # noon in Asia/Shanghai
STAGES = ("initial_contact", "needs_confirmed", "proposal", "negotiation")


class Api:
    """A TestClient with a token per user."""

    def __init__(self, client: TestClient, tokens: dict[str, str]):
        self.client, self.tokens = client, tokens

    def __call__(self, method: str, path: str, user: str = "ann", lang: str | None = None, **kwargs):
        headers = {"Authorization": f"Bearer {self.tokens[user]}", **kwargs.pop("headers", {})}
        if lang:
            headers["Accept-Language"] = lang
        return self.client.request(method, "/api/v1/" + path, headers=headers, **kwargs)


@pytest.fixture
def api(engine, database_url, design_blueprint):
    migrate(engine, design_blueprint)
    site = Site.open(design_blueprint, database_url, engine=engine, clock=lambda: NOW)
    with engine.begin() as connection:
        users.add_team(connection, site.tables, "east")
        for name, role in (("ann", "sales_rep"), ("bo", "sales_rep"), ("boss", "admin")):
            users.add_user(connection, site.tables, design_blueprint, name, role, team="east", locale="zh")
        tokens = {name: users.issue_token(connection, site.tables, name) for name in ("ann", "bo", "boss")}
    app = create_app(Settings(str(DESIGN), database_url, secret_key="test-secret"), site=site)
    with TestClient(app) as client:
        yield Api(client, tokens)


def customer(api, user="ann", **values) -> dict:
    response = api("POST", "customer", user, json={"name": f"{user} Ltd", **values})
    assert response.status_code == 201, response.text
    return response.json()


def order(api, user="ann", **values) -> dict:
    values.setdefault("customer", customer(api, user)["id"])
    response = api("POST", "order", user, json={"name": "Deal", **values})
    assert response.status_code == 201, response.text
    return response.json()


def test_without_credentials_the_api_answers_401(api):
    assert api.client.get("/api/v1/order").status_code == 401
    assert api.client.get("/api/v1/order").json() == {"error": "unauthorized"}
    wrong = api.client.get("/api/v1/order", headers={"Authorization": "Bearer atr_not-a-token"})
    assert wrong.status_code == 401
    assert api.client.post("/api/v1/order", json={"name": "x"}).status_code in (401, 403)
    assert api.client.get("/api/v1/openapi.json").status_code == 401


def test_create_answers_201_with_the_record_typed_as_json(api):
    acme = customer(api, level="vip")
    response = api("POST", "order", json={"name": "Big deal", "customer": acme["id"], "amount": 1234.5,
                                          "expected_close": "2026-06-30", "tags": ["key_account"]})
    assert response.status_code == 201
    record = response.json()
    assert response.headers["location"].endswith(f"/api/v1/order/{record['id']}")
    assert record["version"] == 1 and record["code"].startswith("ORD-2026-")
    assert record["amount"] == "1234.50" and record["weighted_amount"] == "123.45"  # exact, as strings
    assert record["probability"] == "10.0000" and record["stage"] == "initial_contact"
    assert record["expected_close"] == "2026-06-30" and record["tags"] == ["key_account"]
    assert dt.datetime.fromisoformat(record["created_at"]) == NOW
    assert api("GET", f"order/{record['id']}").json() == record


@pytest.mark.parametrize("lang, required, number", [("zh-CN,zh;q=0.9", "此字段为必填项", "必须是数字"),
                                                   ("en-US,en;q=0.8", "This field is required", "Must be a number"),
                                                   (None, "此字段为必填项", "必须是数字")])  # the user's own
def test_invalid_create_is_422_with_field_errors_in_the_callers_language(api, lang, required, number):
    response = api("POST", "order", lang=lang, json={"amount": "lots"})
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert errors["name"] == [required] and errors["customer"] == [required] and errors["amount"] == [number]
    assert api("GET", "order").json()["count"] == 0  # nothing saved


def test_malformed_or_non_object_bodies_are_400(api):
    bad = api("POST", "order", content=b"{not json", headers={"Content-Type": "application/json"})
    assert bad.status_code == 400 and bad.json()["error"] == "bad_request"
    assert api("POST", "order", json=[{"name": "x"}]).status_code == 400
    assert api("PATCH", f"order/{order(api)['id']}", json="version").status_code == 400


def test_unknown_entity_is_404(api):
    assert api("GET", "nothing").status_code == 404
    assert api("POST", "nothing", json={}).json() == {"error": "not_found"}


def test_an_entity_the_role_cannot_touch_is_403(api):
    assert api("GET", "task").status_code == 403  # sales_rep has no grant on task
    assert api("POST", "task", json={"title": "x"}).json()["error"] == "forbidden"
    mine = order(api)
    assert api("DELETE", f"order/{mine['id']}").status_code == 403  # delete: none
    assert api("GET", f"order/{mine['id']}").status_code == 200


def test_someone_elses_record_looks_exactly_like_a_missing_one(api):
    theirs = order(api, "bo")
    for method, kwargs in (("GET", {}), ("PATCH", {"json": {"name": "mine now", "version": 1}})):
        hidden = api(method, f"order/{theirs['id']}", **kwargs)
        missing = api(method, "order/999999", **kwargs)
        assert hidden.status_code == missing.status_code == 404
        assert hidden.json() == missing.json() == {"error": "not_found"}
    assert api("GET", f"order/{theirs['id']}", "boss").json()["name"] == "Deal"  # untouched
    assert theirs["id"] not in [r["id"] for r in api("GET", "order").json()["data"]]


def test_stale_patch_is_409_and_changes_nothing(api):
    record = order(api)
    first = api("PATCH", f"order/{record['id']}", json={"name": "First", "version": 1})
    assert first.status_code == 200 and first.json()["version"] == 2
    late = api("PATCH", f"order/{record['id']}", lang="en", json={"name": "Second", "version": 1})
    assert late.status_code == 409
    body = late.json()
    assert body["error"] == "stale" and "Someone else saved" in body["message"]
    assert body["current"]["name"] == "First" and body["current"]["version"] == 2
    assert "margin" not in body["current"]  # the current record is shown as the caller may see it
    assert api("GET", f"order/{record['id']}").json()["name"] == "First"


def test_patch_needs_a_version(api):
    record = order(api)
    response = api("PATCH", f"order/{record['id']}", lang="en", json={"name": "No version"})
    assert response.status_code == 422
    assert response.json() == {"errors": {"version": ["This field is required"]}}
    assert api("PATCH", f"order/{record['id']}", json={"version": "one"}).status_code == 422
    assert api("GET", f"order/{record['id']}").json()["name"] == "Deal"


def test_a_record_read_from_the_api_can_be_sent_back_changed(api):
    record = order(api, amount="500")
    changed = dict(record, name="Renamed", amount="750.00")
    response = api("PATCH", f"order/{record['id']}", json=changed)
    assert response.status_code == 200, response.text
    assert response.json()["amount"] == "750.00" and response.json()["weighted_amount"] == "75.00"
    refused = api("PATCH", f"order/{record['id']}", lang="en", json={"version": 2, "weighted_amount": "1"})
    assert refused.status_code == 422 and "computed" in refused.json()["errors"]["weighted_amount"][0]


def test_delete_then_get_is_404(api):
    record = order(api)
    assert api("DELETE", f"order/{record['id']}", "boss").status_code == 204
    assert api("GET", f"order/{record['id']}", "boss").status_code == 404
    assert api("DELETE", f"order/{record['id']}", "boss").json() == {"error": "not_found"}


def test_hidden_fields_are_not_shown_and_not_accepted(api):
    record = order(api)
    assert api("PATCH", f"order/{record['id']}", "boss", json={"margin": "99", "version": 1}).status_code == 200
    assert api("GET", f"order/{record['id']}", "boss").json()["margin"] == "99.00"
    assert "margin" not in record
    assert "margin" not in api("GET", f"order/{record['id']}").json()
    assert all("margin" not in r for r in api("GET", "order").json()["data"])
    created = api("POST", "order", lang="en", json={"name": "x", "customer": record["customer"], "margin": 1})
    assert created.status_code == 422 and created.json()["errors"]["margin"] == ["You may not change this field"]
    changed = api("PATCH", f"order/{record['id']}", json={"margin": "0", "version": 2})
    assert changed.status_code == 422
    assert api("GET", f"order/{record['id']}", "boss").json()["margin"] == "99.00"
    for query in ("margin=99", "margin__gte=1", "sort=-margin"):
        assert api("GET", f"order?{query}").status_code == 400  # not even by filtering or sorting


def signed_in(api, name: str) -> str:
    """Signs `name` in with a password (set here: hashing is slow, and only this test needs one)."""
    client, site = api.client, api.client.app.state.site
    table = site.tables.system("atrium_users")
    with site.engine.begin() as connection:
        connection.execute(table.update().where(table.c.name == name)
                           .values(password_hash=users.hash_password(f"{name}-pass")))
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    client.post("/login", data={"name": name, "password": f"{name}-pass", "csrf_token": token})
    return re.search(r'name="csrf-token" content="([^"]+)"', client.get("/").text).group(1)


def test_the_session_cookie_works_and_writes_need_the_csrf_header(api):
    csrf = signed_in(api, "ann")
    client = api.client
    acme = client.post("/api/v1/customer", json={"name": "Cookie Co"})
    assert acme.status_code == 403 and acme.json()["error"] == "csrf"
    assert client.get("/api/v1/customer").json()["count"] == 0
    made = client.post("/api/v1/customer", json={"name": "Cookie Co"}, headers={"X-CSRF-Token": csrf})
    assert made.status_code == 201
    assert client.get(f"/api/v1/customer/{made.json()['id']}").json()["name"] == "Cookie Co"
    wrong = client.patch(f"/api/v1/customer/{made.json()['id']}", json={"name": "x", "version": 1},
                         headers={"X-CSRF-Token": "forged"})
    assert wrong.status_code == 403


@pytest.fixture
def orders(api):
    """23 orders of ann's (two customers, a spread of amounts, stages, tags, dates) and one of bo's."""
    site = api.client.app.state.site
    vip, plain = customer(api, level="vip"), customer(api, level="normal")
    ann = vip["owner"]
    order(api, "bo", name="bo's deal", amount="5000")
    rows = []
    for i in range(23):
        amount = None if i % 5 == 0 else str(1000 + (i % 4) * 250)
        rows.append({"name": f"deal {i:02d}", "customer": (vip if i % 2 else plain)["id"], "owner": ann,
                     "amount": amount, "stage": STAGES[i % 4] if amount else STAGES[0],
                     "tags": ["key_account"] if i % 3 == 0 else [],
                     "expected_close": (dt.date(2026, 5, 16) + dt.timedelta(days=i * 4)).isoformat()})
    with site.engine.begin() as connection:
        site.records.bulk_create("order", rows, connection=connection)
    return api("GET", "order?limit=500&sort=name").json()["data"]


def walk(api, query: str, limit: int = 5) -> list[dict]:
    seen, after = [], None
    while True:
        page = api("GET", f"order?{query}&limit={limit}" + (f"&after={after}" if after else "")).json()
        seen += page["data"]
        assert len(page["data"]) <= limit
        after = page["next"]
        if after is None:
            return seen


@pytest.mark.parametrize("sort", ["-amount", "amount,name", "-expected_close", "stage,-name"])
def test_pages_walk_every_record_once_in_order(api, orders, sort):
    rows = walk(api, f"sort={sort}")
    assert len(rows) == 23 and len({r["id"] for r in rows}) == 23  # no gaps, no duplicates, no bo
    key = sort.split(",")[0].lstrip("-")
    present = [r[key] for r in rows if r[key] is not None]
    as_sorted = sorted(present, key=lambda v: Decimal(v) if key == "amount" else v,
                       reverse=sort.startswith("-"))
    assert present == as_sorted
    assert all(r[key] is None for r in rows[len(present):])


def names(api, query: str) -> set[str]:
    response = api("GET", f"order?{query}&limit=500")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["count"] == len(body["data"]) and body["count_capped"] is False
    return {r["name"] for r in body["data"]}


def expected(orders, keep) -> set[str]:
    return {o["name"] for o in orders if keep(o)}


def test_filters_are_typed_by_the_field(api, orders):
    def amount(o):
        return Decimal(o["amount"]) if o["amount"] else None

    assert names(api, "amount__gte=1500") == expected(orders, lambda o: amount(o) and amount(o) >= 1500)
    assert names(api, "amount__gt=1000&amount__lt=1750") == expected(
        orders, lambda o: amount(o) and 1000 < amount(o) < 1750)
    assert names(api, "amount__is_set=false") == expected(orders, lambda o: o["amount"] is None)
    assert names(api, "stage=proposal") == expected(orders, lambda o: o["stage"] == "proposal")
    assert names(api, "stage__in=proposal,negotiation") == expected(
        orders, lambda o: o["stage"] in ("proposal", "negotiation"))
    assert names(api, "stage__ne=proposal") == expected(orders, lambda o: o["stage"] != "proposal")
    assert names(api, "customer.level=vip") == expected(orders, lambda o: int(o["name"][-2:]) % 2)
    assert names(api, "tags=key_account") == expected(orders, lambda o: o["tags"])
    assert names(api, "expected_close__within=this_month") == expected(
        orders, lambda o: o["expected_close"] < "2026-06-01")
    assert names(api, "expected_close__lte=2026-06-01") == expected(
        orders, lambda o: o["expected_close"] <= "2026-06-01")
    assert names(api, "name__contains=DEAL 1") == expected(orders, lambda o: o["name"].startswith("deal 1"))
    assert names(api, "q=deal 2") == expected(orders, lambda o: o["name"].startswith("deal 2"))
    assert names(api, f"id={orders[3]['id']}") == {"deal 03"}
    assert names(api, "created_at__gte=2026-05-15&stage=won") == set()
    assert names(api, "expected_close__until=today") == expected(orders, lambda o: o["expected_close"] <= "2026-05-15")
    assert names(api, "created_at__within_last_hours=1") == expected(orders, lambda o: True)  # made at NOW
    assert names(api, "created_at__older_than_hours=0") == set()


@pytest.mark.parametrize("query, parameter, text", [
    ("nope=1", "nope", "There is no field 'nope'"),
    ("customer.nope=1", "customer.nope", "There is no field 'customer.nope'"),
    ("amount__near=1", "amount__near", "'near' is not a filter operator"),
    ("amount__contains=1", "amount__contains", "does not apply to a money field"),
    ("amount__gte=lots", "amount__gte", "Must be a number"),
    ("expected_close=tomorrowish", "expected_close", "Must be a date"),
    ("stage=sold", "stage", "'sold' is not a stage"),
    ("lost_reason__in=price,cheap", "lost_reason__in", "'cheap' is not one of the choices"),
    ("expected_close__within=this_decade", "expected_close__within", "not a period"),
    ("expected_close__older_than_hours=3", "expected_close__older_than_hours", "does not apply to a date field"),
    ("created_at__older_than_hours=-1", "created_at__older_than_hours", "most"),
    ("stage=proposal&stage=won", "stage", "given twice"),
    ("sort=tags", "sort", "Cannot sort by 'tags'"),
    ("limit=many", "limit", "limit must be a whole number"),
])
def test_a_bad_filter_is_400_saying_what_is_wrong(api, query, parameter, text):
    response = api("GET", f"order?{query}", lang="en")
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "bad_request" and body["parameter"] == parameter and text in body["message"]


def test_limit_and_cursor_edges(api, orders):
    assert len(api("GET", "order").json()["data"]) == 23
    assert api("GET", "order?limit=500").status_code == 200
    for limit in ("501", "100000", "99999999999999999999", "1.5", "-1"):  # the document's maximum is 500
        refused = api("GET", f"order?limit={limit}")
        assert refused.status_code == 400 and refused.json()["parameter"] == "limit"
    assert api("GET", "order?after=garbage").status_code == 400
    assert api("GET", "order?limit=0").status_code == 400
    assert api("GET", "order?lang=en").status_code == 200  # the UI's language switch is not a filter


def test_a_filter_through_a_reference_only_matches_linked_records_the_caller_may_see(api):
    site = api.client.app.state.site
    ann_deal = order(api, name="ann's deal")
    bos = customer(api, "bo", level="vip", name="Bo Secret Ltd")
    # an order of ann's linked to bo's customer (made by the system, which no rule limits)
    site.records.update("order", ann_deal["id"], {"customer": bos["id"]})
    assert names(api, "") == {"ann's deal"}
    assert names(api, "customer.name=Bo Secret Ltd") == set()  # the name is not confirmed
    assert names(api, "customer.level=vip") == set()
    everything = api("GET", "order?customer.name=Bo Secret Ltd", "boss").json()
    assert [r["name"] for r in everything["data"]] == ["ann's deal"]
