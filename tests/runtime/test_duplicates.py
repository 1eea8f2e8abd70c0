"""Duplicate warnings: names compared normalised, a look-alike refused until the user confirms,
readable look-alikes shown and the others only counted, keys filled by migrate for records typed
before the rule, imports and conversions matching by the same rule; load-time checks."""
from __future__ import annotations

import copy

import pytest
import sqlalchemy as sa
from blueprint_factory import write_blueprint
from pool_kit import ENTITIES, ROLES, clock_at, count, pool_site

from atrium.metadata import BlueprintError, load_blueprint
from atrium.metadata.model import DEFAULT_NAME_SUFFIXES
from atrium.runtime.duplicates.finder import SimilarRecordsFound
from atrium.runtime.duplicates.keys import name_key
from atrium.runtime.io.importer import Importer, ImportOptions, read_csv
from atrium.runtime.pool.conversion import Conversions
from atrium.runtime.schema.migrations import migrate, plan_migration

RULED = copy.deepcopy(ENTITIES)
RULED["account"]["duplicates"] = {"match": [["name"], ["phone"]]}


@pytest.fixture
def world(tmp_path, database_url):
    site, people = pool_site(tmp_path, database_url, clock_at(), automations={}, entities=RULED)
    yield site, people
    site.engine.dispose()


@pytest.mark.parametrize("typed, other", [
    ("沈阳天成建设工程有限公司", "沈阳天成建设工程 有限公司"),
    ("沈阳天成建设工程有限公司", "沈阳天成建设工程股份有限公司"),
    ("ＡＣＭＥ　Trading", "acme trading"),  # full-width letters and space
    ("Acme Trading Co., Ltd.", "ACME-Trading"),
    ("Blue Sky Limited", "blue sky"),
])
def test_names_that_differ_only_in_width_case_spacing_punctuation_or_suffix_are_the_same(typed, other):
    assert name_key(typed, DEFAULT_NAME_SUFFIXES) == name_key(other, DEFAULT_NAME_SUFFIXES)


def test_different_names_stay_different_and_a_latin_suffix_goes_only_as_a_word():
    assert name_key("沈阳天成建设工程有限公司", DEFAULT_NAME_SUFFIXES) != name_key("沈阳天成建材有限公司",
                                                                          DEFAULT_NAME_SUFFIXES)
    assert name_key("Zinc", DEFAULT_NAME_SUFFIXES) == "zinc"
    assert name_key("!!!", DEFAULT_NAME_SUFFIXES) is None


def test_a_look_alike_is_refused_with_the_readable_ones_listed_and_the_others_counted(world):
    site, people = world
    mine = site.records.create("account", {"name": "沈阳天成建设工程有限公司", "owner": people.rep1.user_id})
    site.records.create("account", {"name": "沈阳天成建设工程（有限公司）", "owner": people.rep2.user_id})
    secured = Conversions(site).secured
    with pytest.raises(SimilarRecordsFound) as found:
        secured.create(people.rep1, "account", {"name": "沈阳天成建设工程 有限公司", "owner": people.rep1.user_id},
                       check_duplicates=True)
    similar = found.value.similar
    assert [(c.id, c.title) for c in similar.readable] == [(mine["id"], "沈阳天成建设工程有限公司")]
    assert similar.hidden == 1  # rep2's: counted, never named
    assert found.value.status == 409 and found.value.payload()["duplicates"]["hidden"] == 1
    assert count(site, "account") == 2  # nothing written
    made = secured.create(people.rep1, "account", {"name": "沈阳天成建设工程 有限公司", "owner": people.rep1.user_id})
    assert count(site, "account") == 3 and made["name"] == "沈阳天成建设工程 有限公司"


def test_a_phone_typed_differently_is_the_same_and_an_edit_warns_only_when_a_rule_changes(world):
    site, people = world
    site.records.create("account", {"name": "First", "phone": "+86 139 1234 5678", "owner": people.rep1.user_id})
    secured = Conversions(site).secured
    second = secured.create(people.rep1, "account", {"name": "Second", "owner": people.rep1.user_id},
                            check_duplicates=True)
    secured.update(people.rep1, "account", second["id"], {"locked": True}, check_duplicates=True)
    with pytest.raises(SimilarRecordsFound):
        secured.update(people.rep1, "account", second["id"], {"phone": "+86-139-1234-5678"}, check_duplicates=True)
    assert site.records.get("account", second["id"])["phone"] is None
    with pytest.raises(SimilarRecordsFound):  # its own name again is not a duplicate; the phone still is
        secured.update(people.rep1, "account", second["id"], {"name": "Second", "phone": "+8613912345678"},
                       check_duplicates=True)


