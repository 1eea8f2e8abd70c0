"""The account page's choice of notification emails: an address and each / daily / none, with
bad input shown beside the field in the user's language and nothing saved."""
from __future__ import annotations

import dataclasses

import pytest
from test_app import csrf, make_client, sign_in

from atrium.metadata.message_settings import build_message_settings
from atrium.runtime.access import users
from atrium.runtime.delivery.preferences import preferences_of


@pytest.fixture
def app_parts(engine, database_url, design_blueprint):
    blueprint = dataclasses.replace(design_blueprint, messages=build_message_settings(
        {"site_url": "https://crm.example.test", "email": {"host": "127.0.0.1", "from": "crm@example.test"}}))
    client, site = make_client(engine, database_url, blueprint)
    with client:
        yield client, site


def saved(site):
    with site.engine.connect() as connection:
        return preferences_of(connection, site.tables, users.user_id(connection, site.tables, "rep"))


def save(client, email: str, choice: str):
    return client.post("/account/messages", data={"csrf_token": csrf(client, "/account"), "email": email,
                                                  "choice": choice}, follow_redirects=False)


def test_a_user_chooses_a_daily_digest_and_sees_the_choice_kept(app_parts):
    client, site = app_parts
    assert sign_in(client, "rep", "rep-pass").status_code == 303
    page = client.get("/account").text
    assert 'action="/account/messages"' in page and 'value="each" checked' in page  # the default
    response = save(client, "rep@example.test", "daily")
    assert response.status_code == 303 and response.headers["location"].endswith("/account?done=messages")
    assert saved(site).email == "rep@example.test" and saved(site).choice == "daily"
    page = client.get("/account?done=messages").text
    assert 'value="daily" checked' in page and 'value="rep@example.test"' in page
    assert "已保存" in page  # the confirmation, in the user's language


def test_a_bad_address_is_shown_beside_the_field_and_nothing_is_saved(app_parts):
    client, site = app_parts
    sign_in(client, "rep", "rep-pass")
    response = save(client, "not an address", "each")
    assert response.status_code == 400
    assert 'id="email-error"' in response.text and "必须是有效的邮箱地址" in response.text
    assert 'value="not an address"' in response.text  # what was typed stays in the field
    assert saved(site).email is None
    missing = save(client, "", "daily")  # a digest needs an address
    assert missing.status_code == 400 and 'id="email-error"' in missing.text
    assert saved(site).choice == "each"
    odd = save(client, "rep@example.test", "hourly")
    assert odd.status_code == 400 and saved(site).email is None


def test_turning_emails_off_needs_no_address_and_a_change_needs_the_form_token(app_parts):
    client, site = app_parts
    sign_in(client, "rep", "rep-pass")
    assert save(client, "", "off").status_code == 303 and saved(site).choice == "off"
    forged = client.post("/account/messages", data={"email": "x@example.test", "choice": "each"},
                         follow_redirects=False)
    assert forged.status_code == 403 and saved(site).choice == "off"


def test_a_site_without_email_says_so(engine, database_url, design_blueprint):
    client, _ = make_client(engine, database_url, design_blueprint)
    with client:
        sign_in(client, "rep", "rep-pass")
        page = client.get("/account").text
    assert 'action="/account/messages"' not in page and "messages" in page
