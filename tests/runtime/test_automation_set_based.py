"""Scheduled `set` rules written set-wise give what the record-by-record path gives.

Each case runs one scheduled rule twice, on two databases holding the same records: once as the
scheduler runs it (only the columns the rule needs, one outcome for all records when the values
and the rules they reach allow it, one UPDATE per group of records written alike) and once
forced through the record-by-record path (whole records, every record prepared on its own, one
UPDATE per record). Records, field history, stage history, pool history, notifications, the
automation log and the run's result must be the same.
"""
from __future__ import annotations

import datetime as dt
import os
import uuid
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from automation_kit import ENTITIES, Clock, automation_site, inbox, rows

from atrium.runtime.automation.rule_columns import RuleColumns
from atrium.runtime.automation.scheduler import ScheduledRules
from atrium.runtime.records import set_writes, updates as record_updates
from atrium.runtime.schema import data_versions
from atrium.runtime.schema.database import create_engine

ON_POSTGRES = os.environ.get("ATRIUM_TEST_DB", "sqlite") == "postgresql"
POOL = {"owner_field": "owner", "max_owned_per_user": 50, "daily_claim_cap": 10, "cooldown_days": 7,
        "lock_field": "locked"}
ACCOUNT = {**ENTITIES["account"], "pool": POOL, "fields": {
    **ENTITIES["account"]["fields"],
    "locked": {"type": "boolean", "default": False},
    # reads the owner: once the owner is empty it is empty too, whatever else the record holds
    "due_back": {"type": "date", "formula": "None if owner is None or locked else date(last_touch_at) + days(30)"},
    # reads the tier and the name: a new tier gives each record its own badge
    "badge": {"type": "text", "formula": "concat(name, ' / ', tier)"},
}, "checks": [{"name": "gold_score", "assert": "score is None or tier != 'gold' or score >= 10",
               "message": {"en": "Gold needs a score of 10", "zh": "金牌需要 10 分"}}]}
ENTITY_SET = {**ENTITIES, "account": ACCOUNT}
NOTE_ON_TIER = {"entity": "account", "on": {"change": ["tier"]}, "where": {"region": "east"},
                "do": [{"set": {"note": "concat('now ', tier)"}}]}
NOTE_ON_OWNER = {"entity": "account", "on": {"change": ["owner"]}, "where": {"owner": {"is_set": True}},
                 "do": [{"set": {"note": "'owned'"}}]}
RECYCLE = {"entity": "account", "on": "schedule", "every": "day",
           "where": {"owner": {"is_set": True}, "last_touch_at": {"older_than_days": 30}},
           "do": [{"set": {"owner": None}},
                  {"notify": {"to": "previous_owner", "message": {"en": "{name} back to the pool",
                                                                  "zh": "{name} 已退回公海"},
                              "group": False}}]}  # one message per record, however many a run has
PROMOTE = {"entity": "account", "on": "schedule", "every": "day", "where": {"region": {"in": ["east", "west"]}},
           "do": [{"set": {"tier": "'gold'"}}, {"notify": {"to": "owner", "message": "{badge}"}}]}
BUMP = {"entity": "account", "on": "schedule", "every": "day",
        "do": [{"set": {"score": "(score or 0) + 1", "note": "concat(name, '!')"}}]}
ADVANCE = {"entity": "deal", "on": "schedule", "every": "day", "where": {"stage": "new"},
           "do": [{"set": {"stage": "'qualified'"}}, {"notify": {"to": ["owner", "manager"], "message": "{title}"}}]}
CREATE = {"entity": "account", "on": "schedule", "every": "day", "where": {"tier": "bronze"},
          "do": [{"create": {"entity": "chore", "values": {"title": "concat('call ', name)", "owner": "owner"}}},
                 {"set": {"tier": "'silver'"}}]}
CASES = {"recycle": ({"rule": RECYCLE, "tell": NOTE_ON_OWNER}),
         "promote": ({"rule": PROMOTE, "tell": NOTE_ON_TIER}),
         "bump": ({"rule": BUMP}),
         "advance": ({"rule": ADVANCE}),
         "create": ({"rule": CREATE})}


