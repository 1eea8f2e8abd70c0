"""Event automations: rules that run inside the transaction of the change that fires them.

Each test writes its own rules into a small blueprint (account ← deal ← chore) and checks what a
person would see: the record as saved, the records created, the inbox, the log; on SQLite and
PostgreSQL.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from automation_kit import Clock, automation_site, inbox, rows

from atrium.runtime.access.secured import SecuredRecords
from atrium.runtime.automation.log import AutomationLog
from atrium.runtime.records.service import ValidationFailed


@pytest.fixture
def clock():
    return Clock()


def make(tmp_path, database_url, clock, **automations):
    return automation_site(tmp_path, database_url, clock, automations)


def test_create_rule_sets_fields_from_expressions(tmp_path, database_url, clock):
    site, people = make(tmp_path, database_url, clock, stamp={
        "entity": "account", "on": "create",
        "do": [{"set": {"note": "concat('new: ', name)", "score": "len(name) * 10"}}]})
    created = site.records.create("account", {"name": "Acme"}, people.rep1)
    assert created["note"] == "new: Acme" and created["score"] == 40  # the caller sees the result
    assert rows(site, "account")[0]["note"] == "new: Acme"
    history = [(h["field"], h["new_value"]) for h in rows(site, "atrium_history", entity="account")]
    assert ("note", "new: Acme") in history  # the rule's change is in the record's history


def test_change_trigger_fires_only_when_a_listed_field_changes(tmp_path, database_url, clock):
    site, people = make(tmp_path, database_url, clock, tell={
        "entity": "account", "on": {"change": ["owner"]},
        "do": [{"notify": {"to": ["owner", "previous_owner"],
                           "message": {"en": "{name} changed hands", "zh": "{name} 已转交"}}}]})
    account = site.records.create("account", {"name": "Acme", "owner": people.rep1.user_id})
    site.records.update("account", account["id"], {"score": 3})
    assert inbox(site, people.rep1) == []
    site.records.update("account", account["id"], {"owner": people.rep2.user_id})
    assert inbox(site, people.rep1) == ["Acme changed hands"]
    assert inbox(site, people.rep2) == ["Acme 已转交"]  # in the reader's language


def test_stage_enter_and_leave(tmp_path, database_url, clock):
    site, people = make(tmp_path, database_url, clock,
                        kickoff={"entity": "deal", "on": {"stage": {"enter": "won"}},
                                 "do": [{"create": {"entity": "chore", "values": {
                                     "title": "concat('Kick-off: ', title)", "deal": "id", "owner": "owner",
                                     "due": "today() + days(3)"}}}]},
                        left={"entity": "deal", "on": {"stage": {"leave": "proposal"}},
                              "do": [{"notify": {"to": "manager", "message": "Left proposal: {title}"}}]})
    deal = site.records.create("deal", {"title": "Big", "owner": people.rep1.user_id, "stage": "proposal"},
                               people.rep1)
    assert rows(site, "chore") == [] and inbox(site, people.manager) == []
    site.records.update("deal", deal["id"], {"stage": "won"}, people.rep1)
    chore, = rows(site, "chore")
    # today() is the blueprint's date: 17:00 in Shanghai on 10 March
    assert (chore["title"], chore["deal"], chore["owner"], chore["due"]) == \
        ("Kick-off: Big", deal["id"], people.rep1.user_id, dt.date(2026, 3, 13))
    assert chore["created_by"] == people.rep1.user_id  # attributed to whoever fired the rule
    assert inbox(site, people.manager) == ["Left proposal: Big"]
    site.records.update("deal", deal["id"], {"title": "Bigger"})  # still won: nothing enters it again
    assert len(rows(site, "chore")) == 1


def test_a_record_created_in_a_stage_enters_it(tmp_path, database_url, clock):
    site, people = make(tmp_path, database_url, clock, kickoff={
        "entity": "deal", "on": {"stage": {"enter": "won"}},
        "do": [{"create": {"entity": "chore", "values": {"title": "'Kick-off'", "deal": "id"}}}]})
    site.records.create("deal", {"title": "Instant", "stage": "won"})
    site.records.create("deal", {"title": "Slow"})
    assert [c["title"] for c in rows(site, "chore")] == ["Kick-off"]


def test_where_uses_the_condition_language_including_paths(tmp_path, database_url, clock):
    site, people = make(tmp_path, database_url, clock, gold={
        "entity": "deal", "on": "create", "where": {"account.tier": "gold", "amount": {"gte": 1000}},
        "do": [{"notify": {"to": "owner", "message": "Gold deal {title}"}}]})
    gold = site.records.create("account", {"name": "G", "tier": "gold"})
    plain = site.records.create("account", {"name": "P"})
    for title, account, amount in (("a", gold, 5000), ("b", plain, 5000), ("c", gold, 10), ("d", gold, None)):
        site.records.create("deal", {"title": title, "account": account["id"], "amount": amount}, people.rep1)
    assert inbox(site, people.rep1) == ["Gold deal a"]


def test_when_expression_and_delete_trigger(tmp_path, database_url, clock):
    site, people = make(tmp_path, database_url, clock, gone={
        "entity": "account", "on": "delete", "when": "score is not None and score > 5",
        "do": [{"notify": {"to": ["admin"], "message": "Deleted {name}"}}]})
    keep = site.records.create("account", {"name": "Low", "score": 1})
    big = site.records.create("account", {"name": "High", "score": 9})
    site.records.delete("account", keep["id"])
    site.records.delete("account", big["id"])
    assert inbox(site, people.admin) == ["Deleted High"]
    notification, = rows(site, "atrium_notifications")
    assert notification["record_id"] is None  # no link to a record that is gone


def test_assign_round_robin_takes_turns_across_writes(tmp_path, database_url, clock):
    site, people = make(tmp_path, database_url, clock, deal_out={
        "entity": "account", "on": "create", "where": {"owner": {"is_set": False}},
        "do": [{"assign": {"strategy": "round_robin", "role": "rep"}}]})
    owners = [site.records.create("account", {"name": f"A{i}"})["owner"] for i in range(5)]
    reps = [people.rep1.user_id, people.rep2.user_id, people.rep3.user_id]
    assert owners == reps + reps[:2]
    mine = site.records.create("account", {"name": "Mine", "owner": people.manager.user_id})
    assert mine["owner"] == people.manager.user_id  # `where` leaves owned records alone


def test_assign_by_field_through_a_map_and_least_loaded(tmp_path, database_url, clock):
    site, people = make(tmp_path, database_url, clock, by_region={
        "entity": "account", "on": "create",
        "do": [{"assign": {"strategy": "least_loaded", "by_field": "region",
                           "map": {"east": "east", "west": ["rep3"]}}}]})
    site.records.create("account", {"name": "Held", "owner": people.rep1.user_id})  # rep1 owns one
    east = [site.records.create("account", {"name": f"E{i}", "region": "east"})["owner"] for i in range(3)]
    # the east team is manager, rep1 and rep2: the least loaded first, ties to the lower id
    assert east == [people.manager.user_id, people.rep2.user_id, people.manager.user_id]
    assert site.records.create("account", {"name": "W", "region": "west"})["owner"] == people.rep3.user_id
    assert site.records.create("account", {"name": "N", "region": "north"})["owner"] is None


def test_notify_roles_manager_creator_and_placeholders(tmp_path, database_url, clock):
    site, people = make(tmp_path, database_url, clock, hello={
        "entity": "deal", "on": "create",
        "do": [{"notify": {"to": ["manager", "creator", "admin", "owner"],
                           "message": {"en": "Deal {title} for {amount} {unknown}", "zh": "新商机 {title}"},
                           "link": True}}]})
    deal = site.records.create("deal", {"title": "T", "amount": "12.5", "owner": people.rep1.user_id},
                               people.rep2)
    assert inbox(site, people.manager) == ["新商机 T"]
    assert inbox(site, people.rep2) == ["新商机 T"]  # the creator
    assert inbox(site, people.admin) == ["Deal T for 12.50 {unknown}"]
    assert inbox(site, people.rep1) == ["Deal T for 12.50 {unknown}"]
    note = rows(site, "atrium_notifications")[0]
    assert (note["entity"], note["record_id"], note["rule"]) == ("deal", deal["id"], "hello")


def test_a_failing_action_rolls_the_change_back_and_is_logged(tmp_path, database_url, clock):
    site, people = make(tmp_path, database_url, clock, bad_chore={
        "entity": "deal", "on": {"stage": {"enter": "qualified"}},
        "do": [{"notify": {"to": "owner", "message": "qualified"}},
               {"create": {"entity": "chore", "values": {"title": "concat('Call about ', title)"}}}]})
    deal = site.records.create("deal", {"title": "A very long deal title, longer than forty",
                                        "owner": people.rep1.user_id})
    with pytest.raises(ValidationFailed) as failure:
        SecuredRecords(site).update(people.rep1, "deal", deal["id"], {"stage": "qualified"})
    text = " ".join(failure.value.errors["_record"])
    assert "bad chore" in text and "title" in text and "40" in text  # the rule and the reason
    assert rows(site, "deal")[0]["stage"] == "new"  # the change is not saved
    assert rows(site, "chore") == [] and inbox(site, people.rep1) == []  # nor anything the rule did
    with site.engine.connect() as connection:
        entry, = AutomationLog(site.tables).recent(connection, rule="bad_chore")
    assert (entry["status"], entry["trigger"], entry["record_id"]) == ("failed", "update", deal["id"])
    assert "title" in entry["detail"]


def test_failure_through_the_service_transaction_is_logged_too(tmp_path, database_url, clock):
    site, people = make(tmp_path, database_url, clock, broken={
        "entity": "account", "on": "create", "do": [{"set": {"score": "int(name)"}}]})
    with pytest.raises(ValidationFailed):
        site.records.create("account", {"name": "not a number"})
    assert rows(site, "account") == []
    assert [e["rule"] for e in rows(site, "atrium_automation_log")] == ["broken"]


def test_a_rule_never_fires_on_its_own_writes(tmp_path, database_url, clock):
    site, people = make(tmp_path, database_url, clock, counter={
        "entity": "account", "on": "update", "do": [{"set": {"score": "(score or 0) + 1"}}]})
    account = site.records.create("account", {"name": "A"})
    updated = site.records.update("account", account["id"], {"note": "x"})
    assert updated["score"] == 1 and updated["version"] == 3


def test_rules_firing_each_other_stop_at_the_depth_limit(tmp_path, database_url, clock):
    # a chain of rules on different records: each touch creates a chore on the next deal level
    chain = {f"r{i}": {"entity": "account", "on": "update", "do": [{"set": {"note": f"'r{i}'"}}]}
             for i in range(10)}
    site, people = make(tmp_path, database_url, clock, **chain)
    account = site.records.create("account", {"name": "A"})
    with pytest.raises(ValidationFailed) as failure:
        site.records.update("account", account["id"], {"score": 1})
    assert "levels deep" in " ".join(failure.value.errors["_record"])
    assert rows(site, "account")[0]["score"] is None


def test_webhook_is_queued_with_the_change_and_only_with_it(tmp_path, database_url, clock):
    site, people = make(tmp_path, database_url, clock,
                        hook={"entity": "deal", "on": {"stage": {"enter": "won"}},
                              "do": [{"webhook": {"url": "http://127.0.0.1:9/won", "secret": "DEAL_SECRET",
                                                  "payload": {"title": "title", "amount": "amount"}}}]},
                        veto={"entity": "deal", "on": {"stage": {"enter": "won"}}, "where": {"amount": {"gt": 100}},
                              "do": [{"set": {"lost_reason": "'nope'"}}]})
    small = site.records.create("deal", {"title": "Small", "amount": 50})
    large = site.records.create("deal", {"title": "Large", "amount": 500})
    site.records.update("deal", small["id"], {"stage": "won"})
    with pytest.raises(ValidationFailed):  # the second rule fails: no webhook either
        site.records.update("deal", large["id"], {"stage": "won"})
    queued, = rows(site, "atrium_outbox")
    assert (queued["url"], queued["status"], queued["secret_env"]) == ("http://127.0.0.1:9/won", "pending",
                                                                      "DEAL_SECRET")
    import json
    body = json.loads(queued["body"])
    assert body["data"] == {"title": "Small", "amount": "50.00"} and body["event"] == "update"
    assert body["record_id"] == small["id"] and body["rule"] == "hook"


def test_bulk_writes_fire_rules_per_record(tmp_path, database_url, clock):
    site, people = make(tmp_path, database_url, clock, stamp={
        "entity": "account", "on": "create", "where": {"region": "east"},
        "do": [{"set": {"tier": "'gold'"}}]})
    created = site.records.bulk_create("account", [{"name": f"A{i}", "region": ["east", "west"][i % 2]}
                                                   for i in range(6)])
    assert [a["tier"] for a in created] == ["gold", "bronze"] * 3
    changed = site.records.bulk_update("account", [(a["id"], {"score": 5}) for a in created])
    assert len(changed) == 6 and all(after["score"] == 5 for _, after in changed)


def test_money_and_decimals_survive_set(tmp_path, database_url, clock):
    site, people = make(tmp_path, database_url, clock, double={
        "entity": "deal", "on": "create", "do": [{"set": {"amount": "amount * 2"}}]})
    deal = site.records.create("deal", {"title": "x", "amount": "10.25"})
    assert deal["amount"] == Decimal("20.50")
