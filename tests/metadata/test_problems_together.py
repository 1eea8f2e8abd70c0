"""A document that is not the shape its schema wants does not hide the cross-checks of the others:
`atrium check` reports them together, by file and line, and leaves out what only follows from it."""
from __future__ import annotations

import shutil
from pathlib import Path

from cli_kit import run

from atrium.metadata.loader import check_blueprint

DESIGN = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "design_examples"


def _broken(tmp_path: Path, edits: list[tuple[str, str, str]]) -> Path:
    folder = tmp_path / "acme"
    shutil.copytree(DESIGN, folder)
    for file, old, new in edits:
        text = (folder / file).read_text(encoding="utf-8")
        assert old in text, (file, old)
        (folder / file).write_text(text.replace(old, new, 1), encoding="utf-8")
    return folder


def _said(folder: Path, problems) -> list[str]:
    """file:line: message, the file relative to the blueprint folder."""
    return [f"{Path(p.mark.file).resolve().relative_to(folder.resolve())}:{p.mark.line}: {p.message}"
            for p in problems]


def _places(said: list[str]) -> list[tuple[str, int]]:
    return [(line.split(":")[0], int(line.split(":")[1])) for line in said]


def test_a_schema_error_and_the_other_files_cross_checks_are_reported_together(tmp_path):
    folder = _broken(tmp_path, [
        ("entities/product.yaml", "type: money", "type: mony"),  # a shape error: the schema check
        ("dashboards/sales_rep.yaml", "roles: [sales_rep]", "roles: [sales_reps]"),  # cross-checks
        ("views/order.yaml", "columns: [code, name,", "columns: [code, nme,"),
    ])
    blueprint, problems = check_blueprint(folder)
    said = _said(folder, problems)
    assert blueprint is None and _places(said) == sorted(_places(said)), said
    assert any(line.startswith("dashboards/sales_rep.yaml:3: 'sales_reps' is not a role") for line in said), said
    assert any(line.startswith("entities/product.yaml:") and "'mony' is not a valid type" in line for line in said)
    assert any(line.startswith("views/order.yaml:") and "'nme' is not a field of order" in line for line in said)


def test_what_only_follows_from_a_left_out_document_is_not_reported(tmp_path):
    # customer is left out (its schema error); the order's reference to it and the reports that
    # follow customer.* would otherwise each say "'customer' is not an entity"
    folder = _broken(tmp_path, [("entities/customer.yaml", "name: customer", "name: customer\nlable: x"),
                                ("roles.yaml", "order:    {read: own,", "order:    {read: mine,")])
    _, problems = check_blueprint(folder)
    said = _said(folder, problems)
    assert len(said) == 2, said
    assert said[0].startswith("entities/customer.yaml:") and "'lable' is not a known property" in said[0]
    assert said[1].startswith("roles.yaml:") and "'mine' is not a valid read" in said[1]


def test_a_file_that_does_not_parse_leaves_the_others_checked(tmp_path, capsys):
    folder = _broken(tmp_path, [("views/order.yaml", "columns: [code, name,", "columns: [code, nme,")])
    (folder / "reports" / "won_this_month.yaml").write_text("name: won_this_month\nsource: [order\n")
    code, _, err = run(capsys, "--blueprint", str(folder), "check", "--lang", "zh")
    lines = err.strip().splitlines()
    assert code == 1 and lines[-1] == "发现 2 个问题。", lines
    assert "reports/won_this_month.yaml:3:1: YAML 语法错误：" in lines[0]
    assert "views/order.yaml:" in lines[1] and "“nme”不是order 的字段" in lines[1]
