"""The import pages as a sales rep uses them: upload a GBK file from Excel, check the guessed
column matching, see every bad row in the dry run, import, and watch the progress to the end."""
from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from atrium.runtime.access import users
from atrium.runtime.schema.migrations import migrate
from atrium.runtime.site.site import Site
from atrium.ui.records import import_page
from atrium.ui.web.app import Settings, create_app

B2B = Path(__file__).resolve().parents[2] / "blueprints" / "b2b_sales"


@pytest.fixture
def app(engine, database_url, b2b, tmp_path):
    migrate(engine, b2b)
    site = Site.open(b2b, database_url, engine=engine)
    with engine.begin() as connection:
        users.add_team(connection, site.tables, "east")
        for name, role in (("wang", "sales_rep"), ("li", "sales_rep"), ("boss", "admin")):
            users.add_user(connection, site.tables, b2b, name, role, team="east", password=f"{name}-pass",
                           display_name={"wang": "王伟", "li": "李娜", "boss": "老板"}[name])
    app = create_app(Settings(str(B2B), database_url, secret_key="test-secret"), site=site)
    app.state.import_dir = tmp_path / "imports"
    return app


def signed_in(app, name: str) -> TestClient:
    client = TestClient(app)
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    response = client.post("/login", data={"name": name, "password": f"{name}-pass", "csrf_token": token},
                           follow_redirects=False)
    assert response.status_code == 303
    return client


def token_of(page) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def upload(client: TestClient, data: bytes, entity: str = "customer", name: str = "客户.csv"):
    token = token_of(client.get(f"/r/{entity}/import"))
    return client.post(f"/r/{entity}/import", data={"csrf_token": token},
                       files={"file": (name, data, "text/csv")}, follow_redirects=False)


