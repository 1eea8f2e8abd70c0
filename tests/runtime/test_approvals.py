"""Approvals (`require_approval`): asking, the lock, reserved values, deciding, withdrawing, and the
rules that follow a decision, on a small blueprint (account ← deal ← chore) with a manager, an
admin and three reps; on SQLite and PostgreSQL.
"""
from __future__ import annotations

import copy
import threading
from decimal import Decimal

import automation_kit
import pytest
import sqlalchemy as sa
from automation_kit import Clock, automation_site, inbox, rows

from atrium.runtime.access.secured import SecuredRecords
from atrium.runtime.approvals.service import ApprovalRefused
from atrium.runtime.automation.scheduler import ScheduledRules
from atrium.runtime.records.rules import RECORD_ERRORS
from atrium.runtime.records.service import ValidationFailed

ENTITIES = copy.deepcopy(automation_kit.ENTITIES)
ENTITIES["deal"]["fields"].update({
    "approval": {"type": "select", "options": ["pending", "approved", "rejected"]},
    "approved_by": {"type": "user"},
    "decided_at": {"type": "datetime"},
    "note": {"type": "textarea"},
    "reason": {"type": "textarea", "required_when": "approval == 'rejected'"},
    "reviewer": {"type": "user"},
})
SETS = {"pending": {"approval": "'pending'"},
        "approved": {"approval": "'approved'", "approved_by": "current_user()", "decided_at": "now()"},
        "rejected": {"approval": "'rejected'", "approved_by": "current_user()", "decided_at": "now()"}}


def approval_rule(approver: str = "manager", on="request", lock=True, **extra) -> dict:
    return {"entity": "deal", "on": on, "when": "amount is not None and amount > 1000",
            "do": [{"require_approval": {
                "approver": approver, "lock": lock, **SETS,
                "message": {"en": "Approve {title}?", "zh": "是否批准 {title}？"}, **extra}}]}


@pytest.fixture
def clock():
    return Clock()


def make(tmp_path, database_url, clock, **automations):
    return automation_site(tmp_path, database_url, clock, automations or {"approve": approval_rule()},
                           entities=ENTITIES)


def deal(site, owner, **values):
    return site.records.create("deal", {"title": "Big", "amount": 5000, "owner": owner.user_id, **values}, owner)


def record(site, deal_id):
    return site.records.get("deal", deal_id)


# --- asking ------------------------------------------------------------------------------------

@pytest.mark.parametrize("approver, who", [("manager", "manager"), ("reviewer", "rep2")])
def test_request_asks_the_owners_manager_or_the_user_a_field_names(tmp_path, database_url, clock, approver, who):
    site, people = make(tmp_path, database_url, clock, approve=approval_rule(approver))
    made = deal(site, people.rep1, reviewer=people.rep2.user_id)
    approval = site.approvals.request("approve", "deal", made["id"], people.rep1)
    expected = getattr(people, who)
    assert approval.approvers == (expected.user_id,) and approval.status == "pending"
    assert approval.requested_by == people.rep1.user_id and approval.lock is True
    assert approval.message["en"] == "Approve Big?" and approval.message["zh"] == "是否批准 Big？"
    assert approval.label.text("en") == "approve"
    assert record(site, made["id"])["approval"] == "pending"  # the pending set, written as the requester
    assert inbox(site, expected)[-1] in ("Approve Big?", "是否批准 Big？")
    assert [a.id for a in site.approvals.pending_for(expected.user_id)] == [approval.id]
    assert site.approvals.count_pending_for(expected.user_id) == 1


def test_a_role_approver_asks_everyone_with_the_role(tmp_path, database_url, clock):
    site, people = make(tmp_path, database_url, clock, approve=approval_rule("rep"))
    approval = site.approvals.request("approve", "deal", deal(site, people.manager)["id"], people.manager)
    assert set(approval.approvers) == {people.rep1.user_id, people.rep2.user_id, people.rep3.user_id}


def test_nobody_to_approve_refuses_and_writes_nothing(tmp_path, database_url, clock):
    site, people = make(tmp_path, database_url, clock)
    made = deal(site, people.rep3)  # team west has no manager
    with pytest.raises(ApprovalRefused, match="No one can approve this: the owner has no manager"):
        site.approvals.request("approve", "deal", made["id"], people.rep3)
    assert rows(site, "atrium_approvals") == [] and rows(site, "atrium_approval_approvers", order="approval_id") == []
    assert record(site, made["id"])["approval"] is None and inbox(site, people.manager) == []


