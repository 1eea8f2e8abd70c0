"""Approvals as stored: atrium_approvals (one row per request, with its decision or withdrawal)
and atrium_approval_approvers (whom each waits for), read into `Approval`s.

Kept apart from approvals.py, which asks, decides and withdraws; `Approvals` inherits these
readers and uses its tables, blueprint and rules.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from atrium.metadata.model import Label
from atrium.runtime.approvals.rules import PENDING, ApprovalSpec

if TYPE_CHECKING:
    from atrium.metadata.model import Blueprint
    from atrium.runtime.records.service import RecordService


@dataclass(frozen=True)
class Approval:
    id: int
    rule: str
    entity: str
    record_id: int
    status: str  # pending, approved, rejected, withdrawn, voided (approved, then what it approved changed)
    requested_by: int | None
    requested_at: dt.datetime
    approvers: tuple[int, ...]
    decided_by: int | None  # who approved, rejected or withdrew it
    decided_at: dt.datetime | None
    comment: str | None
    message: Mapping[str, str]  # locale → text, filled with the record at request time
    lock: bool | tuple[str, ...]
    label: Label  # the rule's label
    voided_by: int | None = None  # whose change made the approval void
    voided_at: dt.datetime | None = None


class ApprovalStore:
    """Mixed into Approvals: reads approvals; `table`, `approvers`, `users`, `specs`,
    `blueprint` and `service` are the Approvals' own."""

    service: RecordService
    blueprint: Blueprint
    _of_record_kept: sa.Select | None = None  # of_record's statement, built on first use
    table: sa.Table
    approvers: sa.Table
    users: sa.Table
    specs: dict[str, ApprovalSpec]

    def get(self, approval_id: int, connection: Connection | None = None) -> Approval | None:
        with self.service._connection(connection, write=False) as conn:
            found = self._read(conn, [approval_id])
        return found[0] if found else None

    def of_record(self, entity: str, record_id: int, connection: Connection | None = None) -> list[Approval]:
        """Every approval of the record, newest first: its approval history."""
        with self.service._connection(connection, write=False) as conn:
            return self._select(conn, self._of_record_query(), {"of_entity": entity, "of_record_id": record_id})

    def _of_record_query(self) -> sa.Select:
        """`of_record`'s statement, built once per Approvals (one a site): every detail page runs it."""
        query = self._of_record_kept
        if query is None:
            table = self.table
            query = self._of_record_kept = (
                sa.select(table).where(table.c.entity == sa.bindparam("of_entity", type_=table.c.entity.type),
                                       table.c.record_id == sa.bindparam("of_record_id",
                                                                         type_=table.c.record_id.type))
                .order_by(table.c.id.desc()))
        return query

    def pending_for(self, user_id: int, connection: Connection | None = None,
                    limit: int | None = None) -> list[Approval]:
        """The pending approvals waiting for this user's decision, newest first (for a role that
        sees everything: every pending approval)."""
        with self.service._connection(connection, write=False) as conn:
            query = self._waiting_for(user_id, sa.select(self.table)).order_by(self.table.c.id.desc())
            return self._select(conn, query.limit(limit) if limit is not None else query)

    def count_pending_for(self, user_id: int, connection: Connection | None = None) -> int:
        with self.service._connection(connection, write=False) as conn:
            query = self._waiting_for(user_id, sa.select(sa.func.count()).select_from(self.table))
            return conn.execute(query).scalar() or 0

    def _waiting_for(self, user_id: int, query: sa.Select) -> sa.Select:
        """Pending approvals this user is asked to decide, or every one for a role that sees
        everything: one statement (the page header counts them on every request)."""
        approvers, users = self.approvers, self.users
        mine: sa.ColumnElement[bool] = self.table.c.id.in_(
            sa.select(approvers.c.approval_id).where(approvers.c.user_id == user_id))
        admins = [name for name, role in self.blueprint.roles.items() if role.all]
        if admins:
            mine = sa.or_(mine, sa.exists().where(users.c.id == user_id, users.c.role.in_(admins)))
        return query.where(self.table.c.status == PENDING, mine)

    def _pending_rules(self, conn: Connection, entity: str, record_id: int) -> dict[str, list[int]]:
        """Rule → the ids of its pending approvals of this record."""
        table = self.table
        found: dict[str, list[int]] = {}
        for approval_id, rule in conn.execute(sa.select(table.c.id, table.c.rule).where(
                table.c.entity == entity, table.c.record_id == record_id, table.c.status == PENDING)):
            found.setdefault(rule, []).append(approval_id)
        return found

    def _waiting(self, conn: Connection, spec: ApprovalSpec, ids: Sequence[int]) -> set[int]:
        """The records among `ids` with a pending approval of this rule."""
        table = self.table
        query = sa.select(table.c.record_id).where(
            table.c.entity == spec.entity, table.c.rule == spec.name, table.c.status == PENDING,
            table.c.record_id.in_(sa.bindparam("_ids", expanding=True)))
        found: set[int] = set()
        for start in range(0, len(ids), 500):
            found.update(conn.execute(query, {"_ids": list(ids[start:start + 500])}).scalars())
        return found

    def _read(self, conn: Connection, ids: Sequence[int]) -> list[Approval]:
        return self._select(conn, sa.select(self.table).where(self.table.c.id.in_(list(ids))).order_by(self.table.c.id))

    def _select(self, conn: Connection, query: sa.Select,
                parameters: Mapping[str, Any] | None = None) -> list[Approval]:
        rows = [row._mapping for row in conn.execute(query, dict(parameters or {}))]
        approvers: dict[int, list[int]] = {}
        if rows:
            a = self.approvers
            for approval_id, user_id in conn.execute(sa.select(a.c.approval_id, a.c.user_id).where(
                    a.c.approval_id.in_([row["id"] for row in rows])).order_by(a.c.user_id)):
                approvers.setdefault(approval_id, []).append(user_id)
        return [self._of(row, approvers.get(row["id"], [])) for row in rows]

    def _of(self, row: Mapping[str, Any] | sa.RowMapping, approvers: list[int]) -> Approval:
        spec = self.specs.get(row["rule"])
        lock = row["lock"]
        return Approval(id=row["id"], rule=row["rule"], entity=row["entity"], record_id=row["record_id"],
                        status=row["status"], requested_by=row["requested_by"], requested_at=row["requested_at"],
                        approvers=tuple(approvers), decided_by=row["decided_by"], decided_at=row["decided_at"],
                        comment=row["comment"], message=dict(row["message"] or {}),
                        lock=tuple(lock) if isinstance(lock, list) else lock is not False,
                        label=spec.rule.label if spec else Label.of(None, row["rule"]),
                        voided_by=row["voided_by"], voided_at=row["voided_at"])