@pytest.fixture
def twin_urls(tmp_path, database_url):
    """Two empty databases: the test's own and one more alike."""
    if not ON_POSTGRES:
        yield database_url, f"sqlite:///{tmp_path / 'twin.db'}"
        return
    base = os.environ["ATRIUM_TEST_PG_URL"]
    schema = "t_" + uuid.uuid4().hex[:16]
    admin = create_engine(base)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in base else "?"
    yield database_url, f"{base}{separator}options={quote(f'-csearch_path={schema}')}"
    with admin.begin() as connection:
        connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    admin.dispose()


def shop(folder, url, automations):
    clock = Clock()
    site, people = automation_site(folder, url, clock, automations, entities=ENTITY_SET)
    reps = [people.rep1, people.rep2, people.rep3]
    for i in range(23):
        site.records.create("account", {
            "name": f"A{i:02d}", "owner": reps[i % 3].user_id if i % 7 else None,
            "region": ["east", "west", "north", "east"][i % 4], "tier": ["bronze", "silver"][i % 2],
            "score": [None, 3, 12][i % 3], "locked": i % 5 == 0,
            "last_touch_at": clock() - dt.timedelta(days=10 + 7 * i)}, reps[i % 3])
    for i in range(9):
        deal = site.records.create("deal", {"title": f"D{i}", "account": 1 + i, "amount": 100 * i,
                                            "owner": reps[i % 3].user_id}, reps[i % 3])
        if i % 4 == 0:
            site.records.update("deal", deal["id"], {"stage": "proposal"}, reps[i % 3])
    clock.advance(days=1)
    return site, people


def snapshot(site) -> dict:
    """Everything a run can write, without the ids of log tables (equal by content)."""
    found = {}
    for table in ("account", "deal", "chore"):
        found[table] = rows(site, table)
    for table, order in (("atrium_history", ("entity", "record_id", "field", "action")),
                         ("atrium_stage_history", ("entity", "record_id", "to_stage")),
                         ("atrium_pool_history", ("entity", "record_id", "action")),
                         ("atrium_notifications", ("user_id", "record_id")),
                         ("atrium_automation_log", ("rule", "record_id"))):
        listed = [{k: v for k, v in row.items() if k != "id"} for row in rows(site, table)]
        found[table] = sorted(listed, key=lambda row: tuple(str(row[k]) for k in order) + (str(row),))
    return found


def run(site, batch_size: int = 4):
    return [(r.status, r.records, r.error) for r in ScheduledRules(site, batch_size=batch_size).run_due(["rule"])]


def record_by_record(monkeypatch):
    """The path without anything set-wise: whole records, each prepared alone, one UPDATE each."""
    monkeypatch.setattr(RuleColumns, "of", lambda self, rule: None)
    monkeypatch.setattr(record_updates, "shared_outcome", lambda *args: None)

    def no_groups(values):
        raise TypeError("one row at a time")
    monkeypatch.setattr(set_writes, "_key", no_groups)


@pytest.mark.parametrize("case", list(CASES))
def test_set_based_run_writes_what_the_record_by_record_run_writes(case, tmp_path, twin_urls, monkeypatch):
    automations = CASES[case]
    fast, _ = shop(tmp_path / "fast", twin_urls[0], automations)
    slow, _ = shop(tmp_path / "slow", twin_urls[1], automations)
    assert snapshot(fast) == snapshot(slow)
    with fast.engine.connect() as connection:
        counters = data_versions.read(connection, ["account", "deal"])
    fast_result = run(fast)
    with monkeypatch.context() as patched:
        record_by_record(patched)
        slow_result = run(slow)
    assert fast_result == slow_result
    assert fast_result[0][1] > 0, "the rule acted on some records"
    assert snapshot(fast) == snapshot(slow)
    entity = automations["rule"]["entity"]
    with fast.engine.connect() as connection:
        assert data_versions.read(connection, [entity])[entity] > counters[entity]  # caches see the change
    fast.engine.dispose()
    slow.engine.dispose()


