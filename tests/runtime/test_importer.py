"""CSV import as a sales team uses it: files from Chinese and English Excel, a dry run that names
every bad row, duplicates on a key, all-or-nothing writes, and the access rules of roles.yaml.

Runs on the shipped b2b_sales blueprint (customers with Chinese labels, contacts linking to
customers, leads with a pipeline), on SQLite and on PostgreSQL.
"""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from atrium.runtime.access import users
from atrium.runtime.access.secured import AccessDenied
from atrium.runtime.io.import_values import CellResolver
from atrium.runtime.io.importer import Importer, ImportOptions, ImportProblem, read_csv
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.schema.migrations import migrate
from atrium.runtime.site.site import Site


@pytest.fixture
def site(engine, b2b):
    migrate(engine, b2b)
    site = Site.open(b2b, "", engine=engine)
    with engine.begin() as connection:
        users.add_team(connection, site.tables, "east")
        for name, role, display in (("boss", "admin", "老板"), ("wang", "sales_rep", "王伟"),
                                    ("li", "sales_rep", "李娜"), ("zhou", "sales_manager", "周敏")):
            users.add_user(connection, site.tables, b2b, name, role, team="east", display_name=display)
    return site


def actor(site, name, locale="zh"):
    with site.engine.connect() as connection:
        user = users.find_user(connection, site.tables, name)
    return Actor(user_id=user["id"], name=name, role=user["role"], team_id=user["team_id"], locale=locale)


def rows(site, entity, order="id"):
    table = site.tables[entity]
    with site.engine.connect() as connection:
        return [dict(r._mapping) for r in connection.execute(sa.select(table).order_by(table.c[order]))]


def load(site, who, entity, text, encoding="utf-8", **options):
    importer = Importer(site, who, entity)
    data = text.encode(encoding) if isinstance(text, str) else text
    csv_file = read_csv(data, who.locale)
    mapping = options.pop("mapping", None) or importer.guess_mapping(csv_file.header)
    return importer, csv_file, ImportOptions(mapping, **options)


def run(site, who, entity, text, encoding="utf-8", dry=False, **options):
    importer, csv_file, opts = load(site, who, entity, text, encoding, **options)
    return (importer.dry_run if dry else importer.run)(csv_file, opts)


CUSTOMERS_ZH = ("公司名称,客户等级,行业,电话,标签\n"
                "华为技术,A 类,制造业,0755-28780808,\"重点客户，国企\"\n"
                "小米科技,vip,IT 服务,010-60606666,上市公司\n")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030-bom"])
def test_chinese_excel_files_are_read_in_any_common_encoding(site, encoding):
    boss = actor(site, "boss")
    if encoding == "gb18030-bom":
        data = b"\x84\x31\x95\x33" + CUSTOMERS_ZH.encode("gb18030")
    else:
        data = CUSTOMERS_ZH.encode(encoding)
    csv_file = read_csv(data)
    assert csv_file.header == ["公司名称", "客户等级", "行业", "电话", "标签"]
    report = run(site, boss, "customer", data)
    assert report.ok and report.written and report.created == 2
    stored = rows(site, "customer")
    assert [(c["name"], c["level"], c["industry"], c["tags"]) for c in stored] == [
        ("华为技术", "a", "manufacturing", ["key_account", "state_owned"]),
        ("小米科技", "vip", "it_services", ["listed"])]
    assert stored[0]["owner"] == boss.user_id  # the default applies to a column the file lacks


@pytest.mark.parametrize("delimiter", [";", "\t", ","])
def test_delimiter_is_detected_and_english_labels_map(site, delimiter):
    boss = actor(site, "boss", "en")
    text = delimiter.join(["Company name", "Level", "Region", "Phone", "Address"]) + "\n" + \
        delimiter.join(["Acme, Inc.", "B", "East China", "021-5555-0101", "1 Bund Road"]) + "\n"
    if delimiter == ",":
        text = text.replace("Acme, Inc.", '"Acme, Inc."')
    csv_file = read_csv(text.encode())
    assert csv_file.delimiter == delimiter
    importer = Importer(site, boss, "customer")
    assert importer.guess_mapping(csv_file.header) == {
        "Company name": "name", "Level": "level", "Region": "region", "Phone": "phone", "Address": "address"}
    report = importer.run(csv_file, ImportOptions(importer.guess_mapping(csv_file.header)))
    assert report.created == 1
    assert rows(site, "customer")[0]["name"] == "Acme, Inc."
    assert rows(site, "customer")[0]["region"] == "east"


