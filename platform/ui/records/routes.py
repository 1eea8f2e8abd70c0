"""The generated record pages, generic over entity names: list, export, picker, saved views,
forms, the 360° detail, the public pool (pool list, claim, release) and conversions. Record ids
use the int convertor, so /r/{entity}/new, /kanban, /import and the like never collide with a
record."""
from __future__ import annotations

from starlette.routing import Route

from atrium.ui.records import (
    bulk_actions,
    cell_edit,
    comments_page,
    convert_page,
    detail_page,
    export,
    follow_up_page,
    form_page,
    list_page,
    picker,
    pool_actions,
    saved_views,
    trash_pages,
)

R = "/r/{entity}"
ID = R + "/{record_id:int}"

routes = [
    Route(R, list_page.list_page, methods=["GET"], name="record_list"),
    Route(R, form_page.create, methods=["POST"], name="record_create"),
    Route(R + "/count", list_page.exact_count, methods=["GET"], name="record_count"),
    Route(R + "/export.csv", export.export_csv, methods=["GET"], name="record_export"),
    Route(R + "/export.xlsx", export.export_xlsx, methods=["GET"], name="record_export_xlsx"),
    Route(R + "/pick", picker.pick, methods=["GET"], name="record_pick"),
    Route(R + "/bulk", bulk_actions.bulk, methods=["POST"], name="record_bulk"),
    Route(R + "/bulk/field", bulk_actions.field_input, methods=["GET"], name="record_bulk_field"),
    Route(R + "/bulk/{job}", bulk_actions.progress, methods=["GET"], name="record_bulk_progress"),
    Route(R + "/views", saved_views.save_view, methods=["POST"], name="saved_view_save"),
    Route(R + "/views/{view_id:int}/delete", saved_views.delete_view, methods=["POST"], name="saved_view_delete"),
    Route(R + "/new", form_page.new_form, methods=["GET"], name="record_new"),
    Route(R + "/form-state", form_page.form_state, methods=["POST"], name="record_form_state"),
    Route(R + "/validate", form_page.validate, methods=["POST"], name="record_validate"),
    Route(ID, detail_page.detail, methods=["GET"], name="record_detail"),
    Route(ID, form_page.update, methods=["POST"], name="record_update"),
    Route(ID + "/edit", form_page.edit_form, methods=["GET"], name="record_edit"),
    Route(ID + "/form-state", form_page.form_state, methods=["POST"], name="record_edit_form_state"),
    Route(ID + "/validate", form_page.validate, methods=["POST"], name="record_edit_validate"),
    Route(ID + "/delete", detail_page.delete, methods=["POST"], name="record_delete"),
    Route(ID + "/stage", detail_page.move_stage, methods=["POST"], name="record_stage"),
    Route(ID + "/follow-up/{child}", follow_up_page.log, methods=["POST"], name="record_follow_up"),
    Route(ID + "/check-in", follow_up_page.record_check_in, methods=["POST"], name="record_check_in"),
    Route(R + "/pool", pool_actions.pool_list, methods=["GET"], name="record_pool"),
    Route(ID + "/claim", pool_actions.claim, methods=["POST"], name="record_claim"),
    Route(ID + "/release", pool_actions.release, methods=["POST"], name="record_release"),
    Route(ID + "/convert", convert_page.convert_form, methods=["GET"], name="record_convert_form"),
    Route(ID + "/convert", convert_page.convert, methods=["POST"], name="record_convert"),
    Route(ID + "/comments", comments_page.add, methods=["POST"], name="record_comment_add"),
    Route(ID + "/comments/{comment_id:int}", comments_page.edit, methods=["POST"], name="record_comment_edit"),
    Route(ID + "/comments/{comment_id:int}/delete", comments_page.delete, methods=["POST"],
          name="record_comment_delete"),
    Route(ID + "/mentions", comments_page.mentions, methods=["GET"], name="record_mentions"),
    *cell_edit.routes,  # inline edit in list cells
    *trash_pages.routes,  # the delete's confirmation, /trash: the recycle bin
]
