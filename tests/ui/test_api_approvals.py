"""Approvals in the JSON API: ask (201, 409 when already waiting, 404 for a record the caller
cannot read), list what waits for me, read one (404 for people it is nothing to), approve and
reject with a comment (403 for non-approvers, 422 when the decision's values are refused, 409
once decided), withdraw, messages in the caller's language, CSRF for the session cookie, and the
OpenAPI document that lists it all."""
from __future__ import annotations

import pytest
from approval_kit import ApprovalWorld
from openapi_spec_validator import validate
from starlette.testclient import TestClient


@pytest.fixture
def world(tmp_path, database_url):
    world = ApprovalWorld(tmp_path / "bp", database_url)
    yield world
    world.close()


def ask(world, deal, user="rep", **kwargs):
    return world.api("POST", f"deal/{deal['id']}/approvals", user, json={"rule": "discount_approval"}, **kwargs)


def test_a_rep_asks_and_the_manager_finds_it_waiting_and_approves(world):
    deal = world.deal("Big deal")
    answer = ask(world, deal)
    assert answer.status_code == 201, answer.text
    approval = answer.json()
    assert answer.headers["location"].endswith(f"/api/v1/approvals/{approval['id']}")
    assert (approval["status"], approval["entity"], approval["record_id"], approval["rule"]) == \
        ("pending", "deal", deal["id"], "discount_approval")
    assert approval["label"] == "Discount approval" and approval["message"] == "Approve a 15% discount on Big deal?"
    assert approval["approvers"] == [world.ids["manager"]] and approval["lock"] is True
    assert approval["requested_by"] == world.ids["rep"] and approval["decided_at"] is None
    again = ask(world, deal, lang="zh")
    assert again.status_code == 409 and again.json()["error"] == "approval"
    assert again.json()["message"] == "已提交审批，正在等待 Manager Zhou 审批"
    locked = world.api("PATCH", f"deal/{deal['id']}", "rep", json={"title": "Changed", "version": deal["version"] + 1})
    assert locked.status_code in (409, 422) and "Locked while waiting for approval" in locked.text

    waiting = world.api("GET", "approvals?status=pending&mine=1", "manager")
    assert waiting.status_code == 200 and [a["id"] for a in waiting.json()["data"]] == [approval["id"]]
    assert world.api("GET", "approvals", "rep").json()["data"] == []  # nothing waits for the rep
    assert world.api("GET", f"approvals/{approval['id']}", "rep").json()["status"] == "pending"  # the requester
    assert world.api("GET", f"approvals/{approval['id']}", "rep2").status_code == 404  # nothing to rep2
    of_record = world.api("GET", f"approvals?entity=deal&record={deal['id']}", "auditor")
    assert [a["id"] for a in of_record.json()["data"]] == [approval["id"]]

    decided = world.api("POST", f"approvals/{approval['id']}/approve", "manager", json={"comment": "Go ahead"})
    assert decided.status_code == 200, decided.text
    assert (decided.json()["status"], decided.json()["comment"], decided.json()["decided_by"]) == \
        ("approved", "Go ahead", world.ids["manager"])
    record = world.api("GET", f"deal/{deal['id']}", "rep").json()
    assert (record["approval_status"], record["approval_note"]) == ("approved", "Go ahead")
    twice = world.api("POST", f"approvals/{approval['id']}/reject", "manager", json={"comment": "no"})
    assert twice.status_code == 409 and twice.json()["message"] == "This request was already approved"


def test_deciding_needs_an_approver_and_a_rejection_a_comment(world):
    deal = world.deal()
    approval = ask(world, deal).json()
    url = f"approvals/{approval['id']}"
    for user in ("rep", "auditor"):  # the requester, and someone who reads the record, may not decide
        refused = world.api("POST", url + "/approve", user, json={})
        assert refused.status_code == 403 and refused.json()["error"] == "forbidden"
        assert refused.json()["message"] == "Only Manager Zhou can decide this approval"
    assert world.api("POST", url + "/approve", "rep2").status_code == 404  # cannot see it at all
    empty = world.api("POST", url + "/reject", "manager", json={"comment": "  "}, lang="zh")
    assert empty.status_code == 422 and list(empty.json()["errors"]) == ["approval_note"]
    assert world.api("GET", url, "manager").json()["status"] == "pending"  # nothing changed
    assert world.get(deal["id"])["approval_status"] == "pending"
    bad = world.api("POST", url + "/reject", "manager", json={"comment": 5})
    assert bad.status_code == 400 and bad.json()["parameter"] == "comment"
    rejected = world.api("POST", url + "/reject", "manager", json={"comment": "Too deep"})
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    assert world.get(deal["id"])["approval_status"] == "rejected"
    by_boss = ask(world, deal).json()  # asked again; an administrator may decide anything
    assert world.api("POST", f"approvals/{by_boss['id']}/approve", "boss").status_code == 200


