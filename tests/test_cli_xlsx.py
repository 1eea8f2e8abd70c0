"""`atrium import` of an .xlsx (a chosen sheet, the valid rows with a file of the rejected ones)
and `atrium export --format xlsx` with typed cells, on the shipped b2b_sales blueprint."""
from __future__ import annotations

import datetime as dt
import io

import openpyxl

from atrium.cli import main
from tests.runtime.test_xlsx_io import workbook
from tests.test_cli_import import prepared


def run(capture, *args: str) -> tuple[int, str, str]:
    try:
        code = main(list(args))
    except SystemExit as exit_info:
        code = exit_info.code
    captured = capture.readouterr()
    return code, captured.out.decode(), captured.err.decode()


def test_import_an_xlsx_sheet_with_valid_rows_then_export_xlsx(capsysbinary, database_url, b2b, tmp_path):
    base = prepared(capsysbinary, database_url, b2b)
    path = tmp_path / "线索.xlsx"
    path.write_bytes(workbook(("封面", [["线索清单"]]), ("线索", [
        ["公司名称", "联系人", "电话", "预算", "预计采购时间"],
        ["华为技术", "张伟", 13912345678, 150000, dt.datetime(2027, 3, 1)],
        ["小米科技", None, "010-60606666", "很多", None],
        ["腾讯", "马化", "0755-86013388", 8000.5, dt.datetime(2027, 4, 2)]])))
    code, out, err = run(capsysbinary, *base, "import", "lead", str(path), "--sheet", "线索")
    assert code == 1 and "sheet '线索', 3 row(s)" in out and f"{path}:3: 联系人:" in err, err
    rejected = tmp_path / "rejected.xlsx"
    code, out, err = run(capsysbinary, *base, "import", "lead", str(path), "--sheet", "线索",
                         "--valid-rows", str(rejected))
    assert code == 0
    assert f"Imported 2 of 3 row(s): 2 created, 0 updated, 0 skipped; 1 rejected, written to {rejected}" in out
    back = list(openpyxl.load_workbook(rejected).active.iter_rows(values_only=True))
    assert [line[:2] for line in back] == [("行号", "公司名称"), ("3", "小米科技")] and "预算" in back[1][-1]
    assert "没有工作表" in run(capsysbinary, *base, "import", "lead", str(path), "--sheet", "客户")[2]
    capsysbinary.readouterr()
    assert main([*base, "export", "lead", "--format", "xlsx"]) == 0
    content = capsysbinary.readouterr().out
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    header = [c.value for c in sheet[1]]
    records = [dict(zip(header, line, strict=False)) for line in sheet.iter_rows(min_row=2)]
    assert sorted(r["公司名称"].value for r in records) == ["华为技术", "腾讯"]
    tencent = next(r for r in records if r["公司名称"].value == "腾讯")
    assert tencent["预算"].value == 8000.5 and "#,##0.00" in tencent["预算"].number_format
    assert tencent["预计采购时间"].is_date and tencent["预计采购时间"].value == dt.datetime(2027, 4, 2)
