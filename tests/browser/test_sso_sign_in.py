"""Single sign-on in a real browser: the login page's provider button goes to a local OpenID
Connect provider (tests/sso_provider_kit.py), the person signs in there, and the browser comes
back to the home page signed in as the user the provider vouched for."""
from __future__ import annotations

import re
import shutil

import pytest
import sqlalchemy as sa
from browser_kit import B2B, ROOT, VIEWPORT, Server
from sso_provider_kit import CLIENT_ID, CLIENT_SECRET, OidcProvider

from atrium.metadata import load_blueprint
from atrium.runtime.schema.database import create_engine
from atrium.runtime.site.site import Site
from atrium.ui.web.app import Settings, create_app


@pytest.fixture
def provider():
    running = OidcProvider()
    yield running
    running.stop()


@pytest.fixture
def sso_server(seeded_database, tmp_path, provider, monkeypatch):
    """The seeded demo site with a site overlay declaring the provider; rep1's email is the one
    the provider will send."""
    monkeypatch.setenv("ATRIUM_TEST_SSO_SECRET", CLIENT_SECRET)
    overlay = tmp_path / "site"
    overlay.mkdir()
    (overlay / "blueprint.yaml").write_text(
        f"name: acme\nextends: {B2B}\nsign_in:\n  providers:\n"
        f"    - {{name: corp, kind: oidc, label: {{en: Company account, zh: 公司账号}}, issuer: '{provider.issuer}',"
        f" client_id: {CLIENT_ID}, client_secret_env: ATRIUM_TEST_SSO_SECRET}}\n", encoding="utf-8")
    path = tmp_path / "atrium.db"
    shutil.copyfile(seeded_database, path)
    url = f"sqlite:///{path}"
    engine = create_engine(url)
    blueprint = load_blueprint(overlay)
    site = Site.open(blueprint, url, engine=engine)
    users = site.tables.system("atrium_users")
    with engine.begin() as connection:
        connection.execute(users.update().where(users.c.name == "rep1").values(email="rep1@example.com"))
        shown = connection.execute(sa.select(users.c.display_name).where(users.c.name == "rep1")).scalar()
    app = create_app(Settings(str(overlay), url, secret_key="browser-test-secret",
                              node_modules=str(ROOT / "node_modules")), site=site)
    server = Server(app, site).start()
    server.shown_name = shown or "rep1"
    yield server
    server.stop()
    engine.dispose()


def test_the_provider_button_signs_in_at_the_provider_and_lands_home(browser, sso_server, provider):
    context = browser.new_context(base_url=sso_server.url, viewport=VIEWPORT, locale="zh-CN")
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        page.goto("/login")
        page.get_by_role("link", name="公司账号").click()
        page.wait_for_url(re.compile(re.escape(provider.issuer) + r"/authorize\?"))
        page.fill("input[name=login_email]", "rep1@example.com")
        page.get_by_role("button", name="Sign in at the provider").click()
        page.wait_for_url(sso_server.url + "/")
        assert page.locator("a.who").inner_text() == sso_server.shown_name
        assert page.locator("input[name=password]").count() == 0
    finally:
        context.close()
