"""The OpenAPI 3.1 description of the JSON API, generated from the blueprint for one caller.

The document describes what the caller may use: the entities their role can read or create,
the operations it allows, and the fields it does not hide. Schemas are typed from the field
types (options and stages as enums, computed and system fields read-only); the list operation
carries the filters (`field`, `field__gte`, ...) as one exploded object parameter. The filter operators each
field type accepts are defined here, and the API's parser enforces the same table.
"""
from __future__ import annotations

from typing import Any

from atrium.metadata.entities import system_field
from atrium.metadata.model import Blueprint, Entity, Field
from atrium.metadata.references import resolve_path
from atrium.runtime.evaluation import Actor
from atrium.runtime.report_runner import Reports
from atrium.runtime.tables import text_limit
from .openapi_actions import action_paths
from .openapi_approvals import SCHEMAS as APPROVAL_SCHEMAS, approval_paths

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
RESERVED = ("q", "sort", "limit", "after")  # query parameters that are not filters

_CHOICE = ("eq", "ne", "in", "not_in", "is_set")
_ORDERED = ("eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "is_set")
_TEMPORAL = ("eq", "ne", "gt", "gte", "lt", "lte", "within", "until", "older_than_days", "newer_than_days",
             "is_set")
OPERATORS: dict[str, tuple[str, ...]] = {
    **{kind: ("eq", "ne", "in", "not_in", "contains", "is_set")
       for kind in ("text", "textarea", "email", "phone", "url", "autonumber")},
    "select": _CHOICE, "stage": _CHOICE, "reference": _CHOICE, "user": _CHOICE,
    "integer": _ORDERED, "number": _ORDERED, "money": _ORDERED, "percent": _ORDERED,
    "date": _TEMPORAL, "datetime": _TEMPORAL + ("older_than_hours", "within_last_hours"),
    "boolean": ("eq", "ne", "is_set"),
    "multiselect": ("eq", "in", "contains", "is_set"),  # eq/contains: has the value; in: has any
    "location": (),
}
OPERATOR_TEXT = {
    "eq": "equals (empty: is not set)", "ne": "differs from", "in": "one of (comma-separated)",
    "not_in": "none of (comma-separated)", "gt": "greater than", "gte": "at least",
    "lt": "less than", "lte": "at most", "contains": "contains (case-insensitive)",
    "within": "within a relative period", "older_than_days": "more than N days ago",
    "newer_than_days": "within the last N days", "is_set": "has a value (true) or not (false)",
    "until": "up to the end of a relative period", "older_than_hours": "more than N hours ago",
    "within_last_hours": "within the last N hours",
}
PERIOD = r"^(today|yesterday|tomorrow|(this|last|next)_(week|month|quarter|year)|(last|next)_[0-9]+_days)$"
DECIMAL = r"^-?[0-9]+(\.[0-9]+)?$"


def _label(blueprint: Blueprint, label: Any) -> str:
    return label.text(blueprint.default_locale, blueprint.default_locale) if label else ""


def value_schema(blueprint: Blueprint, field: Field) -> dict[str, Any]:
    """The JSON Schema of one field's value (never null: see `nullable`)."""
    kind = field.type
    if kind in ("text", "textarea", "autonumber", "phone", "email", "url"):
        schema: dict[str, Any] = {"type": "string"}
        if kind == "email":
            schema["format"] = "email"
        if kind == "url":
            schema["format"] = "uri"
        if text_limit(field):
            schema["maxLength"] = text_limit(field)
        return schema
    if kind in ("integer", "number"):
        schema = {"type": kind}
        if field.min is not None:
            schema["minimum"] = field.min
        if field.max is not None:
            schema["maximum"] = field.max
        return schema
    if kind in ("money", "percent"):
        return {"type": ["string", "number"], "pattern": DECIMAL,
                "description": "An exact decimal, sent back as a string (e.g. \"1234.50\"); "
                               "a JSON number is accepted on input."}
    if kind == "boolean":
        return {"type": "boolean"}
    if kind == "date":
        return {"type": "string", "format": "date"}
    if kind == "datetime":
        return {"type": "string", "format": "date-time"}
    if kind == "select":
        return {"enum": list(field.option_values)}
    if kind == "multiselect":
        return {"type": "array", "items": {"enum": list(field.option_values)}, "uniqueItems": True}
    if kind == "stage":
        pipeline = blueprint.pipelines.get(field.pipeline or "")
        return {"type": "string", **({"enum": list(pipeline.stage_names)} if pipeline else {})}
    if kind == "reference":
        return {"type": "integer", "description": f"The id of a {field.to} record."}
    if kind == "user":
        return {"type": "integer", "description": "The id of a user."}
    if kind == "location":
        return {"type": "object", "required": ["lat", "lng"], "properties": {
            "lat": {"type": ["number", "null"], "minimum": -90, "maximum": 90},
            "lng": {"type": ["number", "null"], "minimum": -180, "maximum": 180},
            "address": {"type": ["string", "null"], "maxLength": 500}}}
    return {}


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    schema = dict(schema)
    if "enum" in schema:
        schema["enum"] = [*schema["enum"], None]
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        schema["type"] = [*types, "null"]
    return schema


class Describer:
    """Builds the document for one actor (what their role may see and do)."""

    def __init__(self, site: Any, actor: Actor):
        self.site, self.actor = site, actor
        self.blueprint: Blueprint = site.blueprint
        self.access = site.access

    def mode(self, entity: str, field: str) -> str:
        return self.access.field_mode(self.actor, entity, field)

    def fields(self, entity: Entity) -> list[Field]:
        return [f for f in entity if self.mode(entity.name, f.name) != "hidden"]

    def record_schema(self, entity: Entity) -> dict[str, Any]:
        properties: dict[str, Any] = {}
        for name in ("id", "version", "created_at", "updated_at", "created_by", "updated_by"):
            schema = value_schema(self.blueprint, system_field(name))
            properties[name] = {**(schema if name in ("id", "version", "created_at", "updated_at")
                                  else nullable(schema)), "readOnly": True}
        for field in self.fields(entity):
            schema = nullable(value_schema(self.blueprint, field))
            schema["title"] = _label(self.blueprint, field.label)
            if field.help:
                schema["description"] = _label(self.blueprint, field.help)
            if self.mode(entity.name, field.name) != "write":
                schema["readOnly"] = True
            properties[field.name] = schema
        required = [f.name for f in self.fields(entity)
                    if f.required and self.mode(entity.name, f.name) == "write"]
        return {"type": "object", "title": _label(self.blueprint, entity.label),
                "properties": properties, **({"required": required} if required else {})}

    def patch_schema(self, entity: Entity) -> dict[str, Any]:
        properties = {name: schema for name, schema in self.record_schema(entity)["properties"].items()
                      if not schema.get("readOnly")}
        properties["version"] = {"type": "integer", "description":
                                 "The version the change is based on; 409 when the record has moved on."}
        return {"type": "object", "title": f"Changes to a {entity.name}", "properties": properties,
                "required": ["version"]}

    def filter_schema(self, entity: Entity) -> dict[str, Any]:
        """Every filter of the list as one object, spread over the query string (`style: form`,
        `explode: true`): each property is a query parameter (`amount__gte=1000`)."""
        paths = [(f.name, f) for f in self.fields(entity)]
        paths += [(name, system_field(name)) for name in ("id", "created_at", "updated_at")]
        for path in self.blueprint.view(entity.name).filters:
            if "." in path and path not in dict(paths) and self._readable_path(entity, path):
                field = resolve_path(self.blueprint.entities, entity.name, path)
                if isinstance(field, Field):
                    paths.append((path, field))
        properties = {}
        for path, field in paths:
            for operator in OPERATORS.get(field.type, ()):
                properties[path if operator == "eq" else f"{path}__{operator}"] = {
                    **self._operand(field, operator),
                    "description": f"{_label(self.blueprint, field.label)}: {OPERATOR_TEXT[operator]}"}
        return {"type": "object", "properties": properties, "additionalProperties": False,
                "description": "Filters: `field=value`, `field__operator=value`, and dotted paths through "
                               "references (`account.tier=A`); several filters all apply."}

    def _readable_path(self, entity: Entity, path: str) -> bool:
        current = entity
        for step in path.split("."):
            if self.mode(current.name, step) == "hidden":
                return False
            field = current.fields.get(step)
            if field is not None and field.type == "reference":
                if not self.access.can(self.actor, field.to, "read"):
                    return False
                current = self.blueprint.entities[field.to]
        return True

    def _operand(self, field: Field, operator: str) -> dict[str, Any]:
        if operator == "is_set":
            return {"type": "boolean"}
        if operator in ("older_than_days", "newer_than_days", "older_than_hours", "within_last_hours"):
            return {"type": "integer", "minimum": 0}
        if operator in ("within", "until"):
            return {"type": "string", "pattern": PERIOD}
        if field.type == "multiselect" and operator != "in":
            return {"enum": list(field.option_values)}
        if operator in ("in", "not_in"):
            return {"type": "string", "description": "Values separated by commas"}
        if operator == "contains":
            return {"type": "string"}
        if field.type in ("money", "percent"):
            return {"type": "string", "pattern": DECIMAL}
        schema = value_schema(self.blueprint, field)
        schema.pop("description", None)
        return schema

    def paths(self, entity: Entity) -> dict[str, Any]:
        name, can = entity.name, lambda action: self.access.can(self.actor, name, action)
        ref = {"$ref": f"#/components/schemas/{name}"}
        one = {"content": {"application/json": {"schema": ref}}}
        errors = {"400": _ref("BadRequest"), "401": _ref("Unauthorized"), "403": _ref("Forbidden")}
        collection: dict[str, Any] = {}
        item: dict[str, Any] = {"parameters": [{"name": "id", "in": "path", "required": True,
                                                "schema": {"type": "integer"}}]}
        plural = _label(self.blueprint, entity.plural)
        if can("read"):
            collection["get"] = {
                "operationId": f"list_{name}", "tags": [name], "summary": f"List {plural}",
                "parameters": [*_paging(), {
                    "name": "filters", "in": "query", "style": "form", "explode": True,
                    "description": "Each property is a query parameter of its own",
                    "schema": {"$ref": f"#/components/schemas/{name}_filters"}}],
                "responses": {"200": {"description": "One page of records",
                                      "content": {"application/json": {"schema": {
                                          "$ref": f"#/components/schemas/{name}_page"}}}}, **errors}}
            item["get"] = {"operationId": f"get_{name}", "tags": [name], "summary": f"One {name}",
                           "responses": {"200": {"description": "The record", **one}, **errors,
                                         "404": _ref("NotFound")}}
        if can("create"):
            collection["post"] = {
                "operationId": f"create_{name}", "tags": [name], "summary": f"Create a {name}",
                "requestBody": {"required": True, **one},
                "responses": {"201": {"description": "Created", **one}, **errors,
                              "422": _ref("ValidationFailed")}}
        if can("update"):
            item["patch"] = {
                "operationId": f"update_{name}", "tags": [name], "summary": f"Change a {name}",
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "$ref": f"#/components/schemas/{name}_patch"}}}},
                "responses": {"200": {"description": "The record as saved", **one}, **errors,
                              "404": _ref("NotFound"), "422": _ref("ValidationFailed"),
                              "409": {"description": "Someone saved the record first",
                                      "content": {"application/json": {"schema": {
                                          "$ref": f"#/components/schemas/{name}_stale"}}}}}}
        if can("delete"):
            item["delete"] = {
                "operationId": f"delete_{name}", "tags": [name], "summary": f"Delete a {name}",
                "responses": {"204": {"description": "Deleted"}, **errors, "404": _ref("NotFound"),
                              "422": _ref("ValidationFailed")}}
        result = {}
        if len(collection):
            result[f"/api/v1/{name}"] = collection
        if len(item) > 1:
            result[f"/api/v1/{name}/{{id}}"] = item
        result.update(action_paths(self, entity))  # claim, release, convert
        return result

    def document(self) -> dict[str, Any]:
        blueprint = self.blueprint
        paths: dict[str, Any] = {}
        schemas: dict[str, Any] = dict(COMMON_SCHEMAS)
        tags = []
        for entity in blueprint.entities.values():
            entity_paths = self.paths(entity)
            if not entity_paths:
                continue
            paths.update(entity_paths)
            tags.append({"name": entity.name, "description": _label(blueprint, entity.plural)})
            ref = {"$ref": f"#/components/schemas/{entity.name}"}
            schemas[entity.name] = self.record_schema(entity)
            schemas[f"{entity.name}_patch"] = self.patch_schema(entity)
            if self.access.can(self.actor, entity.name, "read"):
                schemas[f"{entity.name}_filters"] = self.filter_schema(entity)
            schemas[f"{entity.name}_page"] = {
                "type": "object", "required": ["data", "next", "count", "count_capped"],
                "properties": {"data": {"type": "array", "items": ref},
                               "next": {"type": ["string", "null"],
                                        "description": "Pass as `after` for the next page; null on the last"},
                               "count": {"type": "integer", "description": "Matches, counted up to 1,000"},
                               "count_capped": {"type": "boolean",
                                                "description": "True when there are more than `count`"}}}
            schemas[f"{entity.name}_stale"] = {
                "type": "object", "required": ["error", "current"],
                "properties": {"error": {"const": "stale"}, "message": {"type": "string"}, "current": ref}}
        names = [report.name for report in Reports(self.site).available(self.actor)]
        if names:
            paths["/api/v1/reports/{name}"] = report_path(names)
            schemas["ReportResult"] = REPORT_RESULT
            tags.append({"name": "reports", "description": "Reports under the caller's access scope"})
        approvals = approval_paths(self)  # when the blueprint has rules that ask for approval
        if approvals:
            paths.update(approvals)
            schemas.update(APPROVAL_SCHEMAS)
            tags.append({"name": "approvals", "description": "Approvals: waiting, asked for, decided"})
        return {
            "openapi": "3.1.0",
            "info": {"title": f"{_label(blueprint, blueprint.label)} API", "version": str(blueprint.version),
                     "description": "Records of this Atrium site under the caller's access rules. "
                                    "Authenticate with `Authorization: Bearer <token>` (from "
                                    "`atrium user token NAME`), or with the session cookie plus an "
                                    "`X-CSRF-Token` header on POST, PATCH and DELETE. Errors come back "
                                    "in the language of `Accept-Language` (zh or en), else the user's."},
            "servers": [{"url": "/"}],
            "tags": tags,
            "paths": paths,
            "components": {"schemas": schemas, "responses": COMMON_RESPONSES,
                           "securitySchemes": {
                               "bearer": {"type": "http", "scheme": "bearer",
                                          "description": "A token from `atrium user token NAME`"},
                               "session": {"type": "apiKey", "in": "cookie", "name": "atrium_session",
                                           "description": "The signed-in browser session; unsafe "
                                                          "methods also need the X-CSRF-Token header"}}},
            "security": [{"bearer": []}, {"session": []}],
        }


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
            "400": _ref("BadRequest"), "401": _ref("Unauthorized"),
            "404": _error("No such report, or one the caller may not run", "Error")}}}


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


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/responses/{name}"}


