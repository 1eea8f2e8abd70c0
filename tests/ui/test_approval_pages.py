"""Approvals in the pages: a rep asks for approval from the record page, the record waits locked
(no Edit, no Delete), the manager decides from the record page, the inbox or /approvals (with a
comment; a rejection needs one), the page and the timeline show the outcome, people who are not
approvers get no buttons and a refusal on a forged POST, CSRF guards every POST, and the words
are there in zh as in en."""
from __future__ import annotations

import re
from html import unescape

import pytest
from approval_kit import ApprovalWorld


@pytest.fixture
def world(tmp_path, database_url):
    world = ApprovalWorld(tmp_path / "bp", database_url)
    yield world
    world.close()


def text_of(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def panel(html: str) -> str:
    """The visible text of the record page's approval panel ('' when there is none)."""
    found = re.search(r'<section class="card approval-panel.*?</section>', html, re.S)
    return text_of(found.group(0)) if found else ""


def test_a_rep_asks_for_approval_and_the_record_waits_locked(world):
    deal = world.deal("Big deal")
    rep = world.browser("rep")
    page = rep.get(f"/r/deal/{deal['id']}").text
    assert "Request approval: Discount approval" in page and f'href="/r/deal/{deal["id"]}/edit"' in page
    answer = rep.post(f"/r/deal/{deal['id']}/approvals", data={"rule": "discount_approval"}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == f"/r/deal/{deal['id']}"
    page = rep.get(f"/r/deal/{deal['id']}").text
    shown = panel(page)
    assert "Waiting for approval: Discount approval" in shown
    assert "Approve a 15% discount on Big deal?" in shown
    assert "Requested by Rep Li" in shown and "Approvers: Manager Zhou" in shown
    assert "The record is locked while it waits for approval." in shown
    assert "Request approval" not in shown  # already waiting
    assert "Withdraw" in shown and 'name="decision"' not in page  # the rep asks, does not decide
    assert f'href="/r/deal/{deal["id"]}/edit"' not in page and "/delete" not in page  # locked: not offered
    assert world.get(deal["id"])["approval_status"] == "pending"  # the rule's pending values
    assert "Approval requested" in page  # the timeline


def test_the_manager_approves_on_the_record_page_and_the_page_shows_the_outcome(world):
    deal = world.deal("Big deal")
    world.request(deal)
    manager = world.browser("manager")
    page = manager.get(f"/r/deal/{deal['id']}").text
    shown = panel(page)
    assert "Approve" in shown and "Reject" in shown and 'name="comment"' in page
    approval, = world.site.records.approvals.of_record("deal", deal["id"])
    world.clock.advance(hours=3)
    answer = manager.post(f"/r/deal/{deal['id']}/approvals/{approval.id}/decide",
                          data={"decision": "approve", "comment": "Fine for this quarter"}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == f"/r/deal/{deal['id']}"
    record = world.get(deal["id"])
    assert (record["approval_status"], record["approval_note"]) == ("approved", "Fine for this quarter")
    page = manager.get(f"/r/deal/{deal['id']}").text
    shown = panel(page)
    assert "Approved by Manager Zhou" in shown and "Fine for this quarter" in shown
    assert "Reject" not in shown and "Waiting for approval" not in shown
    timeline = text_of(page.split('class="card timeline"', 1)[1])
    assert "Approval requested : Discount approval" in timeline
    assert "Approved : Discount approval Fine for this quarter" in timeline
    fields = text_of(page.split('<div class="detail-main">', 1)[1].split("</section>", 1)[0])
    assert "Approval status Approved" in fields  # the field the decision wrote
    rep = world.browser("rep")
    assert f'href="/r/deal/{deal["id"]}/edit"' in rep.get(f"/r/deal/{deal['id']}").text  # free again


def test_a_rejection_needs_a_comment_and_a_post_without_csrf_is_refused(world):
    deal = world.deal()
    approval = world.request(deal)
    manager = world.browser("manager")
    url = f"/r/deal/{deal['id']}/approvals/{approval.id}/decide"
    forged = manager.client.post(url, data={"decision": "reject", "comment": "no"}, follow_redirects=False)
    assert forged.status_code == 403
    assert world.site.records.approvals.get(approval.id).status == "pending"
    answer = manager.post(url, data={"decision": "reject", "comment": ""})
    assert answer.status_code == 422
    shown = panel(answer.text)
    assert "Approver's note" in shown and "Waiting for approval" in shown  # the error, in the panel
    assert world.site.records.approvals.get(approval.id).status == "pending"
    assert world.get(deal["id"])["approval_status"] == "pending"
    htmx = manager.post(url, data={"decision": "reject", "comment": "Too deep"}, htmx=True)
    assert htmx.status_code == 200 and htmx.headers["HX-Redirect"] == f"/r/deal/{deal['id']}"
    assert world.get(deal["id"])["approval_status"] == "rejected"
    assert "Rejected by Manager Zhou" in panel(manager.get(f"/r/deal/{deal['id']}").text)


def test_someone_who_is_not_an_approver_gets_no_buttons_and_a_refusal(world):
    deal = world.deal()
    approval = world.request(deal)
    auditor = world.browser("auditor")  # reads every deal, changes none
    page = auditor.get(f"/r/deal/{deal['id']}").text
    shown = panel(page)
    assert "Waiting for approval: Discount approval" in shown
    assert 'name="decision"' not in page and "Withdraw" not in shown and "Request approval" not in page
    for url in (f"/r/deal/{deal['id']}/approvals/{approval.id}/decide", f"/approvals/{approval.id}/decide"):
        answer = auditor.post(url, data={"decision": "approve", "comment": "sure"})
        assert answer.status_code == 403 and "Only Manager Zhou can decide this approval" in text_of(answer.text)
    assert auditor.post(f"/approvals/{approval.id}/withdraw").status_code == 403
    rep2 = world.browser("rep2")  # cannot even see the record: the approval is not there for them
    assert rep2.post(f"/approvals/{approval.id}/decide", data={"decision": "approve"}).status_code == 404
    assert rep2.get(f"/r/deal/{deal['id']}").status_code == 404
    assert world.site.records.approvals.get(approval.id).status == "pending"
    other = world.deal("Other", by="rep2")  # a rep asks only on records they may change
    assert "Request approval" not in world.browser("auditor").get(f"/r/deal/{other['id']}").text


def test_the_inbox_the_header_and_the_home_page_show_what_waits_and_decide_in_place(world):
    deal = world.deal("Big deal")
    approval = world.request(deal)
    world.clock.advance(hours=5)
    manager = world.browser("manager")
    inbox = manager.get("/notifications").text
    section = text_of(inbox.split('id="approvals"', 1)[1].split("</section>", 1)[0])
    assert "Waiting for your approval" in section and "Discount approval" in section and "Big deal" in section
    assert "Approve a 15% discount on Big deal?" in section and "Requested by Rep Li" in section
    assert "waiting 5 h" in section
    assert f'href="/r/deal/{deal["id"]}"' in inbox
    badge = manager.get("/notifications/badge").text  # the header's counts, asked after the page
    assert re.search(r'href="/approvals"[^>]*>Approvals <span class="badge"[^>]*>1</span>', badge)
    home = text_of(manager.get("/").text)
    assert "1 Approvals waiting for you" in home
    assert "Approvals waiting for you" in text_of(world.browser("rep").get("/").text)  # 0 for the rep
    row = manager.post(f"/approvals/{approval.id}/decide", data={"decision": "approve", "comment": "ok"}, htmx=True)
    assert row.status_code == 200 and row.text.lstrip().startswith('<li class="approval-row status-approved"')
    assert "Approved by Manager Zhou" in text_of(row.text)
    assert world.get(deal["id"])["approval_status"] == "approved"
    assert 'id="approvals"' not in manager.get("/notifications").text  # nothing waits any more
    again = manager.post(f"/approvals/{approval.id}/decide", data={"decision": "reject", "comment": "x"}, htmx=True)
    assert "This request was already approved" in text_of(again.text)  # shown on the row, nothing changed
    assert world.get(deal["id"])["approval_status"] == "approved"


def test_the_approvals_page_lists_what_waits_what_i_asked_and_what_i_decided(world):
    first, second = world.deal("First"), world.deal("Second")
    one, two = world.request(first), world.request(second)
    manager = world.browser("manager")
    waiting = text_of(manager.get("/approvals").text)
    assert "First" in waiting and "Second" in waiting
    answer = manager.post(f"/approvals/{one.id}/decide", data={"decision": "approve"},
                          headers={"referer": "http://testserver/approvals"}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "http://testserver/approvals"
    waiting = text_of(manager.get("/approvals").text)
    assert "Second" in waiting and "First" not in waiting
    decided = text_of(manager.get("/approvals?tab=decided").text)
    assert "First" in decided and "Approved" in decided and "Second" not in decided
    rep = world.browser("rep")
    mine = rep.get("/approvals?tab=requested").text
    assert "First" in text_of(mine) and "Second" in text_of(mine)
    assert "Nothing is waiting for your approval." in rep.get("/approvals").text
    assert rep.post(f"/approvals/{two.id}/withdraw", follow_redirects=False).status_code == 303
    assert world.site.records.approvals.get(two.id).status == "withdrawn"
    assert "Withdrawn" in text_of(rep.get("/approvals?tab=requested").text)


def test_the_requester_withdraws_from_the_record_page_and_may_edit_again(world):
    deal = world.deal()
    approval = world.request(deal)
    rep = world.browser("rep")
    answer = rep.post(f"/r/deal/{deal['id']}/approvals/{approval.id}/withdraw", htmx=True)
    assert answer.status_code == 200 and answer.headers["HX-Redirect"] == f"/r/deal/{deal['id']}"
    page = rep.get(f"/r/deal/{deal['id']}").text
    assert "Withdrawn" in panel(page) and "Request approval: Discount approval" in panel(page)
    assert f'href="/r/deal/{deal["id"]}/edit"' in page
    assert "Approval withdrawn" in page  # the timeline
    world.request(deal, by="manager")  # asked by someone else: the owner may still withdraw it
    assert "Withdraw" in panel(rep.get(f"/r/deal/{deal['id']}").text)
    assert "Withdraw" not in panel(world.browser("auditor").get(f"/r/deal/{deal['id']}").text)


def test_a_refused_request_shows_in_the_panel(world):
    deal = world.deal()
    world.request(deal)
    rep = world.browser("rep")
    answer = rep.post(f"/r/deal/{deal['id']}/approvals", data={"rule": "discount_approval"})
    assert answer.status_code == 409
    assert "Approval was already requested and is waiting for Manager Zhou" in panel(answer.text)
    unknown = rep.post(f"/r/deal/{deal['id']}/approvals", data={"rule": "no_such"})
    assert unknown.status_code == 409 and "no approval 'no_such'" in panel(unknown.text)
    assert len(world.site.records.approvals.of_record("deal", deal["id"])) == 1


def test_the_pages_speak_chinese(world):
    deal = world.deal("大单")
    rep = world.browser("rep")
    rep.post("/language", data={"locale": "zh"})
    assert "提交审批：折扣审批" in rep.get(f"/r/deal/{deal['id']}").text
    world.request(deal)
    manager = world.browser("manager")
    manager.post("/language", data={"locale": "zh"})
    page = manager.get(f"/r/deal/{deal['id']}").text
    shown = panel(page)
    assert "等待审批：折扣审批" in shown and "是否批准大单的 15% 折扣？" in shown
    assert "通过" in shown and "驳回" in shown and "审批意见" in shown and "审批期间，此记录已锁定" in shown
    assert "发起审批" in page  # the timeline
    inbox = manager.get("/notifications").text
    assert "待我审批" in inbox and ">审批 <span class=\"badge\"" in manager.get("/notifications/badge").text
    assert "待我审批" in manager.get("/approvals").text and "我发起的" in manager.get("/approvals").text
    answer = manager.post(f"/r/deal/{deal['id']}/approvals/1/decide", data={"decision": "reject"})
    assert answer.status_code == 422 and "审批意见" in panel(answer.text)
