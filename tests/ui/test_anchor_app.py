"""The hand-written anchor app (bench/anchor_app.py) that bench/bench_versus.py measures Atrium's
pages against serves the same content as Atrium from the same database: the same orders in the
same order on the list page for an admin and for a sales rep, and on a detail page the same
title, related lists and field values. If the two drift apart the comparison means nothing."""
from __future__ import annotations

import datetime as dt
import re
import sys
from pathlib import Path

import pytest
from record_pages_kit import TODAY
from starlette.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from anchor_app import create_anchor_app  # noqa: E402

pytestmark = pytest.mark.database  # runs on SQLite and again on PostgreSQL
ORDER_LINK = re.compile(r'<a href="/r/order/(\d+)">([^<]+)</a>')


def anchor_client(url: str, name: str) -> TestClient:
    client = TestClient(create_anchor_app(url))
    assert client.get("/login", params={"name": name}, follow_redirects=False).status_code == 303
    return client


def url_of(world) -> str:
    return world.site.engine.url.render_as_string(hide_password=False)


def test_anchor_lists_the_same_orders_as_atrium(world):
    for n, by in enumerate(["rep", "rep", "rep2", "rep", "rep2", "manager"]):
        close = (TODAY + dt.timedelta(days=n * 4 if n != 3 else 4)).isoformat()  # two share a date
        world.order(f"Deal {n}", by=by, amount=str(1000 * (n + 1)), expected_close=close)
    for name in ("boss", "rep"):
        atrium = ORDER_LINK.findall(world.browser(name).get("/r/order").text)
        anchor = ORDER_LINK.findall(anchor_client(url_of(world), name).get("/r/order").text)
        assert anchor == atrium
        assert len(atrium) == (6 if name == "boss" else 3)  # the rep sees their own three


def test_anchor_detail_shows_what_atrium_shows(world):
    order = world.order("Turbines", amount="2500", expected_close=TODAY.isoformat())
    world.create("task", title="Call the buyer", order=order["id"])
    atrium = world.browser("rep").get(f"/r/order/{order['id']}").text
    anchor = anchor_client(url_of(world), "rep").get(f"/r/order/{order['id']}").text
    for text in (order["code"], "Turbines", "Turbines customer", "Call the buyer", "Rep Li", "2,500.00"):
        assert text in atrium and text in anchor
    sections = re.compile(r'<section class="card related" id="related-(\w+)"')
    assert sections.findall(anchor) == sections.findall(atrium)
    assert "Margin" not in anchor and "Margin" not in atrium  # hidden from reps in both
