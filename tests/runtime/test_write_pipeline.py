"""The write pipeline (records/pipeline.py): every create, update, bulk update and delete asks the
guard before it writes and tells the event rules after (a delete: before its DELETE), through the
hooks the site wires in (records/hooks.py); a records service without hooks asks and tells nobody.

Fake hooks stand in for approvals and automations, so what is checked is the order alone.
"""
from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from atrium.metadata import load_blueprint
from atrium.runtime.records.errors import ValidationFailed
from atrium.runtime.records.hooks import WriteHooks
from atrium.runtime.records.service import RecordService
from atrium.runtime.schema.migrations import migrate
from atrium.runtime.site.services import records_service

MINI = Path(__file__).resolve().parent.parent / "fixtures" / "mini"


class Guard:
    def __init__(self, calls: list, refuse: bool = False):
        self.calls, self.refuse = calls, refuse

    def check(self, connection, model, writes, actor, first_row=None):
        self.calls.append(("guard", model.name, [(b is not None, a is not None, fields) for b, a, fields in writes]))
        if self.refuse:
            raise ValidationFailed({"name": ["held"]})


class Events:
    """Notes each firing with whether the records are in the table at that moment; with `rename`,
    changes the record's name behind the service's back (as a rule's own write would)."""

    def __init__(self, calls: list, tables, rename: str | None = None):
        self.calls, self.tables, self.rename = calls, tables, rename

    def written(self, connection, entity, event, pairs, actor):
        table = self.tables[entity.name]
        ids = [(after or before)["id"] for before, after in pairs]
        stored = connection.execute(sa.select(sa.func.count()).where(table.c.id.in_(ids))).scalar()
        self.calls.append(("events", event, len(pairs), stored))
        if self.rename is not None and event != "delete":
            connection.execute(table.update().where(table.c.id.in_(ids)).values(name=self.rename))
            return True
        return False

    def update_pairs(self, connection, entity, pairs, changed):
        return list(pairs)


@pytest.fixture(scope="module")
def mini():
    return load_blueprint(MINI)


@pytest.fixture
def calls():
    return []


@pytest.fixture
def service(engine, mini):
    migrate(engine, mini)
    return RecordService(mini, engine)


def hook(service, calls, refuse=False, rename=None):
    service.hooks = WriteHooks(guard=Guard(calls, refuse), events=Events(calls, service.tables, rename))


def names(service):
    with service.engine.connect() as connection:
        return sorted(connection.execute(sa.select(service.tables["account"].c.name)).scalars())


def test_without_hooks_nothing_is_asked_or_fired(service):
    assert service.hooks == WriteHooks() and service.automations is None and service.approvals is None
    created = service.create("account", {"name": "Acme"})
    service.update("account", created["id"], {"name": "Acme Ltd"})
    service.delete("account", created["id"])
    assert names(service) == []


def test_the_site_wires_automations_and_approvals_in(engine, mini):
    migrate(engine, mini)
    service = records_service(mini, engine)
    assert service.hooks.events is service.automations
    assert service.hooks.guard is service.approvals.guard
    assert service.approvals.automations is service.automations


def test_each_write_asks_the_guard_first_and_fires_the_rules_on_what_it_wrote(service, calls):
    hook(service, calls)
    created = service.create("account", {"name": "Acme"})
    service.update("account", created["id"], {"name": "Acme Ltd"})
    service.bulk_update("account", [(created["id"], {"score": 5})])
    service.bulk_create("account", [{"name": "B"}, {"name": "C"}])
    service.delete("account", created["id"])
    assert calls == [
        ("guard", "account", [(False, True, None)]), ("events", "create", 1, 1),
        ("guard", "account", [(True, True, ["name"])]), ("events", "update", 1, 1),
        ("guard", "account", [(True, True, ["score"])]), ("events", "update", 1, 1),
        ("guard", "account", [(False, True, None), (False, True, None)]), ("events", "create", 2, 2),
        # a delete's rules run while the record still exists (their `where` is SQL over it)
        ("guard", "account", [(True, False, None)]), ("events", "delete", 1, 1),
    ]
    assert names(service) == ["B", "C"]


@pytest.mark.parametrize("write", ["create", "update", "bulk_update", "delete"])
def test_a_refusing_guard_leaves_nothing_written(service, calls, write):
    kept = service.create("account", {"name": "Kept"})
    hook(service, calls, refuse=True)
    with pytest.raises(ValidationFailed):
        if write == "create":
            service.create("account", {"name": "New"})
        elif write == "update":
            service.update("account", kept["id"], {"name": "Changed"})
        elif write == "bulk_update":
            service.bulk_update("account", [(kept["id"], {"name": "Changed"})])
        else:
            service.delete("account", kept["id"])
    assert names(service) == ["Kept"] and [call[0] for call in calls] == ["guard"]


def test_what_a_rule_changed_comes_back_from_the_write(service, calls):
    hook(service, calls, rename="renamed by a rule")
    created = service.create("account", {"name": "Acme"})
    assert created["name"] == "renamed by a rule"
    assert service.update("account", created["id"], {"score": 3})["name"] == "renamed by a rule"
    [(_, after)] = service.bulk_update("account", [(created["id"], {"score": 4})])
    assert after["name"] == "renamed by a rule" and after["score"] == 4
