"""CSV and .xlsx export of the list as the user sees it: same filters, search, sort and access, no
hidden field. The CSV is UTF-8 with a BOM so Excel opens Chinese correctly, and streams page by
page (keyset), so any number of rows costs the memory of one page; the .xlsx has typed cells
(dates, money with the currency's format, labels in the user's language)."""
from __future__ import annotations

import csv
import io
from email.utils import encode_rfc2231
from typing import Iterator

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from atrium.runtime.io.xlsx_export import MEDIA_TYPE, XlsxSheet
from atrium.ui.records.list_page import default_columns, query_of, read_state
from atrium.ui.web.page_tools import Kit, record_page
from atrium.ui.web.present import Column, Lookups
from atrium.ui.web.threads import in_thread

BATCH = 500
MAX_TICKED = 10_000
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(kit: Kit, column: Column, record: dict, lookups: Lookups) -> str:
    value = kit.presenter.value_at(kit.entity_name, record, column.path, lookups)
    text = kit.presenter.export_value(column.field, value, lookups)
    if not column.numeric and text.startswith(FORMULA_START):
        text = "'" + text  # a spreadsheet would run "=HYPERLINK(...)" typed into a name
    return text


def export_paths(kit: Kit) -> list[str]:
    """The view's columns first, then every other field the user may see."""
    paths = ["id"] + [p for p in default_columns(kit) if p != "id"]
    paths += [f.name for f in kit.entity if f.name not in paths]
    return paths


def ticked(params) -> list[int]:
    """The ids of a selection (`ids=` repeated): the bulk bar's ticked rows, at most MAX_TICKED."""
    return [int(text) for text in params.getlist("ids")[:MAX_TICKED] if text.isdigit() and len(text) < 19]


def list_state(kit: Kit, params):
    """The list's filters, search and sort; a selection's ids narrow it further (access still applies)."""
    with kit.site.engine.connect() as connection:
        state = read_state(kit, connection, params)
    if params.getlist("ids"):
        state.where = {**state.where, "id": {"in": ticked(params) or [0]}}
    state.limit = BATCH
    return state


def pages(kit: Kit, params, columns: list[Column]) -> Iterator[tuple[list[dict], Lookups]]:
    """The list's records a page at a time, with what their cells show."""
    state = list_state(kit, params)
    after = None
    while True:
        with kit.site.engine.connect() as connection:
            page = kit.secured.list(kit.actor, query_of(state, after), connection)
            lookups = kit.presenter.load(connection, kit.entity_name, page.records, [c.path for c in columns])
        yield page.records, lookups
        after = page.next_cursor
        if after is None:
            return


def rows(kit: Kit, params) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    state = list_state(kit, params)
    columns = kit.presenter.columns(kit.entity_name, export_paths(kit))
    writer.writerow([c.label for c in columns])
    yield "\ufeff" + buffer.getvalue()
    after = None
    while True:
        buffer.seek(0)
        buffer.truncate()
        with kit.site.engine.connect() as connection:
            page = kit.secured.list(kit.actor, query_of(state, after), connection)
            lookups = kit.presenter.load(connection, kit.entity_name, page.records, [c.path for c in columns])
        for record in page.records:
            writer.writerow([cell(kit, c, record, lookups) for c in columns])
        yield buffer.getvalue()
        after = page.next_cursor
        if after is None:
            return


def attachment(kit: Kit, extension: str) -> dict[str, str]:
    filename = f"{kit.entity_name}.{extension}"
    label = kit.presenter.text(kit.entity.plural) + "." + extension
    return {"Content-Disposition": f"attachment; filename=\"{filename}\"; "
                                   f"filename*={encode_rfc2231(label, 'utf-8')}",
            "Cache-Control": "no-store"}


@record_page
@in_thread
def export_csv(request: Request) -> Response:
    kit = Kit(request)
    kit.require("read")
    return StreamingResponse(rows(kit, request.query_params), media_type="text/csv; charset=utf-8",
                             headers=attachment(kit, "csv"))


@record_page
@in_thread
def export_xlsx(request: Request) -> Response:
    kit = Kit(request)
    kit.require("read")
    blueprint = kit.site.blueprint
    columns = kit.presenter.columns(kit.entity_name, export_paths(kit))
    sheet = XlsxSheet(kit.presenter.text(kit.entity.plural), blueprint.currency, blueprint.timezone, kit.locale)
    sheet.header([c.label for c in columns])
    for records, lookups in pages(kit, request.query_params, columns):
        for record in records:
            sheet.append([typed(kit, c, record, lookups) for c in columns])
    return Response(sheet.content(), media_type=MEDIA_TYPE, headers=attachment(kit, "xlsx"))


def typed(kit: Kit, column: Column, record: dict, lookups: Lookups) -> tuple[str | None, object, str]:
    value = kit.presenter.value_at(kit.entity_name, record, column.path, lookups)
    kind = "integer" if column.path == "id" else column.field.type
    return kind, value, kit.presenter.export_value(column.field, value, lookups)