def test_a_request_needs_its_conditions_and_only_one_waits_at_a_time(tmp_path, database_url, clock):
    site, people = make(tmp_path, database_url, clock)
    small = deal(site, people.rep1, amount=10)
    assert site.approvals.requestable("deal", small, people.rep1) == []
    with pytest.raises(ApprovalRefused, match="cannot be requested"):
        site.approvals.request("approve", "deal", small["id"], people.rep1)
    big = deal(site, people.rep1)
    assert [r.name for r in site.approvals.requestable("deal", big, people.rep1)] == ["approve"]
    assert site.approvals.requestable("deal", big, people.rep3) == []  # may not change it
    site.approvals.request("approve", "deal", big["id"], people.rep1)
    assert site.approvals.requestable("deal", big, people.rep1) == []
    with pytest.raises(ApprovalRefused, match="already requested and is waiting for manager"):
        site.approvals.request("approve", "deal", big["id"], people.rep1)
    with pytest.raises(ApprovalRefused, match="no approval 'nope'"):
        site.approvals.request("nope", "deal", big["id"], people.rep1)
    assert len(rows(site, "atrium_approvals")) == 1


# --- the lock and reserved values --------------------------------------------------------------

def test_lock_true_holds_the_records_that_are_parts_of_the_locked_one(tmp_path, database_url, clock):
    """A chore lives and dies with its deal (on_delete: cascade): while the deal waits, its chores
    cannot be added, changed, moved away or deleted; a field lock does not reach them; after the
    decision they are free again."""
    site, people = make(tmp_path, database_url, clock)
    held, other = deal(site, people.rep1), deal(site, people.rep1, amount=10)
    chore = site.records.create("chore", {"title": "Call", "deal": held["id"], "owner": people.rep1.user_id},
                                people.rep1)
    approval = site.approvals.request("approve", "deal", held["id"], people.rep1)
    locked = {RECORD_ERRORS: ["Locked while waiting for approval by manager"]}
    attempts = [lambda: site.records.create("chore", {"title": "More", "deal": held["id"]}, people.rep1),
                lambda: site.records.update("chore", chore["id"], {"title": "Changed"}, people.rep1),
                lambda: site.records.update("chore", chore["id"], {"deal": other["id"]}, people.rep1),
                lambda: site.records.bulk_update("chore", [(chore["id"], {"title": "Bulk"})], people.rep1),
                lambda: site.records.delete("chore", chore["id"], people.rep1)]
    for attempt in attempts:
        with pytest.raises(ValidationFailed) as refused:
            attempt()
        assert refused.value.errors == locked
    loose = site.records.create("chore", {"title": "Elsewhere", "deal": other["id"]}, people.rep1)
    assert site.records.get("chore", chore["id"])["title"] == "Call" and loose["deal"] == other["id"]
    site.approvals.decide(approval.id, "approve", people.manager)
    assert site.records.update("chore", chore["id"], {"title": "Changed"}, people.rep1)["title"] == "Changed"


def test_a_field_lock_leaves_the_parts_free(tmp_path, database_url, clock):
    site, people = make(tmp_path, database_url, clock, approve=approval_rule(lock=["amount"]))
    held = deal(site, people.rep1)
    site.approvals.request("approve", "deal", held["id"], people.rep1)
    chore = site.records.create("chore", {"title": "Call", "deal": held["id"]}, people.rep1)
    assert site.records.update("chore", chore["id"], {"title": "Changed"}, people.rep1)["title"] == "Changed"


def test_lock_true_holds_every_change_and_the_delete(tmp_path, database_url, clock):
    site, people = make(tmp_path, database_url, clock)
    made = deal(site, people.rep1)
    site.approvals.request("approve", "deal", made["id"], people.rep1)
    with pytest.raises(ValidationFailed) as refused:
        site.records.update("deal", made["id"], {"title": "Bigger"}, people.rep1)
    assert refused.value.errors == {RECORD_ERRORS: ["Locked while waiting for approval by manager"]}
    with pytest.raises(ValidationFailed) as refused:  # in the actor's language, through every surface
        SecuredRecords(site).update(people.manager, "deal", made["id"], {"amount": 1})
    assert refused.value.errors == {RECORD_ERRORS: ["等待 manager 审批期间不可修改"]}
    with pytest.raises(ValidationFailed, match="Locked while waiting"):
        site.records.delete("deal", made["id"], people.rep1)
    with pytest.raises(ValidationFailed, match="Locked while waiting"):
        site.records.bulk_update("deal", [(made["id"], {"title": "Bulk"})], people.admin)
    assert record(site, made["id"])["title"] == "Big"
    with pytest.raises(ValidationFailed, match="Locked while waiting"):  # its parts are held with it
        site.records.create("chore", {"title": "Call", "deal": made["id"]}, people.rep1)


