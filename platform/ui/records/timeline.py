"""A record's timeline, newest first: field changes (atrium_history), stage changes with the time
spent in the stage left (atrium_stage_history), and related records created (from the view's
`detail.related`), claims, releases and recycles of a public-pool record (atrium_pool_history), and
approvals asked for, decided and withdrawn, and people's comments (with what the reader may do
to each: edit one's own, delete one's own or, as an administrator, anyone's).
Hidden fields and records the reader may not see never appear."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Mapping

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from atrium.runtime.query.lists import ListQuery
from atrium.translation import N_, format_datetime
from atrium.ui.approvals.words import TIMELINE_WORDS
from atrium.ui.web.i18n import pword, word
from atrium.ui.web.page_tools import Kit
from atrium.ui.web.present import EMPTY, Lookups, Shown

LIMIT = 50
POOL_ACTION_WORDS = {"claim": N_("Claimed from the public pool"), "release": N_("Released to the public pool"),
                     "recycle": N_("Recycled to the public pool")}


@dataclass
class Entry:
    at: dt.datetime
    by: Any
    kind: str  # created, change, stage, related
    label: str = ""
    old: Shown = EMPTY
    new: Shown = EMPTY
    note: str = ""
    href: str | None = None
    who: str = ""
    comment: str = ""  # an approval's decision, or a comment's text
    item: Any = None  # a comment: the Comment (comments/service.py)
    editable: bool = False  # a comment the reader may edit
    removable: bool = False  # a comment the reader may delete


def duration(seconds: float | None, locale: str) -> str:
    if seconds is None:
        return ""
    minutes = int(seconds // 60)
    if minutes >= 24 * 60:
        return word("{n} d", locale, n=minutes // (24 * 60))
    if minutes >= 60:
        return word("{n} h", locale, n=minutes // 60)
    return word("{n} min", locale, n=max(minutes, 1))


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def _newest_of_record(kit: Kit, table: sa.Table, limit: int) -> sa.Select:
    """A history table's newest rows of one record (`:entity`, `:record_id`), built once a site."""
    return kit.site.queries.statements.get(("newest of record", table.name, limit), lambda: sa.select(table).where(
        table.c.entity == sa.bindparam("entity", type_=table.c.entity.type),
        table.c.record_id == sa.bindparam("record_id", type_=table.c.record_id.type))
        .order_by(table.c.changed_at.desc(), table.c.id.desc()).limit(limit))


def field_changes(kit: Kit, connection: Connection, record_id: int, lookups: Lookups | None = None) -> list[Entry]:
    history = kit.site.tables.system("atrium_history")
    stage = kit.entity.stage_field
    pipeline = kit.blueprint.pipeline_for(kit.entity_name)
    rows = connection.execute(_newest_of_record(kit, history, LIMIT * 4), {"entity": kit.entity_name,
                                                                          "record_id": record_id}).fetchall()
    entries: list[Entry] = []
    pairs: list[tuple[Entry, Any, Any, Any]] = []
    created = False
    for row in rows:
        if row.action == "create":
            if not created:  # one entry, however many fields the creation set
                entries.append(Entry(_aware(row.changed_at), row.changed_by, "created",
                                     word("Created the record", kit.locale)))
                created = True
            continue
        if row.action == "restore":  # back from the recycle bin (runtime/trash)
            entries.append(Entry(_aware(row.changed_at), row.changed_by, "created",
                                 word("Restored from the recycle bin", kit.locale)))
            continue
        field = kit.entity.fields.get(row.field or "")
        if row.action != "update" or field is None or field.computed \
                or kit.presenter.mode(kit.entity_name, field.name) == "hidden":
            continue  # a computed field changes with what it is computed from: shown there
        if pipeline is not None and stage is not None and field.name == stage.name:
            continue  # stage changes come from the stage history, with the time spent
        entry = Entry(_aware(row.changed_at), row.changed_by, "change", kit.presenter.text(field.label))
        pairs.append((entry, field, kit.presenter.stored(field, row.old_value),
                      kit.presenter.stored(field, row.new_value)))
        entries.append(entry)
    if pairs:
        records = [{field.name: value} for _, field, old, new in pairs for value in (old, new)]
        lookups = kit.presenter.load(connection, kit.entity_name, records, {f.name for _, f, _, _ in pairs},
                                     lookups)
        for entry, field, old, new in pairs:
            entry.old, entry.new = kit.presenter.show(field, old, lookups), kit.presenter.show(field, new, lookups)
    return entries


