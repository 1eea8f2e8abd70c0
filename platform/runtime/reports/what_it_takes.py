"""What it takes: how much of each step in a chain a viewer still needs this period to reach a goal.

A `what_it_takes` dashboard widget names a goal (an expression such as `target('revenue', 'month')`
or a number), the value achieved so far (a report and measure, like a kpi widget) and a chain of
steps back from the money, each a report + measure counted over a history window on a date field:

    steps: [money won, deals won, deals opened, activities, first contacts]

From the history the chain gives ratios: step 0 / step 1 is the average size of one unit of step 1
(money won / deals won = average deal), and for the steps after it step i-1 / step i is the rate
at which step i turns into step i-1 (deals won / deals opened, deals opened / activities ...). Then

    remaining = goal - achieved;  need 1 = ceil(remaining / ratio 1);  need i = ceil(need i-1 / ratio i)

A step whose history (or the step before it) is zero has no ratio: it and the steps after it say
"not enough history"; a reached goal needs nothing. Every figure is computed under the viewer's
access scope (a rep's own records, a manager's team's) through the report engine.

Comparison (`compare:`) shows, beside the viewer's own ratios and achieved value, the average and
the best over peers (users of the roles in `peers:`, default the viewer's role), from aggregates per
owner only - never a record:
- `team`: per-owner aggregates among the records the viewer may read (a rep who reads only their
  own records compares with nobody else);
- `company`: per-owner aggregates over every record, computed by the system: the viewer sees only
  the average and the best figure, never who they belong to nor any record;
- `none`: no comparison.

With `team`, each figure is read once, grouped by owner under the viewer's scope: the viewer's own
total is the sum of the groups (records without an owner included) when the figure is a count or a
sum of a report that reads only its source, conditions and measures; any other is read as a total.

With `company`, the per-owner figures read only the records of the peers (and the viewer): without
that the statement would group every record of the entity, and a planner may take an index that
fits the report's conditions (a status) over one that starts from the owner. Those figures are the
same for every viewer comparing with the same people, so a caller may keep them once for all of
them (`Remember`'s `shared`); the viewer's own totals are read under the viewer's scope as before.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field as dataclass_field
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any, Callable, Mapping, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from atrium.metadata.model import Document
from atrium.metadata.report_checks import measure_function
from atrium.runtime.records.evaluation import SYSTEM, Actor
from atrium.runtime.reports.compiler import ReportRequest
from atrium.runtime.reports.runner import Reports
from atrium.runtime.reports.scope import ReportNotFound

DEFAULT_HISTORY = "last_180_days"
# past this many peers the company figures group every owner rather than list them in the statement
MAX_LISTED_OWNERS = 500
# what the per-owner query keeps of a report: one whose other keys (a pipeline, a period, groups)
# change its rows is read as a total of its own
READ_BY_GROUPED = frozenset({"name", "label", "description", "source", "where", "measures", "chart", "type"})


@dataclass
class Compared:
    """One figure for the viewer beside the peers' average and best (None: no figure)."""

    own: Decimal | None = None
    average: Decimal | None = None
    best: Decimal | None = None
    peers: int = 0


@dataclass
class Step:
    index: int
    report: str
    value: str
    history: Decimal  # the step's total over the history window (viewer's scope)
    ratio: Decimal | None = None  # step i-1 / step i over the history (None for step 0 or no history)
    need: int | Decimal | None = None  # how much of this step the period still needs
    compared: Compared | None = None


@dataclass
class Plan:
    goal: Decimal | None
    achieved: Decimal
    remaining: Decimal | None
    reached: bool
    history: str
    steps: list[Step] = dataclass_field(default_factory=list)
    achieved_compared: Compared | None = None

    @property
    def enough_history(self) -> bool:
        return all(step.ratio is not None for step in self.steps[1:])


def as_decimal(value: Any) -> Decimal:
    if value is None or isinstance(value, bool):
        return Decimal(0)
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return Decimal(0)


def ratio(before: Decimal, this: Decimal) -> Decimal | None:
    return before / this if this > 0 and before > 0 else None


def chain(goal: Decimal | None, achieved: Decimal, history: list[Decimal]) -> tuple[Decimal | None, list[Any]]:
    """(remaining, [(ratio, need) per step]): pure arithmetic, no database."""
    remaining = None if goal is None else max(goal - achieved, Decimal(0))
    out: list[Any] = [(None, remaining)]
    need: Any = remaining
    for i in range(1, len(history)):
        rate = ratio(history[i - 1], history[i])
        if need is not None and rate is not None:
            need = 0 if need <= 0 else math.ceil(Decimal(need) / rate)
        else:
            need = None
        out.append((rate, need))
    return remaining, out


