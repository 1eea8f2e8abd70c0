"""The global search (runtime/search) over the b2b_sales blueprint, on SQLite (FTS5 trigram) and
PostgreSQL (pg_trgm): Chinese substrings, codes, emails and phones by their digits; the index kept
current by every write path (a save, a delete, a bulk change, an import); only what the caller
may read; and phones stored with their digits for matching (duplicates, import keys)."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from blueprint_factory import write_blueprint

from atrium.metadata import load_blueprint
from atrium.runtime.access import users
from atrium.runtime.io.importer import Importer, ImportOptions, read_csv
from atrium.runtime.records.evaluation import SYSTEM, Actor
from atrium.runtime.records.phones import digit_queries, phone_digits
from atrium.runtime.records.recompute import Recompute
from atrium.runtime.records.service import ValidationFailed
from atrium.runtime.schema.database import connect
from atrium.runtime.schema.migrations import migrate, plan_migration
from atrium.runtime.search import service as search_service
from atrium.runtime.site.site import Site


@pytest.fixture
def site(engine, b2b):
    migrate(engine, b2b)
    site = Site.open(b2b, "", engine=engine)
    with engine.begin() as connection:
        users.add_team(connection, site.tables, "east")
        for name, role in (("boss", "admin"), ("wang", "sales_rep"), ("li", "sales_rep"), ("mkt", "marketing")):
            users.add_user(connection, site.tables, b2b, name, role, team="east")
    return site


def actor(site, name, locale="zh"):
    with site.engine.connect() as connection:
        user = users.find_user(connection, site.tables, name)
    return Actor(user_id=user["id"], name=name, role=user["role"], team_id=user["team_id"], locale=locale)


def found(site, who, text, limit=20):
    with connect(site.engine) as connection:
        return [(hit.entity, hit.id) for hit in site.search.search(connection, who, text, limit)]


def hits(site, who, text):
    with connect(site.engine) as connection:
        return site.search.search(connection, who, text)


def test_a_phone_is_kept_as_digits_with_its_country_code():
    for typed in ("139 1234 5678", "+86 139-1234-5678", "0086 13912345678", "(139) 1234-5678", "13912345678"):
        assert phone_digits(typed, 86) == "8613912345678", typed
    assert phone_digits("010-1234 5678", 86) == "861012345678"  # the trunk 0 goes
    assert phone_digits("+1 (415) 555-0101", 86) == "14155550101"  # a foreign number keeps its own code
    assert phone_digits("139 1234 5678", None) == "13912345678"  # no default country: the digits
    assert phone_digits(None, 86) is None and phone_digits("", 86) is None
    assert digit_queries("+86 139-1234-5678", 86) == ("8613912345678",)
    assert digit_queries("1234 5678", 86)[0] == "12345678"
    assert digit_queries("王12", 86) == () and digit_queries("12", 86) == ()  # a name, too short


def test_chinese_substrings_codes_emails_and_phone_digits_are_found(site):
    boss = actor(site, "boss")
    services = site.records
    customer = services.create("customer", {"name": "上海星辰精密机械有限公司", "phone": "021-5555 0101"}, boss)
    lead = services.create("lead", {"company": "杭州云帆科技", "contact_name": "王小明", "phone": "139 1234 5678",
                                    "email": "xiaoming.wang@yunfan.example"}, boss)
    order = services.create("order", {"name": "数控机床 CK-6150", "customer": customer["id"]}, boss)
    assert ("customer", customer["id"]) in found(site, boss, "星辰精密")  # a Chinese substring (index)
    assert found(site, boss, "星辰") == [("customer", customer["id"])]  # two characters: scanned
    assert ("lead", lead["id"]) in found(site, boss, "王")  # one character
    for typed in ("13912345678", "+86 139-1234-5678", "139 1234 5678", "1234 5678"):
        assert found(site, boss, typed) == [("lead", lead["id"])], typed
    assert found(site, boss, "yunfan.example") == [("lead", lead["id"])]  # email
    assert found(site, boss, "YUNFAN") == [("lead", lead["id"])]  # without regard to case
    assert found(site, boss, order["code"]) == [("order", order["id"])]  # code
    assert found(site, boss, "上海 机械") == [("customer", customer["id"])]  # every word, in any order
    assert found(site, boss, "上海 不存在的词") == []
    # each result has a title and a snippet of the field that matched
    [hit] = hits(site, boss, "13912345678")
    assert hit.title == "杭州云帆科技 王小明" and hit.snippet == "139 1234 5678" and hit.field == "phone"
    [hit] = hits(site, boss, "yunfan")
    assert hit.snippet == "xiaoming.wang@yunfan.example" and hit.field == "email"


def test_short_words_alone_look_among_the_newest_records(site, monkeypatch):
    boss = actor(site, "boss")
    made = [site.records.create("customer", {"name": f"海纳{n}号"}, boss)["id"] for n in range(4)]
    assert sorted(found(site, boss, "海纳")) == [("customer", i) for i in made]
    monkeypatch.setattr(search_service, "SHORT_SCAN", 2)
    assert sorted(found(site, boss, "海纳")) == [("customer", i) for i in made[-2:]]
    assert sorted(found(site, boss, "海纳0号")) == [("customer", made[0])]  # a longer word: everything
    assert search_service.only_short_words("海纳") and not search_service.only_short_words("海纳0号")


def test_odd_text_finds_nothing_and_breaks_nothing(site):
    boss = actor(site, "boss")
    site.records.create("customer", {"name": 'Quote "and" 100% _under_'}, boss)
    for text in ('"', "'; DROP TABLE customer; --", "a:b", "{name}", "NEAR(", "*", "%", "_", "   "):
        assert isinstance(found(site, boss, text), list), text
    assert found(site, boss, '"and"') != [] and found(site, boss, "100%") != []
    assert found(site, boss, "%") != [] and found(site, boss, "ab%cd") == []  # % is a character, not a wildcard


def test_the_index_follows_saves_deletes_bulk_changes_and_imports(site):
    boss = actor(site, "boss")
    services = site.records
    first = services.create("customer", {"name": "北京远航物流有限公司", "phone": "010-8888 1234"}, boss)
    second = services.create("customer", {"name": "天津远航港务有限公司"}, boss)
    assert {hit for hit in found(site, boss, "远航")} == {("customer", first["id"]), ("customer", second["id"])}
    services.update("customer", first["id"], {"name": "北京启明物流有限公司", "phone": "13700001111"}, boss)
    assert found(site, boss, "北京远航") == [] and found(site, boss, "启明物流") == [("customer", first["id"])]
    assert found(site, boss, "8888 1234") == [] and found(site, boss, "137 0000 1111") == [("customer", first["id"])]
    services.delete("customer", second["id"], boss)
    assert found(site, boss, "天津远航") == []
    # a bulk change giving many records the same values (one UPDATE for all) keeps phones' digits too
    services.bulk_update("customer", [(first["id"], {"phone": "+86 186 0000 2222"})], boss)
    more = services.bulk_create("customer", [{"name": f"批量客户{i}"} for i in range(3)], boss)
    services.bulk_update("customer", [(r["id"], {"phone": "186 0000 2222", "name": "改名客户"}) for r in more], boss)
    assert sorted(found(site, boss, "18600002222")) == sorted(
        [("customer", first["id"])] + [("customer", r["id"]) for r in more])
    assert len(found(site, boss, "改名客户")) == 3 and found(site, boss, "批量客户") == []
    # an import
    importer = Importer(site, boss, "lead")
    csv_file = read_csv("公司名称,联系人,电话\n宁波海曙电子,赵六,135-0000-9999\n".encode(), "zh")
    report = importer.run(csv_file, ImportOptions(importer.guess_mapping(csv_file.header)))
    assert report.created == 1
    assert [entity for entity, _ in found(site, boss, "13500009999")] == ["lead"]
    assert [entity for entity, _ in found(site, boss, "海曙电子")] == ["lead"]


def test_only_what_the_caller_may_read_is_found(site):
    boss, wang, li, mkt = (actor(site, n) for n in ("boss", "wang", "li", "mkt"))
    services = site.records
    wangs = services.create("customer", {"name": "王的客户：金桥制造", "owner": wang.user_id}, boss)
    lis = services.create("customer", {"name": "李的客户：金桥贸易", "owner": li.user_id}, boss)
    lead = services.create("lead", {"company": "金桥科技", "contact_name": "钱七", "owner": li.user_id}, boss)
    assert set(found(site, boss, "金桥")) == {("customer", wangs["id"]), ("customer", lis["id"]), ("lead", lead["id"])}
    assert found(site, wang, "金桥") == [("customer", wangs["id"])]  # not li's customer, nor li's lead
    assert found(site, wang, "金桥贸易") == [] and found(site, wang, "金桥科技") == []
    # marketing reads customers and leads, but no orders
    order = services.create("order", {"name": "金桥订单", "customer": wangs["id"], "owner": wang.user_id}, boss)
    assert ("order", order["id"]) in found(site, boss, "金桥订单")
    assert found(site, mkt, "金桥订单") == [] and found(site, mkt, order["code"]) == []


def test_a_hidden_field_is_neither_searched_nor_shown(tmp_path, database_url):
    entities = {"account": {"title": "{name}", "owner": "owner", "search": ["name", "code", "phone"], "fields": {
        "name": {"type": "text", "required": True}, "code": {"type": "text"},
        "phone": {"type": "phone", "unique": True}, "owner": {"type": "user"}}}}
    grant = {"read": "all", "create": True, "update": "all", "delete": "none"}
    roles = {"roles": {"admin": {"label": "Admin", "all": True},
                       "rep": {"label": "Rep", "entities": {"account": grant},
                               "fields": {"account.code": "hidden", "account.phone": "hidden"}}}}
    blueprint = load_blueprint(write_blueprint(tmp_path / "bp", entities, None, roles, phone_country_code=86))
    site = Site.open(blueprint, database_url)
    migrate(site.engine, blueprint)
    rep = Actor(user_id=None, name="rep", role="rep", team_id=None, locale="en")
    admin = Actor(user_id=None, name="admin", role="admin", team_id=None, locale="en")
    record = site.records.create("account", {"name": "Acme", "code": "SECRET-42", "phone": "139 1234 5678"})
    assert found(site, admin, "SECRET-42") == [("account", record["id"])]
    assert found(site, admin, "13912345678") == [("account", record["id"])]
    assert found(site, rep, "SECRET-42") == [] and found(site, rep, "13912345678") == []
    [hit] = hits(site, rep, "acme")
    assert "SECRET" not in hit.snippet + hit.title and "139" not in hit.snippet
    # a unique phone is the same number however it is typed
    with pytest.raises(ValidationFailed) as refused:
        site.records.create("account", {"name": "Other", "phone": "+86 13912345678"})
    assert "phone" in refused.value.errors


def test_an_import_keyed_on_a_phone_matches_it_whatever_the_spacing(site):
    boss = actor(site, "boss")
    lead = site.records.create("lead", {"company": "苏州天虹纺织", "contact_name": "孙八", "phone": "139 1234 5678"},
                               boss)
    importer = Importer(site, boss, "lead")
    csv_file = read_csv("公司名称,联系人,电话\n苏州天虹纺织集团,孙八,+86 139-1234-5678\n".encode(), "zh")
    report = importer.run(csv_file, ImportOptions(importer.guess_mapping(csv_file.header), key="phone",
                                                  on_duplicate="update"))
    assert report.created == 0 and report.updated == 1
    assert site.records.get("lead", lead["id"])["company"] == "苏州天虹纺织集团"


def test_migrate_builds_the_index_and_gives_existing_phones_their_digits(site, engine, b2b):
    boss = actor(site, "boss")
    lead = site.records.create("lead", {"company": "厦门鹭岛", "contact_name": "周九", "phone": "0592-555 0101"}, boss)
    table = site.tables["lead"]
    with engine.begin() as connection:  # as a database from before phones had digits
        connection.execute(table.update().values(phone_digits=None))
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql('DROP TABLE "atrium_search_lead"')
    with engine.connect() as connection:
        plan = plan_migration(connection, b2b)
    assert any(step.action == "search_fill" and step.table == "lead" for step in plan.steps)
    migrate(engine, b2b)
    with engine.connect() as connection:
        assert connection.execute(sa.select(table.c.phone_digits)).scalar() == "865925550101"
        assert plan_migration(connection, b2b).changes == ()
    assert found(site, boss, "5925550101") == [("lead", lead["id"])]
    assert found(site, boss, "厦门鹭岛") == [("lead", lead["id"])]
    assert found(site, SYSTEM, "鹭岛") == [("lead", lead["id"])]


def test_a_recomputed_phone_formula_keeps_its_digits(tmp_path, database_url):
    entities = {"account": {"title": "{name}", "search": ["name", "switchboard"], "fields": {
        "name": {"type": "text", "required": True}, "phone": {"type": "phone"},
        "switchboard": {"type": "phone", "formula": "phone"}}}}
    blueprint = load_blueprint(write_blueprint(tmp_path / "bp", entities, None, None, phone_country_code=86))
    site = Site.open(blueprint, database_url)
    migrate(site.engine, blueprint)
    record = site.records.create("account", {"name": "Acme", "phone": "139 1234 5678"})
    assert found(site, SYSTEM, "13912345678") == [("account", record["id"])]
    table = site.tables["account"]
    with site.engine.begin() as connection:  # a value written behind the service's back, then recomputed
        connection.execute(table.update().values(phone="021 5555 0101"))
        [outcome] = Recompute(site.records).run(connection, [(blueprint.entities["account"],
                                                              blueprint.entities["account"].fields["switchboard"])])
    assert outcome.changed == 1
    assert found(site, SYSTEM, "13912345678") == [] and found(site, SYSTEM, "2155550101") == [("account", record["id"])]
