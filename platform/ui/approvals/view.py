"""Approvals as the pages show them: the rule's label and message in the reader's language, the
people by name, the record by its title (a link only when the reader may read it), how long a
request has waited, and what the reader may do with it. Also the record page's approval panel:
the pending requests (or the last outcome), the rules the reader may ask approval under, and
whether the record is locked while it waits."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field as dataclass_field
from typing import Any, Iterable, Mapping, Sequence

from sqlalchemy.engine import Connection

from atrium.runtime.records.evaluation import Actor
from atrium.runtime.schema.database import connect
from atrium.ui.approvals.words import STATUS_WORDS
from atrium.ui.web.i18n import word
from atrium.ui.web.present import Lookups, Presenter


def approvals_of(site: Any) -> Any:
    """The approvals service of the site's records service (None on an engine without one)."""
    return getattr(site.records, "approvals", None)


def may_see(site: Any, actor: Actor, approval: Any) -> bool:
    """An approval shows to its approvers, its requester, and whoever may read its record (the
    pages and the API ask this; a hidden one is a 404 on both)."""
    service = approvals_of(site)
    if approval.requested_by == actor.user_id or service.may_decide(approval, actor) \
            or service.may_withdraw(approval, actor):
        return True
    if approval.entity not in site.blueprint.entities:
        return False
    with connect(site.engine) as connection:
        return site.access.allows(connection, actor, approval.entity, approval.record_id, "read")


