"""A field rename rewrites each use by what it is: names and dotted-path segments in expressions
(not text inside quoted literals, not another entity's field of the same name), field paths through
references, condition keys, role field modes, a report's groups and what names them; every
document of the shipped blueprint still checks after renaming any field; a taken name is refused."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from atrium.metadata.loader import check_blueprint, merged_documents
from atrium.metadata.overlays.paths import document_file, plain
from atrium.metadata.renames import RenameRefused, rename_field, rename_in_expression

B2B = Path(__file__).resolve().parents[2] / "blueprints" / "b2b_sales"
LINKS = {("order", "customer"): "customer", ("visit", "order"): "order"}


@pytest.fixture(scope="module")
def documents():
    found, _ = merged_documents([B2B])
    return {key: plain(source.data) for key, source in found.items()}


def test_an_expression_renames_names_and_path_segments_but_never_literals():
    text = "amount > 10 and customer.region == 'amount' and note != \"amount\""
    assert rename_in_expression(LINKS, "order", text, "order", "amount", "deal_value") == \
        "deal_value > 10 and customer.region == 'amount' and note != \"amount\""
    assert rename_in_expression(LINKS, "visit", "order.customer.region or '区域 region'", "customer", "region",
                                "area") == "order.customer.area or '区域 region'"
    # the same name on another entity is another field
    assert rename_in_expression(LINKS, "visit", "region", "customer", "region", "area") == "region"


def test_the_shipped_blueprint_uses_of_a_field_are_all_rewritten_and_listed(documents, tmp_path):
    changed, uses = rename_field(documents, "customer", "region", "area")
    texts = [use.text() for use in uses]
    assert "entity customer: fields.region: region → area" in texts
    assert any(text.startswith("views order: ") and "customer.region → customer.area" in text for text in texts)
    assert changed[("entity", "customer")]["fields"]["area"]["renamed_from"] == "region"
    assert "region" not in changed[("entity", "customer")]["fields"]
    folder = tmp_path / "renamed"
    shutil.copytree(B2B, folder)
    for key, document in changed.items():
        (folder / document_file(*key)).write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    blueprint, problems = check_blueprint(folder)
    assert problems == [] and blueprint is not None
    assert "area" in blueprint.entities["customer"].fields


def test_a_report_group_renames_the_chart_axis_and_the_metric_that_name_it(documents):
    changed, uses = rename_field(documents, "order", "owner", "rep")
    report = changed[("report", "won_by_owner")]
    assert report["group_by"][0] == "rep" and report["chart"]["x"] == "rep"
    assert report["metrics"]["target"]["expr"] == "target('revenue', 'month', rep)"
    # measures named like the field keep their names: a dashboard reads them
    amount, _ = rename_field(documents, "order", "amount", "deal_value")
    assert amount[("report", "won_by_owner")]["measures"]["amount"]["sum"] == "deal_value"
    assert amount[("report", "won_by_owner")]["sort"] == "-amount"


def test_option_values_and_stage_names_equal_to_the_field_stay(documents):
    changed, _ = rename_field(documents, "order", "stage", "phase")
    pipeline = changed[("pipeline", "order")]
    assert pipeline["field"] == "phase"
    assert [stage["name"] for stage in pipeline["stages"]][:2] == ["initial_contact", "needs_confirmed"]
    automation = changed[("automation", "nudge_stalled_orders")]
    assert automation["where"] == {"phase": {"stalled": True}}


def test_a_role_field_mode_follows(documents):
    changed, uses = rename_field(documents, "order", "margin", "gross_margin")
    fields = changed[("roles", "roles")]["roles"]["sales_rep"]["fields"]
    assert fields.get("order.gross_margin") == "hidden" and "order.margin" not in fields


@pytest.mark.parametrize(("old", "new", "reason"), [("amount", "name", "already has a field 'name'"),
                                                     ("nothing", "x", "has no field 'nothing'")])
def test_a_rename_that_cannot_be_made_is_refused(documents, old, new, reason):
    with pytest.raises(RenameRefused, match=reason):
        rename_field(documents, "order", old, new)


def test_an_external_key_an_inbound_mapping_and_a_periodic_figure_follow(documents):
    key, _ = rename_field(documents, "customer", "erp_code", "erp_id")
    assert key[("entity", "customer")]["external_key"] == "erp_id"
    shipped, _ = rename_field(documents, "order", "shipped_on", "shipped_at_date")
    assert "shipped_at_date" in shipped[("integration", "erp_shipments")]["upsert"]["fields"]
    visited, _ = rename_field(documents, "visit", "visited_at", "done_at")
    figures = visited[("periodic_report", "daily")]["figures"]
    assert [f["date"] for f in figures if f["name"] == "visits"] == ["done_at"]
