"""Build views and roles, and cross-check dashboards, automations and the seed plan (reports and
targets: report_checks.py; paths and conditions: field_paths.py).

Each name a document uses (an entity, a field, a dotted path through references, a stage,
a report, a role) must exist; each problem is reported at the line that wrote the name.
"""
from __future__ import annotations

from types import MappingProxyType
from typing import Any, Mapping

from atrium.metadata.approval_checks import check_approval, check_request_trigger
from atrium.metadata.field_paths import (
    check_condition,
    check_path,
    entity_names,
    resolve_path as resolve_path,  # where pages and the API look paths up
)
from atrium.metadata.line_grids import build_line_grids
from atrium.metadata.matching_lists import build_matching_lists
from atrium.metadata.model import (
    IN_PLACE_TYPES,
    Document,
    Entity,
    EntityGrant,
    FormSection,
    Label,
    Pipeline,
    Role,
    View,
    freeze,
)
from atrium.metadata.sources import Report, Source

NOTIFY_KEYWORDS = ("owner", "manager", "previous_owner", "creator")


def build_view(source: Source, entities: Mapping[str, Entity], report: Report) -> View | None:
    data = source.data
    entity = data["entity"]
    if entity not in entities:
        report.unknown(source, ["entity"], "an entity", entity, entities)
        return None
    if entity != source.name:
        report.add(source, ["entity"], f"views/{source.name}.yaml must describe entity '{source.name}'")
    names = entity_names(entities, entity)
    listing = data.get("list", {})
    for key in ("columns", "filters"):
        for i, path in enumerate(listing.get(key, ())):
            check_path(report, source, ["list", key, i], entities, entity, path)
    sort = listing.get("sort", ())
    sort = (sort,) if isinstance(sort, str) else tuple(sort)
    for key in sort:
        check_path(report, source, ["list", "sort"], entities, entity, key.lstrip("-+"))
    for part, keys in (("kanban", ("group_by", "sum")), ("calendar", ("date", "end", "color_by"))):
        for key in keys:
            if key in data.get(part, {}):
                check_path(report, source, [part, key], entities, entity, data[part][key])
    for i, path in enumerate(data.get("kanban", {}).get("card", ())):
        check_path(report, source, ["kanban", "card", i], entities, entity, path)
    for i, name in enumerate(data.get("kanban", {}).get("quick_edit", ())):
        check_quick_edit(report, source, entities[entity], data["kanban"].get("group_by"), i, name)
    sections = build_sections(report, source, entities[entity], names, "form", data)
    detail_sections = build_sections(report, source, entities[entity], names, "detail", data)
    related = tuple(data.get("detail", {}).get("related", ()))
    for i, link in enumerate(related):
        child, _, via = link.partition(".")
        target = entities.get(child)
        field = target.fields.get(via) if target else None
        if field is None or field.type != "reference" or field.to != entity:
            report.add(source, ["detail", "related", i],
                       f"'{link}' must name a reference field of another entity that points to {entity}")
    return View(entity=entity, columns=tuple(listing.get("columns", ())), sort=sort,
                filters=tuple(listing.get("filters", ())), page_size=listing.get("page_size", 50),
                kanban=freeze(data["kanban"]) if "kanban" in data else None,
                calendar=freeze(data["calendar"]) if "calendar" in data else None,
                sections=sections, detail_sections=detail_sections, related=related,
                lines=build_line_grids(report, source, entities, entity, data.get("form", {}).get("lines", ())),
                matching=build_matching_lists(report, source, entities, entity, names,
                                              data.get("detail", {}).get("matching", ())))


def build_sections(report: Report, source: Source, entity: Entity, names: set[str], part: str,
                   data: Mapping[str, Any]) -> tuple[FormSection, ...]:
    """`form.sections` or `detail.sections`: each field one of the entity's, each condition checked."""
    sections = []
    for i, spec in enumerate(data.get(part, {}).get("sections", ())):
        for j, field in enumerate(spec["fields"]):
            if field not in entity.fields:
                report.unknown(source, [part, "sections", i, "fields", j],
                               f"a field of {entity.name}", field, entity.fields)
        visible = (report.expression(source, [part, "sections", i, "visible_when"],
                                     spec["visible_when"], names, entity.name) if "visible_when" in spec else None)
        sections.append(FormSection(label=Label.of(spec.get("label"), f"section {i + 1}"),
                                    fields=tuple(spec["fields"]), visible_when=visible,
                                    columns=spec.get("columns", 2)))
    return tuple(sections)


