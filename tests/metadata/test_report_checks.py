"""Report documents and `targets:` as a blueprint author meets them: each mistake is reported by
`atrium check` at the file and line that wrote it, with a hint."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from atrium.cli import main
from atrium.metadata import check_blueprint, load_blueprint

ROOT = Path(__file__).resolve().parents[2]
B2B = ROOT / "blueprints" / "b2b_sales"


def overlay(tmp_path: Path, reports: dict[str, str] = None, dashboards: dict[str, str] = None,
            manifest: str = "") -> Path:
    folder = tmp_path / "overlay"
    folder.mkdir()
    (folder / "blueprint.yaml").write_text(f"name: acme\nextends: {B2B}\n{manifest}", encoding="utf-8")
    for kind, documents in (("reports", reports or {}), ("dashboards", dashboards or {})):
        (folder / kind).mkdir()
        for name, text in documents.items():
            (folder / kind / f"{name}.yaml").write_text(f"name: {name}\n{text}", encoding="utf-8")
    return folder


def problems(folder: Path) -> list[str]:
    blueprint, found = check_blueprint(folder)
    assert blueprint is None, "expected problems"
    return [str(p) for p in found]


def test_the_shipped_reports_and_targets_check(b2b):
    assert set(b2b.reports) >= {"pipeline_by_stage", "pipeline_by_owner", "revenue_by_month", "lead_funnel"}
    assert b2b.targets.entity == "sales_target" and b2b.targets.value == "amount"
    assert dict(b2b.targets.where) == {"status": "approved"}


def test_a_report_naming_a_missing_field_fails_atrium_check_at_its_line(tmp_path, capsys):
    folder = overlay(tmp_path, {"broken": "source: order\ngroup_by: [stage, ownr]\nmeasures:\n"
                                          "  orders: count\n  total: {sum: amout}\n"})
    with pytest.raises(SystemExit) as exit:
        main(["--blueprint", str(folder), "check"])
    assert exit.value.code == 1
    err = capsys.readouterr().err
    file = re.escape(str(Path("reports") / "broken.yaml"))
    assert re.search(rf"{file}:3:19: group_by\[1\]: 'ownr' is not a field of order \(did you mean 'owner'\?\)", err)
    assert re.search(rf"{file}:6:16: measures.total.sum: 'amout' is not a field of order "
                     r"\(did you mean 'amount'\?\)", err)


@pytest.mark.parametrize("text, expected", [
    ("source: order\nwhere: {stage: {not_in: [won, lsot]}}\nmeasures: {n: count}\n",
     "where.stage.not_in[1]: 'lsot' is not a stage of stage (did you mean 'lost'?)"),
    ("source: order\nwhere: {customer.levl: vip}\nmeasures: {n: count}\n",
     "where.customer.levl: 'levl' is not a field of customer"),
    ("source: order\ngroup_by: [{field: amount, bucket: month}]\nmeasures: {n: count}\n",
     "buckets group dates and date-times"),
    ("source: order\ngroup_by: [tags]\nmeasures: {n: count}\n", "cannot group by 'tags': a multiselect field"),
    ("source: order\nmeasures: {n: {avg: name}}\n", "cannot avg 'name': a text field"),
    ("source: order\ntype: matrix\ngroup_by: [stage]\nmeasures: {n: count}\n",
     "a matrix report groups by exactly two fields"),
    ("source: order\ntype: list\nmeasures: {n: count}\ncolumns: [name]\n", "a list report takes no 'measures'"),
    ("source: order\ntype: list\n", "a list report needs columns"),
    ("source: order\ngroup_by: [stage]\n", "a summary report needs measures"),
    ("source: order\ntype: timeseries\nmeasures: {n: count}\nperiod: {field: amount}\n",
     "'amount' is a money field, not a date or date-time"),
    ("source: order\ntype: timeseries\nmeasures: {n: count}\n", "a timeseries report needs `period"),
    ("type: funnel\npipeline: order\nperiod: {field: created_at}\n", "give only `within`"),
    ("source: order\ngroup_by: [stage]\nmeasures: {stage: count}\n", "the report already has a column 'stage'"),
    ("source: order\ngroup_by: [stage]\nmeasures: {n: count}\nsort: -amount\n",
     "sort: 'amount' is not a group, measure or metric of this report"),
    ("source: order\ngroup_by: [stage]\nmeasures: {n: count}\nmetrics: {x: 'n / nn'}\n",
     "uses unknown name 'nn'"),
])
def test_report_mistakes_are_reported(tmp_path, text, expected):
    found = problems(overlay(tmp_path, {"r": text}))
    assert any(expected in p and "reports/r.yaml:" in p for p in found), found


def test_a_group_can_be_named_to_keep_column_names_apart(tmp_path):
    folder = overlay(tmp_path, {"r": "source: order\ngroup_by: [owner, {field: customer.owner, name: customer_owner}]\n"
                                     "measures: {n: count}\nmetrics: {share: 'n / 2'}\nsort: customer_owner\n"})
    blueprint = load_blueprint(folder)
    assert blueprint.reports["r"].expressions["share"].source == "n / 2"


@pytest.mark.parametrize("targets, expected", [
    ("{entity: sales_targt, metric: metric, period: month, value: amount}", "'sales_targt' is not an entity"),
    ("{entity: sales_target, metric: metric, period: owner, value: amount}",
     "targets.period needs a date or datetime field"),
    ("{entity: sales_target, metric: metric, period: month, value: note}", "targets.value needs a integer"),
    ("{entity: sales_target, metric: metric, period: month, value: amount, where: {stats: approved}}",
     "'stats' is not a field of sales_target"),
])
def test_targets_block_is_checked(tmp_path, targets, expected):
    found = problems(overlay(tmp_path, manifest=f"targets: {targets}\n"))
    assert any(expected in p and "blueprint.yaml:3:" in p for p in found), found


def test_target_calls_name_a_metric_and_a_period(tmp_path):
    folder = overlay(tmp_path, dashboards={"d": "widgets:\n  - {type: kpi, report: won_this_month, value: amount, "
                                                "target: \"target('revenu', 'mnth')\"}\n"})
    found = problems(folder)
    assert any("dashboards/d.yaml:3:" in p and "'revenu' is not a metric of sales_target.metric "
               "(did you mean 'revenue'?)" in p for p in found), found
    assert any("'mnth' is not a period" in p for p in found), found
