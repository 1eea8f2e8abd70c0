"""The OpenAPI description of running a report: GET /api/v1/reports/{name} and its result."""
from __future__ import annotations

from typing import Any

from atrium.ui.api.openapi_common import MAX_LIMIT, PERIOD, error_response, response_ref


def report_path(names: list[str]) -> dict[str, Any]:
    """GET /api/v1/reports/{name}, for the reports the caller may run."""
    return {"get": {
        "operationId": "run_report", "tags": ["reports"], "summary": "Run a report",
        "description": "The report's rows, totals row and columns, computed under the caller's access "
                       "scope (a rep sees their own records, a manager the team's). Labels are in the "
                       "language of `Accept-Language`.",
        "parameters": [
            {"name": "name", "in": "path", "required": True, "schema": {"enum": names}},
            {"name": "period", "in": "query", "description": "Replaces the report's period (a time "
             "series' range, a funnel's stage changes, else its first `within` filter)",
             "schema": {"type": "string", "pattern": PERIOD}},
            {"name": "limit", "in": "query", "description": f"At most this many rows (at most {MAX_LIMIT})",
             "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}}],
        "responses": {"200": {"description": "The report", "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/ReportResult"}}}},
            "400": response_ref("BadRequest"), "401": response_ref("Unauthorized"),
            "404": error_response("No such report, or one the caller may not run", "Error")}}}


_ROW = {"type": "object", "description": "Column name → value: numbers of money and percent columns "
        "as exact decimal strings, dates as ISO text, references and users as ids",
        "additionalProperties": True}
REPORT_RESULT: dict[str, Any] = {
    "type": "object", "required": ["report", "type", "label", "columns", "rows", "totals", "labels"],
    "properties": {
        "report": {"type": "string"},
        "type": {"enum": ["summary", "matrix", "list", "funnel", "timeseries"]},
        "label": {"type": "string"},
        "columns": {"type": "array", "items": {"type": "object", "required": ["name", "kind", "type", "label"],
                    "properties": {
                        "name": {"type": "string"},
                        "kind": {"enum": ["group", "measure", "metric", "field", "conversion", "previous",
                                          "change"]},
                        "type": {"type": "string", "description": "A field type (stage, reference, money ...)"},
                        "label": {"type": "string"},
                        "bucket": {"enum": ["day", "week", "month", "quarter", "year", None],
                                   "description": "A date group's bucket; its values are the bucket's first day"},
                        "function": {"type": ["string", "null"]}, "format": {"type": ["string", "null"]},
                        "of": {"type": ["string", "null"], "description": "The column a comparison is of"}}}},
        "rows": {"type": "array", "items": _ROW},
        "totals": {"oneOf": [_ROW, {"type": "null"}]},
        "labels": {"type": "object", "description": "Column → value → text as people read it (stage and "
                   "option labels, record titles, user names, periods)",
                   "additionalProperties": {"type": "object", "additionalProperties": {"type": "string"}}},
        "matrix": {"type": ["object", "null"], "description": "Matrix reports: the row and column keys "
                   "and their totals"},
        "period": {"type": ["object", "null"], "description": "The [start, end) dates a time series or "
                   "funnel covers", "properties": {"start": {"type": "string", "format": "date"},
                                                   "end": {"type": "string", "format": "date"}}},
        "truncated": {"type": "boolean", "description": "A list report had more records than its limit"},
        "warnings": {"type": "array", "items": {"type": "string"}}}}
