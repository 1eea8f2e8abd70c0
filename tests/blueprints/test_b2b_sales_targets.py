"""b2b_sales sales targets: a rep declares a monthly target, the manager approves it."""
from __future__ import annotations

import datetime as dt

import pytest

from atrium.runtime.records import ValidationFailed


def declare(world, **values):
    return world.create("sales_target", {"metric": "revenue", "amount": 800000, **values}, "rep1")


def test_a_target_belongs_to_the_month_of_the_day_picked(world):
    target = declare(world, period="2026-04-17")
    assert target["month"] == dt.date(2026, 4, 1)
    assert target["owner"] == world.uid("rep1") and target["status"] == "draft"
    moved = world.update("sales_target", target, {"period": "2026-05-31"}, "rep1")
    assert moved["month"] == dt.date(2026, 5, 1)


def test_the_manager_approves_a_submitted_target(world):
    target = declare(world, period="2026-04-01")
    target = world.update("sales_target", target, {"status": "submitted"}, "rep1")
    approved = world.update("sales_target", target,
                            {"status": "approved", "approved_by": world.uid("manager")}, "manager")
    assert approved["status"] == "approved"


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
    target = world.update("sales_target", target,
                          {"status": "approved", "approved_by": world.uid("manager")}, "manager")
    with pytest.raises(ValidationFailed):
        world.update("sales_target", target, {"amount": 2000000}, "rep1")
    resubmitted = world.update("sales_target", target, {"amount": 2000000, "status": "submitted"}, "rep1")
    assert resubmitted["amount"] == 2000000 and resubmitted["status"] == "submitted"