def test_mapping_is_guessed_from_names_and_labels_in_either_language(site):
    importer = Importer(site, actor(site, "boss"), "contact")
    header = ["  客户 ", "NAME", "job_title", "手机", "E-mail", "微信号", "Notes", "id"]
    assert importer.guess_mapping(header) == {
        "  客户 ": "customer", "NAME": "name", "job_title": "title", "手机": "phone", "E-mail": "email",
        "微信号": "wechat", "Notes": None, "id": None}
    # a computed field is never offered, and a column maps to one field at most
    lead = Importer(site, actor(site, "boss"), "customer")
    assert lead.guess_mapping(["累计成交额", "名称", "公司名称", "Company name"]) == {
        "累计成交额": None, "名称": None, "公司名称": "name", "Company name": None}


def test_dry_run_reports_every_rows_errors_and_writes_nothing(site):
    boss = actor(site, "boss")
    text = ("公司名称,公司名称2,客户等级,电话,网站\n"
            "好公司,,A 类,13800000000,https://good.example\n"
            ",,Z 类,not-a-phone,good.example\n"
            "另一家,,b,abc,\n")
    report = run(site, boss, "customer", text, mapping={"公司名称": "name", "客户等级": "level",
                                                        "电话": "phone", "网站": "website"}, dry=True)
    assert not report.written and rows(site, "customer") == []
    found = {(e.row, e.column): e.message for e in report.errors}
    assert found == {
        (3, "公司名称"): "此字段为必填项",
        (3, "客户等级"): "“Z 类”不是可选项",
        (3, "电话"): "必须是有效的电话号码",
        (3, "网站"): "必须是以 http:// 或 https:// 开头的网址",
        (4, "电话"): "必须是有效的电话号码",
    }
    assert report.rows_in_error == 2 and report.created == 1
    english = run(site, actor(site, "boss", "en"), "customer", text,
                  mapping={"公司名称": "name", "电话": "phone"}, dry=True)
    assert {e.message for e in english.errors} == {"This field is required", "Must be a phone number"}


def test_one_bad_row_in_the_middle_means_nothing_is_written(site):
    lines = ["公司名称,电话"] + [f"公司{i},1380000{i:04d}" for i in range(1200)]
    lines[600] = "坏公司,电话号码"
    report = run(site, actor(site, "boss"), "customer", "\n".join(lines))
    assert not report.written and rows(site, "customer") == []
    assert [(e.row, e.field) for e in report.errors] == [(601, "phone")]


def test_unique_values_taken_in_the_database_or_repeated_in_the_file_are_named(site):
    boss = actor(site, "boss")
    site.records.create("product", {"code": "P-1", "name": "旧产品"}, boss)
    text = "产品编码,产品名称,单价\n" + "".join(f"Q-{i},产品{i},{i}.5\n" for i in range(600)) + \
        "P-1,重复编码,1\nQ-7,又是 Q-7,2\n"
    report = run(site, boss, "product", text)
    assert [(e.row, e.field, e.message) for e in report.errors] == [
        (602, "code", "已有其他记录使用此值"), (603, "code", "已有其他记录使用此值")]
    assert [p["code"] for p in rows(site, "product")] == ["P-1"]


def test_records_keyed_on_their_unique_value_are_updated_and_a_taken_value_is_named(site):
    boss = actor(site, "boss")
    for code in ("P-1", "P-2"):
        site.records.create("product", {"code": code, "name": "旧产品"}, boss)
    for dry in (True, False):  # the import page checks first, then writes
        report = run(site, boss, "product", "产品编码,产品名称\nP-1,新产品\n", key="code", on_duplicate="update",
                     dry=dry)
        assert report.ok and report.updated == 1, report.errors
    assert [p["name"] for p in rows(site, "product")] == ["新产品", "旧产品"]
    taken = run(site, boss, "product", "产品编码,产品名称\nP-2,新产品\n", dry=True, key="name",
                on_duplicate="update")  # the record named 新产品 would take the other's code
    assert [(e.row, e.field, e.message) for e in taken.errors] == [(2, "code", "已有其他记录使用此值")]


