"""`atrium import` and `atrium export` as a consultant uses them on the shipped b2b_sales blueprint:
a GBK file from Chinese Excel, errors as file:row lines, a rep's scope, and a round trip into a
fresh database that gives back the same records."""
from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from cli_kit import run

from atrium.runtime.access import users
from atrium.runtime.schema.database import create_engine
from atrium.runtime.schema.tables import build_tables

ON_POSTGRES = os.environ.get("ATRIUM_TEST_DB", "sqlite") == "postgresql"


def prepared(capsys, url: str, b2b) -> list[str]:
    """A migrated database with a boss, two reps and a manager; the global options to reach it."""
    base = ["--db", url]
    assert run(capsys, *base, "migrate")[0] == 0
    engine = create_engine(url)
    tables = build_tables(b2b)
    with engine.begin() as connection:
        users.add_team(connection, tables, "east")
        for name, role, display in (("boss", "admin", "老板"), ("wang", "sales_rep", "王伟"),
                                    ("li", "sales_rep", "李娜")):
            users.add_user(connection, tables, b2b, name, role, team="east", display_name=display)
    engine.dispose()
    return base


@pytest.fixture
def fresh_url(tmp_path):
    """A second, empty database next to the test's own."""
    if not ON_POSTGRES:
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    base = os.environ["ATRIUM_TEST_PG_URL"]
    schema = "t_" + uuid.uuid4().hex[:16]
    admin = create_engine(base)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    yield f"{base}{'&' if '?' in base else '?'}options={quote(f'-csearch_path={schema}')}"
    with admin.begin() as connection:
        connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    admin.dispose()


CUSTOMERS = ("公司名称,客户等级,行业,电话,标签,负责人,最近跟进时间,备注\n"
             "华为技术,A 类,制造业,0755-28780808,\"重点客户，国企\",王伟,2026-03-01 09:30,老客户\n"
             "小米科技,VIP,IT 服务,010-60606666,上市公司,li,2026-02-15 14:00:05.250000,\n"
             "\"=HYPERLINK(\"\"x\"\")\",B 类,零售,+86 21 5555 0101,,wang,,\n")


def test_import_prints_the_mapping_row_errors_and_a_summary(capsys, database_url, b2b, tmp_path):
    base = prepared(capsys, database_url, b2b)
    path = tmp_path / "客户.csv"
    path.write_bytes(CUSTOMERS.replace("0755-28780808", "电话未知").encode("gbk"))
    code, out, err = run(capsys, *base, "import", "customer", str(path), "--dry-run")
    assert code == 1
    assert "gb18030, delimiter ',', 3 row(s)" in out
    assert "  公司名称 -> name" in out and "  备注 -> (not imported)" in out
    assert err.splitlines() == [f"{path}:2: 电话: 必须是有效的电话号码"]
    assert "1 error(s) in 1 of 3 row(s); nothing was written." in out
    # in English for --locale en; the same errors without --dry-run, and still nothing written
    code, out, err = run(capsys, *base, "import", "customer", str(path), "--locale", "en")
    assert code == 1 and err.splitlines() == [f"{path}:2: 电话: Must be a phone number"]
    assert count(database_url, "customer") == 0
    # mapping a column by hand, and leaving one out
    path.write_bytes(CUSTOMERS.encode("gbk"))
    code, out, _ = run(capsys, *base, "import", "customer", str(path), "--map", "备注=address",
                       "--map", "行业=", "--dry-run")
    assert code == 0 and "  备注 -> address" in out and "  行业 -> (not imported)" in out
    assert "Dry run of 3 row(s): 3 to create, 0 to update, 0 to skip; nothing was written." in out
    code, out, _ = run(capsys, *base, "import", "customer", str(path))
    assert code == 0 and "Imported 3 row(s): 3 created, 0 updated, 0 skipped" in out
    # again with the phone as key: every row is a duplicate
    code, out, _ = run(capsys, *base, "import", "customer", str(path), "--key", "phone",
                       "--on-duplicate", "update")
    assert code == 0 and "0 created, 3 updated" in out and count(database_url, "customer") == 3


def test_import_refusals_are_one_line_not_a_traceback(capsys, database_url, b2b, tmp_path):
    base = prepared(capsys, database_url, b2b)
    path = tmp_path / "p.csv"
    path.write_text("产品编码,产品名称\nP-1,螺丝\n", encoding="utf-8")
    assert run(capsys, *base, "import", "product", str(path), "--as", "wang")[2] == \
        "error: wang may not create product records\n"
    assert run(capsys, *base, "import", "nothing", str(path))[2] == "error: no entity 'nothing'\n"
    assert "no user 'nobody'" in run(capsys, *base, "import", "product", str(path), "--as", "nobody")[2]
    assert "No such file" in run(capsys, *base, "import", "product", str(tmp_path / "missing.csv"))[2]
    code, _, err = run(capsys, *base, "import", "product", str(path), "--map", "产品名称=code")
    assert code == 1 and err == "error: “产品编码”列和“产品名称”列都对应到字段“产品编码”\n"


