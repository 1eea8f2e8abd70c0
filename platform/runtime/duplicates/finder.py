"""The records that look like one being saved: one lookup for the form, the API, imports and
conversions.

A rule (`duplicates.match` on the entity, or a conversion target's `match` fields one by one) is
a list of fields that must all be equal, as duplicates/keys.py compares them; a record matching
any rule is similar. Each field is compared on a column an index serves: a phone's digits, a
text or email field's key, or the field's own column.

What the actor learns is bounded by access: the similar records they may read are listed (their
ids and titles), the others only counted, and a rule naming a field the actor's role hides is not
used at all (its match would tell them that field's value).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from atrium.metadata.model import TEXT_TYPES, Entity
from atrium.runtime.automation.messages import message
from atrium.runtime.duplicates.keys import field_key
from atrium.runtime.records.errors import RecordError
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.schema.tables import match_key_column, phone_key_column

SHOWN = 10  # similar records listed; the rest are counted


@dataclass(frozen=True)
class Candidate:
    id: int
    title: str


@dataclass(frozen=True)
class Similar:
    """The look-alikes of one record: those the actor may read, and how many others there are."""

    entity: str
    readable: tuple[Candidate, ...] = ()
    more: int = 0  # readable ones beyond the first SHOWN
    hidden: int = 0  # ones the actor may not read

    def __bool__(self) -> bool:
        return bool(self.readable or self.hidden)


class SimilarRecordsFound(RecordError):
    """The record looks like existing ones; saved only once the user confirms (`allow_duplicate`)."""

    status, code = 409, "duplicates"

    def __init__(self, similar: Similar, text: str):
        self.similar = similar
        super().__init__(text)

    def payload(self) -> dict[str, Any]:
        return {**super().payload(), "duplicates": similar_json(self.similar)}


def similar_json(similar: Similar) -> dict[str, Any]:
    return {"entity": similar.entity, "candidates": [{"id": c.id, "title": c.title} for c in similar.readable],
            "more": similar.more, "hidden": similar.hidden}


def probe(site: Any, model: Entity, table: sa.Table, name: str) -> tuple[Any, Callable[[Any], Any]]:
    """The SQL expression a field is compared on, and how a value becomes what it holds."""
    field = model.fields[name]
    if field.type == "phone":
        return table.c[phone_key_column(name)], lambda value: field_key(site.blueprint, model, field, value)
    if name in model.keyed_fields:
        return table.c[match_key_column(name)], lambda value: field_key(site.blueprint, model, field, value)
    if field.type in TEXT_TYPES:  # a field no rule keys (a conversion's `match`): trimmed, case aside
        return (sa.func.lower(sa.func.trim(table.c[name])),
                lambda value: value.strip().lower() or None if isinstance(value, str) else value)
    return table.c[name], lambda value: value


class DuplicateFinder:
    def __init__(self, site: Any):
        self.site = site

    def rules(self, entity: str) -> tuple[tuple[str, ...], ...]:
        model = self.site.blueprint.entities[entity]
        return model.duplicates.match if model.duplicates is not None else ()

    def condition(self, actor: Actor, entity: str, values: Mapping[str, Any],
                  rules: Sequence[Sequence[str]]) -> sa.ColumnElement | None:
        """Rows equal to `values` by any rule the actor may use; None when no rule has all its values."""
        model, table = self.site.blueprint.entities[entity], self.site.tables[entity]
        alike = []
        for rule in rules:
            if any(self.site.access.field_mode(actor, entity, name) == "hidden" for name in rule):
                continue
            equal = []
            for name in rule:
                column, key_of = probe(self.site, model, table, name)
                key = key_of(values.get(name))
                if key is None or key == "":
                    break
                equal.append(column == key)
            else:
                alike.append(sa.and_(*equal))
        return sa.or_(*alike) if alike else None

    def find(self, connection: Connection, actor: Actor, entity: str, values: Mapping[str, Any],
             exclude: int | None = None, rules: Sequence[Sequence[str]] | None = None,
             count_hidden: bool = True) -> Similar:
        """The records of `entity` that look like `values` (other than `exclude`)."""
        same = self.condition(actor, entity, values, self.rules(entity) if rules is None else rules)
        if same is None:
            return Similar(entity)
        table = self.site.tables[entity]
        if exclude is not None:
            same = sa.and_(same, table.c.id != exclude)
        readable = self.site.access.row_filter(connection, actor, entity, "read", table)
        ids = list(connection.execute(sa.select(table.c.id).where(same, readable).order_by(table.c.id)
                                      .limit(SHOWN + 1)).scalars())
        readable_count = len(ids)
        if len(ids) > SHOWN:
            readable_count = connection.execute(sa.select(sa.func.count()).where(same, readable)).scalar_one()
        hidden = 0
        if count_hidden:
            total = connection.execute(sa.select(sa.func.count()).select_from(table).where(same)).scalar_one()
            hidden = total - readable_count
        ids = ids[:SHOWN]
        records = self.site.records.read_many(connection, entity, ids)
        titles = self.site.queries.titles_of(connection, entity, records, actor)
        return Similar(entity, tuple(Candidate(i, titles.get(i) or f"#{i}") for i in ids),
                       readable_count - len(ids), hidden)

    def refuse(self, connection: Connection, actor: Actor, entity: str, record: Mapping[str, Any],
               before: Mapping[str, Any] | None = None) -> None:
        """Raise SimilarRecordsFound when the saved `record` looks like others. On an edit (`before`
        given) only when a field of a rule changed: a record is not re-warned for every save."""
        rules = self.rules(entity)
        if before is not None:
            rules = tuple(rule for rule in rules if any(before.get(n) != record.get(n) for n in rule))
        if not rules:
            return
        similar = self.find(connection, actor, entity, record, exclude=record.get("id"), rules=rules)
        if similar:
            raise SimilarRecordsFound(similar, message("duplicates_found", actor.locale))
