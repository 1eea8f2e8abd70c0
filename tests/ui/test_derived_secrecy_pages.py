"""A derived value keeps its inputs' secrecy wherever a rep meets it. The b2b blueprint hides
order.margin from reps; here order gets `margin_pct = margin * 100 / amount`, a band over that rate
(transitive), the same rate with `reveals: [margin]`, and customer a roll-up of its orders' margins.
A rep gets neither the value nor a filter, sort, export or report on the hidden ones; the admin
gets all; the revealed one shows to both."""
from __future__ import annotations

import csv
import io
import shutil

import pytest
import sqlalchemy as sa
from record_pages_kit import B2B, World, module_database, table_rows

from atrium.metadata import load_blueprint
from atrium.runtime.reports.runner import Reports
from atrium.runtime.reports.scope import ReportRefused

pytestmark = pytest.mark.database  # runs on SQLite and again on PostgreSQL

ORDER_FIELDS = """\
  margin_pct:
    type: percent
    label: {en: Margin rate, zh: 毛利率}
    formula: "margin * 100 / amount if margin is not None and amount else None"
  margin_band:
    type: text
    label: {en: Margin band, zh: 毛利档}
    formula: "None if margin_pct is None else ('high' if margin_pct >= 30 else 'low')"
  disclosed_rate:
    type: percent
    label: {en: Disclosed rate, zh: 公开毛利率}
    formula: "margin * 100 / amount if margin is not None and amount else None"
    reveals: [margin]
"""
CUSTOMER_FIELDS = """\
  margin_total:
    type: money
    label: {en: Total margin, zh: 毛利合计}
    rollup: {from: order.customer, sum: margin}
"""
REPORTS = {
    "margin_by_band": """\
name: margin_by_band
label: {en: Margin by band, zh: 按毛利档}
source: order
group_by: [margin_band]
measures:
  orders: {count: id, label: {en: Orders, zh: 订单数}}
""",
    "margin_rates": """\
name: margin_rates
label: {en: Margin rates, zh: 毛利率}
source: order
group_by: [stage]
measures:
  orders: {count: id, label: {en: Orders, zh: 订单数}}
  rate: {avg: margin_pct, label: {en: Average rate, zh: 平均毛利率}}
  disclosed: {avg: disclosed_rate, label: {en: Average disclosed, zh: 平均公开毛利率}}
""",
}


