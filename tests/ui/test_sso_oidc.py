"""Signing in through an OpenID Connect provider (a local one, tests/sso_provider_kit.py): the
code flow with PKCE, and every way an answer can fail to hold refused, users matched, refused,
provisioned with a role from their groups, or waiting for an administrator."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from sso_kit import come_back, oidc_provider, site_client, start
from sso_provider_kit import CLIENT_SECRET, OidcProvider

from atrium.runtime.access.people import people_entries


@pytest.fixture(scope="module")
def provider():
    running = OidcProvider()
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def fresh(provider, monkeypatch):
    monkeypatch.setenv("ATRIUM_TEST_SSO_SECRET", CLIENT_SECRET)
    provider.tamper.clear()
    provider.people.clear()


@pytest.fixture
def make(tmp_path, engine, database_url, provider):
    """`make(passwords=..., **provider settings)`: a client on the mini site with the local
    provider declared; its app's lifespan ends after the test."""
    clients = []

    def build(passwords=True, **extra):
        client = site_client(tmp_path / "site", engine, database_url,
                             {"passwords": passwords, "providers": [oidc_provider(provider.issuer, **extra)]})
        clients.append(client.__enter__())
        return client
    yield build
    for client in clients:
        client.__exit__(None, None, None)


def sign_in_as(client, provider, email, next_page=""):
    return come_back(client, provider.approve(start(client, next_page=next_page), email))


def signed_in_name(client) -> str | None:
    page = client.get("/account", follow_redirects=False)
    return page.text if page.status_code == 200 else None


def test_a_known_user_signs_in_with_the_code_flow_and_lands_on_next(make, engine, provider):
    client = make()
    login = client.get("/login")
    assert 'href="/login/corp"' in login.text and "Company account" in login.text
    query = start(client, next_page="/r/account")
    assert query["code_challenge_method"] == "S256" and query["nonce"] and query["state"]
    assert query["redirect_uri"] == "http://testserver/login/corp/callback"
    answer = come_back(client, provider.approve(query, "alice@example.com"))  # matched ignoring case
    assert answer.status_code == 303 and answer.headers["location"] == "/r/account"
    assert provider.token_requests[-1]["code_verifier"]  # PKCE: the verifier went to the token endpoint
    assert "alice" in signed_in_name(client)
    site = client.app.state.site
    with engine.connect() as connection:
        links = connection.execute(sa.select(site.tables.system("atrium_sign_in_links"))).all()
        sessions = connection.execute(sa.select(sa.func.count()).select_from(
            site.tables.system("atrium_sessions"))).scalar()
    assert [(link.provider, link.subject.startswith("sub-")) for link in links] == [("corp", True)]
    assert sessions == 1  # the same server-side session as a password sign-in: listed, and endable


def test_an_outside_next_address_is_ignored(make, provider):
    client = make()
    answer = sign_in_as(client, provider, "alice@example.com", next_page="//evil.example.com/x")
    assert answer.status_code == 303 and answer.headers["location"] == "http://testserver/"


@pytest.mark.parametrize("tamper", [{"nonce": "another-sign-in"}, {"other_key": True}, {"exp_offset": -3600},
                                    {"aud": "another-client"}, {"iss": "https://impostor.example.com"}],
                         ids=["wrong-nonce", "bad-signature", "expired", "wrong-audience", "wrong-issuer"])
def test_an_id_token_that_does_not_hold_is_refused(make, provider, tamper):
    client = make()
    provider.tamper.update(tamper)
    answer = sign_in_as(client, provider, "alice@example.com")
    assert answer.status_code == 400 and "could not be completed" in answer.text
    assert signed_in_name(client) is None


def test_a_callback_with_another_state_is_refused(make, provider):
    client = make()
    query = start(client)
    forged = provider.approve({**query, "state": "forged"}, "alice@example.com")
    assert come_back(client, forged).status_code == 400
    assert signed_in_name(client) is None
    replay = provider.approve(query, "alice@example.com")  # the pending sign-in was used up
    assert come_back(client, replay).status_code == 400


