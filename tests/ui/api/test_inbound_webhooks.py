"""The ERP posts shipment feedback to `/api/v1/inbound/erp_shipments` (the b2b blueprint's
integrations/erp_shipments.yaml): signed, it updates the orders by their ERP number as the
integration user; unsigned or unknown, nothing is written. Every delivery is listed for the admin."""
from __future__ import annotations

import json

import pytest

from atrium.runtime.access import users
from atrium.runtime.access.inbound import sign

pytestmark = pytest.mark.database  # runs on SQLite and again on PostgreSQL

SECRET = "erp-shared-secret"
URL = "/api/v1/inbound/erp_shipments"


@pytest.fixture
def erp(world, monkeypatch):
    monkeypatch.setenv("ERP_INBOUND_SECRET", SECRET)
    with world.site.engine.begin() as connection:
        if users.find_user(connection, world.site.tables, "erp_sync") is None:
            users.add_user(connection, world.site.tables, world.blueprint, "erp_sync", "integration", locale="en")
    return world


def signed(world, payload, secret: str = SECRET, age: int = 0) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload).encode()
    timestamp = str(int(world.clock.now.timestamp()) - age)
    return body, {"Content-Type": "application/json", "X-ERP-Timestamp": timestamp,
                  "X-ERP-Signature": "sha256=" + sign(secret, body, timestamp)}


def shipment(order_no: str, tracking: str) -> dict:
    return {"order_no": order_no, "shipped_at": "2026-05-14", "tracking": {"carrier": "SF", "number": tracking}}


def test_a_signed_delivery_updates_the_orders_by_their_erp_number(erp):
    first = erp.order("Crane deal", erp_code="SO-1")
    second = erp.order("Bolt deal", erp_code="SO-2")
    client = erp.browser("boss").client
    body, headers = signed(erp, {"shipments": [shipment("SO-1", "SF100"), shipment("SO-2", "SF200")]})
    answer = client.post(URL, content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"created": [], "updated": [first["id"], second["id"]]}
    order = erp.get("order", first["id"])
    assert order["tracking_number"] == "SF100" and str(order["shipped_on"]) == "2026-05-14"
    with erp.site.engine.connect() as connection:
        runner = users.find_user(connection, erp.site.tables, "erp_sync")
    assert order["updated_by"] == runner["id"]  # the history names the integration's user
    again = client.post(URL, content=body, headers=headers)  # the same delivery twice changes nothing
    assert again.status_code == 200 and erp.get("order", first["id"])["version"] == order["version"]
    page = erp.browser("boss").client.get("/studio/outbox")
    assert page.status_code == 200 and "erp_shipments" in page.text


def test_a_bad_or_stale_signature_is_refused_and_nothing_is_written(erp):
    order = erp.order("Crane deal", erp_code="SO-1")
    client = erp.browser("rep").client  # a session lends no authority: the signature decides
    body, headers = signed(erp, {"shipments": [shipment("SO-1", "SF100")]}, secret="guess")
    assert client.post(URL, content=body, headers=headers).status_code == 401
    body, headers = signed(erp, {"shipments": [shipment("SO-1", "SF100")]}, age=3600)
    assert client.post(URL, content=body, headers=headers).status_code == 401
    body, headers = signed(erp, {"shipments": [shipment("SO-1", "SF100")]})
    tampered = body.replace(b"SF100", b"SF999")
    assert client.post(URL, content=tampered, headers=headers).status_code == 401
    assert client.post("/api/v1/inbound/nobody", content=body, headers=headers).status_code == 404
    assert erp.get("order", order["id"])["tracking_number"] is None
    with erp.site.engine.connect() as connection:
        table = erp.site.tables.system("atrium_inbound")
        statuses = [row.status for row in connection.execute(table.select().order_by(table.c.id))]
    assert statuses == [401, 401, 401]  # each delivery to a known endpoint is recorded


def test_an_unknown_order_refuses_the_whole_delivery_and_names_it(erp):
    order = erp.order("Crane deal", erp_code="SO-1")
    body, headers = signed(erp, {"shipments": [shipment("SO-1", "SF100"), shipment("SO-404", "SF404")]})
    answer = erp.browser("boss").client.post(URL, content=body, headers=headers)
    assert answer.status_code == 422, answer.text
    assert list(answer.json()["refused"]) == ["1"]
    assert erp.get("order", order["id"])["tracking_number"] is None
    body, headers = signed(erp, {"shipment": []})
    assert erp.browser("boss").client.post(URL, content=body, headers=headers).status_code == 400