def test_a_rule_on_a_field_the_role_hides_finds_nothing(tmp_path, database_url):
    roles = copy.deepcopy(ROLES)
    roles["roles"]["rep"]["fields"] = {"account.phone": "hidden"}
    site, people = pool_site(tmp_path, database_url, clock_at(), automations={}, entities=RULED, roles=roles)
    try:
        site.records.create("account", {"name": "First", "phone": "+86 139 1234 5678", "owner": people.rep1.user_id})
        finder = Conversions(site).finder
        with site.engine.connect() as connection:
            assert not finder.find(connection, people.rep1, "account", {"phone": "+86 13912345678"})
            assert finder.find(connection, people.admin, "account", {"phone": "+86 13912345678"})
    finally:
        site.engine.dispose()


def test_migrate_fills_the_keys_of_records_typed_before_the_rule(tmp_path, database_url):
    site, people = pool_site(tmp_path, database_url, clock_at(), automations={})
    try:
        old = site.records.create("account", {"name": "Blue Sky Co., Ltd.", "owner": people.rep1.user_id})
        folder = tmp_path / "bp"
        write_blueprint(folder, RULED, None, ROLES, timezone="Asia/Shanghai")
        ruled = load_blueprint(folder)
        with site.engine.connect() as connection:
            actions = {(s.action, s.table, s.name) for s in plan_migration(connection, ruled).steps}
        assert {("add_column", "account", "name_key"), ("fill_keys", "account", "name")} <= actions
        migrate(site.engine, ruled)
        table = sa.Table("account", sa.MetaData(), autoload_with=site.engine)
        with site.engine.connect() as connection:
            assert connection.execute(sa.select(table.c.name_key)).scalar_one() == "bluesky"
            assert not plan_migration(connection, ruled).changes  # filled once, nothing left to do
        assert old["id"] == 1
    finally:
        site.engine.dispose()


def test_a_conversion_offers_the_customer_whose_name_differs_only_by_its_suffix(world):
    site, people = world
    account = site.records.create("account", {"name": "Blue Sky", "owner": people.rep1.user_id})
    source = site.records.create("prospect", {"company": "BLUE SKY Co., Ltd.", "person_name": "Ann",
                                              "status": "qualified"}, people.rep1)
    plans = {p.target.name: p for p in Conversions(site).plan(people.rep1, "prospect", source["id"])}
    assert [c.id for c in plans["account"].candidates] == [account["id"]]


def test_load_errors_name_the_place_in_the_file(tmp_path):
    entities = copy.deepcopy(RULED)
    entities["person"]["duplicates"] = {"match": [["name"]], "suffixes": "Ltd"}
    write_blueprint(tmp_path, entities, None, ROLES)
    with pytest.raises(BlueprintError) as error:
        load_blueprint(tmp_path)
    text = str(error.value)
    assert "person.yaml:" in text and "duplicates.suffixes: 'Ltd' is a text; a list is expected here" in text
    entities["person"]["duplicates"] = {"match": [["name"]]}
    entities["account"]["duplicates"] = {"match": [["nmae"], ["locked"], ["name", "last_touch_at"]]}
    write_blueprint(tmp_path, entities, None, ROLES)
    with pytest.raises(BlueprintError) as error:
        load_blueprint(tmp_path)
    lines = str(error.value).splitlines()
    assert any(line.startswith(str(tmp_path / "entities" / "account.yaml") + ":") and
               "duplicates.match[0][0]: 'nmae' is not a field of this entity (did you mean 'name'?)" in line
               for line in lines), lines
    assert any("duplicates.match[1][0]: 'locked' is a boolean field" in line for line in lines)
    assert any("duplicates.match[2][1]: 'last_touch_at' is a datetime field" in line for line in lines)


def test_an_import_keyed_on_the_name_finds_the_record_whose_name_is_spaced_differently(world):
    site, people = world
    mine = site.records.create("account", {"name": "沈阳天成建设工程有限公司", "owner": people.rep1.user_id})
    importer = Importer(site, people.rep1, "account")
    csv_file = read_csv("name,phone\n沈阳天成建设工程 有限公司,139 0000 0000\n新公司,\n".encode(), "en")
    report = importer.run(csv_file, ImportOptions({"name": "name", "phone": "phone"}, key="name",
                                                  on_duplicate="update"))
    assert (report.created, report.updated) == (1, 1)
    assert site.records.get("account", mine["id"])["phone"] == "139 0000 0000"
