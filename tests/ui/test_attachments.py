"""Files on record pages and through the API: a finance user attaches the signed contract, the
owning rep sees and downloads it, another rep gets 404 on its URL; limits answered beside the
field; export links; the API's upload, list, download and delete."""
from __future__ import annotations

import csv
import io
import re

import openpyxl
import pytest
import sqlalchemy as sa
from record_pages_kit import FAST_HASHER, Browser
from starlette.testclient import TestClient

from atrium.runtime.access import users
from atrium.runtime.files.service import Files
from atrium.runtime.files.storage import LocalStorage

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.fixture
def world(shared, tmp_path):
    shared.reset()
    if "fin" not in shared.ids:
        with shared.site.engine.begin() as connection:
            shared.ids["fin"] = users.add_user(connection, shared.site.tables, shared.blueprint, "fin",
                                                   "finance", display_name="Finance Wu", locale="en")
            table = shared.site.tables.system("atrium_users")
            connection.execute(table.update().where(table.c.id == shared.ids["fin"]).values(
                password_hash=FAST_HASHER.hash("fin-pass")))
    shared.site.__dict__["files"] = Files(shared.site, LocalStorage(tmp_path / "files"))
    yield shared
    shared.close()


def contract(world, by: str = "rep") -> dict:
    customer = world.customer("Tiancheng", by)
    return world.create("contract", by, name="Supply 2026", customer=customer["id"], amount=120000)


def upload(browser: Browser, path: str, name: str, data: bytes, field: str = "", htmx: bool = False):
    headers = {"HX-Request": "true"} if htmx else {}
    return browser.client.post(path, data={"csrf_token": browser.token(), "field": field},
                               files={"file": (name, data, "application/octet-stream")}, headers=headers,
                               follow_redirects=False)


def test_finance_attaches_the_signed_pdf_the_rep_sees_it_another_rep_gets_404(world):
    deal = contract(world)
    finance = world.browser("fin")
    page = finance.get(f"/r/contract/{deal['id']}")
    assert 'id="attachments"' in page.text and 'name="field"' in page.text and "Signed contract" in page.text
    answer = upload(finance, f"/r/contract/{deal['id']}/files", "signed.pdf", PDF, field="signed_copy")
    assert answer.status_code == 303 and answer.headers["location"].endswith("#attachments")
    rep = world.browser("rep")
    detail = rep.get(f"/r/contract/{deal['id']}").text
    file_id = int(re.search(r'href="/files/(\d+)"', detail).group(1))
    assert "signed.pdf" in detail and f'<iframe src="/files/{file_id}?inline=1"' in detail
    download = rep.get(f"/files/{file_id}")
    assert download.content == PDF and download.headers["content-type"] == "application/pdf"
    assert download.headers["content-disposition"].startswith("attachment;")
    assert rep.get(f"/files/{file_id}?inline=1").headers["content-disposition"].startswith("inline;")
    other = world.browser("rep2")
    assert other.get(f"/files/{file_id}").status_code == 404
    assert other.get(f"/r/contract/{deal['id']}").status_code == 404
    # the field lists the file on the record, and the export links to its download
    assert world.get("contract", deal["id"])["signed_copy"][0]["name"] == "signed.pdf"
    exported = rep.get("/r/contract/export.csv").content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(exported)))
    assert f"/files/{file_id}" in rows[1][rows[0].index("Signed contract")]
    edit = rep.get(f"/r/contract/{deal['id']}/edit").text  # the form shows the field's files, read only
    assert f'<a href="/files/{file_id}">signed.pdf</a>' in edit
    assert f'href="/r/contract/{deal["id"]}#attachments"' in edit
    assert "Files can be attached once the record is saved" in rep.get("/r/contract/new").text
    sheet = openpyxl.load_workbook(io.BytesIO(rep.get("/r/contract/export.xlsx").content)).active
    header, first = list(sheet.iter_rows(values_only=True))[:2]
    assert first[header.index("Signed contract")] == f"/files/{file_id}"


def test_a_file_the_field_does_not_accept_is_refused_beside_it_and_nothing_is_kept(world):
    deal = contract(world)
    rep = world.browser("rep")
    refused = upload(rep, f"/r/contract/{deal['id']}/files", "virus.exe", b"MZ", field="signed_copy")
    assert refused.status_code == 422
    assert re.search(r'id="upload-error" role="alert"><span class="error">Files of this type are not accepted',
                     refused.text)
    rep.post("/language", data={"locale": "zh"})
    again = upload(rep, f"/r/contract/{deal['id']}/files", "virus.exe", b"MZ", field="signed_copy", htmx=True)
    assert again.status_code == 200 and "此处不接受这种类型的文件" in again.text
    with world.site.engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(world.site.files.table)).scalar() == 0


