"""Excel in and out in the pages: an .xlsx through the import wizard (a chosen sheet, the valid rows
with a file of the rejected ones), and list and report exports with typed cells."""
from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import openpyxl

from tests.runtime.test_xlsx_io import workbook
from tests.ui.test_import_page import app, form_of, poll, signed_in, token_of, upload  # noqa: F401

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def test_an_xlsx_goes_through_the_wizard_and_the_valid_rows_are_imported(app):  # noqa: F811
    client = signed_in(app, "wang")
    data = workbook(("封面", [["客户清单"]]), ("客户", [
        ["公司名称", "客户等级", "电话"],
        ["华为技术", "A 类", 75528780808],
        ["小米科技", "Z 类", "010-60606666"],
        ["腾讯", "VIP", "0755-86013388"]]))
    response = client.post("/r/customer/import", data={"csrf_token": token_of(client.get("/r/customer/import"))},
                           files={"file": ("客户.xlsx", data, XLSX)}, follow_redirects=False)
    job_url = response.headers["location"]
    mapping = client.get(job_url)  # the cover sheet has no rows: the first sheet with rows is read
    assert "客户.xlsx：工作表 客户 中 3 行" in mapping.text and 'id="import-sheet"' in mapping.text
    form = form_of(mapping)
    assert form["map.0"] == "name" and form["map.1"] == "level"
    form["mode"] = "valid_rows"
    check = client.post(job_url + "/check", data=form)
    assert "1 行有错误：这些行不会导入" in check.text and "导入 2 条有效行" in check.text
    client.post(job_url + "/run", data={"csrf_token": token_of(check)})
    state = poll(client, job_url + "/progress")
    assert "导入完成：新建 2 条" in state and "1 行被拒绝，未导入。" in state
    rejected = client.get(job_url + "/rejected")
    assert rejected.status_code == 200 and rejected.headers["content-type"] == XLSX
    back = list(openpyxl.load_workbook(io.BytesIO(rejected.content)).active.iter_rows(values_only=True))
    assert back[0] == ("行号", "公司名称", "客户等级", "电话", "原因")
    assert back[1][:4] == ("3", "小米科技", "Z 类", "010-60606666") and "客户等级" in back[1][4]
    # someone else's job's rejected rows are not theirs to download
    assert signed_in(app, "li").get(job_url + "/rejected").status_code == 404


def test_a_workbook_that_is_not_one_is_refused_on_the_upload_page(app):  # noqa: F811
    client = signed_in(app, "wang")
    refused = upload(client, b"PK\x03\x04" + b"\x00" * 64, name="坏.xlsx")
    assert refused.status_code == 422 and "文件不是可读取的 Excel 工作簿" in refused.text
    old = upload(client, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512, name="旧.xls")
    assert old.status_code == 422 and "旧版 Excel 文件" in old.text


def test_list_and_report_exports_have_typed_cells(app):  # noqa: F811
    site = app.state.site
    boss = signed_in(app, "boss")
    customer = site.records.create("customer", {"name": "华为技术", "level": "vip"})
    site.records.create("order", {"name": "大单", "customer": customer["id"], "amount": Decimal("12345.67"),
                                  "expected_close": dt.date(2027, 5, 1)})
    response = boss.get("/r/order/export.xlsx")
    assert response.status_code == 200 and response.headers["content-type"] == XLSX
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    header = [c.value for c in sheet[1]]
    cells = dict(zip(header, sheet[2], strict=False))
    assert cells["金额"].value == 12345.67 and "¥" in cells["金额"].number_format
    assert cells["预计成交日期"].is_date and cells["预计成交日期"].value == dt.datetime(2027, 5, 1)
    assert cells["阶段"].value == "初步接触" and cells["客户"].value == "华为技术"
    english = boss.get("/r/order/export.xlsx?lang=en")
    sheet = openpyxl.load_workbook(io.BytesIO(english.content)).active
    assert "Initial contact" in [c.value for c in sheet[2]]
    # a rep exports only what their list shows
    assert openpyxl.load_workbook(io.BytesIO(signed_in(app, "wang").get("/r/order/export.xlsx").content)) \
        .active.max_row == 1
    report = boss.get("/reports/orders_by_stage.xlsx?lang=zh")
    assert report.status_code == 200
    rows = list(openpyxl.load_workbook(io.BytesIO(report.content)).active.iter_rows(values_only=True))
    assert rows[0] == ("阶段", "订单数", "金额") and rows[1] == ("初步接触", 1, 12345.67)
    assert rows[-1][0] == "合计"
    page = boss.get("/r/order")
    assert 'href="/r/order/export.xlsx?' in page.text


def test_the_ticked_rows_export_to_excel_under_the_same_access(app):  # noqa: F811
    site = app.state.site
    li = 2  # the fixture's second user
    made = [site.records.create("customer", {"name": name, "owner": li}) for name in ("甲公司", "乙公司", "丙公司")]
    boss = signed_in(app, "boss")
    page = boss.get("/r/customer")
    assert 'name="action" value="export_xlsx"' in page.text
    # the bulk bar's "Export to Excel": the ticked rows, or every record the filter matches
    bar = {"csrf_token": token_of(page), "action": "export_xlsx"}
    answer = boss.post("/r/customer/bulk", data={**bar, "ids": [str(made[0]["id"]), str(made[2]["id"])]},
                       follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/r/customer/export.xlsx?id={made[0]['id']}&id={made[2]['id']}"
    sheet = openpyxl.load_workbook(io.BytesIO(boss.get(answer.headers["location"]).content)).active
    assert sorted(line[1] for line in sheet.iter_rows(min_row=2, values_only=True)) == ["丙公司", "甲公司"]
    matching = boss.post("/r/customer/bulk", data={**bar, "ids": str(made[0]["id"]), "scope": "all", "all": "q=公司"},
                         headers={"HX-Request": "true", "X-CSRF-Token": token_of(page)})
    assert matching.status_code == 204
    assert matching.headers["HX-Redirect"] == "/r/customer/export.xlsx?q=%E5%85%AC%E5%8F%B8"  # 公司, encoded
    sheet = openpyxl.load_workbook(io.BytesIO(boss.get(matching.headers["HX-Redirect"]).content)).active
    assert sorted(line[1] for line in sheet.iter_rows(min_row=2, values_only=True)) == ["丙公司", "乙公司", "甲公司"]
    picked = f"ids={made[0]['id']}&ids={made[2]['id']}"
    sheet = openpyxl.load_workbook(io.BytesIO(boss.get(f"/r/customer/export.xlsx?{picked}").content)).active
    assert sorted(line[1] for line in sheet.iter_rows(min_row=2, values_only=True)) == ["丙公司", "甲公司"]
    assert len(boss.get(f"/r/customer/export.csv?{picked}").text.splitlines()) == 3  # the header and two rows
    # another rep's selection of li's records exports nothing
    rep = openpyxl.load_workbook(io.BytesIO(signed_in(app, "wang").get(f"/r/customer/export.xlsx?{picked}").content))
    assert rep.active.max_row == 1
    nonsense = boss.get("/r/customer/export.xlsx?ids=abc")
    assert openpyxl.load_workbook(io.BytesIO(nonsense.content)).active.max_row == 1