def stage_changes(kit: Kit, connection: Connection, record_id: int) -> list[Entry]:
    pipeline = kit.blueprint.pipeline_for(kit.entity_name)
    stage = kit.entity.stage_field
    if pipeline is None or stage is None or kit.presenter.mode(kit.entity_name, stage.name) == "hidden":
        return []
    table = kit.site.tables.system("atrium_stage_history")
    rows = connection.execute(_newest_of_record(kit, table, LIMIT), {"entity": kit.entity_name,
                                                                    "record_id": record_id}).fetchall()
    lookups = Lookups()
    entries = []
    for row in rows:
        entry = Entry(_aware(row.changed_at), row.changed_by, "stage", kit.presenter.text(stage.label),
                      kit.presenter.show(stage, row.from_stage, lookups),
                      kit.presenter.show(stage, row.to_stage, lookups))
        if row.migrated:  # the records of a removed stage, moved where the metadata said
            entry.note = word("Moved by a metadata change: the stage was removed", kit.locale)
        elif row.from_stage is not None and row.seconds_in_from is not None:
            entry.note = word("{time} in {stage}", kit.locale, time=duration(row.seconds_in_from, kit.locale),
                              stage=entry.old.text)
        entries.append(entry)
    return entries


def related_creations(kit: Kit, connection: Connection, record_id: int,
                      newest: Mapping[str, list] | None = None) -> list[Entry]:
    """Related records added, newest first: from `newest` (child → records, as the detail page's
    related lists read them) or read here."""
    entries = []
    for link in kit.view.related:
        child, _, via = link.partition(".")
        if not kit.can("read", child) or kit.presenter.path_field(child, via) is None:
            continue
        if newest is not None and child in newest:
            records = newest[child]
        else:
            records = kit.secured.list(kit.actor, ListQuery(child, where={via: record_id}, sort=("-created_at",),
                                                            limit=10), connection).records
        titles = kit.site.queries.titles_of(connection, child, records, kit.actor)
        label = kit.presenter.text(kit.blueprint.entities[child].label)
        for record in records:
            entries.append(Entry(_aware(record["created_at"]), record.get("created_by"), "related",
                                 pword("timeline", "New {entity}", kit.locale, entity=label),
                                 new=Shown(titles.get(record["id"], f"#{record['id']}"),
                                           href=f"/r/{child}/{record['id']}")))
    return entries


def pool_changes(kit: Kit, connection: Connection, record_id: int) -> list[Entry]:
    """Claims, releases and recycles of a public-pool record, with whose it was before."""
    pool = kit.entity.pool
    if pool is None or kit.presenter.mode(kit.entity_name, pool.owner_field) == "hidden":
        return []
    table = kit.site.tables.system("atrium_pool_history")
    rows = connection.execute(
        sa.select(table).where(table.c.entity == kit.entity_name, table.c.record_id == record_id)
        .order_by(table.c.at.desc(), table.c.id.desc()).limit(LIMIT)).fetchall()
    lookups = Lookups()
    kit.presenter.load_users(connection, [row.previous_owner for row in rows], lookups)
    entries = []
    for row in rows:
        notes = []
        if row.previous_owner is not None and row.action != "claim":
            notes.append(word("from {who}", kit.locale, who=lookups.users.get(row.previous_owner, "?")))
        if row.rule:
            notes.append(word("rule {rule}", kit.locale, rule=_rule_label(kit, row.rule)))
        entries.append(Entry(_aware(row.at), row.user_id, "pool", word(POOL_ACTION_WORDS[row.action], kit.locale),
                             note="; ".join(notes)))
    return entries


