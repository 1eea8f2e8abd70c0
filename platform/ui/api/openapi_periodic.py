"""The OpenAPI description of periodic reports (`periodic_reports.py`): each report the blueprint
declares, read and saved by its submitter, read (with a team list) by those whose access reaches them."""
from __future__ import annotations

from typing import Any

from atrium.runtime.periodic.service import TEXT_LIMIT, PeriodicReports
from atrium.ui.api.openapi_common import READ_ERRORS, WRITE_ERRORS

LABEL = {"type": "object", "description": "Locale → text", "additionalProperties": {"type": "string"}}
NUMBER = {"type": ["number", "null"]}
SCHEMAS: dict[str, Any] = {
    "PeriodicReport": {"type": "object", "required": ["name", "label", "period", "current_start"], "properties": {
        "name": {"type": "string"}, "label": LABEL, "period": {"enum": ["day", "week", "month"]},
        "current_start": {"type": "string", "format": "date", "description": "The first day of the current period"},
        "due": {"type": ["string", "null"]},
        "figures": {"type": "array", "items": {"type": "object"}},
        "texts": {"type": "array", "items": {"type": "object"}},
        "plan": {"type": "array", "items": {"type": "object"}}}},
    "PeriodicReportSheet": {
        "type": "object", "required": ["report", "user_id", "start", "end", "status", "figures", "texts", "plan"],
        "properties": {
            "report": {"type": "string"}, "user_id": {"type": "integer"}, "user": {"type": "string"},
            "start": {"type": "string", "format": "date"},
            "end": {"type": "string", "format": "date", "description": "The first day after the period"},
            "status": {"enum": ["new", "draft", "submitted"]},
            "editable": {"type": "boolean"},
            "live": {"type": "boolean", "description": "Figures computed now (a draft), else as submitted"},
            "version": {"type": "integer", "description": "Pass it back on PUT to refuse a stale save (409)"},
            "submitted_at": {"type": ["string", "null"], "format": "date-time"},
            "figures": {"type": "object", "additionalProperties": NUMBER,
                        "description": "Figure → number, for the submitter's own records of the period"},
            "texts": {"type": "object", "additionalProperties": {"type": "string"}},
            "plan": {"type": "object", "additionalProperties": NUMBER},
            "plan_checks": {"type": "array", "items": {"type": "object", "properties": {
                "name": {"type": "string"}, "planned": NUMBER, "actual": NUMBER,
                "grade": {"enum": ["excellent", "pass", "below", None]}}}}}},
    "PeriodicReportTeamRow": {"type": "object", "required": ["user_id", "user", "status", "unread"], "properties": {
        "user_id": {"type": "integer"}, "user": {"type": "string"},
        "status": {"enum": ["missing", "draft", "submitted"]},
        "submitted_at": {"type": ["string", "null"], "format": "date-time"},
        "unread": {"type": "boolean", "description": "Submitted and not yet opened by the caller"}}},
}
START = {"name": "start", "in": "query", "description": "The period's first day (a day, a Monday, a month's 1st); "
         "default the current period. A period to come, or a day that starts none, is a 404",
         "schema": {"type": "string", "format": "date"}}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def periodic_paths(describer: Any) -> dict[str, Any]:
    """The list, then each report the caller submits or reads others' of, and its team list."""
    service = PeriodicReports(describer.site)
    reports = [name for name, report in describer.blueprint.periodic_reports.items()
               if service.concerns(describer.actor, report)]
    if not reports or describer.actor.user_id is None:
        return {}
    ref = {"$ref": "#/components/schemas/PeriodicReportSheet"}
    paths: dict[str, Any] = {"/api/v1/periodic-reports": {"get": {
        "operationId": "list_periodic_reports", "tags": ["periodic reports"],
        "summary": "The periodic reports the caller submits or reads, and how many submitted ones are unread",
        "responses": {"200": _json({"type": "object", "required": ["data", "unread"], "properties": {
            "data": {"type": "array", "items": {"$ref": "#/components/schemas/PeriodicReport"}},
            "unread": {"type": "integer"}}}, "The reports"), **READ_ERRORS}}}}
    for name in sorted(reports):
        paths[f"/api/v1/periodic-reports/{name}"] = {"get": {
            "operationId": f"get_periodic_report_{name}", "tags": ["periodic reports"],
            "summary": "One person's report for a period: the caller's own by default; figures are computed "
                       "live until it is submitted. Opening someone else's submitted report marks it read",
            "parameters": [START, {"name": "user", "in": "query", "description": "Whose report (a user id)",
                                   "schema": {"type": "integer", "minimum": 1}}],
            "responses": {"200": _json(ref, "The report"), **READ_ERRORS}}, "put": {
            "operationId": f"save_periodic_report_{name}", "tags": ["periodic reports"],
            "summary": "Save the caller's own report as a draft, or submit it (`submit: true`: its figures "
                       "are kept as they are now). A submitted report is refused (409)",
            "parameters": [START],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "additionalProperties": False, "properties": {
                    "texts": {"type": "object", "additionalProperties": {"type": ["string", "null"],
                                                                         "maxLength": TEXT_LIMIT}},
                    "plan": {"type": "object", "additionalProperties": {"type": ["number", "string", "null"]}},
                    "submit": {"type": "boolean"},
                    "version": {"type": "integer", "description": "The version read; a stale one is a 409"}}}}}},
            "responses": {"200": _json(ref, "The report as saved"), **WRITE_ERRORS}}}
        paths[f"/api/v1/periodic-reports/{name}/team"] = {"get": {
            "operationId": f"team_periodic_report_{name}", "tags": ["periodic reports"],
            "summary": "Each person the caller's access reaches who submits this report: missing, draft or "
                       "submitted, and unread",
            "parameters": [START],
            "responses": {"200": _json({"type": "object", "required": ["data"], "properties": {"data": {
                "type": "array", "items": {"$ref": "#/components/schemas/PeriodicReportTeamRow"}}}}, "The team"),
                **READ_ERRORS}}}
    return paths