def test_export_is_scoped_to_the_user_and_filters(capsys, database_url, b2b, tmp_path):
    base = prepared(capsys, database_url, b2b)
    path = tmp_path / "c.csv"
    path.write_text(CUSTOMERS, encoding="utf-8")
    assert run(capsys, *base, "import", "customer", str(path))[0] == 0
    code, out, _ = run(capsys, *base, "export", "customer", "--as", "wang")
    lines = out.splitlines()
    assert code == 0 and out.startswith("\ufeffID,公司名称,客户等级,")
    assert len(lines) == 3 and "小米科技" not in out  # li's customer is not wang's to export
    assert "'=HYPERLINK" in out  # a formula is written as text, never run by the spreadsheet
    code, out, _ = run(capsys, *base, "export", "customer", "--where", "level=VIP", "--raw-headers",
                       "--locale", "en")
    assert out.splitlines()[0].startswith("\ufeffid,name,level,")
    assert [line.split(",")[1] for line in out.splitlines()[1:]] == ["小米科技"]
    assert ",VIP,IT services," in out
    code, out, _ = run(capsys, *base, "export", "customer", "--format", "json", "--where", "owner=wang",
                       "--where", "industry=制造业")
    records = json.loads(out)
    assert [(r["name"], r["level"], r["tags"]) for r in records] == [("华为技术", "a", ["key_account", "state_owned"])]
    assert records[0]["last_followup_at"] == "2026-03-01T01:30:00+00:00"  # Shanghai time, stored as UTC
    code, _, err = run(capsys, *base, "export", "customer", "--where", "colour=red")
    assert code == 1 and err.startswith("error: --where colour=red")
    assert run(capsys, *base, "export", "product", "--as", "nobody")[0] == 1


def test_export_then_import_into_a_fresh_database_gives_the_same_records(capsys, database_url, fresh_url,
                                                                        b2b, tmp_path):
    base = prepared(capsys, database_url, b2b)
    source = tmp_path / "c.csv"
    source.write_text(CUSTOMERS, encoding="utf-8")
    assert run(capsys, *base, "import", "customer", str(source))[0] == 0
    contacts = tmp_path / "contacts.csv"
    contacts.write_text("客户,姓名,职务,手机,邮箱,主要联系人\n"
                        "华为技术,张三,采购经理,13800000001,zhang@example.com,是\n"
                        "小米科技,李四,,13800000002,,否\n"
                        "华为技术,王五,CTO,,wang5@example.com,\n", encoding="utf-8")
    assert run(capsys, *base, "import", "contact", str(contacts))[0] == 0
    fresh = prepared(capsys, fresh_url, b2b)
    for entity in ("customer", "contact"):
        code, out, _ = run(capsys, *base, "export", entity)
        assert code == 0
        exported = tmp_path / f"{entity}-export.csv"
        exported.write_bytes(out.encode("utf-8"))
        code, out, err = run(capsys, *fresh, "import", entity, str(exported))
        assert code == 0, err
        assert "  ID -> (not imported)" in out
    for entity in ("customer", "contact"):
        assert stored(database_url, b2b, entity) == stored(fresh_url, b2b, entity)
    assert len(stored(fresh_url, b2b, "contact")) == 3


def count(url: str, table: str) -> int:
    engine = create_engine(url)
    with engine.connect() as connection:
        number = connection.execute(sa.text(f'SELECT COUNT(*) FROM "{table}"')).scalar()
    engine.dispose()
    return number


def stored(url: str, b2b, entity: str) -> list[dict]:
    """The records as a person compares them: field values, not ids or timestamps."""
    engine = create_engine(url)
    table = build_tables(b2b)[entity]
    skip = {"id", "created_at", "updated_at", "created_by", "updated_by", "version"}
    with engine.connect() as connection:
        found = [{k: v for k, v in row._mapping.items() if k not in skip}
                 for row in connection.execute(sa.select(table).order_by(table.c.id))]
        if entity == "contact":  # a link compares by what it links to
            names = dict(connection.execute(sa.text("SELECT id, name FROM customer")).all())
            for record in found:
                record["customer"] = names[record["customer"]]
    engine.dispose()
    for record in found:
        for key, value in record.items():
            if isinstance(value, dt.datetime):
                record[key] = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return found