def check_quick_edit(report: Report, source: Source, entity: Entity, group_by: str | None, i: int,
                     name: str) -> None:
    """A card's quick edit names a stored field of the entity that a one-line input can edit."""
    path: list[str | int] = ["kanban", "quick_edit", i]
    field = entity.fields.get(name)
    if field is None:
        report.unknown(source, path, f"a field of {entity.name}", name, entity.fields)
    elif field.computed or field.readonly:
        report.add(source, path, f"'{name}' is computed or read-only: a card cannot edit it")
    elif name == group_by:
        report.add(source, path, f"'{name}' makes the columns: a card changes it by moving")
    elif field.type not in IN_PLACE_TYPES:
        report.add(source, path, f"a {field.type} field cannot be edited on a card",
                   "one of " + ", ".join(sorted(IN_PLACE_TYPES)))


def build_roles(source: Source | None, entities: Mapping[str, Entity],
                report: Report) -> dict[str, Role]:
    if source is None:
        return {}
    roles = {}
    for name, spec in source.data["roles"].items():
        grants = {}
        for entity, grant in spec.get("entities", {}).items():
            if entity not in entities:
                report.unknown(source, ["roles", name, "entities", entity], "an entity", entity, entities)
            grants[entity] = EntityGrant(read=grant.get("read", "none"), create=grant.get("create", False),
                                         update=grant.get("update", "none"), delete=grant.get("delete", "none"),
                                         pool=grant.get("pool", False))
            if grant.get("pool") and entity in entities and entities[entity].pool is None:
                report.add(source, ["roles", name, "entities", entity, "pool"],
                           f"{entity} has no public pool (add `pool:` to the entity)")
        for path in spec.get("fields", {}):
            entity, _, field = path.partition(".")
            if entity not in entities or field not in entities[entity].fields:
                report.add(source, ["roles", name, "fields", path], f"'{path}' is not an entity.field")
        roles[name] = Role(name=name, label=Label.of(spec.get("label"), name), all=spec.get("all", False),
                           studio=spec.get("studio", False), entities=MappingProxyType(grants),
                           fields=MappingProxyType(dict(spec.get("fields", {}))))
    return roles


def report_columns(document: Document) -> set[str]:
    """The names a dashboard widget may show of a report: its groups, measures and metrics."""
    data = document.data
    names = {g.split(".")[-1] if isinstance(g, str) else g.get("name") or g["field"].split(".")[-1]
             for g in data.get("group_by", ())}
    return names | set(data.get("measures", {})) | set(data.get("metrics", {}))


def build_dashboard(source: Source, entities: Mapping[str, Entity], pipelines: Mapping[str, Pipeline],
                    reports: Mapping[str, Document], roles: Mapping[str, Role], report: Report) -> Document:
    data = source.data
    for i, role in enumerate(data.get("roles", ())):
        if role not in roles:
            report.unknown(source, ["roles", i], "a role", role, roles)
    expressions = {}
    for i, widget in enumerate(data.get("widgets", ())):
        path: list[str | int] = ["widgets", i]
        if "report" in widget:
            if widget["report"] not in reports:
                report.unknown(source, path + ["report"], "a report", widget["report"], reports)
            elif "value" in widget and widget["value"] not in report_columns(reports[widget["report"]]):
                report.unknown(source, path + ["value"], "a measure or metric of the report",
                               widget["value"], report_columns(reports[widget["report"]]))
        if "pipeline" in widget and widget["pipeline"] not in pipelines:
            report.unknown(source, path + ["pipeline"], "a pipeline", widget["pipeline"], pipelines)
        if "entity" in widget:
            if widget["entity"] not in entities:
                report.unknown(source, path + ["entity"], "an entity", widget["entity"], entities)
            else:
                check_condition(report, source, path + ["where"], widget.get("where", {}),
                                entities, widget["entity"], pipelines)
        if widget.get("type") == "what_it_takes":
            check_what_it_takes(source, entities, reports, roles, report, widget, path)
        if "target" in widget:
            expression = report.expression(source, path + ["target"], widget["target"], ())
            if expression is not None:
                expressions[f"widgets.{i}.target"] = expression
    return Document(source.name, freeze(data), Label.of(data.get("label"), source.name),
                    MappingProxyType(expressions))


