"""Renaming a field in the studio reaches every use in one reviewed change: order.amount, used by a
formula (weighted_amount), two stages' `requires`, a role's field mode, the order views, a report
grouping visits by `order.amount` and an automation's condition, becomes deal_value; afterwards
the pages, the report, the stored formula values, the stage rule, the automation, the field
history and a rep's saved view all work under the new name with the data kept; a taken name is
refused; undo brings the old name back with the data."""
from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa
from studio_kit import applied_version, open_form, submit, visible_text

from atrium.metadata.overlays.paths import plain
from atrium.runtime.records.errors import ValidationFailed
from atrium.runtime.site.change import Proposal

PAGE = "/studio/entities/order/fields/amount"
REPORT = {"name": "visits_by_order_amount", "label": {"en": "Visits by order amount", "zh": "按订单金额的拜访"},
          "source": "visit", "group_by": ["order.amount"], "measures": {"visits": "count"}}
AUTOMATION = {"name": "flag_big_orders", "label": {"en": "Flag big orders", "zh": "标记大单"}, "entity": "order",
              "on": "update", "where": {"amount": {"gt": 1000000}}, "do": [{"set": {"next_step": "'Call the boss'"}}]}


def _uses_everywhere(studio) -> None:
    """A role's field mode, a report over a dotted path and an automation that use order.amount."""
    changes = studio.app.state.studio.changes
    roles = plain(changes.documents()[("roles", "roles")].data)
    roles["roles"]["finance"].setdefault("fields", {})["order.amount"] = "readonly"
    documents = {("roles", "roles"): roles, ("report", REPORT["name"]): REPORT,
                 ("automation", AUTOMATION["name"]): AUTOMATION}
    version = changes.apply(Proposal(documents, {"en": "uses", "zh": "uses"}), studio.actor("boss"))
    studio.app.state.studio.applied(studio.app.state, version)


def _saved_view(studio, query: str) -> int:
    table = studio.site.tables.system("atrium_saved_views")
    with studio.site.engine.begin() as connection:
        return connection.execute(table.insert().values(user_id=studio.ids["rep"], entity="order", name="Big",
                                                        query=query)).inserted_primary_key[0]


def _saved_query(studio, view_id: int) -> str:
    table = studio.site.tables.system("atrium_saved_views")
    with studio.site.engine.connect() as connection:
        return connection.execute(sa.select(table.c.query).where(table.c.id == view_id)).scalar_one()


def _history_fields(studio, record_id: int) -> set[str]:
    table = studio.site.tables.system("atrium_history")
    with studio.site.engine.connect() as connection:
        return set(connection.execute(sa.select(table.c.field).where(
            table.c.entity == "order", table.c.record_id == record_id)).scalars())


def test_a_rename_reaches_every_use_and_keeps_the_data(studio):
    _uses_everywhere(studio)
    order = studio.create("order", name="Pump line", customer=studio.customer("Rename Co")["id"], amount=200000)
    studio.create("visit", order=order["id"], customer=order["customer"], planned_at="2026-03-02T10:00:00")
    view_id = _saved_view(studio, "amount__min=1000&sort=-amount")
    boss = studio.browser("boss")
    fields = open_form(boss, PAGE, PAGE + "/rename")

    review = visible_text(submit(boss, PAGE + "/rename", {**fields, "new_name": "deal_value"}, intent="review").text)
    for use in ("entity order: fields.weighted_amount.formula: (amount or 0) * probability / 100 → "
                "(deal_value or 0) * probability / 100",
                "pipeline order: stages[1].requires[0]: amount → deal_value",
                "roles roles: roles.finance.fields: order.amount → order.deal_value",
                "views order: list.columns[5]: amount → deal_value",
                "report visits_by_order_amount: group_by[0]: order.amount → order.deal_value",
                "automation flag_big_orders: where.amount: amount → deal_value",
                "rename column order.amount to deal_value (data kept)"):
        assert use in review, use
    applied_version(submit(boss, PAGE + "/rename", {**fields, "new_name": "deal_value"}))

    blueprint = studio.app.state.site.blueprint
    assert "deal_value" in blueprint.entities["order"].fields and "amount" not in blueprint.entities["order"].fields
    assert studio.loaded().entities["order"].fields["deal_value"].renamed_from == "amount"  # what check reads
    assert studio.column_values("order", "deal_value") == [Decimal("200000.00")]
    assert studio.column_values("order", "weighted_amount") == [Decimal("20000.00")]  # 10 % of the kept value
    # the pages and the report read the new name
    rep = studio.browser("rep")
    assert "200,000" in rep.get(f"/r/order/{order['id']}").text
    assert "Pump line" in rep.get("/r/order?deal_value__min=1000").text
    report = boss.get("/api/v1/reports/visits_by_order_amount").json()
    assert [(str(row["deal_value"]), row["visits"]) for row in report["rows"]] == [("200000.00", 1)]
    assert boss.get("/reports/visits_by_order_amount").status_code == 200
    # the stage rule, the role's field mode and the automation follow
    records = studio.app.state.site.records
    assert blueprint.roles["finance"].fields.get("order.deal_value") == "readonly"
    empty = studio.create("order", name="No value yet", customer=order["customer"])
    with pytest.raises(ValidationFailed) as stage_rule:
        records.update("order", empty["id"], {"stage": "needs_confirmed", "expected_close": "2026-06-30"},
                       studio.actor("boss"))
    assert "deal_value" in stage_rule.value.errors
    updated = records.update("order", order["id"], {"deal_value": 1500000}, studio.actor("boss"))
    assert updated["next_step"] == "Call the boss" and updated["weighted_amount"] == Decimal("150000.00")
    # the history and the saved view speak the new name
    assert "deal_value" in _history_fields(studio, order["id"]) and "amount" not in _history_fields(studio, order["id"])
    assert _saved_query(studio, view_id) == "deal_value__min=1000&sort=-deal_value"


def test_a_rename_to_a_taken_name_is_refused(studio):
    boss = studio.browser("boss")
    fields = open_form(boss, PAGE, PAGE + "/rename")
    response = submit(boss, PAGE + "/rename", {**fields, "new_name": "name"}, intent="review")
    assert "That name is already used" in visible_text(response.text)
    assert "amount" in studio.app.state.site.blueprint.entities["order"].fields
    assert studio.history_rows() == []


def test_undo_of_a_rename_brings_the_old_name_back_with_the_data(studio):
    order = studio.create("order", name="Undo deal", customer=studio.customer("Undo Co")["id"], amount=50000)
    view_id = _saved_view(studio, "amount__min=10")
    boss = studio.browser("boss")
    fields = open_form(boss, PAGE, PAGE + "/rename")
    version = applied_version(submit(boss, PAGE + "/rename", {**fields, "new_name": "deal_value"}))
    undone = boss.post(f"/studio/history/{version}/undo", data={"version": str(version), "confirm": "yes"},
                       follow_redirects=False)
    assert undone.status_code == 303, visible_text(undone.text)[:2000]
    order_entity = studio.app.state.site.blueprint.entities["order"]
    assert "amount" in order_entity.fields and "deal_value" not in order_entity.fields
    assert "deal_value" not in studio.columns("order")
    assert studio.column_values("order", "amount") == [Decimal("50000.00")]
    assert studio.get("order", order["id"])["weighted_amount"] == Decimal("5000.00")
    assert _saved_query(studio, view_id) == "amount__min=10"
    assert "amount" in _history_fields(studio, order["id"])
