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


def test_require_approval_is_refused_until_approvals_exist(tmp_path):
    text = problems(tmp_path, {**ON_CREATE, "do": [{"require_approval": {"approver": "manager"}}]})
    assert "automations/rule.yaml:" in text and "require_approval is not available" in text


@pytest.mark.parametrize("rule, message", [
    ({**ON_CREATE, "every": "day", "do": [{"set": {"score": 1}}]}, "'every' is for scheduled rules"),
    ({"entity": "account", "on": "delete", "do": [{"set": {"score": 1}}]}, "'set' cannot act on a deleted record"),
    ({**ON_CREATE, "do": [{"assign": {"strategy": "round_robin"}}]}, "exactly one of role, team or by_field"),
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
