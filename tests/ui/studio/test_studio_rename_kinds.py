"""The studio renames an entity (entity page), a stage (stage editor) and an option (field page)
everywhere, through the same review as any change (every use rewritten, the migration in words,
the YAML); applied, the records and their history are kept under the new names and the pages work;
Undo renames back with the data; a taken, invalid or reserved name is refused in the admin's
language and nothing is written."""
from __future__ import annotations

import sqlalchemy as sa
from studio_kit import applied_version, open_form, submit, visible_text

ENTITY = "/studio/entities/order"
STAGES = "/studio/pipelines/order"
FIELD = "/studio/entities/order/fields/lost_reason"


def _stage_rows(studio, record_id: int) -> list[tuple[str, str]]:
    table = studio.site.tables.system("atrium_stage_history")
    with studio.site.engine.connect() as connection:
        return [(row.entity, row.to_stage) for row in connection.execute(
            sa.select(table.c.entity, table.c.to_stage).where(table.c.record_id == record_id).order_by(table.c.id))]


def test_an_entity_rename_is_reviewed_applied_and_undone_with_the_records(studio):
    order = studio.create("order", name="Pump line", customer=studio.customer("Rename Co")["id"], amount=200000)
    boss = studio.browser("boss")
    fields = open_form(boss, ENTITY, ENTITY + "/rename")
    review = visible_text(submit(boss, ENTITY + "/rename", {**fields, "new_name": "deal"}, intent="review").text)
    for use in ("entity order: file: entities/order.yaml → entities/deal.yaml",
                "entity quote: fields.order.to: order → deal",
                "report won_this_month: source: order → deal",
                "roles roles: roles.sales_rep.entities.order: order → deal",
                "rename table order to deal"):
        assert use in review, use
    assert studio.history_rows() == []  # a review writes nothing
    response = submit(boss, ENTITY + "/rename", {**fields, "new_name": "deal"})
    assert response.status_code == 303, visible_text(response.text).split("What happens")[0][-700:]
    version = applied_version(response)
    assert response.headers["location"].startswith("/studio/entities/deal")
    blueprint = studio.app.state.site.blueprint
    assert "deal" in blueprint.entities and "order" not in blueprint.entities
    assert studio.loaded().entities["deal"].renamed_from == "order"
    assert "entities/deal.yaml" in studio.overlay_files()
    rep = studio.browser("rep")
    assert "Pump line" in rep.get(f"/r/deal/{order['id']}").text
    assert {entity for entity, _ in _stage_rows(studio, order["id"])} == {"deal"}
    assert boss.get("/reports/won_this_month").status_code == 200

    undone = boss.post(f"/studio/history/{version}/undo", data={"version": str(version), "confirm": "yes"},
                       follow_redirects=False)
    assert undone.status_code == 303, visible_text(undone.text)[:2000]
    assert "order" in studio.app.state.site.blueprint.entities
    assert studio.get("order", order["id"])["name"] == "Pump line"
    assert {entity for entity, _ in _stage_rows(studio, order["id"])} == {"order"}


def test_a_stage_and_an_option_rename_keep_records_and_history_and_undo_back(studio):
    order = studio.create("order", name="Lost one", customer=studio.customer("Stage Co")["id"], amount=1000)
    studio.app.state.site.records.update("order", order["id"], {"stage": "lost", "lost_reason": "timing"},
                                         studio.actor("boss"))
    boss = studio.browser("boss")
    fields = open_form(boss, STAGES, STAGES + "/rename-stage")
    review = visible_text(submit(boss, STAGES + "/rename-stage", {**fields, "stage": "lost", "new_name": "closed_lost"},
                                 intent="review").text)
    assert "report lost_this_month: where.stage.eq: lost → closed_lost" in review or \
        "lost → closed_lost" in review
    assert "order.stage: lost is renamed closed_lost in 1 record(s) and their history" in review
    version = applied_version(submit(boss, STAGES + "/rename-stage",
                                     {**fields, "stage": "lost", "new_name": "closed_lost"}))
    assert studio.get("order", order["id"])["stage"] == "closed_lost"
    assert _stage_rows(studio, order["id"])[-1] == ("order", "closed_lost")
    stage = studio.app.state.site.blueprint.pipelines["order"].stage("closed_lost")
    assert stage is not None and stage.label.text("zh") == "输单"  # the label is kept

    fields = open_form(boss, FIELD, FIELD + "/rename-option")
    applied_version(submit(boss, FIELD + "/rename-option", {**fields, "option": "timing", "new_name": "bad_timing"}))
    assert studio.get("order", order["id"])["lost_reason"] == "bad_timing"

    for entry, latest in ((version + 1, version + 1), (version, version + 2)):  # the newest first
        undone = boss.post(f"/studio/history/{entry}/undo", data={"version": str(latest), "confirm": "yes"},
                           follow_redirects=False)
        assert undone.status_code == 303, visible_text(undone.text)[:2000]
    assert studio.get("order", order["id"])["lost_reason"] == "timing"
    assert studio.get("order", order["id"])["stage"] == "lost"
    assert _stage_rows(studio, order["id"])[-1] == ("order", "lost")


def test_taken_invalid_and_reserved_names_are_refused_in_the_admins_language(studio):
    boss = studio.browser("boss")
    fields = open_form(boss, ENTITY, ENTITY + "/rename")
    for new, words in (("customer", "there is already an entity 'customer'"), ("Deal", "'Deal' is not a valid name"),
                       ("atrium_users", "'atrium_users' is reserved")):
        response = submit(boss, ENTITY + "/rename", {**fields, "new_name": new})
        assert words in visible_text(response.text), new
    boss.post("/language", data={"locale": "zh"})
    fields = open_form(boss, STAGES, STAGES + "/rename-stage")
    response = submit(boss, STAGES + "/rename-stage", {**fields, "stage": "won", "new_name": "lost"})
    assert "流程 order 已有阶段“lost”" in visible_text(response.text)
    assert studio.history_rows() == [] and "won" in studio.app.state.site.blueprint.pipelines["order"].stage_names
