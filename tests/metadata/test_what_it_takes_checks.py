"""A what_it_takes widget is checked when the blueprint loads: its reports, measures, history date
fields and peer roles must exist, each error at its file:line:col; the shipped dashboards pass."""
from __future__ import annotations

from pathlib import Path

from atrium.metadata.loader import check_blueprint

ROOT = Path(__file__).resolve().parents[2]
B2B = ROOT / "blueprints" / "b2b_sales"

WIDGET = """widgets:
  - type: what_it_takes
    target: "target('revenue', 'month')"
    achieved: {report: won_this_month, value: amount}
    steps:
      - {report: won_amount, value: amount, date: won_on}
      - {report: won_amount, value: ordrs, date: won_on}
      - {report: pipeline_addd, value: orders, date: created_at}
      - {report: visits_done, value: visits, date: planned_on}
      - {report: new_leads, value: leads}
    peers: [sales_rpe]
"""


def problems(tmp_path: Path, text: str) -> list[str]:
    folder = tmp_path / "overlay"
    (folder / "dashboards").mkdir(parents=True)
    (folder / "blueprint.yaml").write_text(f"name: acme\nextends: {B2B}\n", encoding="utf-8")
    (folder / "dashboards" / "d.yaml").write_text(f"name: d\n{text}", encoding="utf-8")
    blueprint, found = check_blueprint(folder)
    assert blueprint is None, "expected problems"
    return [str(p) for p in found]


def test_the_shipped_dashboards_carry_the_widget(b2b):
    for name in ("sales_rep", "sales_manager"):
        kinds = [w["type"] for w in b2b.dashboards[name]["widgets"]]
        assert "what_it_takes" in kinds
    assert "opportunities" in b2b.entities["sales_target"].fields["metric"].option_values


def test_unknown_names_are_reported_at_their_line(tmp_path):
    found = problems(tmp_path, WIDGET)
    expected = [("d.yaml:8:", "'ordrs'"), ("d.yaml:9:", "'pipeline_addd'"), ("d.yaml:10:", "'planned_on'"),
                ("d.yaml:11:", "needs `date:`"), ("d.yaml:12:", "'sales_rpe'")]
    for where, what in expected:
        assert any(where in p and what in p for p in found), (where, what, found)


def test_the_goal_achieved_and_steps_are_required(tmp_path):
    found = problems(tmp_path, "widgets:\n  - {type: what_it_takes, "
                               "achieved: {report: won_this_month, value: amount}}\n")
    assert any("d.yaml:3:" in p and "'target'" in p for p in found), found
    assert any("'steps'" in p for p in found), found
