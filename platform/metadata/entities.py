"""Build entities and pipelines from their documents, checking each reference they make."""
from __future__ import annotations

import dataclasses
import graphlib
import re
from types import MappingProxyType
from typing import Any, Mapping

from atrium.metadata.condition_tree import LOGICAL
from atrium.metadata.duplicates import build_duplicates
from atrium.metadata.expressions import Expression
from atrium.metadata.file_fields import file_settings
from atrium.metadata.model import (
    SEARCHABLE_TYPES,
    SYSTEM_FIELDS,
    Check,
    Entity,
    Field,
    Index,
    Label,
    Option,
    Pipeline,
    Pool,
    Rollup,
    Stage,
)
from atrium.metadata.moves import MOVABLE_FIELD_TYPES, checked_moves
from atrium.metadata.problems import did_you_mean
from atrium.metadata.sources import Report, Source

ROLLUP_FUNCTIONS = ("count", "sum", "avg", "min", "max")
EXTERNAL_KEY_TYPES = ("text", "integer")
TITLE_PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)[^}]*\}")


def system_field(name: str) -> Field:
    types = {"id": "integer", "version": "integer", "created_at": "datetime",
             "updated_at": "datetime", "created_by": "user", "updated_by": "user"}
    return Field(name=name, type=types[name], label=Label.of(None, name), readonly=True)


def field_names(source: Source) -> set[str]:
    return set(source.data.get("fields", {})) | set(SYSTEM_FIELDS)


def build_field(name: str, spec: Mapping[str, Any], entity: Source, report: Report,
                names: set[str]) -> Field:
    path = ["fields", name]
    options = tuple(
        Option(value=o["value"], label=Label.of(o.get("label"), str(o["value"])), color=o.get("color"))
        if isinstance(o, Mapping) else Option(value=o, label=Label.of(None, str(o)))
        for o in spec.get("options", ()))
    values = [option.value for option in options]
    for duplicate in {v for v in values if values.count(v) > 1}:
        report.add(entity, path + ["options"], f"option '{duplicate}' is listed twice")
    def expression(key: str) -> Expression | None:
        return report.expression(entity, path + [key], spec[key], names, entity.name) if key in spec else None
    default = expression("default")
    moved = checked_moves(report, entity, path + ["moved"], spec.get("moved") if spec["type"] in
                          MOVABLE_FIELD_TYPES else None, values, "option")
    if "moved" in spec and spec["type"] not in MOVABLE_FIELD_TYPES:
        report.add(entity, path + ["moved"], "only select and multiselect fields move the records of a removed "
                   "option (a stage field's removed stages: `moved` on its pipeline)", key=True)
    multiple, max_size, accept = file_settings(name, spec, entity, report)
    return Field(
        name=name, type=spec["type"], label=Label.of(spec.get("label"), name),
        help=Label.of(spec["help"]) if "help" in spec else None,
        required=bool(spec.get("required", False)), required_when=expression("required_when"),
        visible_when=expression("visible_when"), default=default, unique=bool(spec.get("unique", False)),
        readonly=bool(spec.get("readonly", False)), hidden=bool(spec.get("hidden", False)),
        index=bool(spec.get("index", False)), formula=expression("formula"),
        rollup=None, renamed_from=spec.get("renamed_from"), max_length=spec.get("max_length"),
        min=spec.get("min"), max=spec.get("max"), precision=spec.get("precision"),
        options=options, to=spec.get("to"), on_delete=spec.get("on_delete", "restrict"),
        pipeline=spec.get("pipeline"), format=spec.get("format"), reveals=tuple(spec.get("reveals", ())),
        stamp_on_stage=tuple(spec.get("stamp_on_stage", ())), moved=moved,
        renamed=checked_moves(report, entity, path + ["renamed"], spec.get("renamed") if spec["type"] in
                              MOVABLE_FIELD_TYPES else None, values, "option", verb="renamed"),
        multiple=multiple, max_size=max_size, accept=accept,
    )


