"""Bulk changes a person makes to records they picked, by id or by a filter: one set of values
for all of them (a reassignment: `{"owner": 7}`), the public pool's release or claim of each, or
their deletion. All or nothing, in one transaction, by the rules a single change obeys:

- the records: `Selection.ids` (at most MAX_IDS), or `Selection.where` (+ `search`): the list's
  condition, evaluated inside the action's transaction under the actor's read access, so the
  action reaches what the filter matches when it runs (at most MAX_MATCHES);
- `set`: the fields must be writable for the actor's role (hidden and read-only refused), every
  record must be readable (else not found) and within the role's update scope (else forbidden),
  links must point at records the actor may read, and the new owner must stay within the actor's
  reach (`Access.may_own`). The write is `RecordService.bulk_update` in batches, so field checks,
  history, rollups, event rules and owners that follow (owner_follows.py) apply as for any update;
- `release` / `claim`: `PublicPool.release_in` / `claim_in` for each record, with the pool's rules
  (a claim counts the pool's limits as the claims add up);
- `delete`: `SecuredRecords.delete` for each record (the role's delete scope, each reference's
  `on_delete`).

A refusal names every record refused and why (`BulkRefused.refused`: id → a text, or field →
texts), and nothing is written. `progress(done, total)` is told as the work goes (a page shows it).
"""
from __future__ import annotations

from dataclasses import dataclass, field as dataclass_field
from typing import Any, Callable, Mapping, Sequence

from sqlalchemy.engine import Connection

from atrium.errors import AtriumError
from atrium.runtime.access.secured import AccessDenied, SecuredRecords
from atrium.runtime.automation.messages import message
from atrium.runtime.pool.service import PublicPool, pool_of
from atrium.runtime.query.lists import ListQuery
from atrium.runtime.records.errors import RecordError, RecordNotFound, ValidationFailed
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.schema.database import write_transaction

MAX_IDS = 500  # records one request may name
MAX_MATCHES = 10_000  # records a filter may reach in one action
BATCH = 200  # records written between two progress reports
ACTIONS = ("release", "claim", "delete")

Reason = str | dict[str, list[str]]
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Selection:
    """The records an action is for: ids, or the list's condition (`where`, `search`)."""

    ids: Sequence[Any] | None = None
    where: Mapping[str, Any] = dataclass_field(default_factory=dict)
    search: str = ""


class BulkRefused(RecordError):
    """Some of the records cannot be changed, so none was. `refused`: record id → why (a text, or
    field → texts); the status is that of the first refusal's kind (404, 403, 409 or 422)."""

    def __init__(self, status: int, code: str, refused: Mapping[int, Reason], text: str):
        self.status, self.code = status, code
        self.refused = dict(refused)
        super().__init__(text)

    def payload(self) -> dict[str, Any]:
        return {"error": self.code, "message": str(self),
                "refused": {str(record_id): reason for record_id, reason in self.refused.items()}}


def reason_of(error: AtriumError) -> Reason:
    if isinstance(error, ValidationFailed):
        return dict(error.errors)
    return str(error)


def _quiet(done: int, total: int) -> None:
    return None


