"""The pages and API of periodic reports: a rep opens today's daily report and finds today's
figures, saves a draft, submits (then it is read-only and keeps its figures); a manager sees the
team's reports with unread in bold and who is missing; another team's manager does not."""
from __future__ import annotations

import datetime as dt
import re
import sys
from pathlib import Path

import pytest
from record_pages_kit import FAST_HASHER, Browser
from starlette.testclient import TestClient

from atrium.ui.web.app import Settings, create_app

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "runtime"))
from periodic_kit import NOW, PEOPLE, build_world  # noqa: E402

HOUR = dt.timedelta(hours=1)


@pytest.fixture
def world(tmp_path, engine, database_url):
    made = build_world(tmp_path / "bp", engine, database_url)
    users = made.site.tables.system("atrium_users")
    with engine.begin() as connection:
        for name, _, _ in PEOPLE:
            connection.execute(users.update().where(users.c.id == made.users[name]["id"]).values(
                password_hash=FAST_HASHER.hash(f"{name}-pass"), locale="en"))
    made.app = create_app(Settings(str(tmp_path / "bp"), database_url, secret_key="k"), site=made.site)
    yield made
    made.site.engine.dispose()


def signed_in(world, name: str) -> Browser:
    browser = Browser(TestClient(world.app))
    assert browser.post("/login", data={"name": name, "password": f"{name}-pass"},
                        follow_redirects=False).status_code == 303
    return browser


def figure(html: str, name: str) -> str:
    return re.search(rf'id="figure-{name}">([^<]*)<', html).group(1)


def test_a_rep_opens_todays_daily_report_with_todays_figures(world):
    for at in (NOW - HOUR, NOW - 2 * HOUR, NOW - dt.timedelta(days=1)):  # two today, one yesterday
        world.visit("rita", at)
    rita = signed_in(world, "rita")
    page = rita.get("/my-reports/daily")
    assert page.status_code == 200
    assert figure(page.text, "visits") == "2" and "Save draft" in page.text
    assert '/my-reports/daily' in rita.get("/my-reports").text


def test_save_a_draft_then_submit_and_the_report_stays_as_submitted(world):
    world.visit("rita", NOW - HOUR)
    rita = signed_in(world, "rita")
    saved = rita.post("/my-reports/daily", data={"start": "2026-05-15", "version": "0", "texts.done": "Met Acme",
                                                 "plan.visits": "4", "action": "save"}, follow_redirects=False)
    assert saved.status_code == 303
    page = rita.get("/my-reports/daily")
    assert "Met Acme" in page.text and 'value="4"' in page.text
    refused = rita.post("/my-reports/daily", data={"start": "2026-05-15", "version": "1", "texts.done": "",
                                                   "action": "submit"})
    assert refused.status_code == 422 and "Required before submitting" in refused.text
    assert rita.post("/my-reports/daily", data={"start": "2026-05-15", "version": "1", "texts.done": "Met Acme",
                                                "plan.visits": "4", "action": "submit"},
                     follow_redirects=False).status_code == 303
    world.visit("rita", NOW - HOUR)  # after submitting: the report keeps 1
    page = rita.get("/my-reports/daily")
    assert figure(page.text, "visits") == "1" and "Save draft" not in page.text and "Submitted" in page.text
    again = rita.post("/my-reports/daily", data={"start": "2026-05-15", "version": "2", "texts.done": "x",
                                                 "action": "save"})
    assert again.status_code == 409
    api = rita.client.put("/api/v1/periodic-reports/daily", json={"texts": {"done": "x"}},
                          headers={"X-CSRF-Token": rita.token()})
    assert api.status_code == 409 and api.json()["error"] == "submitted"


def test_the_manager_sees_the_team_unread_in_bold_and_who_is_missing(world):
    world.reports.save(world.actor("rita"), "daily", texts={"done": "x"}, submit=True)
    ann = signed_in(world, "ann")
    team = ann.get("/my-reports/daily/team")
    assert team.status_code == 200
    assert re.search(r"<strong><a [^>]*user=%d\">rita</a></strong>" % world.users["rita"]["id"], team.text)
    assert "Missing: 1" in team.text and "ron" in team.text and "sue" not in team.text
    assert 'class="badge"' in team.text
    opened = ann.get(f"/my-reports/daily?user={world.users['rita']['id']}")
    assert opened.status_code == 200 and "Save draft" not in opened.text
    assert "<strong>" not in ann.get("/my-reports/daily/team").text.split("<table", 1)[1]
    listed = ann.client.get("/api/v1/periodic-reports/daily/team").json()["data"]
    assert {row["user"]: row["status"] for row in listed} == {"rita": "submitted", "ron": "missing"}


def test_another_teams_manager_gets_no_access(world):
    world.reports.save(world.actor("rita"), "daily", texts={"done": "x"}, submit=True)
    sam = signed_in(world, "sam")
    assert sam.get(f"/my-reports/daily?user={world.users['rita']['id']}").status_code == 404
    assert sam.client.get(f"/api/v1/periodic-reports/daily?user={world.users['rita']['id']}").status_code == 404
    assert "rita" not in sam.get("/my-reports/daily/team").text


def test_the_api_reads_and_saves_ones_own_report(world):
    world.visit("rita", NOW - HOUR)
    rita = signed_in(world, "rita")
    got = rita.client.get("/api/v1/periodic-reports/daily").json()
    assert (got["status"], got["figures"], got["start"]) == ("new", {"visits": 1}, "2026-05-15")
    saved = rita.client.put("/api/v1/periodic-reports/daily", json={"texts": {"done": "API"}, "plan": {"visits": 3},
                                                                    "version": 0},
                            headers={"X-CSRF-Token": rita.token()})
    assert saved.status_code == 200 and saved.json()["status"] == "draft"
    assert rita.client.get("/api/v1/periodic-reports/daily?start=2026-05-16").status_code == 404
    listed = rita.client.get("/api/v1/periodic-reports").json()
    assert [r["name"] for r in listed["data"]] == ["daily"]
    paths = rita.client.get("/api/v1/openapi.json").json()["paths"]
    assert {"/api/v1/periodic-reports", "/api/v1/periodic-reports/daily"} <= set(paths)
