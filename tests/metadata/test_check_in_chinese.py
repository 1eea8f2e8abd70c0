"""`atrium check --lang zh` on the broken blueprints the tests make: every problem in Chinese, at its
file:line:col, with what would be valid; English only inside names quoted from the YAML."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from cli_kit import run

ROOT = Path(__file__).resolve().parents[2]
DESIGN = ROOT / "tests" / "fixtures" / "design_examples"
B2B = ROOT / "blueprints" / "b2b_sales"
LOCATED = re.compile(r"^(?P<file>[^:\s]+\.yaml):(?P<line>\d+):(?P<col>\d+): (?P<rest>.*)$")
# Names from the YAML as a message shows them: quoted, a path inside the document, file:line:col places.
QUOTED = re.compile(r"'[^']*'|“[^”]*”|\"[^\"]*\"|\[[^\]]*\]|\S+\.yaml:\d+:\d+|\S*[._]\S*|\{[^}]*\}")
ENGLISH = re.compile(r"[A-Za-z]{2,}(?:\s+[A-Za-z]{2,})+")

# (what is wrong, blueprint, edits: (file, old text, new text); new files of an overlay: (path, text))
EDITS = [
    ("an unknown field type", DESIGN, [("entities/order.yaml", "amount:   {type: money", "amount:   {type: mony")]),
    ("a reference to no entity", DESIGN, [("entities/order.yaml", "to: customer", "to: custmer")]),
    ("a list column that is no field", DESIGN, [("views/order.yaml", "columns: [code, name,", "columns: [code, nme,")]),
    ("a formula naming no field", DESIGN, [("entities/order.yaml", '"(amount or 0) * probability / 100"',
                                            '"(amont or 0) * probability / 100"')]),
    ("a stage requiring no field", DESIGN, [("pipelines/order.yaml", "requires: [lost_reason]",
                                             "requires: [loss_reason]")]),
    ("a measure over no field", DESIGN, [("reports/pipeline_by_stage.yaml", "weighted: {sum: weighted_amount}",
                                          "weighted: {sum: weighted_amout}")]),
    ("a dashboard for no role", DESIGN, [("dashboards/sales_rep.yaml", "roles: [sales_rep]", "roles: [sales_reps]")]),
    ("a filter on no dotted path", DESIGN, [("views/order.yaml", "customer.level]", "customer.levle]")]),
    ("a formula cycle", DESIGN, [("entities/order.yaml", '"stage_probability(stage)"', '"weighted_amount / 10"')]),
    ("a hostile expression", DESIGN, [("entities/order.yaml", '"stage_probability(stage)"', '"().__class__"')]),
    ("a number written as a word", DESIGN, [("entities/order.yaml", "type: money, min: 0", "type: money, min: zero")]),
    ("an unknown scope", DESIGN, [("roles.yaml", "order:    {read: own,", "order:    {read: mine,")]),
    ("a list written as text", DESIGN, [("reports/pipeline_by_stage.yaml", "stage: {not_in: [won, lost]}",
                                         "stage: {not_in: 'won, lost'}")]),
    ("a group by no dotted path", DESIGN, [("reports/pipeline_by_stage.yaml", "group_by: [stage,",
                                            "group_by: [customer.hospital_grad, stage,")]),
    ("a misspelt property", DESIGN, [("entities/order.yaml", "label: {en: Order", "lable: {en: Order")]),
    ("a duplicate key", DESIGN, [("entities/order.yaml", "  name:     {type: text",
                                  "  code:     {type: text}\n  name:     {type: text")]),
    ("a chart over no measure", DESIGN, [("reports/pipeline_by_stage.yaml", "y: [amount, weighted]",
                                          "y: [amount, weighed]")]),
    ("a kpi of no report", DESIGN, [("dashboards/sales_rep.yaml", "report: won_this_month", "report: won_this_mnth")]),
    ("an automation setting no field", DESIGN, [("automations/recycle_idle_customers.yaml", "set: {owner: null}",
                                                 "set: {ownr: null}")]),
    ("a Chinese field name", DESIGN, [("entities/order.yaml", "  name:     {type: text",
                                       "  招标编号: {type: text}\n  name:     {type: text")]),
    # what a check words beyond the names: schema limits and forms, YAML and expression syntax, report shapes
    ("a YAML syntax error", DESIGN, [("entities/product.yaml", "label: Product", "label: [Product")]),
    ("a length below the minimum", DESIGN, [("entities/order.yaml", "max_length: 200", "max_length: 0")]),
    ("a stage name that is no machine name", DESIGN, [("pipelines/order.yaml", "{name: won,", "{name: Won,")]),
    ("an unclosed bracket in a formula", DESIGN, [("entities/order.yaml", '"(amount or 0) * probability / 100"',
                                                   '"(amount or 0 * probability / 100"')]),
    ("a sum over a text field", DESIGN, [("reports/won_this_month.yaml", "{sum: amount}", "{sum: name}")]),
    ("a list report with measures", DESIGN, [("reports/won_this_month.yaml", "source: order",
                                              "source: order\ntype: list\ncolumns: [name]")]),
    ("a schema error beside a cross-check", DESIGN, [("entities/product.yaml", "type: money", "type: mony"),
                                                     ("dashboards/sales_rep.yaml", "roles: [sales_rep]",
                                                      "roles: [sales_reps]")]),
]
OVERLAYS = [
    ("an overlay removing a field the base uses", {"entities/order.yaml": "fields:\n  lost_reason: {remove: true}\n"}),
    ("an overlay removing what the base lacks", {"entities/order.yaml": "fields:\n  budget: {remove: true}\n"}),
    ("an overlay placing after no stage", {"pipelines/order.yaml":
                                           "stages: [+, {name: survey, label: Survey, after: needs_confirmd}]\n"}),
    ("an overlay with a file a blueprint does not have", {"notes.yaml": "todo: translate\n"}),
    ("an overlay with a control character", {"entities/order.yaml": "label: {en: Order\x01}\n"}),
]


def _broken(tmp_path: Path, case: str) -> list[str]:
    """The arguments of `atrium check` on the named broken blueprint."""
    for name, base, edits in EDITS:
        if name == case:
            folder = tmp_path / "acme"
            shutil.copytree(base, folder)
            for file, old, new in edits:
                text = (folder / file).read_text(encoding="utf-8")
                assert old in text, (file, old)
                (folder / file).write_text(text.replace(old, new, 1), encoding="utf-8")
            return ["--blueprint", str(folder)]
    files = dict(OVERLAYS)[case]
    overlay = tmp_path / "client"
    for file, text in {"blueprint.yaml": "name: client\n", **files}.items():
        (overlay / file).parent.mkdir(parents=True, exist_ok=True)
        (overlay / file).write_text(text, encoding="utf-8")
    return ["--blueprint", str(DESIGN), "--overlay", str(overlay)]


def english_left(line: str) -> list[str]:
    """English words outside the names a message quotes from the YAML."""
    return ENGLISH.findall(QUOTED.sub(" ", line))


@pytest.mark.parametrize("case", [name for name, _, _ in EDITS] + [name for name, _ in OVERLAYS])
def test_every_problem_is_said_in_chinese_at_its_place(tmp_path, capsys, case):
    args = _broken(tmp_path, case)
    code, out, err = run(capsys, *args, "check", "--lang", "zh")
    lines = err.strip().splitlines()
    assert code == 1 and "OK" not in out and lines[-1].startswith("发现 ")
    for line in lines[:-1]:
        found = LOCATED.match(line)
        assert found, line
        assert (tmp_path / found["file"]).exists() or Path(found["file"]).exists(), line
        assert re.search(r"[\u4e00-\u9fff]", found["rest"]), line
        assert not english_left(found["rest"]), (english_left(found["rest"]), line)


def test_english_stays_the_source_text(tmp_path, capsys):
    code, _, err = run(capsys, *_broken(tmp_path, "an unknown scope"), "check", "--lang", "en")
    assert code == 1
    assert "'mine' is not a valid read; valid: 'none', 'own', 'team', 'all'" in err


@pytest.mark.parametrize("case, says", [
    ("an unknown scope", "'mine' 不是有效的 read；可选：'none'、'own'、'team'、'all'"),
    ("an unknown field type", "（是否想写“money”？）；可选：'text'、'textarea'、"),
    ("a list written as text", "'won, lost' 是文本；这里应为列表"),
    ("a group by no dotted path", "“hospital_grad”不是customer 的字段；可选：'last_followup_at'、"),
    ("an overlay removing a field the base uses", "“lost_reason”在此删除，但仍有 2 处在使用："),
])
def test_chinese_messages_say_the_valid_values(tmp_path, capsys, case, says):
    _, _, err = run(capsys, *_broken(tmp_path, case), "check", "--lang", "zh")
    assert says in err, err


def test_an_english_sentence_is_caught_and_a_quoted_name_is_not():
    assert english_left("chart.y: 'weighed' is not a group, measure or metric of this report")
    assert not english_left("chart.y: “weighed”不是报表的分组；可选：'amount'、'avg deal'")