def test_an_upload_without_the_right_csrf_token_is_refused_and_nothing_is_kept(world):
    deal = contract(world)
    rep = world.browser("rep")
    path = f"/r/contract/{deal['id']}/files"
    assert rep.client.post(path, files={"file": ("a.pdf", PDF, "application/pdf")}).status_code == 403
    assert rep.client.post(path, data={"csrf_token": "forged"},
                           files={"file": ("a.pdf", PDF, "application/pdf")}).status_code == 403
    assert rep.client.post(path, headers={"X-CSRF-Token": "forged"},
                           files={"file": ("a.pdf", PDF, "application/pdf")}).status_code == 403
    assert world.site.files.of_record(world.actor("rep"), "contract", deal["id"]) == []
    # the token in a header (as htmx sends it) or in the form (without JavaScript) both work
    assert rep.client.post(path, headers={"X-CSRF-Token": rep.token()}, follow_redirects=False,
                           files={"file": ("a.pdf", PDF, "application/pdf")}).status_code == 303
    assert upload(rep, path, "b.pdf", PDF).status_code == 303
    assert len(world.site.files.of_record(world.actor("rep"), "contract", deal["id"])) == 2


def test_deleting_a_file_needs_the_right_to_update_the_record(world):
    deal = contract(world)
    rep = world.browser("rep")
    upload(rep, f"/r/contract/{deal['id']}/files", "notes.txt", b"minutes")
    file_id = world.site.files.of_record(world.actor("rep"), "contract", deal["id"])[0]["id"]
    assert world.browser("rep2").post(f"/files/{file_id}/delete").status_code == 404
    assert rep.post(f"/files/{file_id}/delete", follow_redirects=False).status_code == 303
    assert rep.get(f"/files/{file_id}").status_code == 404


@pytest.fixture
def api(world):
    with world.site.engine.begin() as connection:
        tokens = {name: users.issue_token(connection, world.site.tables, name) for name in ("rep", "rep2", "fin")}
    client = TestClient(world.app)
    world.clients.append(client)

    def call(method: str, path: str, user: str = "rep", **kwargs):
        headers = {"Authorization": f"Bearer {tokens[user]}", **kwargs.pop("headers", {})}
        return client.request(method, path, headers=headers, **kwargs)
    return call


def test_the_api_uploads_lists_downloads_and_deletes_under_the_records_access(world, api):
    deal = contract(world)
    path = f"/api/v1/contract/{deal['id']}/files"
    created = api("POST", path, user="fin", files={"file": ("signed.pdf", PDF, "application/pdf")},
                  data={"field": "signed_copy"})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["name"] == "signed.pdf" and body["field"] == "signed_copy" and body["size"] == len(PDF)
    assert [f["id"] for f in api("GET", path).json()["data"]] == [body["id"]]
    assert api("GET", f"/api/v1/files/{body['id']}").content == PDF
    assert api("GET", f"/api/v1/files/{body['id']}", user="rep2").status_code == 404
    assert api("GET", f"/api/v1/files/{body['id']}?inline=1").headers["content-disposition"].startswith("inline;")
    assert api("GET", f"/api/v1/files/{body['id']}?inline=yes").json()["parameter"] == "inline"
    assert api("GET", path, user="rep2").status_code == 404
    assert api("DELETE", f"/api/v1/files/{body['id']}", user="rep2").status_code == 404
    too_big = api("POST", path, files={"file": ("big.pdf", b"%PDF" + b"0" * (20 * 1024 * 1024), "application/pdf")},
                  data={"field": "signed_copy"}, headers={"Accept-Language": "zh"})
    assert too_big.status_code == 422 and too_big.json()["errors"]["signed_copy"] == ["文件超过 20 MB"]
    assert api("DELETE", f"/api/v1/files/{body['id']}").status_code == 204
    assert api("GET", path).json()["data"] == []
    document = api("GET", "/api/v1/openapi.json").json()
    assert "multipart/form-data" in document["paths"]["/api/v1/contract/{id}/files"]["post"]["requestBody"]["content"]
    assert set(document["paths"]["/api/v1/files/{id}"]) >= {"get", "delete"}
