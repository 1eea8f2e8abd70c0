"""The OpenAPI description of running a report: GET /api/v1/reports/NAME (a path per report the
caller may run) and its result."""
from __future__ import annotations

from typing import Any, Callable

from atrium.metadata.model import Document
from atrium.runtime.reports.parts import takes_period
from atrium.ui.api.openapi_common import MAX_LIMIT, PERIOD, READ_ERRORS

RESULT: dict[str, Any] = {"description": "The report", "content": {"application/json": {
    "schema": {"$ref": "#/components/schemas/ReportResult"}}}}


def report_paths(documents: list[Document], label: Callable[[Any], str]) -> dict[str, Any]:
    """GET /api/v1/reports/NAME for each report the caller may run; `period` only where the report
    has a date to apply it to."""
    paths = {}
    for document in documents:
        parameters: list[dict[str, Any]] = []
        if takes_period(document):
            parameters.append({"name": "period", "in": "query", "description": "Replaces the report's period (a "
                               "time series' range, a funnel's stage changes, else its first `within` filter)",
                               "schema": {"type": "string", "pattern": PERIOD}})
        parameters.append({"name": "limit", "in": "query", "description": f"At most this many rows (at most "
                           f"{MAX_LIMIT})", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}})
        responses: dict[str, Any] = {**READ_ERRORS, "200": RESULT}
        paths[f"/api/v1/reports/{document.name}"] = {"get": {
            "operationId": f"run_report_{document.name}", "tags": ["reports"],
            "summary": label(document.label) or document.name,
            "description": "The report's rows, totals row and columns, computed under the caller's access "
                           "scope (a rep sees their own records, a manager the team's). Labels are in the "
                           "language of `Accept-Language`.",
            "parameters": parameters,
            "responses": responses}}
    return paths


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
