"""GET /api/v1/reports/{name}: a report's rows, totals and columns under the caller's scope, the
same as the runtime gives; 404 for a report that does not exist or that the caller may not run."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from atrium.runtime.access import users
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.reports.runner import Reports
from atrium.runtime.schema.migrations import migrate
from atrium.runtime.site.site import Site
from atrium.ui.web.app import Settings, create_app

DESIGN = Path(__file__).resolve().parents[1] / "fixtures" / "design_examples"
NOW = dt.datetime(2026, 5, 15, 4, 0, tzinfo=dt.timezone.utc)  # noon in Asia/Shanghai, Q2


@pytest.fixture
def api(engine, database_url, design_blueprint):
    migrate(engine, design_blueprint)
    site = Site.open(design_blueprint, database_url, engine=engine, clock=lambda: NOW)
    with engine.begin() as connection:
        ids = {name: users.add_user(connection, site.tables, design_blueprint, name, role, locale="zh")
               for name, role in (("ann", "sales_rep"), ("bo", "sales_rep"), ("boss", "admin"))}
        tokens = {name: users.issue_token(connection, site.tables, name) for name in ids}
    customer = site.records.create("customer", {"name": "Acme"})
    for owner, stage, amount, close in (("ann", "proposal", 100, "2026-05-20"),
                                        ("ann", "negotiation", 300, "2026-06-02"),
                                        ("bo", "proposal", 50, "2026-05-30"), ("ann", "won", 70, "2026-05-03")):
        actor = Actor(ids[owner], owner, "sales_rep")
        site.records.create("order", {"name": "Deal", "customer": customer["id"], "owner": ids[owner], "stage": stage,
                                      "amount": amount, "expected_close": close}, actor)
    app = create_app(Settings(str(DESIGN), database_url, secret_key="test-secret"), site=site)
    with TestClient(app) as client:
        def call(path, user="ann", lang=None, **params):
            headers = {"Authorization": f"Bearer {tokens[user]}"} if user else {}
            if lang:
                headers["Accept-Language"] = lang
            return client.get("/api/v1/reports/" + path, headers=headers, params=params)
        call.site, call.ids = site, ids
        yield call


def test_a_report_answers_rows_totals_and_columns_under_the_callers_scope(api):
    mine = api("pipeline_by_stage", lang="en")
    assert mine.status_code == 200
    body = mine.json()
    assert body["report"] == "pipeline_by_stage" and body["label"] == "Pipeline by stage"
    assert [c["name"] for c in body["columns"]] == ["stage", "expected_close", "orders", "amount", "weighted",
                                                    "avg_deal"]
    assert [(r["stage"], r["expected_close"], r["orders"], r["amount"]) for r in body["rows"]] == [
        ("proposal", "2026-05-01", 1, "100.00"), ("negotiation", "2026-06-01", 1, "300.00")]
    assert body["labels"]["stage"]["proposal"] == "Proposal / quote"
    assert body["labels"]["expected_close"]["2026-05-01"] == "2026-05"
    everyone = api("pipeline_by_stage", user="boss").json()
    assert sum(r["orders"] for r in everyone["rows"]) == 3  # ann's two and bo's one open order
    assert everyone["labels"]["stage"]["proposal"] == "方案报价"  # the user's language
    runtime = Reports(api.site).run(Actor(api.ids["bo"], "bo", "sales_rep"), "pipeline_by_stage")
    assert api("pipeline_by_stage", user="bo").json() == runtime.to_json("zh")


def test_period_and_limit_parameters(api):
    won = api("won_this_month", period="this_month").json()
    assert won["rows"][0]["amount"] == "70.00"
    assert api("won_this_month", period="last_month").json()["rows"][0]["amount"] == "0.00"
    assert len(api("pipeline_by_stage", user="boss", limit="1").json()["rows"]) == 1
    bad = api("won_this_month", period="fortnight", lang="en")
    assert bad.status_code == 400 and bad.json()["parameter"] == "period"
    assert api("pipeline_by_stage", limit="0").status_code == 400


def test_unknown_or_forbidden_reports_are_404_and_strangers_401(api):
    assert api("no_such_report").json() == {"error": "not_found"}
    forbidden = api("overdue_payments")  # payment records are not readable by sales reps
    assert forbidden.status_code == 404 and forbidden.json() == {"error": "not_found"}
    assert api("overdue_payments", user="boss").status_code == 200
    assert api("pipeline_by_stage", user=None).status_code == 401