def check_what_it_takes(source: Source, entities: Mapping[str, Entity], reports: Mapping[str, Document],
                        roles: Mapping[str, Role], report: Report, widget: Mapping[str, Any],
                        path: list[str | int]) -> None:
    """A what_it_takes widget: its reports, measures, history date fields and peer roles exist."""
    parts: list[tuple[list[str | int], Mapping[str, Any]]] = []
    if isinstance(widget.get("achieved"), Mapping):
        parts.append((path + ["achieved"], widget["achieved"]))
    parts += [(path + ["steps", j], step) for j, step in enumerate(widget.get("steps") or ())]
    for where, part in parts:
        document = reports.get(part.get("report", ""))
        if document is None:
            report.unknown(source, where + ["report"], "a report", part.get("report"), reports)
            continue
        if part.get("value") not in report_columns(document):
            report.unknown(source, where + ["value"], "a measure or metric of the report",
                           part.get("value"), report_columns(document))
        entity = entities.get(document.get("source") or "")
        if where[-2] == "steps" and "date" not in part:
            report.add(source, where, "a step needs `date:`, the date field its history window applies to")
        if "date" in part and entity is not None and part["date"] not in DATE_COLUMNS \
                and (part["date"] not in entity.fields or entity.fields[part["date"]].type not in ("date", "datetime")):
            report.unknown(source, where + ["date"], f"a date field of {entity.name}", part["date"],
                           [f.name for f in entity if f.type in ("date", "datetime")])
    for j, role in enumerate(widget.get("peers") or ()):
        if role not in roles:
            report.unknown(source, path + ["peers", j], "a role", role, roles)


DATE_COLUMNS = ("created_at", "updated_at")  # the platform's own columns every table has
SCHEDULED_ONLY = ("every", "at")
EVENT_ACTIONS_ON_DELETE = ("create", "notify", "webhook")


def build_automation(source: Source, entities: Mapping[str, Entity], pipelines: Mapping[str, Pipeline],
                     roles: Mapping[str, Role], report: Report) -> Document:
    data = source.data
    entity = data["entity"]
    if entity not in entities:
        report.unknown(source, ["entity"], "an entity", entity, entities)
        return Document(source.name, freeze(data), Label.of(data.get("label"), source.name))
    names = entity_names(entities, entity)
    fields = entities[entity].fields
    trigger = data["on"]
    if isinstance(trigger, Mapping) and "change" in trigger:
        for i, field in enumerate(trigger["change"]):
            if field not in fields:
                report.unknown(source, ["on", "change", i], f"a field of {entity}", field, fields)
    if isinstance(trigger, Mapping) and "stage" in trigger:
        stage_field = entities[entity].stage_field
        pipeline = pipelines.get(stage_field.pipeline) if stage_field and stage_field.pipeline else None
        stages = pipeline.stage_names if pipeline else ()
        for key, stage in trigger["stage"].items():
            if stage not in stages:
                report.unknown(source, ["on", "stage", key], f"a stage of {entity}", stage, stages)
    if trigger != "schedule":
        for key in SCHEDULED_ONLY:
            if key in data:
                report.add(source, [key], f"'{key}' is for scheduled rules (on: schedule); "
                           "this rule runs when a record changes")
    check_condition(report, source, ["where"], data.get("where", {}), entities, entity, pipelines)
    expressions = {}
    if "when" in data:
        expressions["when"] = report.expression(source, ["when"], data["when"], names, entity)
    for i, action in enumerate(data["do"]):
        kind = next(iter(action))
        body = action[kind]
        path = ["do", i, kind]
        if trigger == "delete" and kind not in EVENT_ACTIONS_ON_DELETE:
            report.add(source, path, f"'{kind}' cannot act on a deleted record; after a delete a rule "
                       "may " + ", ".join(EVENT_ACTIONS_ON_DELETE))
        if kind == "set":
            _check_values(report, source, path, body, entities, entity, names, expressions, entity)
        elif kind == "create":
            target = body["entity"]
            if target not in entities:
                report.unknown(source, path + ["entity"], "an entity", target, entities)
            else:
                _check_values(report, source, path + ["values"], body.get("values", {}),
                              entities, target, names, expressions, entity)
        elif kind == "notify":
            recipients = body["to"] if isinstance(body["to"], list) else [body["to"]]
            known = set(NOTIFY_KEYWORDS) | set(roles) | {f for f in fields if fields[f].type == "user"}
            for recipient in recipients:
                if recipient not in known:
                    report.unknown(source, path + ["to"], "a user field, a role or one of "
                                   + ", ".join(NOTIFY_KEYWORDS), recipient, known)
        elif kind == "assign":
            _check_assign(report, source, path, body, entities[entity], roles)
        elif kind == "webhook":
            for key, text in body.get("payload", {}).items():
                expressions[".".join(map(str, path + ["payload", key]))] = report.expression(
                    source, path + ["payload", key], text, names, entity)
        elif kind == "require_approval":  # approval_checks.py
            check_approval(report, source, path, body, entities[entity], roles,
                           lambda where, values: _check_values(report, source, where, values, entities, entity,
                                                               names, expressions, entity), entities)
            if "when" in body:
                expressions[".".join(map(str, path + ["when"]))] = report.expression(
                    source, path + ["when"], body["when"], names, entity)
    check_request_trigger(report, source)
    return Document(source.name, freeze(data), Label.of(data.get("label"), source.name),
                    MappingProxyType({k: v for k, v in expressions.items() if v is not None}))


