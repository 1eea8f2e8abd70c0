"""Automation documents are cross-checked when the blueprint loads, each problem at its line."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from atrium.metadata import BlueprintError

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "runtime"))
from automation_kit import blueprint_with  # noqa: E402


def problems(tmp_path, rule: dict) -> str:
    with pytest.raises(BlueprintError) as failure:
        blueprint_with(tmp_path, {"rule": rule})
    return str(failure.value)


ON_CREATE = {"entity": "account", "on": "create"}


APPROVE = {"entity": "deal", "on": "request"}


def approval(**body) -> dict:
    return {**APPROVE, "do": [{"require_approval": {"approver": "manager", **body}}]}


@pytest.mark.parametrize("rule, message", [
    (approval(approver="boss"), "'boss' is not manager, a role or a user field of deal (choose from manager, admin,"),
    (approval(approved={"stauts": "'approved'"}), "'stauts' is not a field of deal"),
    (approval(rejected={"title": "'x' + nme"}), "unknown name 'nme'"),
    (approval(lock=["amont"]), "'amont' is not a field of deal"),
    (approval(lock=["probability"]), "'probability' is computed by the engine"),
    (approval(pending={"probability": "1"}), "'probability' is computed and cannot be set"),
    (approval(comment="amount"), "'amount' is a money field; the comment goes into a text or textarea field"),
    (approval(comment="remark"), "'remark' is not a field of deal"),
    (approval(when="amont > 1"), "unknown name 'amont'"),
    (approval(comment={"rejected": "amount"}), "'amount' is a money field; the comment goes into a text"),
    (approval(voided_by=["amont"]), "'amont' is not a field of deal or an entity that points to it "
                                   "(did you mean 'amount'?)"),
    (approval(voided_by=["probability"]), "'probability' is computed: name what it is computed from"),
    (approval(voided_by=["chore.owner"]), "'owner' is not a reference field of chore to deal"),
    (approval(voided_by=["deal"]), "deal has 0 reference fields to deal: name one"),
    (approval(show=["titel"]), "'titel' is not a field of deal (did you mean 'title'?)"),
    ({**APPROVE, "do": [{"require_approval": {"approver": "manager"}}, {"set": {"title": "'x'"}}]},
     "an approval rule does one thing"),
    ({"entity": "deal", "on": "schedule", "every": "day", "do": [{"require_approval": {"approver": "manager"}}]},
     "not on a schedule"),
    ({**APPROVE, "do": [{"set": {"title": "'x'"}}]}, "on: request is for approval rules"),
    ({"entity": "deal", "on": {"approved": "nothing"}, "do": [{"set": {"title": "'x'"}}]},
     "'nothing' is not an approval rule"),
])
def test_approval_problems_are_reported_at_their_line(tmp_path, rule, message):
    text = problems(tmp_path, rule)
    assert "automations/rule.yaml:" in text and message in text


def test_what_voids_an_approval_and_what_its_cards_show_load(tmp_path):
    blueprint_with(tmp_path, {"rule": approval(voided_by=["amount", "chore", "chore.deal"], show=["title", "amount"],
                                               comment={"rejected": "title"}, voided={"lost_reason": "None"})})


def test_a_decision_trigger_names_an_approval_rule_of_its_entity(tmp_path):
    with pytest.raises(BlueprintError) as failure:
        blueprint_with(tmp_path, {
            "approve": approval(lock=["amount"], pending={"lost_reason": "'price'"}),
            "follow": {"entity": "account", "on": {"approved": "approve"}, "do": [{"set": {"note": "'ok'"}}]},
            "other": {"entity": "deal", "on": {"rejected": "follow"}, "do": [{"set": {"title": "'x'"}}]}})
    text = str(failure.value)
    assert "automations/follow.yaml:7:13: on.approved:" in text
    assert "approval rule 'approve' is about deal, this rule about account" in text
    assert "automations/other.yaml:" in text and "'follow' is not an approval rule" in text


def test_approval_rules_load(tmp_path):
    blueprint = blueprint_with(tmp_path, {
        "approve": approval(approver="rep", lock=["amount", "title"], comment="title",
                            pending={"lost_reason": "'price'"}, approved={"owner": "current_user()"},
                            message={"en": "Approve {title}?", "zh": "批准 {title}？"}, when="amount > 10"),
        "after": {"entity": "deal", "on": {"approved": "approve"}, "do": [{"set": {"title": "'ok'"}}]},
        "on_write": {"entity": "deal", "on": {"stage": {"enter": "proposal"}},
                     "do": [{"require_approval": {"approver": "owner", "lock": True}}]}})
    assert set(blueprint.automations) == {"approve", "after", "on_write"}
    assert "do.0.require_approval.when" in blueprint.automations["approve"].expressions


@pytest.mark.parametrize("rule, message", [
    ({**ON_CREATE, "every": "day", "do": [{"set": {"score": 1}}]}, "'every' is for scheduled rules"),
    ({"entity": "account", "on": "delete", "do": [{"set": {"score": 1}}]}, "'set' cannot act on a deleted record"),
    ({**ON_CREATE, "do": [{"assign": {"strategy": "round_robin"}}]}, "assign needs a role, a team or by_field"),
    ({**ON_CREATE, "do": [{"assign": {"strategy": "round_robin", "team": "east", "by_field": "region"}}]},
     "not both team and by_field"),
    ({**ON_CREATE, "do": [{"assign": {"strategy": "round_robin", "role": "boss"}}]}, "'boss' is not a role"),
    ({**ON_CREATE, "do": [{"assign": {"strategy": "round_robin", "by_field": "regio"}}]},
     "'regio' is not a field of account"),
    ({**ON_CREATE, "do": [{"assign": {"strategy": "round_robin", "role": "rep", "field": "name"}}]},
     "'name' must name a user field"),
    ({**ON_CREATE, "do": [{"webhook": {"url": "https://x.example/h", "payload": {"a": "nme"}}}]},
     "unknown name 'nme'"),
    ({**ON_CREATE, "do": [{"notify": {"to": "boss", "message": "hi"}}]}, "'boss' is not a user field, a role"),
    ({**ON_CREATE, "do": [{"create": {"entity": "chore", "values": {"titel": "name"}}}]},
     "'titel' is not a field of chore"),
    ({**ON_CREATE, "where": {"name": {"stalled": True}}, "do": [{"set": {"score": 1}}]},
     "'stalled' applies to stage fields only"),
    ({"entity": "account", "on": "schedule", "do": [{"set": {"score": 1}}]}, "rule.yaml"),  # every or at
])
def test_rule_problems(tmp_path, rule, message):
    assert message in problems(tmp_path, rule)


def test_schedule_at_alone_and_keyword_arguments_load(tmp_path):
    blueprint = blueprint_with(tmp_path, {"rule": {"entity": "account", "on": "schedule", "at": "07:30",
                                                   "do": [{"set": {"score": 1}}]}})
    assert blueprint.automations["rule"]["at"] == "07:30"
    assert "stage_probability" in blueprint.entities["deal"].fields["learned"].formula.names


def test_a_decision_trigger_may_follow_several_approval_rules(tmp_path):
    with pytest.raises(BlueprintError) as failure:
        blueprint_with(tmp_path, {"approve": approval(), "again": {**approval(), "on": {"change": ["amount"]}},
                                  "after": {"entity": "deal", "on": {"rejected": ["approve", "again", "gone"]},
                                            "do": [{"set": {"title": "'x'"}}]}})
    assert "automations/after.yaml:10:5: on.rejected[2]: 'gone' is not an approval rule" in str(failure.value)