def secrecy_blueprint_folder(folder):
    """The shipped blueprint with the derived fields above, on the order list, detail and filters."""
    order = folder / "entities" / "order.yaml"
    text = order.read_text(encoding="utf-8")
    marker = "  # --- quotes, contract and money"
    assert marker in text
    order.write_text(text.replace(marker, ORDER_FIELDS + marker).replace("search: [code, name]",
                                                                          "search: [code, name, margin_band]"),
                     encoding="utf-8")
    customer = folder / "entities" / "customer.yaml"
    customer.write_text(customer.read_text(encoding="utf-8").replace("\nfields:\n", "\nfields:\n" + CUSTOMER_FIELDS, 1),
                        encoding="utf-8")
    view = folder / "views" / "order.yaml"
    view.write_text(view.read_text(encoding="utf-8")
                    .replace("stage, amount, expected_close]",
                             "stage, amount, margin_pct, margin_band, disclosed_rate]", 1)
                    .replace("fields: [probability, weighted_amount, margin]",
                             "fields: [probability, weighted_amount, margin, margin_pct, margin_band, disclosed_rate]")
                    .replace("filters: [owner,", "filters: [margin_pct, owner,"), encoding="utf-8")
    for name, text in REPORTS.items():
        (folder / "reports" / f"{name}.yaml").write_text(text, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    folder = secrecy_blueprint_folder(shutil.copytree(B2B, tmp_path_factory.mktemp("secrecy") / "b2b"))
    with module_database(tmp_path_factory) as (engine, url):
        world = World(engine, url, load_blueprint(folder), folder)
        yield world
        world.close()


@pytest.fixture
def world(shared):
    shared.reset()
    yield shared
    shared.close()


def deals(world) -> tuple[dict, dict]:
    """Two of the rep's orders: a 25% margin and a 40% one."""
    acme = world.customer("Acme")
    low = world.order("Pumps", customer=acme, amount=1000, margin=250)
    high = world.order("Valves", customer=acme, amount=1000, margin=400)
    return low, high


def test_the_rep_sees_neither_the_rate_nor_what_reads_it_on_the_detail_and_form(world):
    low, _ = deals(world)
    rep, boss = world.browser("rep"), world.browser("boss")
    page = rep.get(f"/r/order/{low['id']}").text
    assert "Margin rate" not in page and "Margin band" not in page and "Disclosed rate" in page
    assert "25" in page  # the revealed rate
    everything = boss.get(f"/r/order/{low['id']}").text
    assert "Margin rate" in everything and "Margin band" in everything and "low" in everything
    form = rep.get(f"/r/order/{low['id']}/edit").text
    assert "margin_pct" not in form and "Margin rate" not in form


def test_the_api_gives_the_rep_no_value_no_filter_and_no_sort(world):
    low, high = deals(world)
    rep, boss = world.browser("rep"), world.browser("boss")
    mine = rep.get(f"/api/v1/order/{low['id']}").json()
    assert "margin_pct" not in mine and "margin_band" not in mine and "margin" not in mine
    assert float(mine["disclosed_rate"]) == 25
    assert float(boss.get(f"/api/v1/order/{low['id']}").json()["margin_pct"]) == 25
    assert all("margin_pct" not in r for r in rep.get("/api/v1/order").json()["data"])
    for query in ("margin_pct__gte=30", "margin_band=high", "sort=-margin_pct"):
        assert rep.get(f"/api/v1/order?{query}").status_code == 400, query  # as for margin itself
    assert [r["name"] for r in boss.get("/api/v1/order?margin_pct__gte=30").json()["data"]] == [high["name"]]
    assert [r["name"] for r in rep.get("/api/v1/order?disclosed_rate__gte=30").json()["data"]] == [high["name"]]
    customer = rep.get(f"/api/v1/customer/{low['customer']}").json()
    assert "margin_total" not in customer and "name" in customer  # the roll-up of a hidden child field
    assert float(boss.get(f"/api/v1/customer/{low['customer']}").json()["margin_total"]) == 650


def test_the_list_ignores_a_filter_or_sort_on_the_rate_and_shows_no_column(world):
    deals(world)
    rep, boss = world.browser("rep"), world.browser("boss")
    page = rep.get("/r/order?margin_pct__min=30&sort=-margin_pct").text
    assert len(table_rows(page)) == 2  # the filter is ignored, as one on a hidden field is
    assert "Margin rate" not in page and "Margin band" not in page and "Disclosed rate" in page
    filtered = boss.get("/r/order?margin_pct__min=30").text
    assert len(table_rows(filtered)) == 1 and "Margin rate" in filtered
    assert len(table_rows(rep.get("/r/order?disclosed_rate__min=30").text)) == 1


def test_search_and_saved_views_never_read_the_rate(world):
    deals(world)
    rep, boss = world.browser("rep"), world.browser("boss")
    assert len(table_rows(boss.get("/r/order?q=high").text)) == 1  # margin_band is a search field
    assert "Valves" not in rep.get("/r/order?q=high").text
    saved = rep.post("/r/order/views", {"name": "rich", "query": "margin_pct__min=30&stage=initial_contact"},
                     follow_redirects=False)
    assert saved.status_code == 303 and "margin_pct" not in saved.headers["location"]
    table = world.site.tables.system("atrium_saved_views")
    with world.site.engine.connect() as connection:
        [query] = connection.execute(sa.select(table.c.query).where(table.c.name == "rich")).scalars()
    assert query == "stage=initial_contact"


def test_the_export_leaves_the_hidden_rates_out(world):
    deals(world)
    def header(who: str) -> list[str]:
        response = world.browser(who).get("/r/order/export.csv")
        return next(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    rep = header("rep")
    assert "Margin rate" not in rep and "Margin band" not in rep and "Disclosed rate" in rep
    assert {"Margin", "Margin rate", "Margin band"} <= set(header("boss"))


def test_a_report_refuses_to_group_and_drops_the_measure_for_the_rep(world):
    deals(world)
    reports = Reports(world.site)
    rep, boss = world.actor("rep"), world.actor("boss")
    with pytest.raises(ReportRefused) as refused:
        reports.run(rep, "margin_by_band")
    assert "order.margin_band" in refused.value.text("en")
    assert {r["margin_band"]: r["orders"] for r in reports.run(boss, "margin_by_band").rows} == {"low": 1, "high": 1}
    rates = reports.run(rep, "margin_rates")
    assert [c.name for c in rates.columns if c.name != "stage"] == ["orders", "disclosed"]
    assert float(rates.rows[0]["disclosed"]) == pytest.approx(32.5)
    assert float(reports.run(boss, "margin_rates").rows[0]["rate"]) == pytest.approx(32.5)
    assert world.browser("rep").get("/reports/margin_by_band").status_code == 404
