"""Excel in and out (issue 15 item 4): an .xlsx read as an Excel user expects, hostile workbooks
refused with a message, the valid rows imported with a file of the rejected ones, and exports
with typed cells read back with openpyxl. Runs on SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt
import io
import zipfile
from decimal import Decimal

import openpyxl
import pytest

from atrium.runtime.io import xlsx_files
from atrium.runtime.io.exporter import Exporter
from atrium.runtime.io.import_files import read_table
from atrium.runtime.io.import_rejects import rejected_file
from atrium.runtime.io.importer import Importer, ImportOptions, ImportProblem
from tests.runtime.test_importer import actor, rows, site  # noqa: F401


def workbook(*sheets: tuple[str, list[list]]) -> bytes:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, lines in sheets:
        sheet = book.create_sheet(title)
        for line in lines:
            sheet.append(line)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_cells_read_as_an_excel_user_expects():
    data = workbook(("说明", [["这一页不是数据"]]), ("线索", [
        ["公司名称", "联系人", "电话", "预算", "预计采购", "完整度", "要求报价"],
        ["华为技术", "张伟", 13912345678, 150000.5, dt.datetime(2027, 3, 1), 0.15, True],
        [None, None, None, None, None, None, None],
        ["小米科技", "李娜", "021-5555-0101", 0.1 + 0.2, dt.datetime(2027, 3, 1, 9, 30), 1, False],
    ]))
    book = openpyxl.load_workbook(io.BytesIO(data))
    book["线索"]["F2"].number_format = "0%"
    out = io.BytesIO()
    book.save(out)
    table = read_table(out.getvalue(), "zh", "线索")
    assert table.kind == "xlsx" and table.sheets == ["说明", "线索"] and table.sheet == "线索"
    assert table.header == ["公司名称", "联系人", "电话", "预算", "预计采购", "完整度", "要求报价"]
    assert table.rows == [
        (2, ["华为技术", "张伟", "13912345678", "150000.5", "2027-03-01", "15", "true"]),
        (4, ["小米科技", "李娜", "021-5555-0101", "0.3", "2027-03-01 09:30:00", "1", "false"])]
    # unless one is chosen, the first sheet with rows (a cover page is passed over)
    assert read_table(out.getvalue(), "zh").sheet == "线索"
    with pytest.raises(ImportProblem, match="只有表头行"):
        read_table(out.getvalue(), "zh", "说明")
    with pytest.raises(ImportProblem, match="没有工作表“客户”"):
        read_table(out.getvalue(), "zh", "客户")


def test_hostile_and_broken_workbooks_are_refused_with_a_message(monkeypatch):
    with pytest.raises(ImportProblem, match="不是可读取的 Excel 工作簿"):
        read_table(b"PK\x03\x04" + b"\x00" * 100, "zh")
    not_a_workbook = io.BytesIO()
    with zipfile.ZipFile(not_a_workbook, "w") as archive:
        archive.writestr("word/document.xml", "<w/>")
    with pytest.raises(ImportProblem, match="not a readable Excel workbook"):
        read_table(not_a_workbook.getvalue(), "en")
    # a zip bomb: refused from the archive's directory, before anything is inflated
    monkeypatch.setattr(xlsx_files, "MAX_UNPACKED", 1024 * 1024)
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"\x00" * (4 * 1024 * 1024))
    assert len(bomb.getvalue()) < 20_000
    with pytest.raises(ImportProblem, match="解压后超过 1 MB"):
        read_table(bomb.getvalue(), "zh")
    monkeypatch.undo()
    wide = workbook(("Sheet", [["name"], ["a"] + [None] * 600 + ["far away"]]))
    with pytest.raises(ImportProblem, match="超过 500 列"):
        read_table(wide, "zh")
    with pytest.raises(ImportProblem, match=r"\.xls"):
        read_table(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512, "en")


def test_an_xlsx_imports_through_the_same_checks_as_a_csv(site):  # noqa: F811
    wang = actor(site, "wang")
    data = workbook(("Sheet1", [["公司名称", "联系人", "电话", "预算", "预计采购时间"],
                                ["华为技术", "张伟", 13912345678, 150000, dt.datetime(2027, 3, 1)],
                                ["小米科技", None, "010-60606666", "很多", None]]))
    table = read_table(data, "zh")
    importer = Importer(site, wang, "lead")
    report = importer.run(table, ImportOptions(importer.guess_mapping(table.header)))
    assert not report.written and {e.row for e in report.errors} == {3}
    assert rows(site, "lead") == []
    report = importer.run(table, ImportOptions(importer.guess_mapping(table.header), valid_rows=True))
    assert report.written and report.created == 1 and report.rejected == 1
    [lead] = rows(site, "lead")
    assert (lead["company"], lead["phone"], lead["budget"], lead["expected_purchase"]) == (
        "华为技术", "13912345678", Decimal("150000"), dt.date(2027, 3, 1))
    content, extension, _ = rejected_file(table, report.errors, "zh")
    assert extension == "xlsx"
    back = list(openpyxl.load_workbook(io.BytesIO(content)).active.iter_rows(values_only=True))
    assert back[0] == ("行号", "公司名称", "联系人", "电话", "预算", "预计采购时间", "原因")
    assert back[1][:4] == ("3", "小米科技", None, "010-60606666") and "联系人" in back[1][6] and "预算" in back[1][6]


def test_valid_rows_of_a_csv_and_repeats_of_a_rejected_row(site):  # noqa: F811
    boss = actor(site, "boss", "en")
    text = ("Company,Contact name,Phone\n"
            "Acme,Ann,021-1\n"
            "Bad Co,,021-2\n"
            "Bad Co,Bob,021-2\n"
            "Zeta,Zed,021-3\n")
    table = read_table(text.encode(), "en")
    importer = Importer(site, boss, "lead")
    options = ImportOptions(importer.guess_mapping(table.header), key="phone", on_duplicate="update",
                            valid_rows=True)
    report = importer.run(table, options)
    assert report.written and report.rejected == 2
    assert sorted(r["company"] for r in rows(site, "lead")) == ["Acme", "Zeta"]
    assert [(e.row, e.message) for e in report.errors if e.field is None] == [
        (4, "Row 3, whose key this row repeats, was rejected")]
    content, extension, _ = rejected_file(table, report.errors, "en")
    lines = content.decode("utf-8-sig").splitlines()
    assert extension == "csv" and lines[0] == "Row,Company,Contact name,Phone,Reason"
    assert lines[1:] == ["3,Bad Co,,021-2,Contact name: This field is required",
                         "4,Bad Co,Bob,021-2,\"Row 3, whose key this row repeats, was rejected\""]


def test_export_has_typed_cells(site):  # noqa: F811
    site.records.create("customer", {"name": "=HYPERLINK(\"http://x\")", "level": "vip"})
    customer = rows(site, "customer")[0]["id"]
    site.records.create("order", {"name": "大单", "customer": customer, "amount": Decimal("12345.67"),
                                  "expected_close": dt.date(2027, 5, 1)})
    exporter = Exporter(site, actor(site, "boss", "zh"), "order", locale="zh")
    sheet = openpyxl.load_workbook(io.BytesIO(exporter.xlsx())).active
    header = [c.value for c in sheet[1]]
    cells = dict(zip(header, sheet[2], strict=False))
    assert isinstance(cells["金额"].value, float) and cells["金额"].value == 12345.67
    assert "¥" in cells["金额"].number_format and "#,##0.00" in cells["金额"].number_format
    assert cells["预计成交日期"].is_date and cells["预计成交日期"].value.date() == dt.date(2027, 5, 1)
    assert cells["阶段"].value == "初步接触"  # a stage label in the reader's language
    assert cells["客户"].value == "=HYPERLINK(\"http://x\")" and cells["客户"].data_type == "s"  # text, not a formula
    assert isinstance(cells["ID"].value, int)
