"""The studio's list of messages the outbox could not send: an admin sees a failing email with
its error and sends it again; nobody else may open it."""
from __future__ import annotations

import dataclasses
import socket

import pytest
from test_app import csrf, make_client, sign_in

from atrium.metadata.message_settings import build_message_settings
from atrium.runtime.access import users
from atrium.runtime.delivery.preferences import set_preferences
from atrium.runtime.schema.database import write_transaction


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nobody listens once the probe is closed


@pytest.fixture
def app_parts(engine, database_url, design_blueprint):
    blueprint = dataclasses.replace(design_blueprint, messages=build_message_settings({
        "site_url": "https://crm.example.test",
        "email": {"host": "127.0.0.1", "port": closed_port(), "security": "none", "from": "crm@example.test"}}))
    client, site = make_client(engine, database_url, blueprint)
    with client:
        yield client, site


def test_an_admin_sees_a_failing_email_and_sends_it_again(app_parts):
    client, site = app_parts
    with write_transaction(site.engine) as connection:
        rep = users.user_id(connection, site.tables, "rep")
        set_preferences(connection, site.tables, rep, "rep@example.test", "each")
        site.records.automations.notifications.send(connection, [
            {"user_id": rep, "message": {"en": "Hello", "zh": "你好"}, "rule": "greeting"}], site.now())
    assert site.records.automations.outbox.deliver_due(site.engine).retrying == 1

    assert sign_in(client, "rep", "rep-pass").status_code == 303
    assert client.get("/studio/outbox", follow_redirects=False).status_code == 404  # admins only
    client.post("/logout", data={"csrf_token": csrf(client, "/")})
    assert sign_in(client, "boss", "boss-pass").status_code == 303
    page = client.get("/studio/outbox").text
    assert "mailto:rep@example.test" in page and "greeting" in page and "ConnectionRefusedError" in page
    row_id = int(page.split('class="outbox-row" data-id="')[1].split('"')[0])
    response = client.post(f"/studio/outbox/{row_id}/retry", data={"csrf_token": csrf(client, "/studio/outbox")},
                           follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].endswith(f"retried={row_id}")
    assert f"#{row_id}" in client.get(response.headers["location"]).text
    assert client.post("/studio/outbox/999999/retry", data={"csrf_token": csrf(client, "/studio/outbox")},
                       follow_redirects=False).status_code == 404
