"""The access matrix: role × entity × surface. For each entity of the shipped blueprint, a record
owned by a rep of the south team (a sub-team of east) is seen, on every surface, by exactly the
users roles.yaml says: its owner (own), the east manager (team, sub-teams included), the admin
(all) — and by no other rep. "Not seen" is a 404, never a 403 that confirms the record exists."""
from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from atrium.runtime.schema.migrations import migrate
from atrium.runtime.seed.seeding import seed_demo
from atrium.runtime.site.site import Site
from atrium.ui.web.app import Settings, create_app
from tests.conftest import B2B

pytestmark = pytest.mark.database  # runs in the PostgreSQL pass too
VIEWERS = ("admin", "manager", "rep1", "rep2", "rep3")
OWNER = "rep3"


def expected(role_scope: str, viewer: str) -> bool:
    if viewer == "admin" or role_scope == "all":
        return True
    if role_scope == "team":
        return viewer == "manager"  # rep3's team (south) is under the manager's (east)
    return role_scope == "own" and viewer == OWNER


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    import os
    base = os.environ.get("ATRIUM_TEST_PG_URL") if os.environ.get("ATRIUM_TEST_DB") == "postgresql" else None
    yield from _world(tmp_path_factory, base)


def _world(tmp_path_factory, pg_url):
    import uuid
    from urllib.parse import quote

    from atrium.metadata import load_blueprint
    from atrium.runtime.schema.database import create_engine
    blueprint = load_blueprint(B2B)
    schema = None
    if pg_url:
        schema = "m_" + uuid.uuid4().hex[:12]
        admin = create_engine(pg_url)
        with admin.begin() as c:
            c.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        url = f"{pg_url}{'&' if '?' in pg_url else '?'}options={quote(f'-csearch_path={schema}')}"
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('matrix') / 'm.db'}"
    engine = create_engine(url)
    migrate(engine, blueprint)
    seed_demo(blueprint, engine, scale=40, seed=7, today=dt.date(2026, 5, 20))
    site = Site.open(blueprint, url, engine=engine)
    app = create_app(Settings(str(B2B), url, secret_key="matrix"), site=site)
    yield site, app
    engine.dispose()
    if schema:
        with admin.begin() as c:
            c.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


def signed_in(app, name: str) -> TestClient:
    client = TestClient(app)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    response = client.post("/login", data={"name": name, "password": name, "csrf_token": token},
                           follow_redirects=False)
    assert response.status_code == 303, f"{name} could not sign in"
    return client


def sample(site, entity: str, anyones: bool = False) -> tuple[int, str | None]:
    """A record of `entity` owned by OWNER, and a search term that finds only it (if any).
    With `anyones` (the viewer reads every record, e.g. campaigns run by marketing), a record of
    whoever owns one when OWNER owns none."""
    model = site.blueprint.entities[entity]
    table = site.tables[entity]
    users = site.tables.system("atrium_users")
    with site.engine.connect() as c:
        owner_id = c.execute(sa.select(users.c.id).where(users.c.name == OWNER)).scalar()
        owner_column = table.c[model.owner] if model.owner else table.c.created_by
        rows = c.execute(sa.select(table).where(owner_column == owner_id).order_by(table.c.id)).fetchall()
        if not rows and anyones:
            rows = c.execute(sa.select(table).order_by(table.c.id)).fetchall()
    if not rows and model.owner:
        # a small seed may give OWNER none of a rare kind: hand them the first one, as a manager would
        with site.engine.begin() as c:
            first = c.execute(sa.select(table.c.id).order_by(table.c.id).limit(1)).scalar()
            assert first is not None, f"the seed made no {entity}"
            c.execute(table.update().where(table.c.id == first).values({model.owner: owner_id}))
    with site.engine.connect() as c:
        rows = rows or c.execute(sa.select(table).where(owner_column == owner_id).order_by(table.c.id)).fetchall()
        assert rows, f"the seed gave {OWNER} no {entity}"
        for row in rows:
            for field in model.search:
                value = row._mapping[field]
                if isinstance(value, str) and len(value) >= 3:
                    count = c.execute(sa.select(sa.func.count()).select_from(table).where(
                        sa.cast(table.c[field], sa.String).icontains(value, autoescape=True))).scalar()
                    if count == 1:
                        return row.id, value
    return rows[0].id, None


@pytest.mark.parametrize("viewer", VIEWERS)
def test_every_surface_agrees_with_roles_yaml(world, viewer):
    site, app = world
    client = signed_in(app, viewer)
    role = site.blueprint.roles[{"admin": "admin", "manager": "sales_manager"}.get(viewer, "sales_rep")]
    problems = []
    for entity in site.blueprint.entities:
        grant = role.grant(entity)
        if grant.read == "none" or entity == "product":
            continue
        record_id, term = sample(site, entity, anyones=grant.read == "all")
        visible = expected(grant.read, viewer)
        surfaces = {
            "detail page": client.get(f"/r/{entity}/{record_id}").status_code == 200,
            "edit page": client.get(f"/r/{entity}/{record_id}/edit").status_code == 200,
            "API": client.get(f"/api/v1/{entity}/{record_id}").status_code == 200,
        }
        hidden_status = {client.get(f"/r/{entity}/{record_id}").status_code,
                         client.get(f"/api/v1/{entity}/{record_id}").status_code}
        if not visible and hidden_status != {404}:
            problems.append(f"{viewer} {entity}: hidden record answered {hidden_status}, not 404")
        if term is not None:
            link = f"/r/{entity}/{record_id}\""
            surfaces["list search"] = link in client.get(f"/r/{entity}", params={"q": term}).text
            surfaces["picker"] = f'data-id="{record_id}"' in client.get(f"/r/{entity}/pick", params={"q": term}).text
            api = client.get(f"/api/v1/{entity}", params={"q": term}).json()
            surfaces["API search"] = any(r["id"] == record_id for r in api["data"])
            surfaces["CSV export"] = term in client.get(f"/r/{entity}/export.csv", params={"q": term}).text
        if grant.update == "none" and visible:
            surfaces.pop("edit page")
        for surface, seen in surfaces.items():
            if seen != visible:
                problems.append(f"{viewer} {entity} via {surface}: {'saw' if seen else 'missed'} "
                                f"a record roles.yaml {'hides' if not visible else 'shows'} ({grant.read})")
    assert not problems, "\n".join(problems)


def test_a_product_is_read_only_for_reps(world):
    site, app = world
    client = signed_in(app, "rep1")
    with site.engine.connect() as c:
        product = c.execute(sa.select(site.tables["product"].c.id).limit(1)).scalar()
    assert client.get(f"/r/product/{product}").status_code == 200  # read: all
    assert client.get(f"/r/product/{product}/edit").status_code in (403, 404)  # update: none
    assert client.get("/r/product/new").status_code in (403, 404)  # create: false
    assert client.patch(f"/api/v1/product/{product}", json={"version": 1, "name": "x"},
                        headers={"X-CSRF-Token": _token(client)}).status_code in (403, 404)


def _token(client: TestClient) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', client.get("/").text).group(1)
