"""The shipped b2b_sales reports on seeded demo data: `pipeline_by_stage` gives the rows of a
hand-written SQL query (per database, under each user's scope), `atrium report --format json --as
USER` prints the same, and every shipped report runs for every demo user in both languages."""
from __future__ import annotations

import datetime as dt
import json
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from report_kit import module_database

from atrium.cli import main
from atrium.metadata import load_blueprint
from atrium.metadata.report_checks import report_entity
from atrium.runtime.access.users import find_user
from atrium.runtime.reports.runner import Reports
from atrium.runtime.reports.scope import ReportNotFound
from atrium.runtime.schema.migrations import migrate
from atrium.runtime.seed.seeding import seed_demo
from atrium.runtime.site.site import Site

B2B = Path(__file__).resolve().parents[2] / "blueprints" / "b2b_sales"

pytestmark = pytest.mark.database

# What a person writes by hand against the tables: one query per database for the month key.
PIPELINE_SQL = """
SELECT stage, {month} AS month, count(*) AS orders, sum(amount) AS amount, sum(weighted_amount) AS weighted
FROM "order"
WHERE stage NOT IN ('won', 'lost') AND expected_close >= :start AND expected_close < :end {scope}
GROUP BY stage, {month}
"""
MONTH = {"sqlite": "strftime('%Y-%m-01', expected_close)",
         "postgresql": "to_char(date_trunc('month', expected_close), 'YYYY-MM-DD')"}
# Who sees whose orders, written out from roles.yaml: reps their own, the manager the east team and
# its sub-team south, the administrator everyone.
SCOPE = {"rep1": "AND owner = (SELECT id FROM atrium_users WHERE name = 'rep1')",
         "manager": "AND owner IN (SELECT u.id FROM atrium_users u JOIN atrium_teams t ON t.id = u.team_id "
                    "WHERE t.name IN ('east', 'south'))",
         "admin": ""}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    with module_database(tmp_path_factory) as (engine, url):
        blueprint = load_blueprint(B2B)
        migrate(engine, blueprint)
        seed_demo(blueprint, engine, scale=120, seed=3)
        yield Site.open(blueprint, url, engine=engine)


def this_quarter() -> tuple[dt.date, dt.date]:
    today = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()
    first = 3 * ((today.month - 1) // 3) + 1
    start = dt.date(today.year, first, 1)
    return start, dt.date(today.year + (first == 10), 1 if first == 10 else first + 3, 1)


def hand_rows(site, user: str) -> list[tuple]:
    start, end = this_quarter()
    with site.engine.connect() as connection:
        sql = PIPELINE_SQL.format(month=MONTH[connection.dialect.name], scope=SCOPE[user])
        rows = connection.execute(sa.text(sql), {"start": start, "end": end}).all()
    return sorted((stage, dt.date.fromisoformat(month), orders, Decimal(str(amount)).quantize(Decimal("0.01")),
                   Decimal(str(weighted)).quantize(Decimal("0.01"))) for stage, month, orders, amount, weighted in rows)


def actor_of(site, name):
    from atrium.runtime.records.evaluation import Actor
    with site.engine.connect() as connection:
        user = find_user(connection, site.tables, name)
    return Actor(user["id"], name, user["role"], user["team_id"], "zh")


@pytest.mark.parametrize("user", ["admin", "manager", "rep1"])
def test_pipeline_by_stage_rows_equal_a_hand_written_query(site, user):
    expected = hand_rows(site, user)
    assert expected, "the demo data has open orders closing this quarter"
    result = Reports(site).run(actor_of(site, user), "pipeline_by_stage")
    rows = sorted((r["stage"], r["expected_close"], r["orders"], r["amount"], r["weighted"]) for r in result.rows)
    assert rows == expected
    stages = site.blueprint.pipelines["order"].stage_names
    assert [r["stage"] for r in result.rows] == sorted((r["stage"] for r in result.rows), key=stages.index)
    for row in result.rows:
        assert row["avg_deal"] == (row["amount"] / row["orders"]).quantize(Decimal("0.01"), ROUND_HALF_UP)


@pytest.mark.parametrize("user", ["admin", "manager", "rep1"])
def test_atrium_report_json_as_a_user_matches_the_hand_written_query(site, user, capsys):
    url = site.engine.url.render_as_string(hide_password=False)
    assert main(["--db", url, "report", "pipeline_by_stage", "--format", "json", "--as", user]) == 0
    printed = json.loads(capsys.readouterr().out)
    rows = sorted((r["stage"], dt.date.fromisoformat(r["expected_close"]), r["orders"], Decimal(r["amount"]),
                   Decimal(r["weighted"])) for r in printed["rows"])
    assert rows == hand_rows(site, user)
    assert printed["label"] == "各阶段商机"
    pipeline = site.blueprint.pipelines["order"]  # each stage shown is labelled in the site's language
    assert {r["stage"]: printed["labels"]["stage"][r["stage"]] for r in printed["rows"]} == \
        {r["stage"]: pipeline.stage(r["stage"]).label.text("zh") for r in printed["rows"]}


def test_atrium_report_prints_a_table_and_csv_and_refuses_unknown_reports(site, capsys):
    url = site.engine.url.render_as_string(hide_password=False)
    assert main(["--db", url, "report", "pipeline_by_owner", "--as", "manager", "--lang", "en"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "Pipeline by sales rep" and "Total" in out.splitlines()[-1]
    assert main(["--db", url, "report", "won_this_month", "--format", "csv", "--as", "rep1"]) == 0
    assert capsys.readouterr().out.splitlines()[0].lstrip("\ufeff") == "赢单金额,订单数"
    assert main(["--db", url, "report", "no_such_report"]) == 1
    assert "没有报表“no_such_report”" in capsys.readouterr().err


def test_every_shipped_report_runs_for_every_demo_user(site):
    reports = Reports(site)
    with site.engine.connect() as connection:
        names = connection.execute(sa.select(site.tables.system("atrium_users").c.name)).scalars().all()
    for name in names:
        actor = actor_of(site, name)
        for report in site.blueprint.reports:
            try:
                result = reports.run(actor, report)
            except ReportNotFound:
                document = site.blueprint.reports[report]
                assert not site.access.can(actor, report_entity(document.data, site.blueprint.pipelines), "read")
                continue
            assert not result.warnings, (name, report, result.warnings)
            for locale in ("zh", "en"):
                json.dumps(result.to_json(locale))
                result.table(locale)