def aware(moment: dt.datetime | None) -> dt.datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def waited(seconds: float, locale: str) -> str:
    minutes = max(int(seconds // 60), 1)
    if minutes >= 24 * 60:
        return word("{n} d", locale, n=minutes // (24 * 60))
    if minutes >= 60:
        return word("{n} h", locale, n=minutes // 60)
    return word("{n} min", locale, n=minutes)


def message_text(message: Mapping[str, str] | None, locale: str, default: str) -> str:
    if not message:
        return ""
    return message.get(locale) or message.get(default) or next(iter(message.values()), "")


@dataclass
class ApprovalItem:
    """One approval, ready for a template."""

    id: int
    status: str
    status_text: str
    rule: str
    message: str
    entity: str
    entity_label: str
    record_id: int
    title: str
    href: str | None  # None when the reader may not read the record
    requested_by: str
    requested_at: dt.datetime
    approvers: list[str]
    decided_by: str
    decided_at: dt.datetime | None
    comment: str
    waiting: str
    locked: bool
    locked_fields: list[str]
    can_decide: bool
    can_withdraw: bool
    error: list[str] = dataclass_field(default_factory=list)
    facts: list[tuple[str, str]] = dataclass_field(default_factory=list)  # the rule's `show` fields, as text


def readable_titles(site: Any, connection: Connection, actor: Actor,
                    wanted: Iterable[tuple[str, int]]) -> dict[tuple[str, int], str]:
    """Titles of the records the actor may read, one read per entity."""
    by_entity: dict[str, set[int]] = {}
    for entity, record_id in wanted:
        by_entity.setdefault(entity, set()).add(record_id)
    titles: dict[tuple[str, int], str] = {}
    for entity, ids in by_entity.items():
        if entity not in site.blueprint.entities or not site.access.can(actor, entity, "read"):
            continue
        rows = site.records.read_where(connection, entity, "id", sorted(ids),
                                       site.access.row_filter(connection, actor, entity, "read"))
        for record_id, title in site.queries.titles_of(connection, entity, rows, actor).items():
            titles[(entity, record_id)] = title
    return titles


def present(site: Any, connection: Connection, actor: Actor, locale: str,
            approvals: Sequence[Any], titles: Mapping[tuple[str, int], str] | None = None,
            owners: Mapping[tuple[str, int], Any] | None = None) -> list[ApprovalItem]:
    """The approvals as the reader sees them, in a few reads however many there are (users, one
    per entity for titles). The service says who may withdraw; it is asked only for the requester,
    roles that see everything and the record's owner when the page knows it (`owners`), as it
    reads the record again for anyone else."""
    if not approvals:
        return []
    blueprint, service = site.blueprint, approvals_of(site)
    default = blueprint.default_locale
    presenter = Presenter(site, actor, locale)
    lookups = Lookups()
    people = [a.requested_by for a in approvals] + [a.decided_by for a in approvals]
    presenter.load_users(connection, people + [u for a in approvals for u in a.approvers], lookups)
    known = dict(titles or {})  # titles the page already has (of records the reader reads)
    titles = known | readable_titles(site, connection, actor, [(a.entity, a.record_id) for a in approvals
                                                               if (a.entity, a.record_id) not in known])
    now = site.now()
    sees_all = site.access.sees_everything(actor)
    facts = shown_facts(site, connection, presenter, approvals)
    items = []
    for approval in approvals:
        entity = blueprint.entities.get(approval.entity)
        requested_at = aware(approval.requested_at)
        assert requested_at is not None  # every approval has its request time
        title = titles.get((approval.entity, approval.record_id))
        fields = approval.lock if isinstance(approval.lock, (tuple, list)) else ()
        items.append(ApprovalItem(
            id=approval.id, status=approval.status,
            status_text=word(STATUS_WORDS[approval.status], locale),
            rule=approval.label.text(locale, default) if approval.label else approval.rule,
            message=message_text(approval.message, locale, default),
            entity=approval.entity,
            entity_label=entity.label.text(locale, default) if entity is not None else approval.entity,
            record_id=approval.record_id, title=title or f"#{approval.record_id}",
            href=f"/r/{approval.entity}/{approval.record_id}" if title is not None else None,
            requested_by=_name(lookups, approval.requested_by, locale), requested_at=requested_at,
            approvers=[_name(lookups, user, locale) for user in approval.approvers],
            decided_by=_name(lookups, approval.decided_by, locale) if approval.decided_by else "",
            decided_at=aware(approval.decided_at), comment=approval.comment or "",
            waiting=waited((now - requested_at).total_seconds(), locale) if approval.status == "pending" else "",
            locked=approval.status == "pending" and approval.lock is True,
            locked_fields=[_field_label(entity, name, locale, default) for name in fields],
            can_decide=approval.status == "pending" and service.may_decide(approval, actor),
            can_withdraw=approval.status == "pending" and (sees_all or actor.user_id in (
                approval.requested_by, (owners or {}).get((approval.entity, approval.record_id))))
            and service.may_withdraw(approval, actor), facts=facts.get(approval.id, [])))
    return items


def shown_facts(site: Any, connection: Connection, presenter: Presenter,
                approvals: Sequence[Any]) -> dict[int, list[tuple[str, str]]]:
    """Approval id → (label, value) of the fields its rule shows the approver (`show`), of the
    records the reader may read, without the fields the reader's role hides; one read per entity."""
    service, actor = approvals_of(site), presenter.actor
    wanted: dict[str, list[Any]] = {}
    for approval in approvals:
        spec = service.specs.get(approval.rule)
        if spec is not None and spec.show and approval.entity in site.blueprint.entities:
            wanted.setdefault(approval.entity, []).append(approval)
    found: dict[int, list[tuple[str, str]]] = {}
    for entity, items in wanted.items():
        if not site.access.can(actor, entity, "read"):
            continue
        model = site.blueprint.entities[entity]
        rows = site.records.read_where(connection, entity, "id", sorted({a.record_id for a in items}),
                                       site.access.row_filter(connection, actor, entity, "read"))
        records = {row["id"]: row for row in rows}
        names = {name for a in items for name in service.specs[a.rule].show
                 if presenter.mode(entity, name) != "hidden"}
        lookups = presenter.load(connection, entity, rows, names)
        for approval in items:
            record = records.get(approval.record_id)
            if record is not None:
                found[approval.id] = [(presenter.text(model.fields[name].label),
                                       presenter.plain(model.fields[name], record.get(name), lookups))
                                      for name in service.specs[approval.rule].show if name in names]
    return found


def _name(lookups: Lookups, user_id: int | None, locale: str) -> str:
    if user_id is None:
        return word("System", locale)
    return lookups.users.get(user_id, f"#{user_id}")


def _field_label(entity: Any, name: str, locale: str, default: str) -> str:
    field = entity.fields.get(name) if entity is not None else None
    return field.label.text(locale, default) if field is not None else name


@dataclass
class Panel:
    """The record page's approval panel."""

    items: list[ApprovalItem]  # the pending requests, else the last outcome
    requests: list[tuple[str, str]]  # (rule name, button text) the reader may ask approval under
    locked: bool  # the whole record is read-only while it waits
    locked_fields: set[str]
    history: list[Any]  # every approval of the record, newest first (for the timeline)
    errors: list[str] = dataclass_field(default_factory=list)


def record_panel(site: Any, connection: Connection, actor: Actor, locale: str, entity: str,
                 record: Mapping[str, Any], title: str, can_update: bool) -> Panel:
    service = approvals_of(site)
    if service is None:
        return Panel([], [], False, set(), [])
    history = list(service.of_record(entity, record["id"], connection))
    pending = [a for a in history if a.status == "pending"]
    shown = pending or history[:1]
    default = site.blueprint.default_locale
    requests = []
    if can_update:
        for rule in service.requestable(entity, record, actor, connection):
            label = rule.label.text(locale, default) if getattr(rule, "label", None) else rule.name
            requests.append((rule.name, word("Request approval: {rule}", locale, rule=label)))
    owner = site.blueprint.entities[entity].owner
    key = (entity, record["id"])
    items = present(site, connection, actor, locale, shown, titles={key: title},
                    owners={key: record.get(owner)} if owner else None)
    return Panel(items, requests,
                 locked=any(a.lock is True for a in pending),
                 locked_fields={name for a in pending if isinstance(a.lock, (tuple, list)) for name in a.lock},
                 history=history)
