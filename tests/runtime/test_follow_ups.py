"""`follow_up:` on a small blueprint of its own: an account's last touch is the latest done
activity's moment on every write path, two counting entities give the later of them, a formula
reading it moves with it, and a follow-up added to a blueprint with data raises the stored values
at migration and on `atrium recompute` (never lowering one)."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import sqlalchemy as sa

from atrium.cli import main
from atrium.metadata import load_blueprint
from atrium.runtime.records.service import RecordService
from atrium.runtime.schema.migrations import migrate
from tests.runtime.blueprint_factory import write_blueprint

UTC = dt.timezone.utc
ROLES = {"roles": {"admin": {"label": "Admin", "all": True}}}
ACCOUNT = {"fields": {"name": {"type": "text", "required": True},
                      "last_touch": {"type": "datetime"},
                      "due": {"type": "date", "formula": "date(last_touch) + days(30) if last_touch else None"}}}
COUNTS = {"of": "account", "when": "done == True", "at": "at", "sets": "last_touch"}


def activity(follow_up: dict | None = None) -> dict:
    spec: dict = {"fields": {"account": {"type": "reference", "to": "account", "on_delete": "cascade"},
                             "done": {"type": "boolean", "default": False},
                             "at": {"type": "datetime"}}}
    if follow_up is not None:
        spec["follow_up"] = follow_up
    return spec


def build(folder: Path, engine, follow_up: dict | None = COUNTS, extra: dict | None = None) -> RecordService:
    write_blueprint(folder, {"account": ACCOUNT, "activity": activity(follow_up), **(extra or {})}, roles=ROLES)
    blueprint = load_blueprint(folder)
    migrate(engine, blueprint)
    return RecordService(blueprint, engine)


def moment(day: int, hour: int = 9) -> dt.datetime:
    return dt.datetime(2026, 4, day, hour, tzinfo=UTC)


def test_every_write_path_moves_it_forward_and_never_back(tmp_path, engine):
    service = build(tmp_path / "bp", engine)
    account = service.create("account", {"name": "A", "last_touch": moment(2)})
    service.create("activity", {"account": account["id"], "done": False, "at": moment(20)})   # not done: no
    assert service.get("account", account["id"])["last_touch"] == moment(2)
    done = service.bulk_create("activity", [{"account": account["id"], "done": True, "at": moment(10)},
                                            {"account": account["id"], "done": True, "at": moment(8)}])
    touched = service.get("account", account["id"])
    assert touched["last_touch"] == moment(10) and touched["due"] == dt.date(2026, 5, 10)  # the formula follows
    service.bulk_update("activity", [(done[0]["id"], {"at": moment(5)})])                  # moved earlier
    assert service.get("account", account["id"])["last_touch"] == moment(10)
    service.delete("activity", done[0]["id"])
    assert service.get("account", account["id"])["last_touch"] == moment(10)
    service.update("activity", done[1]["id"], {"at": moment(12)})
    assert service.get("account", account["id"])["due"] == dt.date(2026, 5, 12)


def test_two_counting_entities_give_the_later_moment(tmp_path, engine):
    call = {"fields": {"account": {"type": "reference", "to": "account"}, "at": {"type": "datetime"}},
            "follow_up": {"of": "account", "at": "at", "sets": "last_touch"}}
    service = build(tmp_path / "bp", engine, extra={"call": call})
    account = service.create("account", {"name": "A"})
    service.create("call", {"account": account["id"], "at": moment(15)})
    service.create("activity", {"account": account["id"], "done": True, "at": moment(11)})
    assert service.get("account", account["id"])["last_touch"] == moment(15)


def test_a_follow_up_added_later_raises_stored_values_at_migration_and_on_recompute(tmp_path, engine, database_url,
                                                                                   capsys):
    folder = tmp_path / "bp"
    service = build(folder, engine, follow_up=None)
    early = service.create("account", {"name": "Early", "last_touch": moment(1)})
    late = service.create("account", {"name": "Late", "last_touch": moment(25)})
    for account in (early, late):
        service.create("activity", {"account": account["id"], "done": True, "at": moment(18)})
    write_blueprint(folder, {"account": ACCOUNT, "activity": activity(COUNTS)}, roles=ROLES)
    assert main(["--blueprint", str(folder), "--db", database_url, "migrate"]) == 0
    assert "account.last_touch: 2 record(s) computed, 1 value(s) changed" in capsys.readouterr().out
    service = RecordService(load_blueprint(folder), engine)
    assert service.get("account", early["id"])["last_touch"] == moment(18)
    assert service.get("account", early["id"])["due"] == dt.date(2026, 5, 18)    # its reader computed after it
    assert service.get("account", late["id"])["last_touch"] == moment(25)        # later already: kept
    # a done activity written straight to the table (another tool) is picked up by recompute
    table = service.tables["activity"]
    with engine.begin() as connection:
        connection.execute(table.insert().values(account=late["id"], done=True, at=moment(28), version=1,
                                                 created_at=moment(28), updated_at=moment(28)))
    assert main(["--blueprint", str(folder), "--db", database_url, "recompute", "account"]) == 0
    assert service.get("account", late["id"])["last_touch"] == moment(28)
    assert service.get("account", late["id"])["due"] == dt.date(2026, 5, 28)
    with engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one() == 3