class BulkChanges:
    def __init__(self, site: Any):
        self.site = site
        self.access = site.access
        self.records = site.records
        self.secured = SecuredRecords(site)

    def set(self, actor: Actor, entity: str, selection: Selection | Sequence[int], values: Mapping[str, Any],
            progress: Progress = _quiet) -> int:
        """Give every record the same values; returns how many changed."""
        self._check_entity(entity)
        if not self.access.can(actor, entity, "update"):
            raise AccessDenied(entity)
        self.secured.refuse_fields(actor, entity, values)
        with write_transaction(self.site.engine) as conn:
            ids = self.selected(conn, actor, entity, selection)
            found = {r["id"]: r for r in self.records.read_where(
                conn, entity, "id", ids, self.access.row_filter(conn, actor, entity, "read"), lock=True)}
            missing = [i for i in ids if i not in found]
            if missing:
                self._refuse(actor, RecordNotFound(message("not_found", actor.locale)), missing)
            permitted = self.access.permits_each(conn, actor, entity, "update")
            denied = [i for i in ids if not permitted(found[i])]
            if denied:
                self._refuse(actor, AccessDenied(message("bulk_not_yours", actor.locale)), denied)
            self.secured.refuse_unreadable_links(conn, actor, entity, values)
            pairs: list[tuple[Any, dict[str, Any]]] = []
            for start in range(0, len(ids), BATCH):
                batch = ids[start:start + BATCH]
                try:
                    pairs += self.records.bulk_update(entity, [(i, values) for i in batch], actor, connection=conn,
                                                      current=found)
                except ValidationFailed as failed:
                    bad = batch[failed.row] if failed.row is not None and failed.row < len(batch) else batch[0]
                    raise BulkRefused(failed.status, failed.code, {bad: reason_of(failed)}, str(failed)) from None
                progress(len(pairs), len(ids))
            owner = self.site.blueprint.entities[entity].owner
            if owner:
                out = [after["id"] for _, after in pairs if not self.access.may_own(conn, actor, entity,
                                                                                    after.get(owner))]
                if out:
                    self._refuse(actor, ValidationFailed({owner: [message("owner_out_of_reach",
                                                                          actor.locale)]}), out)
        return len(pairs)

    def act(self, actor: Actor, entity: str, selection: Selection | Sequence[int], action: str,
            progress: Progress = _quiet) -> int:
        """Release, claim or delete every record; returns how many."""
        self._check_entity(entity)
        if action in ("release", "claim"):
            pool_of(self.site.blueprint, entity, actor.locale)
            if action == "claim" and not self.access.claims(actor, entity):
                raise AccessDenied(entity)
        elif action == "delete":
            if not self.access.can(actor, entity, "delete"):
                raise AccessDenied(entity)
        else:
            raise ValueError(action)
        pool = PublicPool(self.site)
        step: Callable[[Connection, int], Any] = {
            "release": lambda conn, i: pool.release_in(conn, actor, entity, i),
            "claim": lambda conn, i: pool.claim_in(conn, actor, entity, i),
            "delete": lambda conn, i: self.secured.delete(actor, entity, i, connection=conn),
        }[action]
        refused: dict[int, AtriumError] = {}
        with write_transaction(self.site.engine) as conn:
            ids = self.selected(conn, actor, entity, selection)
            for done, record_id in enumerate(ids, 1):
                try:
                    step(conn, record_id)
                except (RecordError, AccessDenied) as error:  # refusals come before any write of that record
                    refused[record_id] = error
                if done % BATCH == 0 or done == len(ids):
                    progress(done, len(ids))
            if refused:
                first = next(iter(refused.values()))
                raise BulkRefused(first.status, first.code, {i: reason_of(e) for i, e in refused.items()},
                                  self._summary(actor, len(refused)))
        return len(ids)

    def release(self, actor: Actor, entity: str, ids: Sequence[int]) -> int:
        """Give every record back to the entity's public pool; returns how many."""
        return self.act(actor, entity, ids, "release")

    # --- which records -----------------------------------------------------------------------

    def selected(self, conn: Connection, actor: Actor, entity: str, selection: Selection | Sequence[int]) -> list[int]:
        """The ids the action is for: those named, or those the condition matches now, by id."""
        if not isinstance(selection, Selection):
            selection = Selection(ids=selection)
        if selection.ids is not None:
            return self._checked_ids(actor, selection.ids)
        ids: list[int] = []
        cursor = None
        while True:
            page = self.secured.list(actor, ListQuery(entity, dict(selection.where), selection.search, sort=("id",),
                                                      limit=MAX_IDS, after=cursor), conn)
            ids += [record["id"] for record in page.records]
            if len(ids) > MAX_MATCHES:
                raise ValidationFailed({"where": [message("bulk_too_many", actor.locale, max=MAX_MATCHES)]})
            cursor = page.next_cursor
            if cursor is None:
                return ids

    def count(self, actor: Actor, entity: str, selection: Selection) -> int:
        """How many records the selection reaches now (a read; the action counts again)."""
        with self.site.engine.connect() as conn:
            return len(self.selected(conn, actor, entity, selection))

    # --- the steps ---------------------------------------------------------------------------

    def _check_entity(self, entity: str) -> None:
        if entity not in self.site.blueprint.entities:
            raise RecordNotFound(entity)

    def _checked_ids(self, actor: Actor, ids: Sequence[Any]) -> list[int]:
        unique: dict[int, None] = {}
        for value in ids:
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValidationFailed({"ids": [message("bulk_bad_ids", actor.locale, max=MAX_IDS)]})
            unique[value] = None
        if not unique or len(unique) > MAX_IDS:
            raise ValidationFailed({"ids": [message("bulk_bad_ids", actor.locale, max=MAX_IDS)]})
        return list(unique)

    def _refuse(self, actor: Actor, error: AtriumError, ids: Sequence[int]) -> None:
        reason = reason_of(error)
        raise BulkRefused(error.status, error.code, {i: reason for i in ids}, self._summary(actor, len(ids)))

    def _summary(self, actor: Actor, count: int) -> str:
        return message("bulk_refused", actor.locale, count=count)
