"""Conversion: one prospect becomes an account, a person and (optionally) a deal in one
transaction; any error leaves nothing behind; duplicates are offered to link; a converted
prospect cannot be converted again; load-time checks of `convert:`."""
from __future__ import annotations

import copy
import threading

import pytest
from blueprint_factory import write_blueprint
from pool_kit import ENTITIES, ROLES, clock_at, count, pool_site

from atrium.metadata import BlueprintError
from atrium.runtime.pool.conversion import Choice, ConversionFailed, ConversionRefused, Conversions, DuplicatesFound
from atrium.runtime.records.service import RecordNotFound


@pytest.fixture
def world(tmp_path, database_url):
    site, people = pool_site(tmp_path, database_url, clock_at(), automations={})
    yield site, people
    site.engine.dispose()


def prospect(site, actor, **values):
    defaults = {"company": "Blue Sky Ltd", "person_name": "Ann Lee", "phone": "+86 21 5555 0101",
                "budget": 5000, "status": "qualified"}
    return site.records.create("prospect", {**defaults, **values}, actor)


def test_a_conversion_makes_every_target_links_them_and_updates_the_source(world):
    site, people = world
    source = prospect(site, people.rep1)
    result = Conversions(site).convert(people.rep1, "prospect", source["id"], {})
    account = site.records.get("account", result.created["account"])
    person = site.records.get("person", result.created["person"])
    deal = site.records.get("deal", result.created["deal"])
    assert (account["name"], account["phone"], account["owner"]) == ("Blue Sky Ltd", "+86 21 5555 0101", None)
    assert (person["name"], person["account"], person["owner"]) == ("Ann Lee", account["id"], people.rep1.user_id)
    assert (deal["title"], deal["account"], float(deal["amount"])) == ("Blue Sky Ltd", account["id"], 5000.0)
    after = site.records.get("prospect", source["id"])
    assert (after["account"], after["person"], after["deal"]) == (account["id"], person["id"], deal["id"])
    assert after["status"] == "converted" and after["converted_at"] == site.now()
    assert result.source["status"] == "converted" and result.linked == {}


def test_the_user_changes_values_and_leaves_out_an_optional_target(world):
    site, people = world
    source = prospect(site, people.rep1)
    result = Conversions(site).convert(people.rep1, "prospect", source["id"], {
        "account": Choice(values={"name": "Blue Sky Group"}), "deal": Choice(include=False)})
    assert site.records.get("account", result.created["account"])["name"] == "Blue Sky Group"
    assert "deal" not in result.created and count(site, "deal") == 0
    assert site.records.get("prospect", source["id"])["deal"] is None


def test_a_required_target_cannot_be_left_out(world):
    site, people = world
    source = prospect(site, people.rep1)
    with pytest.raises(ConversionFailed) as failed:
        Conversions(site).convert(people.rep1, "prospect", source["id"], {"person": Choice(include=False)})
    assert failed.value.by_target == {"person": {"_record": ["This part of the conversion cannot be left out"]}}


def test_field_errors_of_every_target_come_back_together_and_nothing_is_written(world):
    site, people = world
    source = prospect(site, people.rep1)
    with pytest.raises(ConversionFailed) as failed:
        Conversions(site).convert(people.rep1, "prospect", source["id"], {
            "account": Choice(values={"name": ""}), "person": Choice(values={"name": " "}),
            "deal": Choice(values={"amount": -5})})
    assert failed.value.errors == {"account.name": ["This field is required"],
                                   "person.name": ["This field is required"],
                                   "deal.amount": ["Must be at least 0"]}
    assert (count(site, "account"), count(site, "person"), count(site, "deal")) == (0, 0, 0)


