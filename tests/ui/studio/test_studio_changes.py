"""Applying, refusing and undoing metadata changes: two admins editing at once, undo and restore
with history, every server process on the new metadata without a restart, and a migration the
database refuses leaving the YAML as it was."""
from __future__ import annotations

import yaml
from record_pages_kit import Browser
from starlette.testclient import TestClient
from studio_kit import SEGMENT, add_segment, applied_version, open_form, submit, visible_text

from atrium.metadata.overlays.documents import render_overlay_yaml


def test_a_stale_edit_is_refused_and_names_who_changed_it(studio):
    first, second = studio.browser("boss"), studio.browser("admin2")
    page = "/studio/entities/order/fields/amount"
    mine, theirs = open_form(first, page), open_form(second, page)
    applied_version(submit(first, page, {**mine, "label_en": "Deal value"}))
    written = studio.overlay_files()
    refused = submit(second, page, {**theirs, "label_en": "Order amount"})
    assert refused.status_code == 200
    text = visible_text(refused.text)
    assert "Not applied: boss changed this at" in text and "Change field amount of order" in text
    assert studio.overlay_files() == written and len(studio.history_rows()) == 1
    assert studio.app.state.site.blueprint.entities["order"].fields["amount"].label.text("en") == "Deal value"
    # reloading the editor shows their change; saving again from there goes through
    fresh = open_form(second, page)
    assert fresh["label_en"] == "Deal value"
    applied_version(submit(second, page, {**fresh, "label_en": "Order amount"}))


def test_edits_of_different_documents_do_not_block_each_other(studio):
    first, second = studio.browser("boss"), studio.browser("admin2")
    order = open_form(first, "/studio/entities/order/fields/amount")
    stages = open_form(second, "/studio/pipelines/order")
    applied_version(submit(first, "/studio/entities/order/fields/amount", {**order, "label_en": "Deal value"}))
    applied_version(submit(second, "/studio/pipelines/order", {**stages, "stage-2-probability": "55"}))
    blueprint = studio.app.state.site.blueprint
    assert blueprint.pipelines["order"].stage("proposal").probability == 55
    assert blueprint.entities["order"].fields["amount"].label.text("en") == "Deal value"


def test_undo_takes_the_field_out_of_the_forms_and_keeps_column_and_data(studio):
    add_segment(studio)
    studio.customer("Undo Co", segment="mid")
    boss = studio.browser("boss")
    history = visible_text(boss.get("/studio/history").text)
    assert "#1" in history and "Add field segment to customer" in history and "boss" in history
    diff = boss.get("/studio/history/1").text
    assert "+    type: select" in diff or "type: select" in diff
    refused = boss.post("/studio/history/1/undo", data={"version": "1"}, follow_redirects=False)
    assert refused.status_code == 200 and "Field customer.segment is hidden: 1 record(s)" in visible_text(refused.text)
    undone = boss.post("/studio/history/1/undo", data={"version": "1", "confirm": "yes"}, follow_redirects=False)
    assert undone.status_code == 303 and undone.headers["location"] == "/studio/history?applied=2"
    assert "segment" not in studio.app.state.site.blueprint.entities["customer"].fields
    assert 'name="segment"' not in studio.browser("rep").get("/r/customer/new").text
    assert "segment" not in studio.loaded().entities["customer"].fields
    assert studio.column_values("customer", "segment") == ["mid"]
    assert set(studio.overlay_files()) == {"blueprint.yaml"}
    rows = studio.history_rows()
    assert [(r["id"], r["action"], r["user_name"]) for r in rows] == [(1, "change", "boss"), (2, "undo", "boss")]
    # back to version 1: the field and its value show again
    applied = boss.post("/studio/history/1/restore", data={"version": "2"}, follow_redirects=False)
    assert applied.status_code == 303
    assert "segment" in studio.app.state.site.blueprint.entities["customer"].fields
    assert "Mid-market" in studio.browser("rep").get("/r/customer").text


def test_an_undo_from_an_old_page_is_refused(studio):
    add_segment(studio)
    boss = studio.browser("boss")
    stale_version = "1"
    fields = open_form(boss, "/studio/entities/order/fields/amount")
    applied_version(submit(boss, "/studio/entities/order/fields/amount", {**fields, "label_en": "Deal value"}))
    refused = boss.post("/studio/history/1/undo", data={"version": stale_version, "confirm": "yes"})
    assert refused.status_code == 409 and "Not applied: boss changed this" in visible_text(refused.text)
    assert len(studio.history_rows()) == 2


def test_another_server_process_serves_the_new_metadata_without_a_restart(studio):
    other_app = studio.make_app()  # a second worker: its own app and Site, the same database and files
    from atrium.runtime.site.site import Site
    other_app.state.site = Site.open(studio.blueprint, studio.database_url, engine=studio.site.engine)
    client = TestClient(other_app)
    studio.clients.append(client)
    rep_elsewhere = Browser(client)
    rep_elsewhere.post("/login", data={"name": "rep", "password": "rep-pass"})
    assert 'name="segment"' not in rep_elsewhere.get("/r/customer/new").text
    add_segment(studio)
    assert 'name="segment"' in rep_elsewhere.get("/r/customer/new").text
    watcher = other_app.state.studio.watcher
    assert (watcher.version, watcher.settled, watcher.reloads) == (1, True, 1)
    rep_elsewhere.get("/r/customer/new")
    assert watcher.reloads == 1  # one reload per version, not per request


def test_a_migration_the_database_refuses_leaves_the_yaml_as_it_was(studio):
    studio.customer("Same Name")
    studio.customer("Same Name")
    boss = studio.browser("boss")
    before = studio.overlay_files()
    fields = open_form(boss, "/studio/yaml/entity/customer")
    document = yaml.safe_load(fields["text"])
    document["fields"]["name"]["unique"] = True
    text = render_overlay_yaml(document)
    refused = submit(boss, "/studio/yaml/entity/customer", {**fields, "text": text})
    assert refused.status_code == 200
    assert "Not applied: the database refused the migration" in visible_text(refused.text)
    after = studio.overlay_files()
    assert after.get("entities/customer.yaml") == before.get("entities/customer.yaml")
    assert studio.history_rows() == []
    assert not studio.app.state.site.blueprint.entities["customer"].fields["name"].unique


def test_the_servers_scheduler_runs_the_new_metadata(studio):
    from record_pages_kit import B2B

    from atrium.ui.web.app import Settings, create_app
    app = create_app(Settings(str(B2B), studio.database_url, secret_key="test-secret", scheduler=True,
                              site_overlay=str(studio.overlay)), site=studio.site)
    with TestClient(app) as client:  # runs the lifespan: the scheduler thread starts
        boss = Browser(client)
        assert boss.post("/login", data={"name": "boss", "password": "boss-pass"},
                         follow_redirects=False).status_code == 303
        fields = open_form(boss, "/studio/entities/customer/fields/new", "/studio/entities/customer/fields")
        applied_version(submit(boss, "/studio/entities/customer/fields", {**fields, **SEGMENT}))
        scheduler = app.state.scheduler
        assert "segment" in scheduler.site.blueprint.entities["customer"].fields
        assert scheduler.rules.site is scheduler.site
