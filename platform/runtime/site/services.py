"""The composition root of the write services: the records service, then the event automations
and approvals built over it, handed back to it as the hooks every write goes through
(records/hooks.py). Only here do the three meet; none of them imports one above it.
"""
from __future__ import annotations

import datetime as dt
from typing import Callable, Sequence

from sqlalchemy.engine import Engine

from atrium.metadata.model import Blueprint
from atrium.runtime.approvals.service import Approvals
from atrium.runtime.automation.rules import Rule
from atrium.runtime.automation.triggers import EventAutomations
from atrium.runtime.records.service import RecordService
from atrium.runtime.schema.tables import Tables


def wire_services(records: RecordService, rules: Sequence[Rule] | None = None,
                  approval_rules: Sequence[Rule] | None = None) -> RecordService:
    """Build the event automations (the blueprint's rules, or `rules`) and approvals (over the
    same rules, or `approval_rules`) over `records`, and attach them to it."""
    automations = EventAutomations(records, rules)
    records.attach(automations, Approvals(records, automations, approval_rules))
    return records


def records_service(blueprint: Blueprint, engine: Engine, tables: Tables | None = None,
                    clock: Callable[[], dt.datetime] | None = None) -> RecordService:
    """The records service as a running site writes through it: with event automations and approvals."""
    return wire_services(RecordService(blueprint, engine, tables, clock=clock))
