"""The OpenAPI 3.1 description of the JSON API, generated from the blueprint for one caller.

The document describes what the caller may use: the entities their role can read or create,
the operations it allows, and the fields it does not hide. Schemas are typed from the field
types (options and stages as enums, computed and system fields read-only); the list operation
carries the filters (`field`, `field__gte`, ...) as one exploded object parameter. The filter operators each
field type accepts are defined in openapi_common.py, and the API's parser enforces the same table.
"""
from __future__ import annotations

import re
from typing import Any

from atrium.metadata.entities import system_field
from atrium.metadata.model import Blueprint, Entity, Field
from atrium.metadata.references import resolve_path
from atrium.runtime.records.coercion import EMAIL, PHONE
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.reports.runner import Reports
from atrium.runtime.schema.tables import text_limit
from atrium.runtime.site.site import Site
from atrium.ui.api.inbound import inbound_paths
from atrium.ui.api.openapi_actions import action_paths
from atrium.ui.api.openapi_approvals import SCHEMAS as APPROVAL_SCHEMAS, approval_paths
from atrium.ui.api.openapi_by_key import by_key_paths, by_key_schemas
from atrium.ui.api.openapi_comments import SCHEMAS as COMMENT_SCHEMAS, comment_paths
from atrium.ui.api.openapi_common import (
    ALLOW_DUPLICATE,
    COMMON_RESPONSES,
    COMMON_SCHEMAS,
    EXACT,
    LISTED,
    MAX_DAYS,
    MAX_ID,
    MAX_NUMBER,
    OPERATOR_TEXT,
    OPERATORS,
    PERIOD,
    READ_ERRORS,
    WHERE_PARAMETER,
    WRITE_ERRORS,
    id_parameter,
    paging,
)
from atrium.ui.api.openapi_files import FILE_SCHEMA, file_path, file_value_schema, record_file_paths
from atrium.ui.api.openapi_periodic import SCHEMAS as PERIODIC_SCHEMAS, periodic_paths
from atrium.ui.api.openapi_reports import REPORT_RESULT, report_paths
from atrium.ui.api.trash import trash_paths
from atrium.ui.search.api import search_path


def _label(blueprint: Blueprint, label: Any) -> str:
    return label.text(blueprint.default_locale, blueprint.default_locale) if label else ""


