"""What a write asks of the services built over the records service, and what it tells them.

Approvals and automations import the records service; it imports neither. A write still asks
approvals whether a pending request holds the records back (`WriteGuard`) and tells the event
automations what it wrote (`EventRules`): the composition root (site/services.py) builds the real
ones over the service and hands them in as `WriteHooks`. A service without hooks (the seed, a
test of the records alone) asks and tells nobody.

Which automation rules are running in this thread or task is kept here, at the bottom, because
a write needs it: a rule's own writes do not fire it again, and an owner it empties is recorded
as a recycle (pool/recycling.py), not as a release.
"""
from __future__ import annotations

import contextvars
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Protocol, Sequence

from sqlalchemy.engine import Connection

from atrium.metadata.model import Entity
from atrium.runtime.records.evaluation import Actor

Record = dict[str, Any]
# (record before, record after): before is None for a create, after None for a delete
Pair = tuple[Optional[Record], Optional[Record]]
# (before, after, the fields the write changes, or None for a create or delete)
GuardedWrite = tuple[Optional[Mapping[str, Any]], Optional[Mapping[str, Any]], Optional[Sequence[str]]]


class WriteGuard(Protocol):
    """Approvals' say over a write: a pending request's lock, values only a decision sets."""

    def check(self, connection: Connection, model: Entity, writes: Sequence[GuardedWrite], actor: Actor,
              first_row: int | None = None) -> None: ...


class EventRules(Protocol):
    """The event automations a write fires, inside the write's transaction."""

    def written(self, connection: Connection, entity: Entity, event: str, pairs: Sequence[Pair],
                actor: Actor) -> bool: ...

    def update_pairs(self, connection: Connection, entity: Entity, pairs: Sequence[tuple[Record, Record]],
                     changed: frozenset[str]) -> list[tuple[Record, Record]]: ...


@dataclass(frozen=True)
class WriteHooks:
    guard: WriteGuard | None = None
    events: EventRules | None = None


# the rules running in this thread or task, outermost first
_running: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar("atrium_rules_running", default=())


def running_rules() -> tuple[str, ...]:
    return _running.get()


def enter_rule(name: str) -> contextvars.Token:
    """Mark a rule as running (its own writes will not fire it again)."""
    return _running.set(_running.get() + (name,))


def leave_rule(token: contextvars.Token) -> None:
    _running.reset(token)
