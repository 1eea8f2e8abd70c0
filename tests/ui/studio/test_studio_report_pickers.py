"""The report editor without typing YAML: field paths through references picked from a list,
operators and chart types in the admin's language, a grouped path as the chart's axis, a series
(and a stacked bar stacking by the second group), `won, lost` as a list, every mistake at once."""
from __future__ import annotations

import html
import json
import re

from form_kit import Fields
from studio_kit import B2B, applied_version, open_form, submit, visible_text

from atrium.metadata.loader import read_layer
from atrium.metadata.overlays.paths import plain
from atrium.ui.studio.report_choices import row_problems
from atrium.ui.studio.report_state import document_from_state, state_of


def _chart_of(preview: str) -> dict:
    found = re.search(r"data-chart=(?:'([^']*)'|\"([^\"]*)\")", preview)
    assert found, visible_text(preview)[:2000]
    return json.loads(html.unescape(found.group(1) or found.group(2)))


def _new_report(studio, **values) -> tuple:
    boss = studio.browser("boss")
    fields = open_form(boss, "/studio/reports/new")
    fields.update({"name": "by_region", "label_en": "By region", "label_zh": "按区域", "source": "order",
                   "measure-0-name": "amount", "measure-0-function": "sum", "measure-0-field": "amount",
                   **values})
    return boss, fields


def test_fields_are_offered_through_references_and_words_are_in_the_admins_language(studio):
    boss = studio.browser("boss")
    page = boss.get("/studio/reports/pipeline_by_stage").text
    datalist = page.split('id="report-fields"')[1].split("</datalist>")[0]
    assert '<option value="customer">Customer</option>' in datalist
    assert '<option value="customer.region">Customer › Region</option>' in datalist
    assert 'value="customer.region.' not in datalist  # a select field is the end of a path
    boss.post("/language", data={"locale": "zh"})
    try:
        page = boss.get("/studio/reports/pipeline_by_stage").text
    finally:
        boss.post("/language", data={"locale": "en"})
    operator = page.split('name="cond-0-op"')[1].split("</select>")[0]
    assert '<option value="older_than_days">早于 N 天前</option>' in operator
    assert '<option value="in">属于其中之一</option>' in operator and ">older_than_days<" not in operator
    chart = page.split('name="chart_type"')[1].split("</select>")[0]
    assert '<option value="stacked_bar">堆叠柱状图（按第二个分组）</option>' in chart and ">stacked_bar<" not in chart
    assert '>客户 › 区域</option>' in page  # the path's labels too


def test_a_grouped_path_is_the_charts_axis_and_won_lost_is_a_list(studio):
    boss, fields = _new_report(studio, **{"group-0-field": "customer.region", "chart_type": "bar",
                                          "chart_x": "customer.region", "chart_y": "amount",
                                          "cond-0-field": "stage", "cond-0-op": "in", "cond-0-value": "won, lost"})
    applied_version(submit(boss, "/studio/reports/new", fields))
    report = studio.app.state.site.blueprint.reports["by_region"]
    assert report["chart"]["x"] == "region" and report["group_by"] == ("customer.region",)
    assert report["where"] == {"stage": {"in": ("won", "lost")}}
    page = open_form(boss, "/studio/reports/by_region")
    assert page["cond-0-value"] == "[won, lost]" and page["chart_x"] == "region"
    assert boss.get("/reports/by_region").status_code == 200


def test_a_series_is_kept_whether_picked_or_written_under_other_settings(studio):
    boss, fields = _new_report(studio, **{"group-0-field": "stage", "group-1-field": "owner", "chart_type": "bar",
                                          "chart_x": "stage", "chart_series": "owner"})
    applied_version(submit(boss, "/studio/reports/new", fields))
    assert studio.app.state.site.blueprint.reports["by_region"]["chart"]["series"] == "owner"
    assert open_form(boss, "/studio/reports/by_region")["chart_series"] == "owner"
    page = "/studio/reports/by_region"
    fields = open_form(boss, page)
    fields.update({"chart_series": "", "other": "chart: {series: owner}\nlimit: 5\n"})
    applied_version(submit(boss, page, fields))
    report = studio.app.state.site.blueprint.reports["by_region"]
    assert report["chart"]["series"] == "owner" and report["chart"]["type"] == "bar" and report["limit"] == 5


def test_a_stacked_bar_stacks_by_the_second_group(studio):
    east = studio.customer("East buyer", region="east")
    east2 = studio.customer("East buyer 2", by="rep2", region="east")
    south = studio.customer("South buyer", region="south")
    studio.order("A", by="rep", customer=east, amount=100, expected_close=studio.clock.now.date())
    studio.order("B", by="rep2", customer=east2, amount=300, expected_close=studio.clock.now.date())
    studio.order("C", by="rep", customer=south, amount=50, expected_close=studio.clock.now.date())
    boss, fields = _new_report(studio, **{"group-0-field": "customer.region", "group-1-field": "owner",
                                          "chart_type": "stacked_bar", "chart_x": "customer.region"})
    chart = _chart_of(boss.post("/studio/reports/new/preview", data=Fields(fields).pairs(), htmx=True).text)
    option = chart["option"]
    assert option["xAxis"]["data"] == ["East China", "South China"]
    stacks = {item["name"]: item["data"] for item in option["series"]}
    assert stacks == {"Rep Li": [100, 50], "Rep Wang": [300, 0]}  # one bar a region, a colour an owner
    assert {item["stack"] for item in option["series"]} == {"total"}


def test_every_mistake_in_the_form_is_reported_at_once(studio):
    boss, fields = _new_report(studio, **{"group-0-field": "customer.regoin", "cond-0-field": "amont",
                                          "cond-0-op": "gt", "cond-0-value": "1", "cond-1-field": "stage",
                                          "cond-1-op": "older_than_days", "cond-1-value": "soon",
                                          "measure-0-where": "{stage: [", "chart_type": "bar",
                                          "chart_y": "amout"})
    response = submit(boss, "/studio/reports/new", fields)
    assert response.status_code == 200
    text = visible_text(response.text)
    assert "'amont' is not a field of order (did you mean 'amount'?)" in text
    assert "'regoin' is not a field of customer (did you mean 'region'?)" in text
    assert "A number is expected here" in text and "Not a value YAML can read" in text
    assert "'amout' is not a measure or metric of this report; they are: amount" in text
    assert studio.history_rows() == [] and "reports/by_region.yaml" not in studio.overlay_files()


def test_every_shipped_report_opens_in_the_editor_without_a_mistake_and_keeps_its_chart(b2b):
    documents, _ = read_layer(B2B)
    reports = {name: plain(source.data) for (kind, name), source in documents.items() if kind == "report"}
    assert len(reports) == len(b2b.reports)
    for name, report in reports.items():
        state = state_of(report)
        document, errors = document_from_state(state)
        assert errors == {} and row_problems(b2b, state, document, "en") == {}, name
        assert document.get("chart") == report.get("chart"), name
