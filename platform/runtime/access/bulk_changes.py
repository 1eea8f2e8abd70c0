"""Bulk changes a person makes to records they picked: one set of values for all of them (a
reassignment: `{"owner": 7}`) or the public pool's release of each. All or nothing, in one
transaction, by the rules a single change obeys:

- `set`: the fields must be writable for the actor's role (hidden and read-only refused), every
  record must be readable (else not found) and within the role's update scope (else forbidden),
  links must point at records the actor may read, and the new owner must stay within the actor's
  reach (`Access.may_own`). The write is one `RecordService.bulk_update`, so field checks, history,
  rollups, event rules and owners that follow (owner_follows.py) apply as for any update;
- `release`: `PublicPool.release_in` for each record, with the pool's rules (owned, not locked,
  by the owner or someone whose update scope reaches it).

A refusal names every record refused and why (`BulkRefused.refused`: id → a text, or field →
texts), and nothing is written.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from atrium.errors import AtriumError
from atrium.runtime.access.secured import AccessDenied, SecuredRecords
from atrium.runtime.automation.messages import message
from atrium.runtime.pool.service import PublicPool, pool_of
from atrium.runtime.records.errors import RecordError, RecordNotFound, ValidationFailed
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.schema.database import write_transaction

MAX_IDS = 500  # records one request may change

Reason = str | dict[str, list[str]]


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


class BulkChanges:
    def __init__(self, site: Any):
        self.site = site
        self.access = site.access
        self.records = site.records
        self.secured = SecuredRecords(site)

    def set(self, actor: Actor, entity: str, ids: Sequence[int], values: Mapping[str, Any]) -> int:
        """Give every record the same values; returns how many changed."""
        ids = self._checked_ids(actor, ids)
        if entity not in self.site.blueprint.entities:
            raise RecordNotFound(entity)
        if not self.access.can(actor, entity, "update"):
            raise AccessDenied(entity)
        self.secured.refuse_fields(actor, entity, values)
        with write_transaction(self.site.engine) as conn:
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
            try:
                pairs = self.records.bulk_update(entity, [(i, values) for i in ids], actor, connection=conn,
                                                 current=found)
            except ValidationFailed as failed:
                bad = ids[failed.row] if failed.row is not None and failed.row < len(ids) else ids[0]
                raise BulkRefused(failed.status, failed.code, {bad: reason_of(failed)}, str(failed)) from None
            owner = self.site.blueprint.entities[entity].owner
            if owner:
                out = [after["id"] for _, after in pairs if not self.access.may_own(conn, actor, entity,
                                                                                    after.get(owner))]
                if out:
                    self._refuse(actor, ValidationFailed({owner: [message("owner_out_of_reach",
                                                                          actor.locale)]}), out)
        return len(pairs)

    def release(self, actor: Actor, entity: str, ids: Sequence[int]) -> int:
        """Give every record back to the entity's public pool; returns how many."""
        ids = self._checked_ids(actor, ids)
        pool_of(self.site.blueprint, entity, actor.locale)
        pool = PublicPool(self.site)
        refused: dict[int, AtriumError] = {}
        with write_transaction(self.site.engine) as conn:
            for record_id in ids:
                try:
                    pool.release_in(conn, actor, entity, record_id)
                except (RecordError, AccessDenied) as error:  # refusals come before any write of that record
                    refused[record_id] = error
            if refused:
                first = next(iter(refused.values()))
                raise BulkRefused(first.status, first.code, {i: reason_of(e) for i, e in refused.items()},
                                  self._summary(actor, len(refused)))
        return len(ids)

    # --- the steps ---------------------------------------------------------------------------

    def _checked_ids(self, actor: Actor, ids: Sequence[Any]) -> list[int]:
        unique: list[int] = []
        for value in ids:
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValidationFailed({"ids": [message("bulk_bad_ids", actor.locale, max=MAX_IDS)]})
            if value not in unique:
                unique.append(value)
        if not unique or len(unique) > MAX_IDS:
            raise ValidationFailed({"ids": [message("bulk_bad_ids", actor.locale, max=MAX_IDS)]})
        return unique

    def _refuse(self, actor: Actor, error: AtriumError, ids: Sequence[int]) -> None:
        reason = reason_of(error)
        raise BulkRefused(error.status, error.code, {i: reason for i in ids}, self._summary(actor, len(ids)))

    def _summary(self, actor: Actor, count: int) -> str:
        return message("bulk_refused", actor.locale, count=count)