def build_entity(source: Source, report: Report) -> Entity:
    data = source.data
    names = field_names(source)
    fields = {name: build_field(name, spec, source, report, names)
              for name, spec in data["fields"].items()}
    for name in ("search",):
        for i, field in enumerate(data.get(name, ())):
            if field not in fields:
                report.unknown(source, [name, i], "a field of this entity", field, fields)
            elif fields[field].type not in SEARCHABLE_TYPES:
                report.add(source, [name, i], f"'{field}' is a {fields[field].type} field: search looks in "
                           + ", ".join(sorted(SEARCHABLE_TYPES)) + " fields")
    owner = data.get("owner")
    if owner is not None and (owner not in fields or fields[owner].type != "user"):
        report.add(source, ["owner"], f"'{owner}' must name a field of type user")
    external_key = _external_key(source, fields, report)
    for placeholder in TITLE_PLACEHOLDER.findall(data.get("title", "") or ""):
        if placeholder not in names:
            report.unknown(source, ["title"], "a field of this entity", placeholder, names)
    for name in fields:
        if name in SYSTEM_FIELDS:
            report.add(source, ["fields", name], f"'{name}' is a system field every table has")
        elif name in LOGICAL:
            report.add(source, ["fields", name], f"'{name}' cannot name a field: in a condition (where) "
                       f"`{name}:` combines conditions", key=True)
        elif fields[name].type == "stage" and f"{name}_entered_at" in fields:  # runtime/schema/tables.py
            report.add(source, ["fields", f"{name}_entered_at"], f"'{name}' keeps when a record entered its "
                       f"stage in the column {name}_entered_at, which is a field of {source.name}: rename that field")
    indexes = []
    for i, spec in enumerate(data.get("indexes", ())):
        columns = tuple(spec if isinstance(spec, list) else spec["fields"])
        for column in columns:
            if column not in names:
                report.unknown(source, ["indexes", i], "a field of this entity", column, names)
        unique = bool(spec.get("unique", False)) if isinstance(spec, Mapping) else False
        default_name = f"ix_{source.name}_{'_'.join(columns)}"
        indexes.append(Index(spec.get("name", default_name) if isinstance(spec, Mapping)
                             else default_name, columns, unique))
    checks = []
    for i, spec in enumerate(data.get("checks", ())):
        assertion = report.expression(source, ["checks", i, "assert"], spec["assert"], names, source.name,
                                      previous=True)
        when = (report.expression(source, ["checks", i, "when"], spec["when"], names, source.name, previous=True)
                if "when" in spec else None)
        shown_at = spec.get("field")
        if shown_at is not None and shown_at not in fields:
            report.add(source, ["checks", i, "field"], f"'{shown_at}' is not a field of {source.name}",
                       did_you_mean(shown_at, fields))
        if assertion is not None:  # else the report has the problem and no blueprint is built
            message = Label.of(spec["message"]) if "message" in spec else None
            checks.append(Check(name=spec["name"], assertion=assertion, message=message, when=when,
                                field=shown_at))
    pool = None
    if "pool" in data:
        spec = data["pool"]
        if spec["owner_field"] not in fields or fields[spec["owner_field"]].type != "user":
            report.add(source, ["pool", "owner_field"], "must name a field of type user")
        lock = spec.get("lock_field")
        if lock is not None and (lock not in fields or fields[lock].type != "boolean"):
            report.add(source, ["pool", "lock_field"], f"'{lock}' must name a boolean field of {source.name}")
        pool = Pool(**{key: spec.get(key) for key in
                       ("owner_field", "max_owned_per_user", "daily_claim_cap", "cooldown_days",
                        "lock_field")})
    return Entity(
        name=source.name, label=Label.of(data["label"]),
        plural=Label.of(data.get("plural", data["label"])), fields=MappingProxyType(fields),
        title=data.get("title"), search=tuple(data.get("search", ())), owner=owner,
        indexes=tuple(indexes), checks=tuple(checks), pool=pool, icon=data.get("icon"),
        duplicates=build_duplicates(source, fields, report),
        formula_order=_formula_order(source, fields, report), renamed_from=data.get("renamed_from"),
        external_key=external_key,
    )


