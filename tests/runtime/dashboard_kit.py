"""What the dashboard figure tests share: the b2b demo seeded once per module, a widget computed
for a user exactly as the dashboard page computes it (WidgetMaker, no filters), and hand-written
SQL run under a scope written out from roles.yaml."""
from __future__ import annotations

import contextlib
import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from report_kit import module_database

from atrium.metadata import load_blueprint
from atrium.runtime.access.users import find_user
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.schema.migrations import migrate
from atrium.runtime.schema.tables import UTCDateTime
from atrium.runtime.seed.seeding import seed_demo
from atrium.runtime.site.site import Site
from atrium.ui.reports.filters import Filters
from atrium.ui.reports.widgets import Widget, WidgetMaker

B2B = Path(__file__).resolve().parents[2] / "blueprints" / "b2b_sales"
ZONE = ZoneInfo("Asia/Shanghai")
CENT = Decimal("0.01")

# Who sees whose records, written out from roles.yaml: a rep their own, the manager the east team
# and its sub-team south, the others (admin; finance and marketing on what they read) everyone.
SCOPE = {"rep1": "AND {t}.owner = (SELECT id FROM atrium_users WHERE name = 'rep1')",
         "rep2": "AND {t}.owner = (SELECT id FROM atrium_users WHERE name = 'rep2')",
         "manager": "AND {t}.owner IN (SELECT u.id FROM atrium_users u JOIN atrium_teams t ON t.id = u.team_id "
                    "WHERE t.name IN ('east', 'south'))",
         "admin": "", "finance": "", "marketing": ""}


@contextlib.contextmanager
def seeded_site(tmp_path_factory: Any, scale: int = 150, seed: int = 11) -> Iterator[Site]:
    with module_database(tmp_path_factory) as (engine, url):
        blueprint = load_blueprint(B2B)
        migrate(engine, blueprint)
        seed_demo(blueprint, engine, scale=scale, seed=seed)
        yield Site.open(blueprint, url, engine=engine)


def actor_of(site: Site, name: str) -> Actor:
    with site.engine.connect() as connection:
        user = find_user(connection, site.tables, name)
    return Actor(user["id"], name, user["role"], user["team_id"], "en")


def bounds() -> dict[str, dt.date]:
    """Today, this month and this quarter in the blueprint's time zone, as [start, end) dates."""
    today = dt.datetime.now(ZONE).date()
    month = today.replace(day=1)
    quarter = dt.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    after_quarter = dt.date(quarter.year + (quarter.month == 10), 1 if quarter.month == 10 else quarter.month + 3, 1)
    after_month = dt.date(month.year + (month.month == 12), 1 if month.month == 12 else month.month + 1, 1)
    return {"today": today, "tomorrow": today + dt.timedelta(days=1), "month": month, "next_month": after_month,
            "quarter": quarter, "next_quarter": after_quarter, "week_end": today + dt.timedelta(days=7)}


def query(site: Site, sql: str, user: str, table: str = "o", **params: Any) -> list[tuple]:
    """Rows of a hand-written query; `{scope}` becomes the user's scope over `table`."""
    with site.engine.connect() as connection:
        text = sa.text(sql.format(scope=SCOPE[user].format(t=table)))
        for name, value in params.items():
            if isinstance(value, dt.datetime):
                text = text.bindparams(sa.bindparam(name, type_=UTCDateTime()))
        return [tuple(row) for row in connection.execute(text, {**bounds(), **params})]


def money(value: Any) -> Decimal:
    return Decimal(str(value or 0)).quantize(CENT)