def test_lock_list_holds_only_those_fields_and_a_delete_withdraws(tmp_path, database_url, clock):
    site, people = make(tmp_path, database_url, clock, approve=approval_rule(lock=["amount"]))
    made = deal(site, people.rep1)
    approval = site.approvals.request("approve", "deal", made["id"], people.rep1)
    assert site.records.update("deal", made["id"], {"title": "Renamed"}, people.rep1)["title"] == "Renamed"
    with pytest.raises(ValidationFailed) as refused:
        site.records.update("deal", made["id"], {"amount": 9000, "title": "Again"}, people.rep1)
    assert refused.value.errors == {"amount": ["Locked while waiting for approval by manager"]}
    site.records.delete("deal", made["id"], people.rep1)
    assert site.approvals.get(approval.id).status == "withdrawn"
    assert site.approvals.pending_for(people.manager.user_id) == []


def test_reserved_values_are_for_the_decision_only(tmp_path, database_url, clock):
    site, people = make(tmp_path, database_url, clock)
    made = deal(site, people.rep1)
    for value in ("approved", "pending", "rejected"):
        with pytest.raises(ValidationFailed) as refused:
            site.records.update("deal", made["id"], {"approval": value, "reason": "r"}, people.rep1)
        assert refused.value.errors == {
            "approval": [f"Only an approval decision sets Approval to {value.capitalize()}"]}
    with pytest.raises(ValidationFailed, match="Only an approval decision"):
        deal(site, people.rep1, approval="approved")
    assert record(site, made["id"])["approval"] is None
    # the system (seed, imports run as the system) is not held, and clearing the value is anyone's
    site.records.update("deal", made["id"], {"approval": "approved"})
    assert site.records.update("deal", made["id"], {"approval": None}, people.rep1)["approval"] is None


# --- deciding ----------------------------------------------------------------------------------

def test_approve_writes_as_the_approver_and_tells_the_requester(tmp_path, database_url, clock):
    site, people = make(tmp_path, database_url, clock)
    made = deal(site, people.rep1)
    approval = site.approvals.request("approve", "deal", made["id"], people.rep1)
    clock.advance(hours=2)
    decided = site.approvals.decide(approval.id, "approve", people.manager, "Fine")
    assert (decided.status, decided.decided_by, decided.comment) == ("approved", people.manager.user_id, "Fine")
    assert decided.decided_at == clock.now
    after = record(site, made["id"])
    assert (after["approval"], after["approved_by"], after["updated_by"]) == \
        ("approved", people.manager.user_id, people.manager.user_id)
    assert after["decided_at"] == clock.now
    changes = {(h["field"], h["changed_by"]) for h in rows(site, "atrium_history", entity="deal")
               if h["action"] == "update"}
    assert ("approval", people.manager.user_id) in changes  # in the record's own history
    assert inbox(site, people.rep1)[-1] == "manager approved: Approve Big? Comment: Fine"
    assert site.records.update("deal", made["id"], {"title": "Free"}, people.rep1)["title"] == "Free"  # unlocked
    assert [a.status for a in site.approvals.of_record("deal", made["id"])] == ["approved"]


def test_reject_puts_the_comment_in_its_field_and_refused_values_change_nothing(tmp_path, database_url, clock):
    site, people = make(tmp_path, database_url, clock, approve=approval_rule(comment="reason"))
    made = deal(site, people.rep2)
    approval = site.approvals.request("approve", "deal", made["id"], people.rep2)
    with pytest.raises(ValidationFailed) as refused:  # a rejection gives its reason, beside `reason`
        site.approvals.decide(approval.id, "reject", people.manager)
    assert refused.value.errors == {"reason": ["驳回须说明原因：请在意见中写明需要修改什么"]}
    assert site.approvals.get(approval.id).status == "pending" and record(site, made["id"])["approval"] == "pending"
    decided = site.approvals.decide(approval.id, "reject", people.manager, "Too cheap")
    after = record(site, made["id"])
    assert (decided.status, after["approval"], after["reason"]) == ("rejected", "rejected", "Too cheap")
    assert inbox(site, people.rep2)[-1] == "manager 已驳回：是否批准 Big？ 意见：Too cheap"


