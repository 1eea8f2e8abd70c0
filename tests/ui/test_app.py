"""The web shell: sign-in, the home page under the user's access scope, escaping, CSRF, language."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from atrium.metadata import load_blueprint
from atrium.runtime.access import users
from atrium.runtime.schema.migrations import migrate
from atrium.runtime.site.site import Site
from atrium.ui.web.app import Settings, create_app

DESIGN = Path(__file__).resolve().parents[1] / "fixtures" / "design_examples"


def make_client(engine, database_url, blueprint, folder=DESIGN):
    migrate(engine, blueprint)
    site = Site.open(blueprint, database_url, engine=engine)
    with engine.begin() as connection:
        if users.find_user(connection, site.tables, "rep") is None:
            users.add_user(connection, site.tables, blueprint, "rep", "sales_rep", password="rep-pass")
            users.add_user(connection, site.tables, blueprint, "boss", "admin", password="boss-pass")
    app = create_app(Settings(str(folder), database_url, secret_key="test-secret"), site=site)
    return TestClient(app), site


def csrf(client: TestClient, path: str = "/login") -> str:
    page = client.get(path)
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def sign_in(client: TestClient, name: str, password: str):
    return client.post("/login", data={"name": name, "password": password, "csrf_token": csrf(client)},
                       follow_redirects=False)


@pytest.fixture
def client(engine, database_url, design_blueprint):
    client, site = make_client(engine, database_url, design_blueprint)
    with client:
        yield client


def test_pages_need_sign_in(client):
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 303 and "/login" in response.headers["location"]


def test_sign_in_shows_the_role_dashboard_as_home(client):
    assert sign_in(client, "rep", "rep-pass").status_code == 303
    page = client.get("/")
    assert page.status_code == 200
    assert "<h1>我的销售</h1>" in page.text  # dashboards/sales_rep.yaml names the rep's role (zh first)
    assert 'hx-get="/dashboards/sales_rep/widgets/0"' in page.text


def test_a_role_without_a_dashboard_gets_scoped_counts_at_home(client, engine):
    site = client.app.state.site
    with engine.begin() as connection:
        users.add_user(connection, site.tables, site.blueprint, "mgr", "sales_manager", password="mgr-pass")
    site.records.create("customer", {"name": "Unowned"})  # the system's: no manager's team owns it
    assert sign_in(client, "mgr", "mgr-pass").status_code == 303
    page = client.get("/")
    assert page.status_code == 200
    counts = dict(re.findall(r'<span class="count">([\d,]+)</span><span>([^<]+)</span>', page.text))
    assert counts  # the manager sees the entities of the role, and the unowned customer is not counted
    assert all(n == "0" for n in counts)


def test_wrong_password_is_refused_and_repeated_failures_slow_down(client):
    for _ in range(5):
        assert sign_in(client, "rep", "nope").status_code == 400
    slowed = sign_in(client, "rep", "rep-pass")
    assert slowed.status_code == 429  # even the right password waits after repeated failures


def test_state_changes_need_the_csrf_token(client):
    response = client.post("/login", data={"name": "rep", "password": "rep-pass"})
    assert response.status_code == 403


def test_language_switch_is_remembered(client):
    sign_in(client, "rep", "rep-pass")
    token = csrf(client, "/")
    client.post("/language", data={"locale": "en", "csrf_token": token})
    assert 'lang="en"' in client.get("/").text
    client.post("/language", data={"locale": "zh", "csrf_token": token})
    assert 'lang="zh"' in client.get("/").text


def test_labels_are_escaped(tmp_path, database_url, engine):
    folder = Path(shutil.copytree(DESIGN, tmp_path / "bp"))
    manifest = folder / "blueprint.yaml"
    manifest.write_text(manifest.read_text(encoding="utf-8").replace(
        "label: {en: B2B Sales, zh: B2B 销售}", "label: {en: '<script>alert(1)</script>', zh: x}"),
        encoding="utf-8")
    client, _ = make_client(engine, database_url, load_blueprint(folder), folder)
    page = client.get("/login?lang=en")
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
