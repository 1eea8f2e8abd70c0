"""The global search's surfaces: the header's box on every page, GET /search (the page, and the
results block the box asks for over HTMX), GET /api/v1/search and its OpenAPI description."""
from __future__ import annotations

import re

from openapi_spec_validator import validate
from starlette.testclient import TestClient


def test_every_page_has_the_search_box_in_its_header(world):
    page = world.browser("rep").get("/")
    header = page.text.split("</header>")[0]
    assert 'role="search"' in header and 'action="/search"' in header and 'hx-get="/search"' in header
    assert "/static/search.js" in page.text
    assert world.browser("rep").client.get("/static/search.js").status_code == 200


def test_the_search_page_groups_results_by_entity_with_titles_and_snippets(world):
    customer = world.customer("上海星辰精密机械有限公司", phone="021-5555 0101")
    world.order("星辰数控机床", customer=customer)
    lead = world.create("lead", company="杭州云帆科技", contact_name="王小明", phone="139 1234 5678")
    rep = world.browser("rep")
    page = rep.get("/search?q=星辰")
    assert page.status_code == 200
    groups = re.findall(r'<section class="search-group" data-entity="(\w+)">\s*<h2>([^<]+)</h2>', page.text)
    assert groups == [("customer", "Customers"), ("order", "Orders")]
    assert f'href="/r/customer/{customer["id"]}"' in page.text and "上海星辰精密机械有限公司" in page.text
    assert "2 results" in page.text
    by_phone = rep.get("/search?q=%2B86%20139-1234-5678")
    assert f'href="/r/lead/{lead["id"]}"' in by_phone.text and "Phone: 139 1234 5678" in by_phone.text
    assert "Words of one or two characters are looked for among the newest 5,000 records" in page.text
    assert "Words of one or two characters" not in rep.get("/search?q=星辰精密").text
    nothing = rep.get("/search?q=没有这个词")
    assert "Nothing found for “没有这个词”" in nothing.text
    # the box's dropdown: the results block alone, with a link to every result
    box = rep.get("/search?q=星辰", htmx=True)
    assert "<html" not in box.text and 'data-entity="customer"' in box.text
    assert 'href="/search?q=%E6%98%9F%E8%BE%B0"' in box.text


def test_the_page_hides_what_the_reader_may_not_read_and_escapes_what_it_shows(world):
    theirs = world.customer("金桥贸易 <script>alert(1)</script>", by="rep2")
    mine = world.customer("金桥制造", by="rep")
    page = world.browser("rep").get("/search?q=金桥")
    assert f'/r/customer/{mine["id"]}"' in page.text and f'/r/customer/{theirs["id"]}"' not in page.text
    boss = world.browser("boss").get("/search?q=金桥")
    assert f'/r/customer/{theirs["id"]}"' in boss.text
    assert "<script>alert(1)</script>" not in boss.text and "&lt;script&gt;" in boss.text


def test_the_page_speaks_chinese(world):
    world.customer("深圳海洋科技")
    rep = world.browser("rep")
    rep.post("/language", data={"locale": "zh"})
    page = rep.get("/search?q=海洋")
    assert "<h2>客户</h2>" in page.text and "1 条结果" in page.text and 'placeholder="搜索' in page.text


def test_the_api_answers_results_under_the_callers_access(world):
    mine = world.customer("金桥制造", by="rep")
    world.customer("金桥贸易", by="rep2")
    order = world.order("金桥订单", by="rep", customer=mine)
    rep = world.browser("rep")
    answer = rep.get("/api/v1/search?q=金桥&limit=10")
    assert answer.status_code == 200
    results = answer.json()["results"]
    assert {(r["entity"], r["id"]) for r in results} == {("customer", mine["id"]), ("order", order["id"])}
    assert all(set(r) == {"entity", "id", "title", "snippet"} for r in results)
    assert next(r for r in results if r["entity"] == "order")["title"] == f"{order['code']} 金桥订单"
    limited = rep.get("/api/v1/search?q=金桥&limit=1").json()["results"]
    assert len(limited) == 1
    for bad in ("limit=0", "limit=x", "limit=101"):
        refused = rep.get(f"/api/v1/search?q=金桥&{bad}")
        assert refused.status_code == 400 and refused.json()["parameter"] == "limit"
    assert rep.get("/api/v1/search").status_code == 400


def test_the_api_needs_a_caller(world):
    with TestClient(world.app) as anonymous:
        assert anonymous.get("/api/v1/search?q=金桥").status_code == 401


def test_the_openapi_document_describes_the_search(world):
    spec = world.browser("rep").get("/api/v1/openapi.json").json()
    validate(spec)
    search = spec["paths"]["/api/v1/search"]["get"]
    assert {p["name"] for p in search["parameters"]} == {"q", "limit"}
    item = search["responses"]["200"]["content"]["application/json"]["schema"]["properties"]["results"]["items"]
    assert set(item["required"]) == {"entity", "id", "title", "snippet"}