def test_a_recycle_reads_only_what_it_needs_and_leaves_locked_records(tmp_path, database_url):
    site, people = shop(tmp_path, database_url, {"rule": RECYCLE, "tell": NOTE_ON_OWNER})
    scheduled = ScheduledRules(site, batch_size=4)
    rule, = [r for r in scheduled.rules if r.name == "rule"]
    columns = scheduled.columns.of(rule)
    # the due date's other inputs are not read: with the owner empty it is empty for everyone
    assert {"owner", "due_back", "locked", "name"} <= set(columns)
    assert not {"last_touch_at", "tier", "score", "badge", "region"} & set(columns)
    (status, records, _), = run(site)
    # idle for 11 + 7i days, owned unless i % 7 == 0, locked when i % 5 == 0
    due = {i for i in range(23) if 11 + 7 * i > 30 and i % 7}
    recycled = {f"A{i:02d}" for i in due if i % 5}
    accounts = {a["name"]: a for a in rows(site, "account")}
    assert (status, records) == ("done", len(due))  # the locked ones matched, and were left alone
    assert {name for name, a in accounts.items() if a["owner"] is None} == recycled | {"A00", "A07", "A14", "A21"}
    assert all(accounts[name]["due_back"] is None for name in recycled)
    assert accounts["A01"]["due_back"] is not None and accounts["A02"]["due_back"] is not None  # not due yet
    pool = rows(site, "atrium_pool_history")
    assert sorted(p["record_id"] for p in pool) == sorted(accounts[name]["id"] for name in recycled)
    assert all(p["action"] == "recycle" and p["rule"] == "rule" and p["previous_owner"] for p in pool)
    told = [f"A{i:02d} back to the pool" for i in sorted(due) if i % 5 and i % 3 == 0]  # rep1 owned them
    assert inbox(site, people.rep1) == told
    assert {a["note"] for a in accounts.values()} == {None}  # the owner rule's `where` left them out


def test_a_formula_over_other_fields_is_computed_record_by_record(tmp_path, database_url):
    """Setting the tier reaches `badge`, which reads the name too: no shared outcome, each record
    gets its own badge, and the check that reads the score refuses the records below 10."""
    site, people = shop(tmp_path, database_url, {"rule": PROMOTE})
    scheduled = ScheduledRules(site, batch_size=4)
    rule, = [r for r in scheduled.rules if r.name == "rule"]
    assert {"name", "score"} <= set(scheduled.columns.of(rule))  # what badge and the check read
    (status, records, error), = run(site)
    accounts = {a["name"]: a for a in rows(site, "account")}
    promoted = {name for name, a in accounts.items() if a["tier"] == "gold"}
    assert status == "failed" and records == len(promoted) and "Gold needs a score of 10" in error
    assert promoted and all(accounts[name]["badge"] == f"{name} / gold" for name in promoted)
    assert {accounts[name]["score"] for name in promoted} == {None, 12}  # 3 is refused
    refused = {name for name, a in accounts.items() if a["region"] in ("east", "west") and a["score"] == 3}
    assert refused and not refused & promoted and error.startswith(f"{len(refused)} record(s) failed")


def test_partial_records_are_completed_when_the_rules_read_more(tmp_path, twin_urls, monkeypatch):
    """Should the columns read ever miss what the rules read, the records are read whole."""
    fast, _ = shop(tmp_path / "fast", twin_urls[0], {"rule": PROMOTE, "tell": NOTE_ON_TIER})
    slow, _ = shop(tmp_path / "slow", twin_urls[1], {"rule": PROMOTE, "tell": NOTE_ON_TIER})
    with monkeypatch.context() as patched:
        patched.setattr(RuleColumns, "of", lambda self, rule: ("id", "version", "owner", "locked", "tier"))
        fast_result = run(fast)
    with monkeypatch.context() as patched:
        record_by_record(patched)
        slow_result = run(slow)
    assert fast_result == slow_result
    assert snapshot(fast) == snapshot(slow)
    fast.engine.dispose()
    slow.engine.dispose()


def test_rules_with_other_actions_read_whole_records(tmp_path, database_url):
    site, _ = shop(tmp_path, database_url, {"rule": CREATE})
    scheduled = ScheduledRules(site)
    rule, = [r for r in scheduled.rules if r.name == "rule"]
    assert scheduled.columns.of(rule) is None


def test_one_statement_writes_records_given_equal_values(tmp_path, database_url):
    site, _ = shop(tmp_path, database_url, {"rule": RECYCLE})
    statements = []
    sa.event.listen(site.engine, "before_cursor_execute",
                    lambda conn, cursor, statement, *args: statements.append(statement))
    (status, records, _), = run(site, batch_size=100)
    updates = [s for s in statements if s.lstrip().upper().startswith("UPDATE ACCOUNT")]
    assert status == "done" and records > 2
    assert len(updates) == 1 and " IN " in updates[0].upper()