def form_of(page) -> dict[str, str]:
    """The mapping form as the browser would send it: each select's chosen option, the radios."""
    fields = {"csrf_token": token_of(page)}
    for name, body in re.findall(r'<select id="[^"]+" name="([^"]+)">(.*?)</select>', page.text, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected>', body)
        fields[name] = chosen.group(1) if chosen else ""
    fields["on_duplicate"] = re.search(r'name="on_duplicate" value="(\w+)" checked', page.text).group(1)
    return fields


def customers(site) -> list[dict]:
    table = site.tables["customer"]
    with site.engine.connect() as connection:
        return [dict(r._mapping) for r in connection.execute(sa.select(table).order_by(table.c.id))]


GOOD = ("公司名称,客户等级,行业,电话,标签,备注\n"
        "华为技术,A 类,制造业,0755-28780808,\"重点客户，国企\",老客户\n"
        "小米科技,VIP,IT 服务,010-60606666,上市公司,\n"
        "<script>alert(1)</script>,B 类,零售,021-5555-0101,,\n")


def test_upload_map_check_and_import_with_progress_to_the_end(app):
    client = signed_in(app, "wang")
    site = app.state.site
    # a file with a bad phone in row 3 and an unknown level in row 4
    bad = GOOD.replace("010-60606666", "电话不详").replace("B 类", "Z 类").encode("gbk")
    response = upload(client, bad)
    assert response.status_code == 303
    job_url = response.headers["location"]
    assert re.fullmatch(r"/r/customer/import/[A-Za-z0-9_-]{22}", job_url)
    mapping = client.get(job_url)
    assert mapping.status_code == 200
    assert "客户.csv：3 行，GB18030 编码，以逗号分隔" in mapping.text
    form = form_of(mapping)
    assert {k: v for k, v in form.items() if k.startswith("map.")} == {
        "map.0": "name", "map.1": "level", "map.2": "industry", "map.3": "phone", "map.4": "tags", "map.5": ""}
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in mapping.text and "<script>alert(1)" not in mapping.text
    # step 3: every bad row, nothing written, no import button
    form.update(key="phone", on_duplicate="update")
    check = client.post(job_url + "/check", data=form)
    assert check.status_code == 200
    found = re.findall(r'<tr><td class="num">(\d+)</td><td>([^<]+)</td><td>([^<]+)</td></tr>', check.text)
    assert found == [("3", "电话", "必须是有效的电话号码"), ("4", "客户等级", "“Z 类”不是可选项")]
    assert re.search(r'id="count-errors">2<', check.text) and "/run" not in check.text
    assert customers(site) == []
    # the chosen mapping is kept: back on step 2 the key and policy are as chosen
    again = form_of(client.get(job_url))
    assert again["key"] == "phone" and again["on_duplicate"] == "update"
    # a fixed file: checked clean, then imported in the background
    response = upload(client, GOOD.encode("utf-8-sig"))
    job_url = response.headers["location"]
    form = form_of(client.get(job_url))
    check = client.post(job_url + "/check", data=form)
    assert re.search(r'id="count-create">3<', check.text) and "所有行均有效" in check.text
    run = client.post(job_url + "/run", data={"csrf_token": token_of(check)}, follow_redirects=False)
    assert run.status_code == 303 and run.headers["location"] == job_url + "/progress"
    page = client.get(job_url + "/progress")
    assert page.status_code == 200 and 'id="import-progress"' in page.text
    state = poll(client, job_url + "/progress")
    assert "导入完成：新建 3 条，更新 0 条，跳过 0 条" in state
    assert 'href="/r/customer"' in state and 'hx-trigger' not in state  # polling stops
    assert [(c["name"], c["level"], c["owner"]) for c in customers(site)] == [
        ("华为技术", "a", 1), ("小米科技", "vip", 1), ("<script>alert(1)</script>", "b", 1)]
    # a second click on "import" does not import twice
    client.post(job_url + "/run", data={"csrf_token": token_of(check)})
    assert len(customers(site)) == 3


def poll(client: TestClient, url: str) -> str:
    """What htmx does with hx-trigger="every 1s": fetch the partial until it stops asking."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        part = client.get(url, headers={"HX-Request": "true"})
        assert part.status_code == 200 and part.text.lstrip().startswith('<section id="import-progress"')
        if 'data-state="running"' not in part.text:
            return part.text
        assert 'hx-trigger="every 1s"' in part.text
        time.sleep(0.05)
    raise AssertionError("the import did not finish")


def test_an_import_that_fails_writes_nothing_and_says_why(app):
    client = signed_in(app, "boss")
    site = app.state.site
    job_url = upload(client, "产品编码,产品名称\nP-1,螺丝\nP-2,螺母\n".encode(), entity="product").headers["location"]
    check = client.post(job_url + "/check", data=form_of(client.get(job_url)))
    assert "所有行均有效" in check.text
    # between the check and the import, someone else takes the code of row 3
    site.records.create("product", {"code": "P-2", "name": "别人的螺母"})
    client.post(job_url + "/run", data={"csrf_token": token_of(check)})
    state = poll(client, job_url + "/progress")
    assert 'data-state="failed"' in state and "未导入任何数据" in state
    assert re.findall(r'<td class="num">(\d+)</td><td>([^<]+)</td><td>([^<]+)</td>', state) == [
        ("3", "产品编码", "已有其他记录使用此值")]
    table = site.tables["product"]
    with site.engine.connect() as connection:
        assert connection.execute(sa.select(table.c.code)).scalars().all() == ["P-2"]


def test_jobs_belong_to_their_user_and_session(app):
    wang = signed_in(app, "wang")
    job_url = upload(wang, GOOD.encode()).headers["location"]
    li = signed_in(app, "li")
    assert li.get(job_url).status_code == 404
    token = token_of(li.get("/r/customer/import"))
    assert li.post(job_url + "/check", data={"csrf_token": token, "map.0": "name"}).status_code == 404
    assert li.post(job_url + "/run", data={"csrf_token": token}).status_code == 404
    assert li.get(job_url + "/progress").status_code == 404
    # the same user in another session (another browser) does not see it either
    assert signed_in(app, "wang").get(job_url).status_code == 404
    assert wang.get("/r/customer/import/..%2F..%2Fetc").status_code == 404
    assert wang.get("/r/customer/import/" + "A" * 22).status_code == 404


def test_who_may_import_and_what_the_upload_refuses(app, monkeypatch):
    anonymous = TestClient(app)
    assert anonymous.get("/r/customer/import", follow_redirects=False).status_code == 303
    wang = signed_in(app, "wang")
    assert wang.get("/r/product/import").status_code == 403  # a rep may not create products
    assert wang.get("/r/nothing/import").status_code == 404
    # CSRF: without the token the upload is refused
    response = wang.post("/r/customer/import", files={"file": ("a.csv", b"a\n1\n", "text/csv")})
    assert response.status_code == 403
    # no file, a file that is not text, a file too large
    token = token_of(wang.get("/r/customer/import"))
    assert wang.post("/r/customer/import", data={"csrf_token": token}).status_code == 400
    refused = upload(wang, b"\xff\xfe\xfd\x00\x81" * 10 + b"\x80")
    assert refused.status_code == 422 and "无法读取文件" in refused.text
    monkeypatch.setattr(import_page, "MAX_UPLOAD", 1024)
    big = upload(wang, b"name\n" + b"x" * 2000)
    assert big.status_code == 413 and "文件超过" in big.text
    # a mapping the user may not use is explained on the mapping page
    monkeypatch.setattr(import_page, "MAX_UPLOAD", 1024 * 1024)
    job_url = upload(wang, "公司名称,负责人\n甲,李娜\n".encode()).headers["location"]
    form = form_of(wang.get(job_url))
    assert form["map.1"] == ""  # a rep may not set the owner of a customer: not offered
    form["map.1"] = "owner"
    refused = wang.post(job_url + "/check", data=form)
    assert refused.status_code == 422 and "负责人" in refused.text and "/check" in refused.text


def test_pages_speak_english_too(app):
    client = signed_in(app, "boss")
    client.get("/?lang=en")
    page = client.get("/r/customer/import")
    assert "Import Customers" in page.text and "Upload and continue" in page.text
    job_url = upload(client, "Company name;Phone\nAcme;021-5555-0101\n".encode()).headers["location"]
    mapping = client.get(job_url)
    assert "2 rows" not in mapping.text and "1 rows, UTF-8, separated by semicolons" in mapping.text
    form = form_of(mapping)
    assert form["map.0"] == "name" and form["map.1"] == "phone"
    check = client.post(job_url + "/check", data=form)
    assert "Every row is valid." in check.text and "Import 1 rows" in check.text