def test_an_unknown_person_is_refused_without_provisioning(make, provider):
    client = make()
    answer = sign_in_as(client, provider, "stranger@example.com")
    assert answer.status_code == 403 and "no user here" in answer.text
    assert signed_in_name(client) is None


def test_a_disabled_user_is_refused(make, provider):
    client = make()
    answer = sign_in_as(client, provider, "bob@example.com")
    assert answer.status_code == 403 and "disabled" in answer.text


def test_a_provisioned_person_gets_the_role_their_group_maps_to(make, engine, provider):
    client = make(provision=True,
                  roles={"claim": "groups", "map": {"crm-admins": "admin", "sales": "rep"}})
    provider.people["carol@example.com"] = {"name": "Carol Chen", "groups": ["staff", "sales"]}
    answer = sign_in_as(client, provider, "carol@example.com")
    assert answer.status_code == 303
    site = client.app.state.site
    users = site.tables.system("atrium_users")
    with engine.connect() as connection:
        row = connection.execute(sa.select(users).where(users.c.email == "carol@example.com")).one()
    assert (row.name, row.display_name, row.role) == ("carol", "Carol Chen", "rep")
    with engine.connect() as connection:
        entries = people_entries(connection, site.tables)
    assert [entry.summary_text("en") for entry in entries] == [
        "carol signed in through corp for the first time and was added (rep)"]
    assert "Carol Chen" in signed_in_name(client)
    client.cookies.clear()
    assert sign_in_as(client, provider, "carol@example.com").status_code == 303  # the same user again
    with engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(users)).scalar() == 4


def test_a_provisioned_person_without_a_role_waits_for_an_administrator(make, engine, provider):
    client = make(provision=True, roles={"claim": "groups", "map": {}})
    answer = sign_in_as(client, provider, "dan@example.com")
    assert answer.status_code == 403 and "waiting for an administrator" in answer.text
    assert signed_in_name(client) is None
    site = client.app.state.site
    users = site.tables.system("atrium_users")
    with engine.begin() as connection:
        assert connection.execute(sa.select(users.c.role).where(users.c.name == "dan")).scalar() == ""
        connection.execute(users.update().where(users.c.name == "dan").values(role="rep"))  # the admin decides
    assert sign_in_as(client, provider, "dan@example.com").status_code == 303
    assert "dan" in signed_in_name(client)


def test_with_passwords_off_only_the_provider_buttons_remain(make, monkeypatch):
    client = make(passwords=False)
    login = client.get("/login")
    assert 'name="password"' not in login.text and 'href="/login/corp"' in login.text
    refused = client.post("/login", data={"name": "root", "password": "root-pass",
                                          "csrf_token": _csrf(client)}, follow_redirects=False)
    assert refused.status_code == 403 and signed_in_name(client) is None
    monkeypatch.setenv("ATRIUM_PASSWORD_SIGN_IN", "on")  # break-glass
    assert 'name="password"' in client.get("/login").text
    allowed = client.post("/login", data={"name": "root", "password": "root-pass", "csrf_token": _csrf(client)},
                          follow_redirects=False)
    assert allowed.status_code == 303 and "root" in signed_in_name(client)


def _csrf(client) -> str:
    """The CSRF token of the login page's header (it has no password form when passwords are off)."""
    return client.get("/login").text.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]


def test_an_unreachable_or_undeclared_provider_is_answered_with_a_page(tmp_path, engine, database_url, provider):
    client = site_client(tmp_path / "site", engine, database_url, {"providers": [
        oidc_provider("http://127.0.0.1:9"), {**oidc_provider(provider.issuer), "name": "spare"}]})
    with client:
        down = client.get("/login/corp", follow_redirects=False)
        assert down.status_code == 400 and "could not be completed" in down.text
        assert client.get("/login/nobody", follow_redirects=False).status_code == 404
        assert client.get("/login/nobody/callback?code=x&state=y", follow_redirects=False).status_code == 404
        buttons = client.get("/login").text
        assert buttons.index('href="/login/corp"') < buttons.index('href="/login/spare"')  # in the YAML's order
