"""A mini blueprint with a `sign_in:` block pointing at the local test providers, a migrated
database and an app on it, and the browser's round trip through a provider."""
from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import yaml
from sso_provider_kit import CLIENT_ID
from starlette.testclient import TestClient

from atrium.metadata import load_blueprint
from atrium.runtime.access import users
from atrium.runtime.schema.migrations import migrate
from atrium.runtime.site.site import Site
from atrium.ui.web.app import Settings, create_app

MINI = Path(__file__).resolve().parents[1] / "fixtures" / "mini"


def oidc_provider(issuer: str, **extra) -> dict:
    return {"name": "corp", "kind": "oidc", "label": {"en": "Company account", "zh": "公司账号"},
            "issuer": issuer, "client_id": CLIENT_ID, "client_secret_env": "ATRIUM_TEST_SSO_SECRET", **extra}


def site_client(folder: Path, engine, database_url, sign_in: dict) -> TestClient:
    """The mini blueprint with `sign_in`, migrated, with users alice (rep), bob (disabled rep)
    and root (admin, password root-pass), served by a TestClient."""
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(MINI, folder)
    manifest = yaml.safe_load((folder / "blueprint.yaml").read_text())
    manifest["sign_in"] = sign_in
    (folder / "blueprint.yaml").write_text(yaml.safe_dump(manifest, allow_unicode=True))
    blueprint = load_blueprint(folder)
    migrate(engine, blueprint)
    site = Site.open(blueprint, database_url, engine=engine)
    with engine.begin() as connection:
        users.add_user(connection, site.tables, blueprint, "alice", "rep")
        users.add_user(connection, site.tables, blueprint, "bob", "rep")
        users.add_user(connection, site.tables, blueprint, "root", "admin", password="root-pass")
        table = site.tables.system("atrium_users")
        for name in ("alice", "bob", "root"):
            connection.execute(table.update().where(table.c.name == name).values(email=f"{name.title()}@Example.com"))
        users.set_active(connection, site.tables, "bob", False)
    return TestClient(create_app(Settings(str(folder), database_url, secret_key="test-secret"), site=site))


def start(client: TestClient, provider: str = "corp", next_page: str = "") -> dict[str, str]:
    """Clicks the provider's button; the query the browser is sent to the provider with."""
    answer = client.get(f"/login/{provider}" + (f"?next={next_page}" if next_page else ""), follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return dict(parse_qsl(urlsplit(answer.headers["location"]).query))


def come_back(client: TestClient, callback: str):
    return client.get(callback, follow_redirects=False)