def test_stage_rules_apply_as_in_a_form(site):
    rep = actor(site, "wang", "en")
    text = ("Company,Contact name,Status,Region,Phone\n"
            "Alpha,Ann,New,east,\n"
            "Beta,Bob,已确认,,\n"          # qualified requires phone and region
            "Gamma,Gus,contacted,north,139-0000-1111\n")
    report = run(site, rep, "lead", text, dry=True)
    assert {(e.row, e.field, e.message) for e in report.errors} == {
        (3, "region", "Required to enter stage Qualified"), (3, "phone", "Required to enter stage Qualified")}
    fixed = text.replace("Beta,Bob,已确认,,", "Beta,Bob,已确认,south,138-0000-2222")
    report = run(site, rep, "lead", fixed)
    assert report.created == 3
    assert [(r["company"], r["status"], r["owner"]) for r in rows(site, "lead")] == [
        ("Alpha", "new", rep.user_id), ("Beta", "qualified", rep.user_id), ("Gamma", "contacted", rep.user_id)]


CUSTOMERS = ("公司名称,电话,地址\n甲公司,13800000001,新地址\n乙公司,13800000002,\n"
             "甲公司（重复）,13800000001,又一个地址\n")


@pytest.mark.parametrize("policy, expected", [
    ("skip", {("甲公司", "旧地址"), ("乙公司", None)}),
    ("update", {("甲公司（重复）", "又一个地址"), ("乙公司", None)}),
    ("create", {("甲公司", "旧地址"), ("甲公司", "新地址"), ("乙公司", None), ("甲公司（重复）", "又一个地址")}),
])
def test_duplicates_on_a_key_are_skipped_updated_or_created(site, policy, expected):
    boss = actor(site, "boss")
    site.records.create("customer", {"name": "甲公司", "phone": "13800000001", "address": "旧地址"}, boss)
    dry = run(site, boss, "customer", CUSTOMERS, key="phone", on_duplicate=policy, dry=True)
    counts = {"skip": (1, 0, 2), "update": (1, 2, 0), "create": (3, 0, 0)}[policy]
    assert (dry.created, dry.updated, dry.skipped) == counts and dry.ok
    report = run(site, boss, "customer", CUSTOMERS, key="phone", on_duplicate=policy)
    assert report.written and (report.created, report.updated, report.skipped) == counts
    assert {(c["name"], c["address"]) for c in rows(site, "customer")} == expected


def test_reference_by_title_search_field_or_id_and_ambiguity(site):
    boss = actor(site, "boss")
    run(site, boss, "customer", "公司名称,电话\n华为技术,0755-1\n同名,010-1\n同名,010-2\n")
    ids = {c["phone"]: c["id"] for c in rows(site, "customer")}
    text = ("客户,姓名\n"
            "华为技术,张三\n"        # title
            "0755-1,李四\n"          # a search field (phone)
            f"{ids['010-2']},王五\n"  # the id
            "同名,赵六\n")           # two customers have that title
    report = run(site, boss, "contact", text, dry=True)
    assert [(e.row, e.field, e.message) for e in report.errors] == [
        (5, "customer", "“同名”匹配到 2 条记录，请改填记录编号")]
    report = run(site, boss, "contact", text.replace("同名,赵六\n", ""))
    assert [c["customer"] for c in rows(site, "contact")] == [ids["0755-1"], ids["0755-1"], ids["010-2"]]


def test_compound_titles_and_users_by_name_or_display_name(site):
    boss = actor(site, "boss", "en")
    run(site, boss, "customer", "Company name\nAcme Ltd\n")
    acme = rows(site, "customer")[0]["id"]
    run(site, boss, "lead", "Company,Contact name\nAcme Ltd,Zhang San\nAcme Ltd,Li Si\n")
    text = ("Company,Contact name,Owner,Converted to customer\n"
            "Beta,Ann,wang,Acme Ltd\n"
            "Gamma,Bob,李娜,\n"
            "Delta,Cy,nobody,\n")
    report = run(site, boss, "lead", text, dry=True)
    assert [(e.row, e.field, e.message) for e in report.errors] == [(4, "owner", "No user 'nobody'")]
    run(site, boss, "lead", text.replace("Delta,Cy,nobody,\n", ""))
    leads = {r["company"]: r for r in rows(site, "lead")}
    assert leads["Beta"]["owner"] == actor(site, "wang").user_id and leads["Beta"]["customer"] == acme
    assert leads["Gamma"]["owner"] == actor(site, "li").user_id
    # a lead is titled by two fields ("{company} {contact_name}"): found by its whole title, while
    # the company alone (a search field) matches two leads
    with site.engine.connect() as connection:
        resolver = CellResolver(site, boss, connection)
        found = resolver._find_records("lead", {"Acme Ltd Zhang San", "acme ltd  li si", "Acme Ltd"})
    zhang, li = (r["id"] for r in rows(site, "lead")[:2])
    assert found == {"Acme Ltd Zhang San": zhang, "acme ltd  li si": li, "Acme Ltd": ("ambiguous", 2)}


