"""The form's duplicate warning: records like the one being typed, before and on saving.

Before saving, leaving a field that one of the entity's `duplicates:` rules names asks the finder
(runtime/duplicates/finder.py) about the draft, and the field's messages show the similar records
the user may read as links, with a count of the others. On saving, the records service refuses a
look-alike (SimilarRecordsFound) and the form comes back with the same list and a "Save anyway"
button, which saves with `_allow_duplicate`; or the user opens the existing record instead.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from atrium.runtime.duplicates.finder import Similar
from atrium.ui.web.page_tools import Kit

ALLOW = "_allow_duplicate"  # the form member that saves although look-alikes exist


@dataclass(frozen=True)
class DuplicateWarning:
    entity: str  # the entity's name, in the reader's language
    links: tuple[tuple[str, str], ...]  # (url, title) of each similar record the user may read
    more: int  # readable ones not listed
    hidden: int  # ones the user may not read: counted, never named


def warning_of(kit: Kit, similar: Similar) -> DuplicateWarning | None:
    if not similar:
        return None
    links = tuple((f"/r/{similar.entity}/{c.id}", c.title) for c in similar.readable)
    label = kit.presenter.text(kit.blueprint.entities[similar.entity].label)
    return DuplicateWarning(label, links, similar.more, similar.hidden)


def allowed(form: Any) -> bool:
    return str(form.get(ALLOW, "")) == "1"


def checks(kit: Kit, form: Any) -> bool:
    """Whether a save from this form is refused when records like it exist."""
    return kit.entity.duplicates is not None and not allowed(form)


def field_warning(kit: Kit, name: str, record: Mapping[str, Any], record_id: int | None,
                  current: Mapping[str, Any] | None) -> DuplicateWarning | None:
    """The look-alikes of the draft by the rules that name `name` (on an edit, only rules whose
    values the user changed: a record is not warned about what it already was)."""
    rules = [rule for rule in (kit.entity.duplicates.match if kit.entity.duplicates is not None else ())
             if name in rule and (current is None or any(record.get(n) != current.get(n) for n in rule))]
    if not rules:
        return None
    with kit.site.engine.connect() as connection:
        similar = kit.secured.duplicates.find(connection, kit.actor, kit.entity_name, record,
                                              exclude=record_id, rules=rules)
    return warning_of(kit, similar)