def approval_changes(kit: Kit, approvals: list) -> list[Entry]:
    """Each approval asked for, and its decision or withdrawal, with the comment."""
    entries = []
    for approval in approvals:
        rule = kit.presenter.text(approval.label) if approval.label else approval.rule
        entries.append(Entry(_aware(approval.requested_at), approval.requested_by, "approval",
                             word("Approval requested", kit.locale), note=rule))
        if approval.status != "pending" and approval.decided_at is not None:
            decided = "approved" if approval.status == "voided" else approval.status  # approved, then void
            entries.append(Entry(_aware(approval.decided_at), approval.decided_by, "approval",
                                 pword(*TIMELINE_WORDS[decided], kit.locale), note=rule,
                                 comment=approval.comment or ""))
        if approval.status == "voided" and approval.voided_at is not None:
            entries.append(Entry(_aware(approval.voided_at), approval.voided_by, "approval",
                                 pword(*TIMELINE_WORDS["voided"], kit.locale), note=rule))
    return entries


def comment_entries(kit: Kit, connection: Connection, record_id: int) -> list[Entry]:
    """The record's comments, each with whether the reader may edit or delete it."""
    comments = kit.site.comments
    entries = []
    for comment in comments.of_record(kit.actor, kit.entity_name, record_id, connection, limit=LIMIT):
        entry = Entry(comment.created_at, comment.author_id, "comment",
                      word("Commented", kit.locale), comment=comment.body, item=comment,
                      editable=comments.may_edit(kit.actor, comment), removable=comments.may_delete(kit.actor, comment))
        if comment.edited_at is not None:
            entry.note = word("edited {at}", kit.locale, at=format_datetime(
                comment.edited_at, kit.locale, kit.blueprint.timezone))
        entries.append(entry)
    return entries


def _rule_label(kit: Kit, name: str) -> str:
    document = kit.blueprint.automations.get(name)
    return kit.presenter.text(document.label) if document is not None else name


def _without_pool_owner_changes(kit: Kit, entries: list[Entry], pooled: list[Entry]) -> list[Entry]:
    """An owner change that a claim, release or recycle made is shown once, as the pool entry."""
    if not pooled:
        return entries
    owner = kit.presenter.text(kit.entity.fields[kit.entity.pool.owner_field].label)
    moments = [entry.at for entry in pooled]
    return [e for e in entries if not (e.kind == "change" and e.label == owner
                                       and any(abs((e.at - at).total_seconds()) < 5 for at in moments))]


def timeline(kit: Kit, connection: Connection, record_id: int,
             newest: Mapping[str, list] | None = None, approvals: list | None = None,
             lookups: Lookups | None = None) -> list[Entry]:
    """`approvals`: the record's approvals as the page read them (else read here); `lookups`: the
    titles and user names the page already loaded for this reader (else loaded here)."""
    lookups = lookups if lookups is not None else Lookups()
    pooled = pool_changes(kit, connection, record_id)
    if approvals is None and getattr(kit.site.records, "approvals", None) is not None:
        approvals = kit.site.records.approvals.of_record(kit.entity_name, record_id, connection)
    entries = (_without_pool_owner_changes(kit, field_changes(kit, connection, record_id, lookups), pooled) + pooled
               + stage_changes(kit, connection, record_id) + related_creations(kit, connection, record_id, newest)
               + approval_changes(kit, approvals or []) + comment_entries(kit, connection, record_id))
    entries.sort(key=lambda e: e.at, reverse=True)
    entries = entries[:LIMIT]
    kit.presenter.load_users(connection, [e.by for e in entries], lookups)
    for entry in entries:
        entry.who = lookups.users.get(entry.by, word("System", kit.locale)) if entry.by else word("System", kit.locale)
    return entries
