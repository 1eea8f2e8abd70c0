"""Malformed input at the edge (ui/web/edge.py): the cases a security probe found answering 500,
each now a 400 — JSON naming the parameter for the API, the plain notice page for the pages —
with nothing written, and the next request on the same client answered as usual."""
from __future__ import annotations

import base64
import json

import pytest
import sqlalchemy as sa

from atrium.runtime.access import users
from atrium.ui.web.edge import ID_MAX, MalformedInput, check_json, id_or_none, whole_number

pytestmark = pytest.mark.database

BIG = "99999999999999999999"
CRAFTED = [[{"t": "date", "v": "nope"}, 1], [True, 1], [[1, 2], 1], [{"t": "decimal", "v": "1e999999"}, 1],
           [{"t": "decimal", "v": "nope"}, 1], {"a": 1}, [None, int(BIG)]]


def cursor(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def count(world, entity: str) -> int:
    with world.site.engine.connect() as connection:
        return connection.execute(sa.select(sa.func.count()).select_from(world.site.tables[entity])).scalar()


@pytest.fixture
def api(world):
    with world.site.engine.begin() as connection:
        token = users.issue_token(connection, world.site.tables, "rep")
    client = world.browser("rep").client

    def call(method: str, path: str, **kwargs):
        headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
        return client.request(method, path, headers=headers, **kwargs)
    return call


def test_ids_beyond_64_bits_in_the_path_are_a_400_on_the_api_and_the_pages(world, api):
    order = world.order()
    for path in (f"/api/v1/approvals/{BIG}", f"/api/v1/order/{BIG}", "/api/v1/order/9223372036854775808",
                 f"/api/v1/order/{BIG}/convert"):
        answer = api("GET", path)
        assert answer.status_code == 400, path
        assert answer.json()["error"] == "bad_request" and answer.json()["parameter"] == "id"
    assert api("GET", f"/api/v1/order/{ID_MAX}").status_code == 404  # the largest id is an id
    rep = world.browser("rep")
    for path in (f"/r/order/{BIG}", f"/notifications/{BIG}", f"/dashboards/sales_rep/widgets/{BIG}"):
        page = rep.get(path)
        assert page.status_code == 400 and page.headers["content-type"].startswith("text/html"), path
        assert "Not a valid id" in page.text
    assert rep.post(f"/r/order/{BIG}/delete").status_code == 400
    assert api("GET", f"/api/v1/order/{order['id']}").json()["name"] == "Deal"  # the next request is served


def test_integers_beyond_64_bits_in_a_json_body_are_refused_and_nothing_is_written(world, api):
    customer = world.customer()
    answer = api("POST", "/api/v1/order", json={"name": "Deal", "customer": 9999999999999999999})
    assert answer.status_code == 400
    assert answer.json()["parameter"] == "customer" and "too large" in answer.json()["message"]
    for body in ({"name": "Deal", "customer": customer["id"], "amount": float("inf")},
                 {"name": "Deal\x00", "customer": customer["id"]}):
        assert api("POST", "/api/v1/order", content=json.dumps(body)).status_code == 400
    bulk = api("POST", "/api/v1/order/bulk", json={"ids": [int(BIG)], "set": {"owner": 1}})
    assert bulk.status_code == 400 and bulk.json()["parameter"] == "ids"
    assert count(world, "order") == 0
    text = api("POST", "/api/v1/order", json={"name": "Deal", "customer": str(int(BIG))})  # as text: a field error
    assert text.status_code == 422 and list(text.json()["errors"]) == ["customer"]


def test_a_reference_beyond_64_bits_in_a_form_is_a_field_error_not_a_crash(world):
    rep = world.browser("rep")
    page = rep.post("/r/order", data={"name": "Deal", "customer": BIG})
    assert page.status_code in (200, 422) and "customer" in page.text
    assert count(world, "order") == 0


def test_crafted_cursors_are_a_400_on_the_api_and_start_the_list_again_on_the_pages(world, api):
    for name in ("A", "B", "C"):
        world.order(name)
    first = api("GET", "/api/v1/order?limit=2").json()
    assert len(first["data"]) == 2 and first["next"]
    assert len(api("GET", f"/api/v1/order?limit=2&after={first['next']}").json()["data"]) == 1  # a real one pages
    rep = world.browser("rep")
    for crafted in CRAFTED:
        answer = api("GET", f"/api/v1/order?after={cursor(crafted)}", headers={"Accept-Language": "zh"})
        assert answer.status_code == 400 and answer.json()["error"] == "bad_request", crafted
        assert answer.json()["parameter"] == "after" and "不是该列表给出的游标" in answer.json()["message"], crafted
        page = rep.get(f"/r/order?after={cursor(crafted)}")
        assert page.status_code == 200 and "That page no longer exists" in page.text, crafted
        assert rep.get(f"/r/order/export.csv?after={cursor(crafted)}").status_code == 200
    english = api("GET", "/api/v1/order?after=%%%", headers={"Accept-Language": "en"}).json()
    assert english == {"error": "bad_request", "parameter": "after",
                       "message": "Not a cursor this list gave: start again from its first page"}


@pytest.mark.parametrize("query", ["q=a%00b", "name__contains=a%00b", "customer__q=a%00b", "name=%00",
                                   "a%00=1"])
def test_a_nul_byte_in_a_query_string_is_a_400(world, api, query):
    answer = api("GET", f"/api/v1/order?{query}")
    assert answer.status_code == 400 and "NUL" in answer.json()["message"]
    rep = world.browser("rep")
    for path in ("/r/order", "/r/order/pick", "/r/order/export.csv", "/r/order/kanban", "/search"):
        page = rep.get(f"{path}?{query}")
        assert page.status_code == 400 and "NUL" in page.text, path
    assert rep.get("/r/order?q=a").status_code == 200


def test_a_nul_byte_in_a_form_is_a_400_and_nothing_is_written(world):
    customer = world.customer()
    rep = world.browser("rep")
    page = rep.post("/r/order", data={"name": "Deal\x00", "customer": customer["id"]})
    assert page.status_code == 400 and "NUL" in page.text
    assert count(world, "order") == 0


def test_whole_numbers_in_query_strings_and_forms_must_be_ids(world, api):
    rep = world.browser("rep")
    for value in (BIG, "abc", "²", "-1"):
        assert rep.get(f"/notifications?before={value}").status_code == 400, value
    assert rep.get("/notifications?before=5").status_code == 200
    answer = api("GET", f"/api/v1/approvals?entity=order&record={BIG}")
    assert answer.status_code == 400 and answer.json()["parameter"] == "record"
    order = world.order()
    stale = rep.post(f"/r/order/{order['id']}", data={"name": "New", "customer": order["customer"], "version": BIG})
    assert stale.status_code == 400 and world.get("order", order["id"])["name"] == "Deal"


def test_the_api_answers_in_the_callers_language(world, api):
    answer = api("GET", f"/api/v1/order/{BIG}", headers={"Accept-Language": "zh"})
    assert answer.status_code == 400 and "编号" in answer.json()["message"]


def test_whole_number_and_id_or_none():
    assert whole_number("42", "p", "en") == 42 and whole_number(" ", "p", "en") is None
    assert whole_number(str(ID_MAX), "p", "en") == ID_MAX
    for bad in (str(ID_MAX + 1), "²", "１２", "4_2", "+4", "-4", "4.0"):
        with pytest.raises(MalformedInput):
            whole_number(bad, "p", "en")
    assert id_or_none("7") == 7 and id_or_none(7) == 7
    assert [id_or_none(v) for v in ("²", BIG, True, None, "x")] == [None] * 5


def test_check_json_walks_deep_bodies_without_recursion():
    deep: list = []
    for _ in range(50_000):
        deep = [deep]
    check_json({"a": deep}, "en")  # fine: nothing malformed, and no RecursionError
    with pytest.raises(MalformedInput) as refused:
        check_json({"a": {"b": [1, 2 ** 64]}}, "en")
    assert refused.value.payload()["parameter"] == "a.b"
    for body in ({"x": float("nan")}, {"x\x00": 1}, {"x": ["ok", "n\x00"]}):
        with pytest.raises(MalformedInput):
            check_json(body, "en")
