"""Excel in and out in a real browser (issue 15 item 4): a rep uploads an .xlsx of 200 leads with
Chinese names; the check names each bad row by its row number; all or nothing writes none, the
valid rows mode imports the 195 good ones and hands back the 5 rejected with their reasons; the
list's "Export to Excel" gives a workbook with typed cells, and so does the bulk bar's for "all N
matching"."""
from __future__ import annotations

import datetime as dt
import io
import re

import openpyxl
from browser_kit import rows, sign_in, unique
from playwright.sync_api import expect

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平"
BAD = {17: "no contact", 58: "bad phone", 90: "bad budget", 133: "no contact", 181: "bad date"}


def leads_workbook(prefix: str) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "线索"
    sheet.append(["公司名称", "联系人", "电话", "预算", "预计采购时间"])
    for n in range(2, 202):  # spreadsheet rows 2..201
        name = SURNAMES[n % 20] + GIVEN[(n * 7) % 20]
        phone: object = 13900000000 + n
        budget: object = 10000 + n * 100
        when: object = dt.datetime(2027, 1, 1) + dt.timedelta(days=n)
        contact: object = name
        problem = BAD.get(n)
        if problem == "no contact":
            contact = None
        elif problem == "bad phone":
            phone = "电话未知"
        elif problem == "bad budget":
            budget = "很多"
        elif problem == "bad date":
            when = "下个月"
        sheet.append([f"{prefix}{name}科技{n:03d}", contact, phone, budget, when])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_an_xlsx_of_200_leads_with_bad_rows_named_then_the_valid_rows_imported(page, server):
    site = server.site
    prefix = unique("导入").replace(" ", "")
    sign_in(page, "rep1")
    page.goto("/r/lead/import")
    page.set_input_files("#import-file", files=[{"name": "线索.xlsx", "mimeType": XLSX,
                                                  "buffer": leads_workbook(prefix)}])
    page.locator("form.import-upload button.primary").click()
    expect(page.locator("form.import-mapping")).to_be_visible()
    expect(page.locator("p.muted").first).to_contain_text("工作表 线索 中 200 行")
    assert page.locator("#map-0").input_value() == "company"
    assert page.locator("#map-1").input_value() == "contact_name"
    page.locator("form.import-mapping button.primary").click()
    # all or nothing: every bad row named by its spreadsheet row number, no import button
    errors = page.locator("table.import-errors tbody tr")
    expect(errors).to_have_count(5)
    numbers = [int(n) for n in errors.locator("td.num").all_inner_texts()]
    assert numbers == sorted(BAD)
    expect(page.locator("#count-errors")).to_have_text("5")
    assert page.locator("form[action$='/run']").count() == 0
    assert [r for r in rows(site, "lead") if r["company"].startswith(prefix)] == []
    # back to the matching: import the valid rows, get the rejected ones back
    page.locator("a", has_text="返回修改对应关系").first.click()
    page.locator("input[name=mode][value=valid_rows]").check()
    page.locator("form.import-mapping button.primary").click()
    expect(page.locator("form[action$='/run'] button.primary")).to_have_text(re.compile("导入 195 条有效行"))
    page.locator("form[action$='/run'] button.primary").click()
    expect(page.locator("#import-progress[data-state=done]")).to_be_visible(timeout=30_000)
    expect(page.locator("#import-progress")).to_contain_text("5 行被拒绝")
    with page.expect_download() as download:
        page.locator("#rejected-file").click()
    book = openpyxl.load_workbook(io.BytesIO(download.value.path().read_bytes()))
    rejected = list(book.active.iter_rows(values_only=True))
    assert [int(r[0]) for r in rejected[1:]] == sorted(BAD) and all(r[-1] for r in rejected[1:])
    imported = [r for r in rows(site, "lead") if r["company"].startswith(prefix)]
    assert len(imported) == 195 and all(r["contact_name"] for r in imported)
    # the list exports the same leads to Excel with typed cells
    page.goto(f"/r/lead?q={prefix}")
    with page.expect_download() as download:
        page.locator("a.export[href*='export.xlsx']").click()
    sheet = openpyxl.load_workbook(io.BytesIO(download.value.path().read_bytes())).active
    header = [c.value for c in sheet[1]]
    records = [dict(zip(header, line, strict=False)) for line in sheet.iter_rows(min_row=2)]
    assert len(records) == 195
    first = next(r for r in records if r["公司名称"].value.endswith("科技002"))
    assert first["预算"].value == 10200 and "#,##0.00" in first["预算"].number_format
    assert first["预计采购时间"].is_date and first["预计采购时间"].value == dt.datetime(2027, 1, 3)
    assert first["电话"].value == "13900000002" and first["电话"].data_type == "s"
    # the bulk bar's "Export to Excel" with "all 195 matching" ticked: every match, not just this page
    expect(page.locator("table.records tbody tr")).not_to_have_count(195)
    page.locator("#bulk-all").check()
    with page.expect_download() as download:
        page.locator("#bulk-form button[name=action][value=export_xlsx]").click()
    sheet = openpyxl.load_workbook(io.BytesIO(download.value.path().read_bytes())).active
    assert sheet.max_row == 1 + 195 and [c.value for c in sheet[1]] == header
