"""`atrium check` tells an admin which derived fields a role may not see because of a hidden input
(information: the check still passes), in the admin's language; a stage its movers could never
enter fails the check at the stage's line."""
from __future__ import annotations

import shutil
from pathlib import Path

from atrium.cli import main

DESIGN = Path(__file__).resolve().parent / "fixtures" / "design_examples"
RATE = '  margin_rate: {type: percent, formula: "margin * 100 / amount if amount else None"}\n'


def check(capsys, folder: Path, *args: str) -> tuple[int, str, str]:
    try:
        code = main(["--blueprint", str(folder), "check", *args])
    except SystemExit as exit_info:  # a blueprint that does not load
        code = exit_info.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def with_rate(tmp_path: Path, reveals: str = "") -> Path:
    folder = Path(shutil.copytree(DESIGN, tmp_path / "design"))
    order = folder / "entities" / "order.yaml"
    rate = RATE.replace("}\n", f", reveals: [{reveals}]}}\n") if reveals else RATE
    order.write_text(order.read_text(encoding="utf-8").replace("indexes:\n", rate + "indexes:\n", 1),
                     encoding="utf-8")
    return folder


def test_check_lists_a_formula_hidden_by_its_input(tmp_path, capsys):
    folder = with_rate(tmp_path)
    code, out, _ = check(capsys, folder, "--lang", "en")
    assert code == 0 and ": OK (" in out
    assert "info: order.margin_rate is hidden from sales_rep because of its input margin" in out
    _, chinese, _ = check(capsys, folder, "--lang", "zh")
    assert "提示：order.margin_rate 对 sales_rep 隐藏，因为它的输入 margin 对该角色隐藏" in chinese
    code, out, _ = check(capsys, with_rate(tmp_path / "shown", reveals="margin"), "--lang", "en")
    assert code == 0 and "info:" not in out


def test_check_fails_on_a_stage_its_movers_cannot_enter(tmp_path, capsys):
    folder = Path(shutil.copytree(DESIGN, tmp_path / "design"))
    pipeline = folder / "pipelines" / "order.yaml"
    text = pipeline.read_text(encoding="utf-8")
    assert "requires: [amount, expected_close]" in text
    pipeline.write_text(text.replace("requires: [amount, expected_close]", "requires: [amount, margin]", 1),
                        encoding="utf-8")
    line = next(i for i, row in enumerate(pipeline.read_text(encoding="utf-8").splitlines(), 1) if "margin]" in row)
    code, _, err = check(capsys, folder, "--lang", "en")
    assert code == 1
    assert f"pipelines/order.yaml:{line}:" in err
    assert "requires margin, which role 'sales_rep' may not write (hidden)" in err
