"""Cross-checks of approval rules (`require_approval`) and of the triggers that follow them
(`on: request`, `on: {approved: rule}`, `on: {rejected: rule}`), each problem at its line."""
from __future__ import annotations

from typing import Any, Callable, Mapping

from atrium.metadata.field_paths import check_condition
from atrium.metadata.model import Entity, Role
from atrium.metadata.sources import Report, Source

APPROVER_KEYWORDS = ("manager",)
SETS = ("pending", "approved", "rejected", "voided")
DECISIONS = ("approved", "rejected")
COMMENT_TYPES = ("text", "textarea")


def is_approval_rule(data: Mapping[str, Any]) -> bool:
    return any(isinstance(step, Mapping) and "require_approval" in step for step in data.get("do", ()))


def check_approval(report: Report, source: Source, path: list[Any], body: Mapping[str, Any], entity: Entity,
                   roles: Mapping[str, Role], check_values: Callable[[list[Any], Mapping[str, Any]], None],
                   entities: Mapping[str, Entity] | None = None) -> None:
    """One `require_approval` action: whom it asks, what it locks, the fields its sets name, where
    its comment goes, what voids it and what its cards show."""
    data = source.data
    if len(data["do"]) != 1:
        report.add(source, ["do"], "an approval rule does one thing, require_approval: put what follows a "
                   "decision in rules on {approved: " + source.name + "} or {rejected: " + source.name + "}")
    if data["on"] == "schedule":
        report.add(source, ["on"], "require_approval is asked when a record is written (create, update, "
                   "change, stage) or by a person (on: request), not on a schedule")
    fields = entity.fields
    approver = body["approver"]
    users = [name for name, field in fields.items() if field.type == "user"]
    if approver not in APPROVER_KEYWORDS and approver not in roles and approver not in users:
        choices = list(APPROVER_KEYWORDS) + sorted(roles) + users
        report.unknown(source, path + ["approver"], "manager, a role or a user field of " + entity.name
                       + " (choose from " + ", ".join(choices) + ")", approver, choices)
    if approver == "manager" and not entity.owner:
        report.add(source, path + ["approver"], f"{entity.name} has no owner field, so it has no owner's manager")
    lock = body.get("lock", True)
    if isinstance(lock, list):
        for i, name in enumerate(lock):
            if name not in fields:
                report.unknown(source, path + ["lock", i], f"a field of {entity.name}", name, fields)
            elif fields[name].computed:
                report.add(source, path + ["lock", i], f"'{name}' is computed by the engine, which is never held "
                           "by a lock; lock the fields it is computed from")
    for name in SETS:
        if name in body:
            check_values(path + [name], body[name])
            for field in body[name]:
                if field in fields and fields[field].computed:
                    report.add(source, path + [name, field], f"'{field}' is computed and cannot be set")
    comment = body.get("comment")
    comments = comment.items() if isinstance(comment, Mapping) else [(None, comment)] if comment else []
    for decision, name in comments:
        where = path + ["comment"] + ([decision] if decision else [])
        if name not in fields:
            report.unknown(source, where, f"a field of {entity.name}", name, fields)
        elif fields[name].type not in COMMENT_TYPES:
            report.add(source, where, f"'{name}' is a {fields[name].type} field; the comment "
                       "goes into a text or textarea field")
    for i, name in enumerate(body.get("show", ())):
        if name not in fields:
            report.unknown(source, path + ["show", i], f"a field of {entity.name}", name, fields)
    for i, item in enumerate(body.get("voided_by", ())):
        check_voided_by(report, source, path + ["voided_by", i], item, entity, entities or {})


def check_voided_by(report: Report, source: Source, path: list[Any], item: str, entity: Entity,
                    entities: Mapping[str, Entity]) -> None:
    """A field of the approved entity, or an entity (`entity` or `entity.reference`) pointing to it."""
    if item in entity.fields:
        if entity.fields[item].computed:
            report.add(source, path, f"'{item}' is computed: name what it is computed from (a field, or "
                       "the entity whose records it sums)")
        return
    name, _, via = item.partition(".")
    child = entities.get(name)
    if child is None:
        report.unknown(source, path, f"a field of {entity.name} or an entity that points to it", item,
                       list(entity.fields) + [e for e in entities if voiding_references(entities[e], entity)])
        return
    links = voiding_references(child, entity)
    if via and via not in links:
        report.unknown(source, path, f"a reference field of {child.name} to {entity.name}", via, links)
    elif not via and len(links) != 1:
        report.add(source, path, f"{child.name} has {len(links)} reference fields to {entity.name}: name one "
                   f"({', '.join(f'{child.name}.{link}' for link in links) or 'none'})")


def voiding_references(child: Entity, entity: Entity) -> list[str]:
    """The reference fields of `child` that point to `entity`."""
    return [field.name for field in child if field.type == "reference" and field.to == entity.name]


def check_request_trigger(report: Report, source: Source) -> None:
    if source.data["on"] == "request" and not is_approval_rule(source.data):
        report.add(source, ["on"], "on: request is for approval rules: a person asks for the approval its "
                   "require_approval action describes")


def check_decision_triggers(sources: Mapping[str, Source], report: Report) -> None:
    """`on: {approved: rule}` (or a list of rules) names approval rules of the same entity."""
    for source in sources.values():
        trigger = source.data.get("on")
        if not isinstance(trigger, Mapping):
            continue
        for decision in (d for d in DECISIONS if d in trigger):
            named = trigger[decision]
            named_at: list[tuple[str, list[str | int]]] = (
                [(named, ["on", decision])] if isinstance(named, str)
                else [(n, ["on", decision, i]) for i, n in enumerate(named)])
            for rule_name, where in named_at:
                other = sources.get(rule_name)
                if other is None or not is_approval_rule(other.data):
                    approvals = [n for n, s in sources.items() if is_approval_rule(s.data)]
                    report.unknown(source, where, "an approval rule (an automation whose action is "
                                   "require_approval)", rule_name, approvals)
                elif other.data.get("entity") != source.data.get("entity"):
                    report.add(source, where, f"approval rule '{rule_name}' is about {other.data.get('entity')}, "
                               f"this rule about {source.data.get('entity')}: a decision's follow-up acts on "
                               "the record decided")


def check_seed_requests(seed: Source | None, sources: Mapping[str, Source], entities: Mapping[str, Entity],
                        pipelines: Mapping[str, Any], report: Report) -> None:
    """seed.yaml `request:` names an approval rule of the entity, and its `where` real fields."""
    if seed is None:
        return
    for entity, plan in (seed.data.get("entities") or {}).items():
        asked = plan.get("request") if isinstance(plan, Mapping) else None
        if asked is None or entity not in entities:
            continue
        items = [(asked, ["entities", entity, "request"])] if isinstance(asked, Mapping) else \
            [(item, ["entities", entity, "request", i]) for i, item in enumerate(asked)]
        for item, path in items:
            rule = sources.get(item["rule"])
            if rule is None or not is_approval_rule(rule.data) or rule.data.get("entity") != entity:
                choices = [n for n, s in sources.items() if is_approval_rule(s.data) and s.data.get("entity") == entity]
                report.unknown(source=seed, path=path + ["rule"], what=f"an approval rule of {entity}",
                               name=item["rule"], candidates=choices)
            check_condition(report, seed, path + ["where"], item.get("where", {}), entities, entity, pipelines)