def _check_assign(report: Report, source: Source, path: list[Any], body: Mapping[str, Any], entity: Entity,
                  roles: Mapping[str, Role]) -> None:
    groups = [key for key in ("team", "by_field") if key in body]
    if len(groups) > 1 or not (groups or "role" in body):
        report.add(source, path, "assign needs a role, a team or by_field (whom to choose among), not both "
                   "team and by_field; a role given with either narrows it to the members with that role")
    if "role" in body and body["role"] not in roles:
        report.unknown(source, path + ["role"], "a role", body["role"], roles)
    if "by_field" in body and body["by_field"] not in entity.fields:
        report.unknown(source, path + ["by_field"], f"a field of {entity.name}", body["by_field"], entity.fields)
    if "map" in body and "by_field" not in body:
        report.add(source, path + ["map"], "map goes with by_field")
    target = body.get("field", entity.owner)
    if target is None:
        report.add(source, path, f"{entity.name} has no owner field: name the user field to set with field:")
    elif target not in entity.fields or entity.fields[target].type != "user":
        report.add(source, path + ["field"], f"'{target}' must name a user field of {entity.name}")


def _check_values(report: Report, source: Source, path: list[Any], values: Mapping[str, Any],
                  entities: Mapping[str, Entity], target: str, names: set[str],
                  expressions: dict[str, Any], reads: str) -> None:
    """Values for fields of `target`, computed from a record of `reads` (the rule's entity)."""
    for field, text in values.items():
        if field not in entities[target].fields:
            report.unknown(source, path + [field], f"a field of {target}", field, entities[target].fields)
        expressions[".".join(map(str, path + [field]))] = report.expression(source, path + [field], text, names,
                                                                            reads)


def _check_each(report: Report, source: Source, path: list[Any], plan: Mapping[str, Any], entity: Entity,
                roles: Mapping[str, Role]) -> None:
    """A seed plan's `each` and `overrides` name stored fields of the entity and real roles."""
    each = plan.get("each", {})
    for field, values in each.items():
        model = entity.fields.get(field)
        if model is None or model.computed:
            report.unknown(source, path + ["each", field], f"a stored field of {entity.name}", field,
                           [f.name for f in entity if not f.computed])
        elif isinstance(values, Mapping) and "role" in values:
            if model.type != "user":
                report.add(source, path + ["each", field, "role"], f"role: gives users, but '{field}' is a "
                           f"{model.type} field")
            if values["role"] not in roles:
                report.unknown(source, path + ["each", field, "role"], "a role", values["role"], roles)
        elif isinstance(values, Mapping) and model.type not in ("date", "datetime"):
            report.add(source, path + ["each", field, "every"], f"every: gives dates, but '{field}' is a "
                       f"{model.type} field")
    for i, override in enumerate(plan.get("overrides", ())):
        for field in override.get("where", {}):
            if field not in each:
                report.unknown(source, path + ["overrides", i, "where", field], "a field of each", field, each)
        for field in override.get("values", {}):
            if field not in entity.fields:
                report.unknown(source, path + ["overrides", i, "values", field], f"a field of {entity.name}",
                               field, entity.fields)


def build_seed(source: Source | None, entities: Mapping[str, Entity], roles: Mapping[str, Role],
               report: Report) -> Document | None:
    if source is None:
        return None
    data = source.data
    if data.get("base") not in entities:
        report.unknown(source, ["base"], "an entity", data.get("base"), entities)
    for name, plan in data.get("entities", {}).items():
        if name not in entities:
            report.unknown(source, ["entities", name], "an entity", name, entities)
            continue
        for field, generator in plan.get("fields", {}).items():
            if field not in entities[name].fields:
                report.unknown(source, ["entities", name, "fields", field], f"a field of {name}",
                               field, entities[name].fields)
            if isinstance(generator, Mapping) and "ref" in generator and generator["ref"] not in entities:
                report.unknown(source, ["entities", name, "fields", field, "ref"], "an entity",
                               generator["ref"], entities)
        _check_each(report, source, ["entities", name], plan, entities[name], roles)
    for i, user in enumerate(data.get("users", ())):
        if user["role"] not in roles:
            report.unknown(source, ["users", i, "role"], "a role", user["role"], roles)
    return Document(source.name, freeze(data), Label.of(None, "seed"))
