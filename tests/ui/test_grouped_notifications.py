"""Notifications grouped per person and batch: marketing imports 65 leads of the south region, the
region's rep gets one message, "65 条新线索已分配给您", whose link lists exactly those leads; a lead
entered alone still gets its own message."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from atrium.runtime.access import users
from atrium.runtime.io.import_values import read_csv
from atrium.runtime.io.importer import Importer, ImportOptions
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.schema.migrations import migrate
from atrium.runtime.site.site import Site
from atrium.ui.web.app import Settings, create_app

B2B = Path(__file__).resolve().parents[2] / "blueprints" / "b2b_sales"


@pytest.fixture
def site(engine, database_url, b2b):
    migrate(engine, b2b)
    site = Site.open(b2b, database_url, engine=engine)
    with engine.begin() as connection:
        users.add_team(connection, site.tables, "east")
        users.add_team(connection, site.tables, "south", parent="east")
        for name, role, team in (("chen", "marketing", None), ("liu", "sales_rep", "south"),
                                 ("zhang", "sales_rep", "east")):
            users.add_user(connection, site.tables, b2b, name, role, team=team, password=f"{name}-pass")
    return site


def actor(site, name: str) -> Actor:
    with site.engine.connect() as connection:
        user = users.find_user(connection, site.tables, name)
    return Actor(user_id=user["id"], name=name, role=user["role"], team_id=user["team_id"], locale="zh")


def inbox(site, name: str) -> list:
    table = site.tables.system("atrium_notifications")
    with site.engine.connect() as connection:
        return connection.execute(sa.select(table).where(table.c.user_id == actor(site, name).user_id)
                                  .order_by(table.c.id)).all()


def signed_in(site, database_url, name: str) -> TestClient:
    client = TestClient(create_app(Settings(str(B2B), database_url, secret_key="test-secret"), site=site))
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    assert client.post("/login", data={"name": name, "password": f"{name}-pass", "csrf_token": token},
                       follow_redirects=False).status_code == 303
    return client


def test_an_import_of_65_leads_gives_the_rep_one_message_linking_to_them(site, database_url):
    rows = "".join(f"华南客户{n:02d}有限公司,联系人{n:02d},华南\n" for n in range(65))
    csv_file = read_csv(("公司名称,联系人,区域\n" + rows).encode("utf-8"), "zh")
    importer = Importer(site, actor(site, "chen"), "lead")
    report = importer.run(csv_file, ImportOptions(importer.guess_mapping(csv_file.header)))
    assert report.created == 65
    note, = inbox(site, "liu")
    assert note.message == {"en": "65 new leads assigned to you", "zh": "65 条新线索已分配给您"}
    leads = site.tables["lead"]
    with site.engine.connect() as connection:
        ids = connection.execute(sa.select(leads.c.id).where(leads.c.owner == actor(site, "liu").user_id)
                                 .order_by(leads.c.id)).scalars().all()
    assert len(ids) == 65 and note.link == "/r/lead?" + "&".join(f"id={i}" for i in ids)
    assert inbox(site, "zhang") == [] and inbox(site, "chen") == []

    client = signed_in(site, database_url, "liu")
    listed = client.get(note.link + "&count=exact", headers={"Accept-Language": "zh"})
    assert re.search(r'<span class="count" id="count">65</span>', listed.text)
    page = client.get("/notifications", headers={"Accept-Language": "zh"}).text
    assert "65 条新线索已分配给您" in page

    site.records.create("lead", {"company": "深圳单条线索公司", "contact_name": "王五", "region": "south"},
                        actor(site, "chen"))
    alone = inbox(site, "liu")[-1]
    assert alone.message["zh"] == "新线索已分配给您：深圳单条线索公司（王五）" and alone.record_id is not None