def test_a_rep_cannot_link_to_or_update_other_reps_records(site):
    wang, li = actor(site, "wang"), actor(site, "li")
    run(site, li, "customer", "公司名称,电话\n李的客户,13900000009\n")
    run(site, wang, "customer", "公司名称,电话\n王的客户,13900000001\n")
    theirs = rows(site, "customer")[0]
    # a contact for li's customer, by name or by id: as if it did not exist
    for cell in ("李的客户", str(theirs["id"])):
        report = run(site, wang, "contact", f"客户,姓名\n{cell},张三\n")
        assert [(e.field, e.message) for e in report.errors] == [("customer", f"找不到记录“{cell}”")]
    # same phone as li's customer, policy update: li's record is not touched, wang gets a new one
    report = run(site, wang, "customer", "公司名称,电话\n改名,13900000009\n", key="phone", on_duplicate="update")
    assert (report.created, report.updated) == (1, 0)
    assert rows(site, "customer")[0]["name"] == "李的客户"
    # own records are updated; the read-only owner field cannot be imported by a rep
    report = run(site, wang, "customer", "公司名称,电话\n王的新名字,13900000001\n", key="phone",
                 on_duplicate="update")
    assert report.updated == 1 and "王的新名字" in {c["name"] for c in rows(site, "customer")}
    assert Importer(site, wang, "customer").guess_mapping(["公司名称", "负责人"]) == {
        "公司名称": "name", "负责人": None}
    with pytest.raises(ImportProblem, match="负责人"):
        run(site, wang, "customer", "公司名称,负责人\n给李,李娜\n", mapping={"公司名称": "name", "负责人": "owner"})
    # a rep may not give a lead to someone outside their reach
    for dry in (True, False):
        report = run(site, wang, "lead", "公司名称,联系人,负责人\n甲,乙,wang\n丙,丁,li\n", dry=dry)
        assert [(e.row, e.field, e.message) for e in report.errors] == [
            (3, "owner", "只能将记录分配给自己或本团队成员")]
    assert rows(site, "lead") == []
    # an entity the role cannot create at all
    with pytest.raises(AccessDenied):
        Importer(site, wang, "product")


def test_progress_is_reported_in_batches(site):
    seen = []
    lines = ["公司名称"] + [f"公司{i}" for i in range(1100)]
    report = run_with_progress(site, "\n".join(lines), seen)
    assert report.created == 1100
    writes = [done for done, total, phase in seen if phase == "write"]
    assert writes == [500, 1000, 1100]
    assert seen[-1] == (1100, 1100, "write")
    seen.clear()
    importer, csv_file, options = load(site, actor(site, "boss"), "customer", "\n".join(lines))
    importer.dry_run(csv_file, options, progress=lambda *args: seen.append(args))
    assert seen[-1] == (1100, 1100, "check") and {p for _, _, p in seen} == {"check"}


def run_with_progress(site, text, seen):
    importer, csv_file, options = load(site, actor(site, "boss"), "customer", text)
    return importer.run(csv_file, options, progress=lambda *args: seen.append(args))


def test_file_problems_are_reported_not_raised_as_tracebacks(site):
    boss = actor(site, "boss", "en")
    with pytest.raises(ImportProblem, match="no header"):
        read_csv(b"\n\n", "en")
    with pytest.raises(ImportProblem, match="not a CSV text file"):
        read_csv(b"\xff\xfe\xfd\x00\x81" * 10 + b"\x80", "en")
    importer = Importer(site, boss, "customer")
    csv_file = read_csv("Company name,Phone\nA,1\n".encode())
    with pytest.raises(ImportProblem, match="both mapped"):
        importer.run(csv_file, ImportOptions({"Company name": "name", "Phone": "name"}))
    with pytest.raises(ImportProblem, match="cannot be imported"):
        importer.run(csv_file, ImportOptions({"Company name": "lifetime_value"}))
    with pytest.raises(ImportProblem, match="not mapped"):
        importer.run(csv_file, ImportOptions({"Company name": "name"}, key="phone"))
    # more cells than columns is the row's error
    report = importer.dry_run(read_csv("Company name\nA,B\n".encode()), ImportOptions({"Company name": "name"}))
    assert [(e.row, e.message) for e in report.errors] == [(2, "The row has more cells than the header has columns")]