def _external_key(source: Source, fields: dict[str, Field], report: Report) -> str | None:
    """`external_key: FIELD`: a stored text or integer field, made unique (the migration derives
    its unique index) so another system's id finds at most one record."""
    name = source.data.get("external_key")
    if name is None:
        return None
    field = fields.get(name)
    if field is None:
        report.unknown(source, ["external_key"], "a field of this entity", name, fields)
        return None
    computed = field.computed or "rollup" in source.data["fields"][name]
    if field.type not in EXTERNAL_KEY_TYPES or computed:
        report.add(source, ["external_key"], f"'{name}' is a {field.type} field"
                   + (" computed by the engine" if computed else "")
                   + ": an external key is a stored text or integer field")
        return None
    fields[name] = dataclasses.replace(field, unique=True)
    return str(name)


def _formula_order(source: Source, fields: Mapping[str, Field], report: Report) -> tuple[str, ...]:
    """Formula fields sorted so each comes after the formulas it reads; a cycle is an error."""
    graph = {name: {n for n in field.formula.names if n in fields and fields[n].formula}
             for name, field in fields.items() if field.formula is not None}
    try:
        return tuple(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as error:
        cycle = " → ".join(error.args[1])
        report.add(source, ["fields", error.args[1][0], "formula"],
                   f"formulas depend on each other in a cycle: {cycle}")
        return tuple(graph)


def link_entities(sources: Mapping[str, Source], entities: dict[str, Entity],
                  pipelines: Mapping[str, Pipeline], report: Report) -> None:
    """Check what fields say about other documents, and attach rollups (they read other entities)."""
    for name, entity in list(entities.items()):
        source = sources[name]
        if entity.renamed_from is not None and entity.renamed_from in entities:
            report.add(source, ["renamed_from"], f"'{entity.renamed_from}' is still an entity: only an entity "
                       "that is gone can be renamed")
        fields = dict(entity.fields)
        for field in entity:
            path = ["fields", field.name]
            spec = source.data["fields"][field.name]
            if field.type == "reference" and field.to not in entities:
                report.unknown(source, path + ["to"], "an entity", field.to, entities)
            if field.type == "stage":
                pipeline = pipelines.get(field.pipeline or "")
                if pipeline is None:
                    report.unknown(source, path + ["pipeline"], "a pipeline", field.pipeline, pipelines)
                elif pipeline.entity != name or pipeline.field != field.name:
                    report.add(source, path + ["pipeline"],
                               f"pipeline '{pipeline.name}' is for {pipeline.entity}.{pipeline.field}")
            if field.stamp_on_stage:
                _check_stamp(source, path, field, entity, pipelines, report)
            if "rollup" in spec:
                rollup = _build_rollup(source, path + ["rollup"], spec["rollup"], name,
                                       sources, entities, report)
                fields[field.name] = _replace(field, rollup=rollup)
        if fields != dict(entity.fields):
            entities[name] = _replace(entity, fields=MappingProxyType(fields))


def _check_stamp(source: Source, path: list[Any], field: Field, entity: Entity,
                 pipelines: Mapping[str, Pipeline], report: Report) -> None:
    """`stamp_on_stage`: a date set by the engine when a record enters one of the entity's stages."""
    if field.type not in ("date", "datetime"):
        report.add(source, path + ["stamp_on_stage"], f"'{field.name}' must be a date or datetime field "
                   "to be stamped when a stage is entered")
    if field.computed or field.default is not None:
        report.add(source, path + ["stamp_on_stage"], f"'{field.name}' is set by its stages: it takes "
                   "no formula, rollup or default")
    stage_field = entity.stage_field
    pipeline = pipelines.get(stage_field.pipeline or "") if stage_field is not None else None
    if pipeline is None:
        report.add(source, path + ["stamp_on_stage"], f"{entity.name} has no stage field with a pipeline")
        return
    for i, stage in enumerate(field.stamp_on_stage):
        if pipeline.stage(stage) is None:
            report.unknown(source, path + ["stamp_on_stage", i], f"a stage of pipeline {pipeline.name}",
                           stage, pipeline.stage_names)


def _build_rollup(source: Source, path: list[Any], spec: Mapping[str, Any], parent: str,
                  sources: Mapping[str, Source], entities: Mapping[str, Entity],
                  report: Report) -> Rollup | None:
    child_name, _, via = spec["from"].partition(".")
    child = entities.get(child_name)
    if child is None:
        report.unknown(source, path + ["from"], "an entity", child_name, entities)
        return None
    via_field = child.fields.get(via)
    if via_field is None or via_field.type != "reference" or via_field.to != parent:
        report.add(source, path + ["from"], f"'{spec['from']}' must be a reference field of "
                   f"{child_name} that points to {parent}")
        return None
    function = next(key for key in ROLLUP_FUNCTIONS if key in spec)
    target = spec[function]
    child_names = set(child.fields) | {"id"}
    if target not in child_names:
        report.unknown(source, path + [function], f"a field of {child_name}", target, child_names)
    where = (report.expression(source, path + ["where"], spec["where"], field_names(sources[child_name]))
             if "where" in spec else None)
    return Rollup(entity=child_name, via=via, function=function, field=target, where=where)


def build_pipeline(source: Source, entities: Mapping[str, Entity], report: Report) -> Pipeline:
    data = source.data
    stages = tuple(Stage(name=s["name"], label=Label.of(s.get("label"), s["name"]),
                         probability=s.get("probability"), outcome=s.get("outcome"),
                         requires=tuple(s.get("requires", ())), color=s.get("color"))
                   for s in data["stages"])
    names = [stage.name for stage in stages]
    for i, name in enumerate(names):
        if names.index(name) != i:
            report.add(source, ["stages", i, "name"], f"stage '{name}' is listed twice")
    entity = entities.get(data["entity"])
    if entity is None:
        report.unknown(source, ["entity"], "an entity", data["entity"], entities)
    elif data["field"] not in entity.fields or entity.fields[data["field"]].type != "stage":
        report.add(source, ["field"], f"'{data['field']}' must name a stage field of {entity.name}")
    if entity is not None:
        for i, stage in enumerate(stages):
            for j, required in enumerate(stage.requires):
                if required not in entity.fields:
                    report.unknown(source, ["stages", i, "requires", j],
                                   f"a field of {entity.name}", required, entity.fields)
    transitions: Any = data.get("transitions", "forward")
    if isinstance(transitions, list):
        table: dict[str, set[str]] = {}
        for i, rule in enumerate(transitions):
            targets = rule["to"] if isinstance(rule["to"], list) else [rule["to"]]
            for key, value in [("from", rule["from"])] + [("to", t) for t in targets]:
                if value not in names:
                    report.unknown(source, ["transitions", i, key], "a stage", value, names)
            table.setdefault(rule["from"], set()).update(targets)
        transitions = MappingProxyType({k: frozenset(v) for k, v in table.items()})
    return Pipeline(name=source.name, entity=data["entity"], field=data["field"],
                    label=Label.of(data.get("label"), source.name), stages=stages,
                    transitions=transitions, stall_after_days=data.get("stall_after_days"),
                    learned_probability=MappingProxyType(dict(data.get("learned_probability", {}))),
                    moved=checked_moves(report, source, ["moved"], data.get("moved"), names, "stage"),
                    renamed=checked_moves(report, source, ["renamed"], data.get("renamed"), names, "stage",
                                          verb="renamed"))


def _replace(obj: Any, **changes: Any) -> Any:
    return dataclasses.replace(obj, **changes)
