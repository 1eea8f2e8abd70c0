"""b2b_sales sales targets: a rep declares a monthly target and submits it; the manager approves it
(automations/approve_sales_target.yaml)."""
from __future__ import annotations

import datetime as dt

import pytest

from atrium.runtime.approvals.service import ApprovalRefused
from atrium.runtime.records.service import ValidationFailed


def declare(world, **values):
    return world.create("sales_target", {"metric": "revenue", "amount": 800000, **values}, "rep1")


def test_a_target_belongs_to_the_month_of_the_day_picked(world):
    target = declare(world, period="2026-04-17")
    assert target["month"] == dt.date(2026, 4, 1)
    assert target["owner"] == world.uid("rep1") and target["status"] == "draft"
    moved = world.update("sales_target", target, {"period": "2026-05-31"}, "rep1")
    assert moved["month"] == dt.date(2026, 5, 1)


def submit(world, target, as_user="rep1"):
    return world.service.approvals.request("approve_sales_target", "sales_target", target["id"],
                                           world.actor(as_user))


def test_the_manager_approves_a_submitted_target(world):
    target = declare(world, period="2026-04-01")
    with pytest.raises(ValidationFailed):  # submitting is asking for the approval, not an edit
        world.update("sales_target", target, {"status": "submitted"}, "rep1")
    asked = submit(world, target)
    assert asked.approvers == (world.uid("manager"),) and world.get("sales_target", target)["status"] == "submitted"
    with pytest.raises(ValidationFailed, match="Locked while waiting for approval"):
        world.update("sales_target", target, {"amount": 1}, "rep1")
    world.service.approvals.decide(asked.id, "approve", world.actor("manager"))
    approved = world.get("sales_target", target)
    assert approved["status"] == "approved" and approved["approved_by"] == world.uid("manager")


def test_an_approval_names_its_approver(world):
    target = declare(world, period="2026-04-01")
    with pytest.raises(ValidationFailed) as failure:
        world.update("sales_target", target, {"status": "approved"}, "manager")
    assert "approved_by" in failure.value.errors


def test_a_rep_cannot_approve_their_own_target(world):
    target = declare(world, period="2026-04-01")
    with pytest.raises(ValidationFailed):
        world.update("sales_target", target, {"status": "approved", "approved_by": world.uid("rep1")},
                     "manager")
    with pytest.raises(ValidationFailed):  # not even naming the manager
        world.update("sales_target", target, {"status": "approved", "approved_by": world.uid("manager")},
                     "rep1")


def test_a_decided_target_changes_only_by_sending_it_back(world):
    target = declare(world, period="2026-04-01")
    world.service.approvals.decide(submit(world, target).id, "approve", world.actor("manager"))
    target = world.get("sales_target", target)
    with pytest.raises(ValidationFailed):
        world.update("sales_target", target, {"amount": 2000000}, "rep1")
    with pytest.raises(ApprovalRefused):  # an approved target is not submitted again as it is
        submit(world, target)
    draft = world.update("sales_target", target, {"amount": 2000000, "status": "draft"}, "rep1")
    assert draft["amount"] == 2000000 and draft["status"] == "draft"
    submit(world, draft)
    assert world.get("sales_target", draft)["status"] == "submitted"


def test_a_rejected_target_is_submitted_again(world):
    target = declare(world, period="2026-04-01")
    world.service.approvals.decide(submit(world, target).id, "reject", world.actor("manager"), "Too low")
    assert world.get("sales_target", target)["status"] == "rejected"
    submit(world, target)
    assert world.get("sales_target", target)["status"] == "submitted"