def test_a_late_failure_rolls_back_the_records_already_made_and_leaves_the_source_unchanged(world):
    site, people = world
    other = site.records.create("account", {"name": "Elsewhere", "owner": people.rep1.user_id})
    site.records.create("deal", {"title": "Blue Sky Ltd", "account": other["id"], "owner": people.rep1.user_id})
    source = prospect(site, people.rep1)
    with pytest.raises(ConversionFailed) as failed:  # the deal title is taken: found at the insert
        Conversions(site).convert(people.rep1, "prospect", source["id"], {})
    assert failed.value.errors == {"deal.title": ["Another record already has this value"]}
    assert (count(site, "account"), count(site, "person"), count(site, "deal")) == (1, 0, 1)
    assert site.records.get("prospect", source["id"]) == source


def test_existing_look_alikes_are_offered_and_can_be_linked_instead(world):
    site, people = world
    existing = site.records.create("account", {"name": "BLUE SKY LTD", "owner": people.rep1.user_id})
    source = prospect(site, people.rep1, phone="+86 10 0000 0000")
    conversions = Conversions(site)
    plans = {plan.target.name: plan for plan in conversions.plan(people.rep1, "prospect", source["id"])}
    assert [(c.id, c.title) for c in plans["account"].candidates] == [(existing["id"], "BLUE SKY LTD")]
    with pytest.raises(DuplicatesFound) as found:
        conversions.convert(people.rep1, "prospect", source["id"], {})
    assert [p.target.name for p in found.value.plans] == ["account"]
    assert count(site, "person") == 0
    result = conversions.convert(people.rep1, "prospect", source["id"], {"account": Choice(use=existing["id"])})
    assert result.linked == {"account": existing["id"]} and "account" not in result.created
    assert site.records.get("person", result.created["person"])["account"] == existing["id"]
    assert count(site, "account") == 1


def test_a_matching_phone_is_a_duplicate_too_and_a_new_record_can_be_confirmed(world):
    site, people = world
    site.records.create("account", {"name": "Other name", "phone": "+86 21 5555 0101", "owner": people.rep1.user_id})
    source = prospect(site, people.rep1)
    with pytest.raises(DuplicatesFound):
        Conversions(site).convert(people.rep1, "prospect", source["id"], {})
    result = Conversions(site).convert(people.rep1, "prospect", source["id"],
                                       {"account": Choice(allow_duplicate=True)})
    assert count(site, "account") == 2 and result.created["account"]


def test_look_alikes_the_user_cannot_read_are_neither_shown_counted_nor_linkable(world):
    site, people = world
    theirs = site.records.create("account", {"name": "Blue Sky Ltd", "owner": people.rep2.user_id})
    source = prospect(site, people.rep1)
    plans = {p.target.name: p for p in Conversions(site).plan(people.rep1, "prospect", source["id"])}
    assert plans["account"].candidates == [] and not hasattr(plans["account"], "hidden")
    with pytest.raises(ConversionFailed) as failed:
        Conversions(site).convert(people.rep1, "prospect", source["id"], {"account": Choice(use=theirs["id"])})
    assert failed.value.errors == {"account._record": ["Pick one of the records offered, or create a new one"]}
    result = Conversions(site).convert(people.rep1, "prospect", source["id"], {})  # nothing to ask about
    assert result.created["account"] != theirs["id"] and count(site, "account") == 2
    mine = site.records.create("account", {"name": "BLUE SKY LTD", "owner": people.rep1.user_id})
    again = prospect(site, people.rep1, phone="+86 10 0000 0000")
    plans = {p.target.name: p for p in Conversions(site).plan(people.rep1, "prospect", again["id"])}
    assert [c.id for c in plans["account"].candidates] == [result.created["account"], mine["id"]]