def test_only_an_approver_or_an_admin_decides(tmp_path, database_url, clock):
    site, people = make(tmp_path, database_url, clock)
    first = site.approvals.request("approve", "deal", deal(site, people.rep1)["id"], people.rep1)
    second = site.approvals.request("approve", "deal", deal(site, people.rep1)["id"], people.rep1)
    assert not site.approvals.may_decide(first, people.rep2) and site.approvals.may_decide(first, people.admin)
    with pytest.raises(ApprovalRefused, match="Only manager can decide"):
        site.approvals.decide(first.id, "approve", people.rep1)
    with pytest.raises(ApprovalRefused) as bad:
        site.approvals.decide(first.id, "maybe", people.manager)
    assert bad.value.reason == "bad_decision"
    assert site.approvals.decide(first.id, "approve", people.admin).decided_by == people.admin.user_id
    assert [a.id for a in site.approvals.pending_for(people.admin.user_id)] == [second.id]  # admins see all
    assert site.approvals.pending_for(people.rep1.user_id) == []
    with pytest.raises(ApprovalRefused, match="已被批准"):  # the manager reads Chinese
        site.approvals.decide(first.id, "reject", people.manager)


def test_two_deciders_at_once_one_wins(tmp_path, database_url, clock):
    site, people = make(tmp_path, database_url, clock)
    approval = site.approvals.request("approve", "deal", deal(site, people.rep1)["id"], people.rep1)
    start, outcomes = threading.Barrier(2), []

    def decide(actor, decision):
        start.wait()
        try:
            outcomes.append(site.approvals.decide(approval.id, decision, actor).status)
        except ApprovalRefused as error:
            outcomes.append(error.reason)
        except Exception as error:  # noqa: BLE001 - shown in the assertion
            outcomes.append(repr(error))

    threads = [threading.Thread(target=decide, args=(people.manager, "approve")),
               threading.Thread(target=decide, args=(people.admin, "approve"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["approved", "was_approved"]
    decided = site.approvals.get(approval.id)
    assert decided.decided_by in (people.manager.user_id, people.admin.user_id)
    assert rows(site, "deal")[0]["approved_by"] == decided.decided_by  # the winner's decision, once
    assert len([h for h in rows(site, "atrium_history", entity="deal") if h["field"] == "approved_by"]) == 1


def test_withdraw_frees_the_record_and_writes_nothing(tmp_path, database_url, clock):
    site, people = make(tmp_path, database_url, clock)
    made = deal(site, people.rep1)
    approval = site.approvals.request("approve", "deal", made["id"], people.rep1)
    assert not site.approvals.may_withdraw(approval, people.rep2)
    with pytest.raises(ApprovalRefused, match="只有申请人、记录负责人或管理员"):
        site.approvals.withdraw(approval.id, people.rep2)
    withdrawn = site.approvals.withdraw(approval.id, people.rep1)
    assert (withdrawn.status, withdrawn.decided_by) == ("withdrawn", people.rep1.user_id)
    assert record(site, made["id"])["approval"] == "pending"  # a withdrawal writes nothing
    assert site.records.update("deal", made["id"], {"title": "Free"}, people.rep1)["title"] == "Free"
    with pytest.raises(ApprovalRefused, match="was withdrawn"):
        site.approvals.decide(approval.id, "approve", people.admin)
    assert site.approvals.pending_for(people.manager.user_id) == []


# --- approvals fired by writes, and what follows a decision -------------------------------------

def test_a_write_asks_for_approval_in_its_transaction(tmp_path, database_url, clock):
    site, people = make(tmp_path, database_url, clock, review=approval_rule(on="create"))
    made = deal(site, people.rep1)
    assert made["approval"] == "pending"  # the caller sees the request's own write
    approval, = site.approvals.of_record("deal", made["id"])
    assert approval.approvers == (people.manager.user_id,) and approval.requested_by == people.rep1.user_id
    assert deal(site, people.rep1, amount=5)["approval"] is None  # `when` does not hold
    with pytest.raises(ValidationFailed, match="Automation 'review' failed.*the owner has no manager"):
        deal(site, people.rep3)
    assert len(rows(site, "deal")) == 2 and len(rows(site, "atrium_approvals")) == 1


def test_a_write_that_fails_takes_its_request_with_it(tmp_path, database_url, clock):
    site, people = make(tmp_path, database_url, clock, a_review=approval_rule(on="create"), z_task={
        "entity": "deal", "on": "create",
        "do": [{"create": {"entity": "chore", "values": {"title": "concat(title, '-', title, '-', title, '-', title)",
                                                         "deal": "id"}}}]})
    with pytest.raises(ValidationFailed, match="z task"):
        deal(site, people.rep1, title="A title long enough to fail")
    assert rows(site, "deal") == [] and rows(site, "atrium_approvals") == [] and inbox(site, people.manager) == []


def test_an_update_rule_asks_once_while_pending(tmp_path, database_url, clock):
    site, people = make(tmp_path, database_url, clock, review=approval_rule(on={"change": ["amount"]}, lock=["title"]))
    made = deal(site, people.rep1, amount=10)
    site.records.update("deal", made["id"], {"amount": 2000}, people.rep1)
    site.records.update("deal", made["id"], {"amount": 3000}, people.rep1)
    assert [a.status for a in site.approvals.of_record("deal", made["id"])] == ["pending"]


def test_rules_on_approved_and_rejected_follow_the_decision(tmp_path, database_url, clock):
    site, people = make(tmp_path, database_url, clock, approve=approval_rule(comment="reason"), kickoff={
        "entity": "deal", "on": {"approved": "approve"},
        "do": [{"create": {"entity": "chore", "values": {"title": "concat('Go: ', title)", "deal": "id",
                                                         "owner": "approved_by"}}}]},
        sorry={"entity": "deal", "on": {"rejected": "approve"},
               "do": [{"notify": {"to": "owner", "message": "Rejected: {title} ({approval})"}}]})
    first, second = deal(site, people.rep1), deal(site, people.rep1, title="Other")
    for made in (first, second):
        site.approvals.request("approve", "deal", made["id"], people.rep1)
    ids = [a.id for a in sorted(site.approvals.pending_for(people.manager.user_id), key=lambda a: a.record_id)]
    site.approvals.decide(ids[0], "approve", people.manager)
    chore, = rows(site, "chore")
    assert (chore["title"], chore["owner"], chore["created_by"]) == ("Go: Big", people.manager.user_id,
                                                                    people.manager.user_id)
    site.approvals.decide(ids[1], "reject", people.manager, "No")
    assert inbox(site, people.rep1)[-1] == "Rejected: Other (Rejected)"  # the record as the decision left it
    assert len(rows(site, "chore")) == 1


def test_a_scheduled_rule_skips_the_records_an_approval_holds(tmp_path, database_url, clock):
    site, people = make(tmp_path, database_url, clock, approve=approval_rule(), nightly={
        "entity": "deal", "on": "schedule", "every": "day", "do": [{"set": {"note": "'checked'"}}]},
        tell={"entity": "deal", "on": "schedule", "every": "day",
              "do": [{"notify": {"to": "owner", "message": "Still there: {title}"}}]})
    held, free = deal(site, people.rep1, title="Held"), deal(site, people.rep1, title="Free")
    site.approvals.request("approve", "deal", held["id"], people.rep1)
    results = {r.rule: r for r in ScheduledRules(site).run_due()}
    assert results["nightly"].status == "done" and results["nightly"].error is None
    assert (record(site, held["id"])["note"], record(site, free["id"])["note"]) == (None, "checked")
    assert inbox(site, people.rep1) == ["2 records for you: tell"]  # notify writes nothing: both, in one message
    table = site.tables.system("atrium_notifications")
    with site.engine.connect() as connection:
        link = connection.execute(sa.select(table.c.link).where(table.c.user_id == people.rep1.user_id)).scalar()
    assert link == f"/r/deal?id={held['id']}&id={free['id']}"


def test_amounts_and_messages_fill_from_the_record(tmp_path, database_url, clock):
    site, people = make(tmp_path, database_url, clock, approve=approval_rule(
        message={"en": "Approve {title} for {amount}?", "zh": "批准 {title}（{amount}）？"}))
    approval = site.approvals.request("approve", "deal", deal(site, people.rep1)["id"], people.rep1)
    assert approval.message == {"en": "Approve Big for 5,000.00?", "zh": "批准 Big（5,000.00）？"}
    assert rows(site, "deal")[0]["amount"] == Decimal("5000.00")