def value_schema(blueprint: Blueprint, field: Field) -> dict[str, Any]:
    """The JSON Schema of one field's value (never null: see `nullable`)."""
    kind = field.type
    if kind in ("text", "textarea", "autonumber", "phone", "email", "url"):
        schema: dict[str, Any] = {"type": "string"}
        if kind == "email":  # the records service's own patterns: what it accepts
            schema.update(format="email", pattern=EMAIL.pattern)
        if kind == "phone":
            schema["pattern"] = PHONE.pattern
        if kind == "url":
            schema.update(format="uri", pattern=r"^[hH][tT][tT][pP][sS]?://[^\s/$.?#][^\s]*$")
        if text_limit(field):
            schema["maxLength"] = text_limit(field)
        return schema
    if kind in ("integer", "number"):
        most: float = MAX_ID if kind == "integer" else MAX_NUMBER
        return {"type": kind, "minimum": field.min if field.min is not None else -most,
                "maximum": field.max if field.max is not None else most}
    if kind in ("money", "percent"):
        pattern, most = EXACT[kind]
        return {"type": ["string", "number"], "pattern": pattern,
                "minimum": field.min if field.min is not None else -most,
                "maximum": field.max if field.max is not None else most,
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
        return {"type": "integer", "minimum": 1, "maximum": MAX_ID, "description": f"The id of a {field.to} record."}
    if kind == "user":
        return {"type": "integer", "minimum": 1, "maximum": MAX_ID, "description": "The id of a user."}
    if kind == "file":
        return file_value_schema()
    if kind == "location":
        return {"type": "object", "required": ["lat", "lng"], "properties": {
            "lat": {"type": ["number", "null"], "minimum": -90, "maximum": 90},
            "lng": {"type": ["number", "null"], "minimum": -180, "maximum": 180},
            "address": {"type": ["string", "null"], "maxLength": 500}}}
    return {}


def _list_item(blueprint: Blueprint, field: Field) -> str | None:
    """The pattern of one value in a comma-separated list filter, where the field's type gives one."""
    if field.type in ("integer", "reference", "user"):
        return "-?[0-9]{1,18}"
    if field.type == "number":
        return r"-?[0-9]{1,14}(\.[0-9]{1,6})?"
    if field.type in EXACT:
        return "(" + EXACT[field.type][0].strip("^$") + ")"
    options = value_schema(blueprint, field).get("enum") or value_schema(blueprint, field).get("items", {}).get("enum")
    if field.type in ("select", "stage", "multiselect") and options:
        return "(" + "|".join(re.escape(str(option)) for option in options) + ")"
    return None


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

    def __init__(self, site: Site, actor: Actor):
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
        grids = [g for g in self.blueprint.view(entity.name).lines if self.access.can(self.actor, g.entity, "read")]
        if grids:
            properties["lines"] = {
                "type": "object", "description": "The lines of the form's grids, by `entity.via`: each row an "
                "object of the line's fields; with `id` it changes that line (`\"remove\": true` removes it), "
                "without it adds one. Written with the record in one transaction.",
                "properties": {g.key: {"type": "array", "items": {"type": "object"}, "maxItems": 500}
                               for g in grids}, "additionalProperties": False}
        if entity.duplicates is not None:
            properties[ALLOW_DUPLICATE] = {
                "type": "boolean", "writeOnly": True, "description": "Save even though records like this one "
                "exist (the entity's duplicate rules); without it such a save is answered 409 `duplicates` "
                "with the similar records the caller may read and a count of the others."}
        # what a new record must be given: a field with a default (or a stage, which starts in the
        # pipeline's first) is filled in when left out
        required = [f.name for f in self.fields(entity) if f.required and f.default is None and f.type != "stage"
                    and self.mode(entity.name, f.name) == "write"]
        return {"type": "object", "title": _label(self.blueprint, entity.label), "properties": properties,
                "additionalProperties": False, **({"required": required} if required else {})}

    def patch_schema(self, entity: Entity) -> dict[str, Any]:
        # read-only fields may come back unchanged (a record read from the API is sent back as it is)
        properties = dict(self.record_schema(entity)["properties"])
        properties["version"] = {"type": "integer", "description":
                                 "The version the change is based on; 409 when the record has moved on."}
        return {"type": "object", "title": f"Changes to a {entity.name}", "properties": properties,
                "required": ["version"], "additionalProperties": False}

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

    def sortable(self, entity: Entity) -> list[str]:
        """The fields a list may be sorted by (records.sort_keys refuses the others)."""
        return ["id", "created_at", "updated_at", *(f.name for f in self.fields(entity)
                                                    if f.type not in ("multiselect", "location", "file"))]

    def _readable_path(self, entity: Entity, path: str) -> bool:
        current = entity
        for step in path.split("."):
            if self.mode(current.name, step) == "hidden":
                return False
            field = current.fields.get(step)
            if field is not None and field.type == "reference":
                assert field.to is not None  # a loaded blueprint's references name an entity
                if not self.access.can(self.actor, field.to, "read"):
                    return False
                current = self.blueprint.entities[field.to]
        return True

    def _operand(self, field: Field, operator: str) -> dict[str, Any]:
        if operator == "is_set":
            return {"type": "boolean"}
        if operator in ("older_than_days", "newer_than_days", "not_older_than_days", "older_than_hours",
                        "within_last_hours"):
            most = MAX_DAYS * 24 if operator.endswith("_hours") else MAX_DAYS
            return {"type": "integer", "minimum": 0, "maximum": most}
        if operator in ("within", "until"):
            return {"type": "string", "pattern": PERIOD}
        if field.type == "multiselect" and operator != "in":
            return {"enum": list(field.option_values)}
        if operator in ("in", "not_in"):
            item = _list_item(self.blueprint, field)
            pattern = rf"^[\s,]*{item}(\s*,[\s,]*{item})*[\s,]*$" if item else LISTED
            return {"type": "string", "pattern": pattern, "description": "Values separated by commas"}
        if operator == "contains":
            return {"type": "string"}
        schema = value_schema(self.blueprint, field)
        schema.pop("description", None)
        if field.type in ("money", "percent"):  # a query parameter is text
            schema["type"] = "string"
            del schema["minimum"], schema["maximum"]
        if field.type == "datetime":  # a filter takes a day too (from its first moment)
            schema = {"type": "string", "anyOf": [{"format": "date-time"}, {"format": "date"}]}
        if operator in ("eq", "ne"):  # empty: is (not) set
            return {"anyOf": [schema, {"const": ""}]}
        return schema

    def paths(self, entity: Entity) -> dict[str, Any]:
        name, can = entity.name, lambda action: self.access.can(self.actor, name, action)
        ref = {"$ref": f"#/components/schemas/{name}"}
        one = {"content": {"application/json": {"schema": ref}}}
        collection: dict[str, Any] = {}
        item: dict[str, Any] = {"parameters": [id_parameter()]}
        plural = _label(self.blueprint, entity.plural)
        similar = [{"$ref": "#/components/schemas/Duplicates"}] if entity.duplicates is not None else []
        duplicates = {"409": {"description": "Records like this one exist (send `allow_duplicate: true` to save "
                              "anyway), or the record's state refuses it", "content": {"application/json": {
                                  "schema": {"anyOf": [*similar, {"$ref": "#/components/schemas/Error"}]}}}}
                      } if similar else {}
        if can("read"):
            collection["get"] = {
                "operationId": f"list_{name}", "tags": [name], "summary": f"List {plural}",
                "parameters": [*paging(self.sortable(entity)), WHERE_PARAMETER, {
                    "name": "filters", "in": "query", "style": "form", "explode": True,
                    "description": "Each property is a query parameter of its own",
                    "schema": {"$ref": f"#/components/schemas/{name}_filters"}}],
                "responses": {"200": {"description": "One page of records",
                                      "content": {"application/json": {"schema": {
                                          "$ref": f"#/components/schemas/{name}_page"}}}}, **READ_ERRORS}}
            item["get"] = {"operationId": f"get_{name}", "tags": [name], "summary": f"One {name}",
                           "responses": {"200": {"description": "The record", **one}, **READ_ERRORS}}
        if can("create"):
            collection["post"] = {
                "operationId": f"create_{name}", "tags": [name], "summary": f"Create a {name}",
                "requestBody": {"required": True, **one},
                "responses": {"201": {"description": "Created", **one}, **WRITE_ERRORS, **duplicates}}
        if can("update"):
            item["patch"] = {
                "operationId": f"update_{name}", "tags": [name], "summary": f"Change a {name}",
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "$ref": f"#/components/schemas/{name}_patch"}}}},
                "responses": {"200": {"description": "The record as saved", **one}, **WRITE_ERRORS,
                              "409": {"description": "Someone saved the record first (or it is locked)",
                                      "content": {"application/json": {"schema": {"anyOf": [
                                          {"$ref": f"#/components/schemas/{name}_stale"}, *similar,
                                          {"$ref": "#/components/schemas/Error"}]}}}}}}
        if can("delete"):
            item["delete"] = {
                "operationId": f"delete_{name}", "tags": [name], "summary": f"Delete a {name}",
                "responses": {"204": {"description": "Deleted"}, **WRITE_ERRORS}}
        result = {}
        if len(collection):
            result[f"/api/v1/{name}"] = collection
        if len(item) > 1:
            result[f"/api/v1/{name}/{{id}}"] = item
        result.update(action_paths(self, entity))  # claim, release, convert
        result.update(by_key_paths(self, entity))  # by the external key, when the entity has one
        result.update(record_file_paths(entity, can("read"), can("update"), [
            f.name for f in self.fields(entity) if f.type == "file" and self.mode(name, f.name) != "hidden"]))
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
            schemas.update(by_key_schemas(self, entity))
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
        reports = Reports(self.site).available(self.actor)
        if reports:
            paths.update(report_paths(reports, lambda label: _label(blueprint, label)))
            schemas["ReportResult"] = REPORT_RESULT
            tags.append({"name": "reports", "description": "Reports under the caller's access scope"})
        if any(self.access.can(self.actor, name, "read") for name in blueprint.entities):
            paths.update(file_path())  # one file by its id, under its record's access
            schemas["File"] = FILE_SCHEMA
            tags.append({"name": "files", "description": "Files attached to records"})
        paths["/api/v1/search"] = search_path()  # the global search over every entity the caller may read
        tags.append({"name": "search", "description": "One text searched in every entity the caller may read"})
        paths.update(trash_paths(self))  # the recycle bin: the caller's deletions, restores
        if blueprint.integrations:  # signed webhooks other systems post to (no token: their signature)
            paths.update(inbound_paths(blueprint))
            tags.append({"name": "inbound", "description": "Signed webhooks from other systems"})
        tags.append({"name": "trash", "description": "The recycle bin: deleted records, restorable until purged"})
        comments = comment_paths(self)  # on every entity the caller may read
        if comments:
            paths.update(comments)
            schemas.update(COMMENT_SCHEMAS)
            tags.append({"name": "comments", "description": "People's comments on records, with @mentions"})
        periodic = periodic_paths(self)  # reports people submit each day, week or month
        if periodic:
            paths.update(periodic)
            schemas.update(PERIODIC_SCHEMAS)
            tags.append({"name": "periodic reports", "description": "Daily, weekly and monthly reports people "
                                                                   "submit, their figures filled from the data"})
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


_DOCUMENTS: dict[tuple[int, str | None, bool], tuple[Blueprint, dict[str, Any]]] = {}


def document(site: Site, actor: Actor) -> dict[str, Any]:
    """The caller's document (shared, not to be changed). It depends on the metadata and the
    caller's role only, so it is built once per role and metadata version."""
    key = (id(site.blueprint), actor.role, actor.user_id is None)
    cached = _DOCUMENTS.get(key)
    if cached is None or cached[0] is not site.blueprint:
        if len(_DOCUMENTS) > 64:  # old metadata versions
            _DOCUMENTS.clear()
        cached = _DOCUMENTS[key] = (site.blueprint, Describer(site, actor).document())
    return cached[1]