def test_a_match_field_the_user_may_not_see_finds_no_look_alikes(tmp_path, database_url):
    roles = copy.deepcopy(ROLES)
    roles["roles"]["rep"]["fields"] = {"account.phone": "hidden"}
    site, people = pool_site(tmp_path, database_url, clock_at(), automations={}, roles=roles)
    try:
        site.records.create("account", {"name": "Other name", "phone": "+86 21 5555 0101",
                                        "owner": people.rep1.user_id})
        source = prospect(site, people.rep1)
        plans = {p.target.name: p for p in Conversions(site).plan(people.rep1, "prospect", source["id"])}
        assert plans["account"].candidates == []  # the phone would tell what the hidden field holds
        boss = {p.target.name: p for p in Conversions(site).plan(people.admin, "prospect", source["id"])}
        assert [c.title for c in boss["account"].candidates] == ["Other name"]
    finally:
        site.engine.dispose()


def test_a_converted_record_cannot_be_converted_again_nor_one_the_rule_does_not_allow(world):
    site, people = world
    source = prospect(site, people.rep1)
    conversions = Conversions(site)
    conversions.convert(people.rep1, "prospect", source["id"], {})
    with pytest.raises(ConversionRefused) as refused:
        conversions.convert(people.rep1, "prospect", source["id"], {})
    assert refused.value.reason == "converted" and str(refused.value) == "This record has already been converted"
    early = prospect(site, people.rep1, status="new", company="Early", phone=None)
    with pytest.raises(ConversionRefused) as refused:
        conversions.convert(people.rep1, "prospect", early["id"], {})
    assert refused.value.reason == "not_now"
    with site.engine.connect() as connection:
        assert not conversions.offered(connection, people.rep1, "prospect", site.records.get("prospect", early["id"]))
        fresh = prospect(site, people.rep1, company="Fresh", phone=None)
        assert conversions.offered(connection, people.rep1, "prospect", fresh)
        assert not conversions.offered(connection, people.rep1, "prospect",
                                       site.records.get("prospect", source["id"]))


def test_two_conversions_of_one_record_at_once_make_one_set_of_records(world):
    site, people = world
    source = prospect(site, people.rep1)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def convert():
        conversions = Conversions(site)
        barrier.wait()
        try:
            conversions.convert(people.rep1, "prospect", source["id"], {"account": Choice(allow_duplicate=True)})
            outcomes.append("done")
        except ConversionRefused as refused:
            outcomes.append(refused.reason)
        except DuplicatesFound:
            outcomes.append("duplicates")

    threads = [threading.Thread(target=convert) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcomes) == ["converted", "done"]
    assert (count(site, "account"), count(site, "person"), count(site, "deal")) == (1, 1, 1)


def test_access_the_source_must_be_changeable_and_readable(world):
    site, people = world
    source = prospect(site, people.rep1)
    with pytest.raises(RecordNotFound):
        Conversions(site).convert(people.rep2, "prospect", source["id"], {})
    with pytest.raises(RecordNotFound):
        Conversions(site).convert(people.rep1, "account", 1, {})  # no convert: on accounts
    manager = Conversions(site).convert(people.manager, "prospect", source["id"], {})
    assert manager.created["person"]


def test_load_checks_name_the_place_of_each_mistake(tmp_path):
    entities = copy.deepcopy(ENTITIES)
    convert = entities["prospect"]["convert"]
    convert["targets"][0]["link"] = "person"  # points to person, not account
    convert["targets"][1]["parent"] = {"account": "deal"}  # not an earlier target
    convert["targets"][2]["map"]["nope"] = "company"
    convert["targets"][2]["match"] = ["title", "missing"]
    convert["set"]["status"] = "unknown_name"
    write_blueprint(tmp_path, entities, None, ROLES)
    with pytest.raises(BlueprintError) as error:
        from atrium.metadata import load_blueprint
        load_blueprint(tmp_path)
    text = str(error.value)
    assert "convert.targets[0].link: 'person' must name a reference field of prospect that points to account" in text
    assert "convert.targets[1].parent.account: 'deal' is not a target listed before this one" in text
    assert "convert.targets[2].map.nope: 'nope' is not a field of deal" in text
    assert "convert.targets[2].match[1]: 'missing' is not a field of deal" in text
    assert "convert.set.status: expression 'unknown_name' uses unknown name 'unknown_name'" in text
