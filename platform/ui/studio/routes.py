"""The studio's routes (every one behind `studio_page`: a studio role, or 404)."""
from __future__ import annotations

from starlette.routing import Route

from . import history_page, home, yaml_editor

routes = [
    Route("/studio", home.studio_home, methods=["GET"], name="studio"),
    Route("/studio/history", history_page.history, methods=["GET"], name="studio_history"),
    Route("/studio/history/{entry:int}", history_page.history_entry, methods=["GET"], name="studio_history_entry"),
    Route("/studio/history/{entry:int}/undo", history_page.undo, methods=["POST"], name="studio_undo"),
    Route("/studio/history/{entry:int}/restore", history_page.restore, methods=["POST"], name="studio_restore"),
    Route("/studio/yaml/{kind}/{name}", yaml_editor.yaml_page, methods=["GET"], name="studio_yaml"),
    Route("/studio/yaml/{kind}/{name}", yaml_editor.yaml_save, methods=["POST"], name="studio_yaml_save"),
    Route("/studio/yaml/{kind}/{name}/check", yaml_editor.yaml_check, methods=["POST"], name="studio_yaml_check"),
]
