"""The studio's routes (every one behind `studio_page`: a studio role, or 404)."""
from __future__ import annotations

from starlette.routing import Route

from atrium.ui.studio import (
    dashboard_editor,
    entity_editor,
    expression_check,
    field_editor,
    history_page,
    home,
    layout_editor,
    report_editor,
    stage_editor,
    users_page,
    yaml_editor,
)

routes = [
    Route("/studio", home.studio_home, methods=["GET"], name="studio"),
    Route("/studio/history", history_page.history, methods=["GET"], name="studio_history"),
    Route("/studio/history/{entry:int}", history_page.history_entry, methods=["GET"], name="studio_history_entry"),
    Route("/studio/history/{entry:int}/undo", history_page.undo, methods=["POST"], name="studio_undo"),
    Route("/studio/history/{entry:int}/restore", history_page.restore, methods=["POST"], name="studio_restore"),
    Route("/studio/check-expression", expression_check.check_expression, methods=["POST"],
          name="studio_check_expression"),
    Route("/studio/entities/new", entity_editor.new_entity, methods=["GET"], name="studio_new_entity"),
    Route("/studio/entities", entity_editor.create_entity, methods=["POST"], name="studio_create_entity"),
    Route("/studio/entities/{entity}", entity_editor.entity_page, methods=["GET"], name="studio_entity"),
    Route("/studio/entities/{entity}", entity_editor.save_entity, methods=["POST"], name="studio_save_entity"),
    Route("/studio/entities/{entity}/fields/new", field_editor.new_field, methods=["GET"], name="studio_new_field"),
    Route("/studio/entities/{entity}/fields", field_editor.save_field, methods=["POST"], name="studio_add_field"),
    Route("/studio/entities/{entity}/fields/{field}", field_editor.edit_field, methods=["GET"], name="studio_field"),
    Route("/studio/entities/{entity}/fields/{field}", field_editor.save_field, methods=["POST"],
          name="studio_save_field"),
    Route("/studio/entities/{entity}/fields/{field}/hide", field_editor.hide_field, methods=["POST"],
          name="studio_hide_field"),
    Route("/studio/entities/{entity}/fields/{field}/rename", field_editor.rename_field, methods=["POST"],
          name="studio_rename_field"),
    Route("/studio/views/{entity}", layout_editor.layout_page, methods=["GET"], name="studio_layout"),
    Route("/studio/views/{entity}", layout_editor.save_layout, methods=["POST"], name="studio_save_layout"),
    Route("/studio/pipelines/{name}", stage_editor.stages_page, methods=["GET"], name="studio_stages"),
    Route("/studio/pipelines/{name}", stage_editor.save_stages, methods=["POST"], name="studio_save_stages"),
    Route("/studio/reports/{name}", report_editor.report_page, methods=["GET"], name="studio_report"),
    Route("/studio/reports/{name}", report_editor.save_report, methods=["POST"], name="studio_save_report"),
    Route("/studio/reports/{name}/preview", report_editor.preview_report, methods=["POST"],
          name="studio_preview_report"),
    Route("/studio/dashboards/{name}", dashboard_editor.dashboard_page, methods=["GET"], name="studio_dashboard"),
    Route("/studio/dashboards/{name}", dashboard_editor.save_dashboard, methods=["POST"], name="studio_save_dashboard"),
    Route("/studio/yaml/{kind}/{name}", yaml_editor.yaml_page, methods=["GET"], name="studio_yaml"),
    Route("/studio/yaml/{kind}/{name}", yaml_editor.yaml_save, methods=["POST"], name="studio_yaml_save"),
    Route("/studio/yaml/{kind}/{name}/check", yaml_editor.yaml_check, methods=["POST"], name="studio_yaml_check"),
] + users_page.routes
