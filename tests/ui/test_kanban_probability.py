"""The board shows each open stage's configured probability, and beside it the learned one."""
from __future__ import annotations

import sys
from pathlib import Path

import yaml
from record_pages_kit import Browser
from starlette.testclient import TestClient

from atrium.runtime.access.users import add_user
from atrium.runtime.schema.migrations import migrate
from atrium.runtime.site.site import Site
from atrium.ui.web.app import Settings, create_app

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "runtime"))
from automation_kit import Clock, blueprint_with  # noqa: E402


def test_lanes_show_configured_and_learned_probabilities(tmp_path, database_url):
    folder = tmp_path / "bp"
    blueprint_with(folder)
    (folder / "views").mkdir()
    (folder / "views" / "deal.yaml").write_text(yaml.safe_dump(
        {"entity": "deal", "kanban": {"group_by": "stage", "card": ["title"]}}))
    blueprint = blueprint_with(folder)  # reloaded with the view
    clock = Clock()
    site = Site.open(blueprint, database_url, clock=clock)
    migrate(site.engine, blueprint)
    with site.engine.begin() as connection:
        add_user(connection, site.tables, blueprint, "boss", "admin", password="boss-pass", locale="en")
    for title, last in (("a", "won"), ("b", "won"), ("c", "lost")):  # from new: 2 of 3 won
        deal = site.records.create("deal", {"title": title})
        clock.advance(days=1)
        site.records.update("deal", deal["id"], {"stage": last, "lost_reason": "price" if last == "lost" else None})
    site.records.learned.clear()
    app = create_app(Settings(str(folder), database_url, secret_key="k"), site=site)
    with TestClient(app) as client:
        browser = Browser(client)
        assert browser.post("/login", data={"name": "boss", "password": "boss-pass"},
                            follow_redirects=False).status_code == 303
        page = browser.get("/r/deal/kanban").text
    assert "10% · learned 66.67% (3)" in page  # new: below the two-sample minimum it would say 10% alone
    assert "30%" in page and "learned 0" not in page  # qualified: nobody left it yet
    site.engine.dispose()
