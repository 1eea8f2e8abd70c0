"""The two quick actions `follow_up.log:` and `check_in:` declare, as writes through the
access-checked records surface (SecuredRecords), so they obey the same roles, field modes, rules
and write pipeline as a form: the follow-up a log creates moves its parent's field like any other.

- **log**: one record of the child entity linked to the parent, the picked kind and the note
  filled, `values` evaluated over the parent record (`now()` is the moment of the click);
- **check-in**: the record's `at` stamped with now and, only when the browser shared them, its
  location field given the latitude and longitude (the address a person typed is kept).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from atrium.metadata.model import Entity
from atrium.runtime.records.evaluation import Actor

if TYPE_CHECKING:
    from atrium.runtime.access.secured import SecuredRecords


def follow_up_logs(entities: Mapping[str, Entity], parent: str) -> list[Entity]:
    """The entities whose records a person logs as follow-ups of a `parent` record, by name."""
    return sorted((child for child in entities.values() if child.follow_up is not None
                   and child.follow_up.parent == parent and child.follow_up.log is not None),
                  key=lambda child: child.name)


def log_follow_up(secured: SecuredRecords, actor: Actor, child: Entity, parent_id: int,
                  pick: Any = None, note: str = "") -> dict[str, Any]:
    """Create one follow-up of `child` for the parent record (read first: 404 if not readable)."""
    spec = child.follow_up
    if spec is None or spec.log is None:
        raise ValueError(f"{child.name} declares no follow-up log")
    log = spec.log
    parent = secured.get(actor, spec.parent, parent_id)
    evaluator = secured.records.rules.evaluator.bind(spec.parent, actor)
    values: dict[str, Any] = {name: evaluator.evaluate(expression, parent)
                              for name, expression in log.values.items()}
    values[spec.of] = parent_id
    if log.pick is not None:
        values[log.pick] = pick
    if log.note is not None and note.strip():
        values[log.note] = note.strip()
    return secured.create(actor, child.name, values)


def check_in(secured: SecuredRecords, actor: Actor, entity: Entity, record_id: int, version: int | None,
             lat: Any = None, lng: Any = None) -> dict[str, Any]:
    """Stamp the check-in time (and the shared place) on a record the actor may update."""
    spec = entity.check_in
    if spec is None:
        raise ValueError(f"{entity.name} declares no check-in")
    current = secured.get(actor, entity.name, record_id, action="update")
    evaluator = secured.records.rules.evaluator.bind(entity.name, actor)
    values: dict[str, Any] = {name: evaluator.evaluate(expression, current) for name, expression in spec.set.items()}
    values[spec.at] = secured.records.clock()
    if spec.location is not None and lat not in (None, "") and lng not in (None, ""):
        address = (current.get(spec.location) or {}).get("address")
        values[spec.location] = {"lat": lat, "lng": lng, "address": address}
    return secured.update(actor, entity.name, record_id, values, version=version)