def day(value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    return value.date() if isinstance(value, dt.datetime) else dt.date.fromisoformat(str(value)[:10])


def widget_index(site: Site, dashboard: str, key: str) -> int:
    """The widget whose report, name or (for a funnel) `funnel:<pipeline>` is `key`."""
    for index, spec in enumerate(site.blueprint.dashboards[dashboard]["widgets"]):
        names = {spec.get("report"), spec.get("name"), f"funnel:{spec.get('pipeline')}",
                 f"list:{spec.get('entity')}:{(spec.get('label') or {}).get('en')}"}
        if key in names:
            return index
    raise KeyError(f"{dashboard} has no widget {key}")


def widget(site: Site, user: str, dashboard: str, key: str) -> Widget:
    """The widget as the dashboard page computes it for `user` (no filters chosen)."""
    document = site.blueprint.dashboards[dashboard]
    with site.engine.connect() as connection:
        made = WidgetMaker(site, actor_of(site, user), "en", document, Filters(), connection).make(
            widget_index(site, dashboard, key))
    assert made.notice is None, made.notice
    return made


def kpi_value(site: Site, user: str, dashboard: str, report: str) -> Any:
    return widget(site, user, dashboard, report).kpi["value"]  # type: ignore[index]


def rows(site: Site, user: str, dashboard: str, key: str) -> list[dict[str, Any]]:
    """A chart's, table's or funnel's rows (the totals row left out)."""
    made = widget(site, user, dashboard, key)
    return [dict(r) for r in made.result.rows]


def listed_ids(site: Site, user: str, dashboard: str, key: str) -> list[int]:
    """The record ids a list widget shows, in its order."""
    return [record_id for record_id, _ in widget(site, user, dashboard, key).rows]


def funnel_sql(entity: str, pipeline: Any, where: str = "") -> str:
    """A funnel by hand: per record the furthest step of the ladder (open stages and the won
    outcome) its stage history reached, then per step the records that reached it or beyond; a lost
    outcome counts the records that ever moved into it."""
    ladder = [s.name for s in pipeline.stages if s.outcome != "lost"]
    lost = [s.name for s in pipeline.stages if s.outcome == "lost"]
    step = "CASE h.to_stage " + " ".join(f"WHEN '{name}' THEN {i}" for i, name in enumerate(ladder)) + " END"
    reached = ", ".join([f"sum(CASE WHEN r.furthest >= {i} THEN 1 ELSE 0 END)" for i in range(len(ladder))]
                        + [f"sum(r.lost{i})" for i in range(len(lost))])
    losses = "".join(f", max(CASE WHEN h.to_stage = '{name}' THEN 1 ELSE 0 END) AS lost{i}"
                     for i, name in enumerate(lost))
    return (f"""SELECT {reached} FROM (SELECT h.record_id, max({step}) AS furthest{losses}
               FROM atrium_stage_history h WHERE h.entity = '{entity}' AND h.pipeline = '{pipeline.name}'
               GROUP BY h.record_id) r JOIN "{entity}" o ON o.id = r.record_id WHERE 1 = 1 {where} {{scope}}""")


def assert_first_of(listed: list[int], expected: list[tuple[int, Any]], limit: int) -> None:
    """A list widget shows the first `limit` of the expected (id, sort key) rows in sort order (rows
    tied on the key may come in any order)."""
    keys = dict(expected)
    assert len(listed) == min(limit, len(expected)) and set(listed) <= set(keys)
    shown = [keys[i] for i in listed]
    assert shown == sorted(shown)
    if shown:
        assert all(key >= shown[-1] for i, key in expected if i not in listed)


# Campaign ROI by its definition: per campaign (rows keyed by the campaign's name, as the report
# groups them) the cost, the leads it brought and how many of them converted, and the won orders
# attributed to it (an order carries the campaign its lead converted from); ROI = (won amount -
# cost) / cost and cost per lead = cost / leads, none without a cost; leads to won = won orders / leads.
ROI_SQL = """SELECT c.name, sum(c.cost),
       sum((SELECT count(*) FROM lead l WHERE l.campaign = c.id)),
       sum((SELECT count(*) FROM lead l WHERE l.campaign = c.id AND l.status = 'converted')),
       sum((SELECT count(*) FROM "order" o WHERE o.campaign = c.id AND o.stage = 'won')),
       sum((SELECT coalesce(sum(o.amount), 0) FROM "order" o WHERE o.campaign = c.id AND o.stage = 'won'))
    FROM campaign c GROUP BY c.name"""


def assert_campaign_roi(site: Site, user: str, dashboard: str) -> None:
    """Every column of the campaign ROI table equals its hand-written figure."""
    expected = {name: (int(leads), int(converted), int(won_orders), money(cost), money(won))
                for name, cost, leads, converted, won_orders, won in query(site, ROI_SQL, user)}
    assert any(won for *_, won in expected.values()), "the demo data has campaigns that led to won orders"
    shown = rows(site, user, dashboard, "campaign_roi")
    assert {r["name"] for r in shown if r.get("name") is not None} == set(expected)
    close = Decimal("0.05")
    for row in shown:
        if row.get("name") is None:
            continue
        leads, converted, won_orders, cost, won = expected[row["name"]]
        assert (row["leads"], row["converted"], row["won_orders"], money(row["cost"]), money(row["won_amount"])) \
            == (leads, converted, won_orders, cost, won)
        if cost:
            assert abs(Decimal(str(row["roi"])) - (won - cost) * 100 / cost) <= close
        else:
            assert row["roi"] is None
        if cost and leads:
            assert abs(Decimal(str(row["cost_per_lead"])) - cost / leads) <= close
        else:
            assert row["cost_per_lead"] is None
        if leads:
            assert abs(Decimal(str(row["lead_to_won"])) - Decimal(won_orders * 100) / leads) <= close
        else:
            assert row["lead_to_won"] is None
