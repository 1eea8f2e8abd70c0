"""b2b_sales roles on the access-checked surface: a rep sees their own deals and money, a manager
the team's, finance every receivable, marketing the campaigns and leads; approvals stay with the
approvers."""
from __future__ import annotations

import pytest

from atrium.runtime.access.secured import AccessDenied
from atrium.runtime.query.lists import ListQuery
from atrium.runtime.records.service import RecordNotFound, ValidationFailed


def listed(world, who, entity):
    return {r["id"] for r in world.secured.list(world.actor(who), ListQuery(entity, limit=500)).records}


@pytest.fixture
def books(world):
    """A customer with an order, quote, contract, payment plan, instalment and receipt for each
    of rep1 (east), rep2 (east) and rep3 (south, a sub-team of east)."""
    made = {}
    for rep in ("rep1", "rep2", "rep3"):
        uid = world.uid(rep)
        account = world.create("customer", {"name": f"{rep} 客户有限公司", "owner": uid})
        order = world.create("order", {"name": "PLC 控制器", "customer": account["id"], "owner": uid})
        quote = world.create("quote", {"name": "报价", "order": order["id"], "customer": account["id"],
                                       "owner": uid})
        contract = world.create("contract", {"name": "合同", "customer": account["id"], "amount": 100000,
                                             "owner": uid})
        plan = world.create("payment_plan", {"name": "回款", "customer": account["id"], "owner": uid})
        due = world.create("instalment", {"payment_plan": plan["id"], "due_on": "2026-04-01",
                                          "planned_amount": 100000, "owner": uid})
        receipt = world.create("receipt", {"instalment": due["id"], "amount": 40000, "received_on": "2026-03-10",
                                           "owner": uid})
        target = world.create("sales_target", {"owner": uid, "metric": "revenue", "period": "2026-04-01",
                                               "amount": 500000})
        made[rep] = {"customer": account, "order": order, "quote": quote, "contract": contract,
                     "payment_plan": plan, "instalment": due, "receipt": receipt, "sales_target": target}
    return made


ENTITIES = ("customer", "order", "quote", "contract", "payment_plan", "instalment", "receipt", "sales_target")


@pytest.mark.parametrize("entity", ENTITIES)
def test_a_rep_sees_their_own_and_the_manager_the_team_s(world, books, entity):
    ids = {rep: books[rep][entity]["id"] for rep in books}
    assert listed(world, "rep1", entity) == {ids["rep1"]}
    assert listed(world, "manager", entity) == set(ids.values())      # south is a sub-team of east
    with pytest.raises(RecordNotFound):
        world.secured.get(world.actor("rep1"), entity, ids["rep2"])


def test_finance_keeps_every_receivable_but_sells_nothing(world, books):
    finance = world.actor("finance")
    assert listed(world, "finance", "receipt") == {books[rep]["receipt"]["id"] for rep in books}
    due = books["rep2"]["instalment"]
    received = world.secured.create(finance, "receipt", {"instalment": due["id"], "amount": 60000,
                                                         "received_on": "2026-03-16", "owner": world.uid("rep2")})
    assert world.get("instalment", due)["status"] == "done"
    assert listed(world, "rep2", "receipt") >= {received["id"]}           # the rep sees the money arrive
    with pytest.raises(AccessDenied):
        world.secured.create(finance, "order", {"name": "x", "customer": books["rep1"]["customer"]["id"]})
    with pytest.raises(AccessDenied):
        world.secured.create(world.actor("rep1"), "receipt", {"instalment": books["rep1"]["instalment"]["id"],
                                                              "amount": 1, "received_on": "2026-03-16"})


def test_marketing_runs_campaigns_and_sees_every_lead_but_no_orders(world, books):
    marketing = world.actor("marketing")
    fair = world.secured.create(marketing, "campaign", {"name": "智能制造论坛", "channel": "seminar",
                                                        "starts_on": "2026-04-10"})
    lead = world.secured.create(marketing, "lead", {"company": "启明光电", "contact_name": "周明",
                                                    "source": "campaign", "campaign": fair["id"]})
    assert lead["id"] in listed(world, "marketing", "lead")
    assert fair["id"] in listed(world, "rep1", "campaign")                # reps read campaigns
    with pytest.raises(AccessDenied):
        world.secured.list(marketing, ListQuery("order"))
    with pytest.raises(AccessDenied):
        world.secured.create(world.actor("rep1"), "campaign", {"name": "x", "channel": "email",
                                                               "starts_on": "2026-04-01"})


def test_approvals_stay_with_the_approvers(world, books):
    rep = world.actor("rep1")
    target = books["rep1"]["sales_target"]
    with pytest.raises(ValidationFailed) as failure:
        world.secured.update(rep, "sales_target", target["id"], {"approved_by": world.uid("manager")})
    assert "approved_by" in failure.value.errors
    quote = books["rep1"]["quote"]
    with pytest.raises(ValidationFailed) as failure:
        world.secured.update(rep, "quote", quote["id"], {"approval_status": "approved"})
    assert "approval_status" in failure.value.errors
    with pytest.raises(ValidationFailed) as failure:  # a manager's edit is not an approval either
        world.secured.update(world.actor("manager"), "sales_target", target["id"],
                             {"status": "approved", "approved_by": world.uid("manager")})
    assert failure.value.errors == {"status": ["Only an approval decision sets Status to Approved"]}
    approvals = world.service.approvals
    asked = approvals.request("approve_sales_target", "sales_target", target["id"], rep)
    assert approvals.decide(asked.id, "approve", world.actor("manager")).status == "approved"
    assert world.get("sales_target", target)["status"] == "approved"
