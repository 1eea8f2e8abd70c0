"""What the detail page offers of `follow_up.log:` and `check_in:` (the actions: follow_up_page.py):
the follow-ups a person may log on this record (they may create the child and set its link), and
a check-in when they may update this record and its time field. The place is asked of the browser
only when the entity has a location field the person may set."""
from __future__ import annotations

from dataclasses import dataclass, field as dataclass_field
from typing import Any, Mapping

from sqlalchemy.engine import Connection

from atrium.runtime.records.follow_up_actions import follow_up_logs
from atrium.ui.web.page_tools import Kit


@dataclass
class LogAction:
    """One "log follow-up" menu: the child entity, its label and the kinds to pick from."""

    entity: str
    label: str
    kinds: list[tuple[Any, str]] = dataclass_field(default_factory=list)  # (value, label); empty: one Save
    note_label: str | None = None


@dataclass
class CheckInAction:
    label: str
    asks_place: bool  # whether the browser is asked for the place (the entity has a location field)


def follow_up_context(kit: Kit, connection: Connection, record: Mapping[str, Any], can_update: bool) -> dict:
    """What the detail page offers: the logs this record takes, and a check-in on this record."""
    access = kit.site.access
    logs = []
    for child in follow_up_logs(kit.blueprint.entities, kit.entity_name):
        spec = child.follow_up
        assert spec is not None and spec.log is not None  # follow_up_logs keeps only these
        log = spec.log
        if not kit.can("create", child.name) or access.field_mode(kit.actor, child.name, spec.of) != "write":
            continue
        label = kit.presenter.text(log.label) if log.label is not None else kit.word("Log follow-up")
        action = LogAction(child.name, label)
        if log.pick is not None:
            action.kinds = [(option.value, kit.presenter.text(option.label))
                            for option in child.fields[log.pick].options]
        if log.note is not None and access.field_mode(kit.actor, child.name, log.note) == "write":
            action.note_label = kit.presenter.text(child.fields[log.note].label)
        logs.append(action)
    spec = kit.entity.check_in
    check = None
    # offered until the record is checked in (its time field is then shown with the other fields)
    if spec is not None and can_update and record.get(spec.at) is None \
            and access.field_mode(kit.actor, kit.entity_name, spec.at) == "write":
        asks_place = (spec.location is not None
                      and access.field_mode(kit.actor, kit.entity_name, spec.location) == "write")
        label = kit.presenter.text(spec.label) if spec.label is not None else kit.word("Check in")
        check = CheckInAction(label, asks_place)
    return {"follow_up_logs": logs, "check_in": check}