def _paging() -> list[dict[str, Any]]:
    return [
        {"name": "q", "in": "query", "description": "Quick search over the entity's search fields",
         "schema": {"type": "string"}},
        {"name": "sort", "in": "query", "description": "Fields, comma-separated; `-` sorts descending "
         "(e.g. `-amount,name`). Default: the list view's sort", "schema": {"type": "string"}},
        {"name": "limit", "in": "query", "description": f"Records per page (default {DEFAULT_LIMIT}, "
         f"at most {MAX_LIMIT})", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT,
                                             "default": DEFAULT_LIMIT}},
        {"name": "after", "in": "query", "description": "The `next` cursor of the previous page",
         "schema": {"type": "string"}},
    ]


def _error(description: str, schema: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}


COMMON_SCHEMAS: dict[str, Any] = {
    "Error": {"type": "object", "required": ["error"], "properties": {
        "error": {"type": "string", "description": "bad_request, unauthorized, forbidden, csrf, not_found"},
        "message": {"type": "string", "description": "For people, in the caller's language"},
        "parameter": {"type": "string", "description": "The query parameter at fault, if any"}}},
    "ValidationErrors": {"type": "object", "required": ["errors"], "properties": {
        "errors": {"type": "object", "description": "Field name (or `_record`) → messages in the "
                   "caller's language", "additionalProperties": {"type": "array", "items": {"type": "string"}}}}},
}
COMMON_RESPONSES: dict[str, Any] = {
    "BadRequest": _error("Malformed JSON, a body that is not an object, or a bad filter, sort, "
                         "limit or cursor", "Error"),
    "Unauthorized": _error("No valid token or session", "Error"),
    "Forbidden": _error("The role may not do this on this entity at all (or the CSRF header is "
                        "missing on a cookie-authenticated change)", "Error"),
    "NotFound": _error("No such record, or one the caller may not see (the same answer for both)", "Error"),
    "ValidationFailed": _error("Field errors; nothing was saved", "ValidationErrors"),
}


def document(site: Any, actor: Actor) -> dict[str, Any]:
    return Describer(site, actor).document()