class Remember(Protocol):
    """(figure's spec, its history window, what is kept, compute) -> the computed value, or one kept
    from before: how a caller keeps each figure until the tables it reads change (the widget cache,
    per figure), so a write to one entity recomputes only the figures that read it. `kind` says what
    the value is (a total, or per-owner groups); `shared`, when given, says the value does not depend
    on the viewer, only on what `shared` holds: one kept value serves every viewer."""

    def __call__(self, part: Mapping[str, Any], history: str | None, kind: str, compute: Callable[[], Any],
                 shared: tuple | None = None) -> Any: ...


class WhatItTakes:
    def __init__(self, reports: Reports, remember: Remember | None = None):
        self.reports = reports
        self.remember = remember
        self.site = reports.site
        self.blueprint = reports.blueprint

    def plan(self, actor: Actor, spec: Mapping[str, Any], goal: Any, connection: Connection) -> Plan:
        """The widget's numbers for `actor`; ReportNotFound when the viewer may not run a report."""
        history = spec.get("history") or DEFAULT_HISTORY
        achieved_spec = spec["achieved"]
        steps_spec = list(spec.get("steps") or ())
        compare = spec.get("compare") or "none"
        grouped: dict[int, tuple[dict[int, Decimal], Decimal]] = {}
        if compare == "team" and actor.user_id is not None:
            # the team comparison groups each figure by owner under the viewer's scope: the
            # viewer's own total is the sum of those groups, so each figure is read once
            for index, (step, window) in enumerate([(achieved_spec, None), *((s, history) for s in steps_spec)]):
                if self._additive(actor, step):
                    grouped[index] = self._figure(actor, step, window, connection)
        achieved = grouped[0][1] if 0 in grouped else self._own_total(actor, achieved_spec, None, connection)
        values = [grouped[i + 1][1] if i + 1 in grouped else self._own_total(actor, s, history, connection)
                  for i, s in enumerate(steps_spec)]
        goal_value = None if goal is None else as_decimal(goal)
        remaining, derived = chain(goal_value, achieved, values)
        plan = Plan(goal_value, achieved, remaining, remaining is not None and remaining <= 0, history)
        for i, (s, value, (rate, need)) in enumerate(zip(steps_spec, values, derived, strict=True)):
            plan.steps.append(Step(i, s["report"], s["value"], value, rate, need))
        if compare != "none" and actor.user_id is not None:
            self._compare(actor, spec, plan, compare == "company", connection, grouped)
        return plan

    # --- figures --------------------------------------------------------------------------------

    def _request(self, step: Mapping[str, Any], history: str | None,
                 owners: tuple[int, ...] | None = None) -> ReportRequest:
        if history is None or not step.get("date"):
            return ReportRequest(owners=owners)
        return ReportRequest(filters=MappingProxyType({step["date"]: {"within": history}}), owners=owners)

    def _own_total(self, actor: Actor, step: Mapping[str, Any], history: str | None,
                   connection: Connection) -> Decimal:
        def compute() -> Decimal:
            return as_decimal(self._total(actor, step, history, connection))
        return compute() if self.remember is None else self.remember(step, history, "total", compute)

    def _total(self, actor: Actor, step: Mapping[str, Any], history: str | None, connection: Connection) -> Any:
        result = self.reports.run(actor, step["report"], self._request(step, history), connection)
        source = result.totals if result.totals is not None else (result.rows[0] if len(result.rows) == 1 else None)
        if source is not None:
            return source.get(step["value"])
        return sum((as_decimal(r.get(step["value"])) for r in result.rows), Decimal(0))

    def _additive(self, actor: Actor, step: Mapping[str, Any]) -> bool:
        """Whether the step's total is the sum of its per-owner figures: a summary report reading
        only its source, conditions and measures (what the grouped query keeps), on an owned
        entity, whose value is a count or a sum."""
        try:
            document = self.reports.document(actor, step["report"])
        except ReportNotFound:
            return False
        source = document.get("source")
        entity = self.blueprint.entities.get(source) if source else None
        if entity is None or entity.owner is None or document.get("type", "summary") != "summary":
            return False
        if set(document.data) - READ_BY_GROUPED:
            return False
        measure = (document.get("measures") or {}).get(step["value"])
        return measure is not None and measure_function(measure)[0] in ("count", "sum")

    def _figure(self, actor: Actor, step: Mapping[str, Any], history: str | None,
                connection: Connection) -> tuple[dict[int, Decimal], Decimal]:
        def compute() -> tuple[dict[int, Decimal], Decimal]:
            return self._per_owner_and_total(actor, step, history, connection)
        return compute() if self.remember is None else self.remember(step, history, "grouped", compute)

    def _per_owner_and_total(self, actor: Actor, step: Mapping[str, Any], history: str | None,
                             connection: Connection) -> tuple[dict[int, Decimal], Decimal]:
        """The step's value per owner and over every group (records without an owner too)."""
        rows = self._per_owner_rows(actor, step, history, connection, self._team_owners(actor, step, connection))
        if rows is None:
            return {}, as_decimal(self._total(actor, step, history, connection))
        owner, found = rows
        total = sum((as_decimal(r.get(step["value"])) for r in found), Decimal(0))
        return {r[owner]: as_decimal(r.get(step["value"])) for r in found if r.get(owner) is not None}, total

    def _team_owners(self, actor: Actor, step: Mapping[str, Any], connection: Connection) -> tuple[int, ...] | None:
        """The owners a team scope covers, listed: the scope says `owner = me OR owner IN (the team's
        users)`, which SQLite answers by collecting row ids from the owner index and reading each row
        (112 ms for a 900,000-order team's orders of 180 days); the same owners as a list AND-ed to it
        let it read the index alone (47-52 ms). A restatement of the scope, read in the same
        transaction: the rows stay the same."""
        source = self.reports.document(actor, step["report"]).get("source")
        if not source or self.site.access.scope(actor, source, "read") != "team":
            return None
        members = tuple(self.site.access.team_members(connection, actor))
        return members if len(members) <= MAX_LISTED_OWNERS else None

    def _per_owner(self, actor: Actor, step: Mapping[str, Any], history: str | None,
                   connection: Connection, owners: tuple[int, ...] | None = None) -> dict[int, Decimal]:
        """The step's value for each owner (of `owners` when given): one grouped query, aggregates only."""
        rows = self._per_owner_rows(actor, step, history, connection, owners)
        if rows is None:
            return {}
        owner, found = rows
        return {r[owner]: as_decimal(r.get(step["value"])) for r in found if r.get(owner) is not None}

    def _per_owner_rows(self, actor: Actor, step: Mapping[str, Any], history: str | None,
                        connection: Connection, owners: tuple[int, ...] | None = None,
                        ) -> tuple[str, list[Mapping[str, Any]]] | None:
        document = self.reports.document(actor, step["report"])  # the viewer must be allowed the report
        source = document.get("source")
        owner = self.blueprint.entities[source].owner if source else None
        if owner is None:
            return None
        data = {key: value for key, value in document.data.items()
                if key in ("source", "where", "measures")}
        data["group_by"] = [owner]
        grouped = Document(document.name, MappingProxyType(data), document.label)
        result = self.reports.run_document(actor, grouped, self._request(step, history, owners), connection)
        return owner, list(result.rows)

    def _peers(self, actor: Actor, spec: Mapping[str, Any], connection: Connection) -> set[int]:
        roles = list(spec.get("peers") or ([actor.role] if actor.role else []))
        users = self.site.tables.system("atrium_users")
        return set(connection.execute(sa.select(users.c.id).where(users.c.role.in_(roles))).scalars())

    def _compare(self, actor: Actor, spec: Mapping[str, Any], plan: Plan, company: bool,
                 connection: Connection, grouped: Mapping[int, tuple[dict[int, Decimal], Decimal]]) -> None:
        history = plan.history
        peers = self._peers(actor, spec, connection)
        me = actor.user_id
        assert me is not None  # plan() compares only for a signed-in viewer
        listed = tuple(sorted(peers | {me}))
        owners = listed if len(listed) <= MAX_LISTED_OWNERS else None

        def per_owner(index: int, step: Mapping[str, Any], window: str | None) -> dict[int, Decimal]:
            if index in grouped:  # read already, for the viewer's own totals
                return grouped[index][0]
            if company:
                return self._per_owner_system(actor, step, window, connection, owners)
            return self._per_owner(actor, step, window, connection)

        try:
            achieved = per_owner(0, spec["achieved"], None)
            per_step = [per_owner(i + 1, s, history) for i, s in enumerate(spec.get("steps") or ())]
        except ReportNotFound:
            return
        having = peers & set(achieved).union(*per_step)  # the peers with any figure
        plan.achieved_compared = _compared(achieved.get(me, Decimal(0)),
                                           [achieved.get(o, Decimal(0)) for o in having])
        for i in range(1, len(per_step)):
            rates = {o: ratio(per_step[i - 1].get(o, Decimal(0)), per_step[i].get(o, Decimal(0)))
                     for o in having | {me}}
            others = [r for o, r in rates.items() if o in having and r is not None]
            plan.steps[i].compared = _compared(rates[me], others)

    def _per_owner_system(self, actor: Actor, step: Mapping[str, Any], history: str | None,
                          connection: Connection, owners: tuple[int, ...] | None) -> dict[int, Decimal]:
        """Every record of `owners` (None: of everyone), read by the system: the same for any viewer
        comparing with these owners."""
        self.reports.document(actor, step["report"])  # the viewer may run the report at all

        def compute() -> dict[int, Decimal]:
            return self._per_owner(SYSTEM, step, history, connection, owners)
        if self.remember is None:
            return compute()
        return self.remember(step, history, "per owner", compute, shared=("company", owners))


def _compared(own: Decimal | None, figures: list[Decimal]) -> Compared:
    """The viewer's figure beside the peers' average and best (higher is better for every figure)."""
    if not figures:
        return Compared(own, None, None, 0)
    return Compared(own, sum(figures, Decimal(0)) / len(figures), max(figures), len(figures))
