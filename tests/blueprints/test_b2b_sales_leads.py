"""b2b_sales leads: the grade follows the source, how complete the lead is and what it has done."""
from __future__ import annotations

import pytest

from atrium.runtime.records.service import ValidationFailed


def lead(world, **values):
    return world.create("lead", {"company": "恒通电子有限公司", "contact_name": "张伟", **values}, "rep1")


def test_a_bare_cold_call_is_a_d_lead(world):
    record = lead(world, source="cold_call")
    assert record["source_score"] == 5 and record["completeness"] == 10 and record["action_score"] == 0
    assert record["score"] == 8 and record["grade"] == "d"


def test_a_referral_that_asked_for_a_quote_and_reached_the_boss_is_an_a_lead(world):
    record = lead(world, source="referral", phone="13800138000", email="zhang@hengtong.cn",
                  contact_title="总经理", region="east", industry="manufacturing", channel="direct",
                  budget=500000, need="产线改造", expected_purchase="2026-06-30",
                  requested_quote=True, requested_demo=True, reached_decision_maker=True,
                  attended_event=True)
    assert record["completeness"] == 100 and record["action_score"] == 40
    assert record["score"] == 100 and record["grade"] == "a"


@pytest.mark.parametrize("facts, grade", [
    ({"source": "website"}, "d"),                                                 # 20 + 3
    ({"source": "website", "requested_quote": True}, "c"),                        # 20 + 3 + 15
    ({"source": "partner", "requested_quote": True, "requested_demo": True}, "b"),     # 25 + 3 + 25
])
def test_the_grade_rises_with_key_actions(world, facts, grade):
    assert lead(world, **facts)["grade"] == grade


def test_the_grade_follows_later_changes(world):
    record = lead(world, source="website")
    assert record["grade"] == "d"
    record = world.update("lead", record, {"requested_quote": True, "requested_demo": True,
                                           "reached_decision_maker": True}, "rep1")
    assert record["score"] == 58 and record["grade"] == "b"


def test_a_grade_cannot_be_set_by_hand(world):
    with pytest.raises(ValidationFailed) as failure:
        lead(world, grade="a")
    assert "grade" in failure.value.errors


def test_a_converted_lead_names_its_customer_and_when(world):
    record = lead(world, phone="13800138000", region="east")
    for status in ("contacted", "qualified"):
        record = world.update("lead", record, {"status": status}, "rep1")
    with pytest.raises(ValidationFailed) as failure:
        world.update("lead", record, {"status": "converted"}, "rep1")
    assert {"customer", "converted_at"} <= set(failure.value.errors)
    customer = world.create("customer", {"name": "恒通电子有限公司"}, "rep1")
    converted = world.update("lead", record, {"status": "converted", "customer": customer["id"],
                                              "converted_at": "2026-03-16 10:30"}, "rep1")
    assert converted["status"] == "converted"