def test_withdraw_and_the_refusals_of_asking(world):
    deal = world.deal()
    approval = ask(world, deal).json()
    assert world.api("POST", f"approvals/{approval['id']}/withdraw", "manager").status_code == 403
    withdrawn = world.api("POST", f"approvals/{approval['id']}/withdraw", "rep")
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    assert world.api("POST", f"approvals/{approval['id']}/approve", "manager").status_code == 409
    unknown = world.api("POST", f"deal/{deal['id']}/approvals", "rep", json={"rule": "nothing"})
    assert unknown.status_code == 409 and "nothing" in unknown.json()["message"]
    assert world.api("POST", f"deal/{deal['id']}/approvals", "rep", json={}).status_code == 422
    assert world.api("POST", f"deal/{deal['id']}/approvals", "rep", content=b"[1]").status_code == 400
    assert ask(world, deal, user="rep2").status_code == 404  # rep2 cannot read rep's deal
    assert ask(world, deal, user="auditor").status_code == 403  # reads it, may not change it
    assert world.api("GET", "approvals/999", "boss").status_code == 404
    assert world.api("GET", "approvals?status=maybe", "manager").status_code == 400
    assert world.api("GET", "approvals?mine=0", "manager").status_code == 400


def test_a_session_cookie_needs_the_csrf_header(world):
    deal = world.deal()
    approval = world.request(deal)
    manager = world.browser("manager")
    url = f"/api/v1/approvals/{approval.id}/approve"
    refused = manager.client.post(url, json={"comment": "ok"})
    assert refused.status_code == 403 and refused.json() == {"error": "csrf"}
    accepted = manager.client.post(url, json={"comment": "ok"}, headers={"X-CSRF-Token": manager.token()})
    assert accepted.status_code == 200 and accepted.json()["status"] == "approved"
    assert world.api("GET", "approvals", "manager").status_code == 200
    with TestClient(world.app) as anonymous:
        assert anonymous.get("/api/v1/approvals").status_code == 401


def test_an_approval_made_void_by_a_change_says_who_and_when(world):
    deal = world.deal()
    approval = ask(world, deal).json()
    assert (approval["voided_by"], approval["voided_at"]) == (None, None)
    decided = world.api("POST", f"approvals/{approval['id']}/approve", "manager", json={"comment": "OK"}).json()
    assert decided["status"] == "approved" and decided["voided_by"] is None
    current = world.get(deal["id"])
    changed = world.api("PATCH", f"deal/{deal['id']}", "rep", json={"discount": 40, "version": current["version"]})
    assert changed.status_code == 200, changed.text
    void = world.api("GET", f"approvals/{approval['id']}", "rep").json()
    assert (void["status"], void["voided_by"]) == ("voided", world.ids["rep"])
    assert void["voided_at"] == world.clock().isoformat()
    assert void["decided_by"] == world.ids["manager"] and void["comment"] == "OK"  # the decision is kept beside it
    listed = world.api("GET", f"approvals?entity=deal&record={deal['id']}&status=voided", "manager").json()["data"]
    assert [(a["id"], a["voided_by"]) for a in listed] == [(approval["id"], world.ids["rep"])]
    assert world.get(deal["id"])["approval_status"] is None  # asked again before it counts


def test_openapi_lists_the_approval_paths(world):
    spec = world.api("GET", "openapi.json", "rep").json()
    validate(spec)
    for path in ("/api/v1/approvals", "/api/v1/approvals/{id}", "/api/v1/approvals/{id}/approve",
                 "/api/v1/approvals/{id}/reject", "/api/v1/approvals/{id}/withdraw", "/api/v1/deal/{id}/approvals"):
        assert path in spec["paths"], path
    ask_body = spec["paths"]["/api/v1/deal/{id}/approvals"]["post"]["requestBody"]
    assert ask_body["content"]["application/json"]["schema"]["properties"]["rule"]["enum"] == ["discount_approval"]
    assert set(spec["paths"]["/api/v1/account/{id}/approvals"]) == {"parameters", "get"}  # no rule to ask under
    assert set(spec["paths"]["/api/v1/deal/{id}/approvals"]) == {"parameters", "get", "post"}
    assert "Approval" in spec["components"]["schemas"]
    approval = spec["components"]["schemas"]["Approval"]["properties"]
    assert approval["voided_by"]["type"] == ["integer", "null"] and approval["voided_at"]["format"] == "date-time"
    assert "voided" in approval["status"]["enum"]
