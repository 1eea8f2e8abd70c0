"""The records service, the one write path: what a person filling a form or calling the API sees.

Runs against tests/fixtures/mini (account ← deal, ticket, person) on SQLite and, in the second
pass, on PostgreSQL. Every test gets a fresh, migrated database.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from blueprint_factory import make_blueprint

from atrium.metadata import load_blueprint
from atrium.runtime.access.users import add_user
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.records.service import RecordNotFound, RecordService, StaleRecord, ValidationFailed
from atrium.runtime.schema.migrations import migrate
from atrium.runtime.schema.tables import build_tables

MINI = Path(__file__).resolve().parent.parent / "fixtures" / "mini"
TABLES = build_tables(load_blueprint(MINI))
UTC = dt.timezone.utc
START = dt.datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves by hand; the service reads it for timestamps and today()."""

    def __init__(self, now: dt.datetime):
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += dt.timedelta(**delta)


@pytest.fixture(scope="module")
def mini():
    return load_blueprint(MINI)


@pytest.fixture
def clock():
    return Clock(START)


@pytest.fixture
def service(engine, mini, clock):
    migrate(engine, mini)
    return RecordService(mini, engine, clock=clock)


@pytest.fixture
def alice(engine, service, mini):
    with engine.begin() as connection:
        user = add_user(connection, service.tables, mini, "alice", "rep", locale="en")
    return Actor(user_id=user, name="alice", role="rep", locale="en")


@pytest.fixture
def bing(engine, service, mini):
    with engine.begin() as connection:
        user = add_user(connection, service.tables, mini, "bing", "rep", locale="zh")
    return Actor(user_id=user, name="bing", role="rep", locale="zh")


@pytest.fixture
def account(service):
    return service.create("account", {"name": "Acme"})


def rows(engine, table: str, **where) -> list[dict]:
    """Every row of a table, read with the runtime's column types (aware datetimes)."""
    found = TABLES.metadata.tables[table]
    key = found.c.id if "id" in found.c else found.c.name
    query = sa.select(found).order_by(key)
    for column, value in where.items():
        query = query.where(found.c[column] == value)
    with engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(query)]


def history(engine, entity: str, record_id: int, action: str | None = None) -> list[dict]:
    found = rows(engine, "atrium_history", entity=entity, record_id=record_id)
    return [row for row in found if action is None or row["action"] == action]


def stage_history(engine, entity: str, record_id: int) -> list[dict]:
    return rows(engine, "atrium_stage_history", entity=entity, record_id=record_id)


def snapshot(engine) -> dict:
    """Everything a failed write must leave untouched: rows of every table."""
    names = ["account", "deal", "ticket", "person", "atrium_history", "atrium_stage_history",
             "atrium_sequences"]
    return {name: rows(engine, name) for name in names}


def errors_of(call, *args, **kwargs) -> dict[str, list[str]]:
    with pytest.raises(ValidationFailed) as failure:
        call(*args, **kwargs)
    return failure.value.errors


# --- coercion -------------------------------------------------------------------------------

def test_form_strings_are_coerced(service, account):
    deal = service.create("deal", {"title": "  Big one  ", "account": str(account["id"]),
                                   "amount": "¥1,234.5", "discount": "12.5", "close_date": "2026/04/01"})
    stored = service.get("deal", deal["id"])
    assert stored["title"] == "Big one"
    assert stored["account"] == account["id"]
    assert stored["amount"] == Decimal("1234.50")
    assert stored["discount"] == Decimal("12.5")
    assert stored["close_date"] == dt.date(2026, 4, 1)
    other = service.create("account", {"name": "Beta", "score": " 42 ", "tags": "c, a", "level": "vip",
                                       "vip_note": "big"})
    stored = service.get("account", other["id"])
    assert (stored["score"], stored["tags"], stored["level"]) == (42, ["a", "c"], "vip")


def test_json_values_are_coerced(service, account):
    deal = service.create("deal", {"title": "JSON", "account": account["id"], "amount": 99.99,
                                   "discount": 5, "close_date": dt.date(2026, 5, 1)})
    stored = service.get("deal", deal["id"])
    assert stored["amount"] == Decimal("99.99")
    assert stored["discount"] == Decimal("5")
    other = service.create("account", {"name": "Gamma", "score": 7, "tags": ["b", "a", "b"]})
    assert service.get("account", other["id"])["tags"] == ["a", "b"]


def test_values_that_do_not_coerce_are_field_errors(service, account, engine):
    before = snapshot(engine)
    errors = errors_of(service.create, "deal", {"title": "x", "account": account["id"], "amount": "lots",
                                                "close_date": "31 April"})
    assert errors["amount"] == ["Must be a number"]
    assert errors["close_date"] == ["Must be a date like 2026-03-31"]
    errors = errors_of(service.create, "account", {"name": "x", "score": "4.5", "nope": 1})
    assert errors["score"] == ["Must be a whole number"]
    assert errors["nope"] == ["There is no field 'nope'"]
    assert snapshot(engine) == before


def test_messages_follow_the_actors_locale(service, account, bing):
    errors = errors_of(service.create, "deal", {"account": account["id"], "amount": "很多"}, bing)
    assert errors["title"] == ["此字段为必填项"]
    assert errors["amount"] == ["必须是数字"]


# --- required, bounds, options, formats ----------------------------------------------------------

def test_required_field(service):
    assert errors_of(service.create, "account", {"code": "A1"}) == {"name": ["This field is required"]}
    assert errors_of(service.create, "account", {"name": "   "}) == {"name": ["This field is required"]}


def test_required_when(service, account):
    errors = errors_of(service.create, "account", {"name": "VIP Co", "level": "vip"})
    assert errors == {"vip_note": ["This field is required"]}
    assert service.create("account", {"name": "VIP Co", "level": "vip", "vip_note": "care"})["level"] == "vip"
    # the rule is applied on update too
    errors = errors_of(service.update, "account", account["id"], {"level": "vip"})
    assert errors == {"vip_note": ["This field is required"]}
    assert service.get("account", account["id"])["level"] is None


def test_min_max_and_max_length(service, account):
    assert errors_of(service.create, "account", {"name": "x", "score": 101}) == {"score": ["Must be at most 100"]}
    assert errors_of(service.create, "account", {"name": "x", "score": -1}) == {"score": ["Must be at least 0"]}
    assert service.create("account", {"name": "x", "score": 100})["score"] == 100
    assert service.create("account", {"name": "y", "score": 0})["score"] == 0
    assert errors_of(service.create, "account", {"name": "n" * 41}) == {"name": ["At most 40 characters"]}
    assert service.create("account", {"name": "名" * 40})["name"] == "名" * 40  # characters, not bytes
    errors = errors_of(service.create, "deal", {"title": "t", "account": account["id"], "amount": "1000000.01"})
    assert errors == {"amount": ["Must be at most 1000000"]}
    errors = errors_of(service.create, "deal", {"title": "t", "account": account["id"], "amount": -5})
    assert errors == {"amount": ["Must be at least 0"]}


def test_text_without_max_length_is_bounded_by_its_column(service, account):
    long = "x" * 300
    errors = errors_of(service.create, "person", {"name": long})
    assert errors == {"name": ["At most 255 characters"]}
    assert service.create("person", {"name": "x" * 255})["name"] == "x" * 255


def test_select_and_multiselect_options(service):
    errors = errors_of(service.create, "account", {"name": "x", "level": "gold"})
    assert errors == {"level": ["'gold' is not one of the choices"]}
    errors = errors_of(service.create, "account", {"name": "x", "tags": "a, z"})
    assert errors == {"tags": ["'z' is not one of the choices"]}
    record = service.create("account", {"name": "x", "level": "normal", "tags": ["c", "a", "a"]})
    assert (record["level"], record["tags"]) == ("normal", ["a", "c"])


@pytest.mark.parametrize("field,bad,good", [
    ("email", "not-an-email", "sales@example.com"),
    ("email", "a@b", "a.b@例子.中国"),
    ("phone", "call me", "+86 (21) 5555-0101"),
    ("website", "javascript:alert(1)", "https://example.com/a?b=c"),
    ("website", "example.com", "http://example.com"),
])
def test_formats(service, field, bad, good):
    message = {"email": "Must be an email address", "phone": "Must be a phone number",
               "website": "Must be a web address starting with http:// or https://"}[field]
    assert errors_of(service.create, "account", {"name": "x", field: bad}) == {field: [message]}
    assert service.create("account", {"name": "x", field: good})[field] == good


# --- unique -------------------------------------------------------------------------------

def test_unique(service):
    first = service.create("account", {"name": "One", "code": "A1"})
    other = service.create("account", {"name": "Two", "code": "B2"})
    assert errors_of(service.create, "account", {"name": "Dup", "code": "A1"}) == \
        {"code": ["Another record already has this value"]}
    assert errors_of(service.update, "account", other["id"], {"code": "A1"}) == \
        {"code": ["Another record already has this value"]}
    # saving a record with its own value again is fine; empty values never collide
    assert service.update("account", first["id"], {"code": "A1", "name": "One!"})["name"] == "One!"
    service.create("account", {"name": "No code 1"})
    service.create("account", {"name": "No code 2"})


def test_unique_within_a_bulk_batch(service, engine):
    service.create("account", {"name": "Existing", "code": "E1"})
    before = snapshot(engine)
    batch = [{"name": f"n{i}", "code": f"C{i}"} for i in range(10)]
    batch[7]["code"] = "C3"
    with pytest.raises(ValidationFailed) as failure:
        service.bulk_create("account", batch)
    assert failure.value.row == 7
    assert failure.value.errors == {"code": ["Another record already has this value"]}
    batch[7]["code"] = "E1"  # collides with a stored record
    with pytest.raises(ValidationFailed) as failure:
        service.bulk_create("account", batch)
    assert failure.value.row == 7
    assert snapshot(engine) == before


# --- defaults -----------------------------------------------------------------------------

def test_defaults(service, alice, clock):
    clock.now = dt.datetime(2026, 3, 10, 20, 0, tzinfo=UTC)  # already 11 March in Asia/Shanghai
    record = service.create("account", {"name": "Defaults"}, alice)
    stored = service.get("account", record["id"])
    assert stored["owner"] == alice.user_id          # current_user()
    assert stored["since"] == dt.date(2026, 3, 11)   # today() in the blueprint's time zone
    assert stored["status"] == "open"                # "'open'"
    assert stored["score"] == 0                      # 0
    explicit = service.create("account", {"name": "Explicit", "status": "closed", "score": 5,
                                          "since": "2020-01-01"}, alice)
    assert (explicit["status"], explicit["score"], explicit["since"]) == ("closed", 5, dt.date(2020, 1, 1))
    assert service.create("account", {"name": "By system"})["owner"] is None


def test_defaults_apply_on_create_only(service, account):
    updated = service.update("account", account["id"], {"status": None, "score": None})
    assert (updated["status"], updated["score"]) == (None, None)
    assert service.get("account", account["id"])["status"] is None


# --- autonumber ---------------------------------------------------------------------------

def test_autonumber_increments(service, account, clock):
    numbers = [service.create("deal", {"title": f"d{i}", "account": account["id"]})["number"]
               for i in range(3)]
    assert numbers == ["DL-2026-00001", "DL-2026-00002", "DL-2026-00003"]
    bulk = service.bulk_create("deal", [{"title": f"b{i}", "account": account["id"]} for i in range(3)])
    assert [d["number"] for d in bulk] == ["DL-2026-00004", "DL-2026-00005", "DL-2026-00006"]
    assert [d["number"] for d in rows(service.engine, "deal")][-1] == "DL-2026-00006"
    # the year in the number is the blueprint's (Asia/Shanghai): 16:30 UTC on 31 Dec is 2027 there
    clock.now = dt.datetime(2026, 12, 31, 16, 30, tzinfo=UTC)
    assert service.create("deal", {"title": "new year", "account": account["id"]})["number"] == "DL-2027-00001"
    assert errors_of(service.create, "deal", {"title": "x", "account": account["id"], "number": "MINE"}) == \
        {"number": ["This field is computed and cannot be set"]}


# --- formulas -----------------------------------------------------------------------------

def test_formulas_are_recomputed_in_dependency_order(service, account):
    deal = service.create("deal", {"title": "F", "account": account["id"], "amount": 1000, "discount": 10})
    stored = service.get("deal", deal["id"])
    assert stored["net"] == Decimal("900.00")
    assert stored["probability"] == Decimal("10")
    assert stored["weighted"] == Decimal("90.00")      # reads two formulas declared after it
    moved = service.update("deal", deal["id"], {"stage": "proposal"})
    assert (moved["probability"], moved["weighted"]) == (Decimal("60"), Decimal("540.00"))
    changed = service.update("deal", deal["id"], {"discount": 0})
    stored = service.get("deal", deal["id"])
    assert stored == changed
    assert (stored["net"], stored["weighted"]) == (Decimal("1000.00"), Decimal("600.00"))
    assert errors_of(service.update, "deal", deal["id"], {"net": 5}) == \
        {"net": ["This field is computed and cannot be set"]}


# --- checks -------------------------------------------------------------------------------

def test_check_message_in_english_and_chinese(service, account, alice, bing):
    values = {"title": "Discounted", "account": account["id"], "discount": 5}
    assert errors_of(service.create, "deal", values, alice) == {"amount": ["A discount needs an amount"]}
    assert errors_of(service.create, "deal", values, bing) == {"amount": ["有折扣时必须填写金额"]}
    # `when` is false: the check does not apply
    assert service.create("deal", dict(values, discount=0))["discount"] == Decimal("0")
    assert service.create("deal", dict(values, amount=10))["discount"] == Decimal("5")


def test_check_with_when_on_stage(service, account):
    far = {"title": "Far", "account": account["id"], "close_date": "2101-01-01"}
    assert errors_of(service.create, "deal", far) == {"close_date": ["Close date is too far away"]}
    deal = service.create("deal", dict(far, close_date="2030-01-01", amount=5))
    service.update("deal", deal["id"], {"stage": "lost", "lost_reason": "price"})
    # a closed deal is out of the check's `when`
    assert service.update("deal", deal["id"], {"close_date": "2101-01-01"})["close_date"] == dt.date(2101, 1, 1)


# --- stages -------------------------------------------------------------------------------

def test_new_record_starts_in_the_first_stage(service, account, alice):
    deal = service.create("deal", {"title": "S", "account": account["id"]}, alice)
    assert service.get("deal", deal["id"])["stage"] == "prospect"
    [entry] = stage_history(service.engine, "deal", deal["id"])
    assert (entry["from_stage"], entry["to_stage"], entry["changed_by"], entry["pipeline"]) == \
        (None, "prospect", alice.user_id, "deal")
    assert entry["seconds_in_from"] is None
    ticket = service.create("ticket", {"subject": "Help"})
    assert ticket["state"] == "new"


def test_stage_requires_fields_to_enter(service, account, bing):
    deal = service.create("deal", {"title": "R", "account": account["id"]})
    errors = errors_of(service.update, "deal", deal["id"], {"stage": "qualified"})
    assert errors == {"amount": ["Required to enter stage Qualified"],
                      "close_date": ["Required to enter stage Qualified"]}
    errors = errors_of(service.update, "deal", deal["id"], {"stage": "qualified", "amount": 5}, bing)
    assert errors == {"close_date": ["进入阶段“已确认”前必须填写"]}
    assert service.get("deal", deal["id"])["stage"] == "prospect"
    moved = service.update("deal", deal["id"], {"stage": "qualified", "amount": 5, "close_date": "2026-06-01"})
    assert moved["stage"] == "qualified"
    # lost requires a reason (required_when says so too)
    assert "lost_reason" in errors_of(service.update, "deal", deal["id"], {"stage": "lost"})


def test_forward_only_transitions(service, account, bing):
    deal = service.create("deal", {"title": "T", "account": account["id"]})
    service.update("deal", deal["id"], {"stage": "proposal"})
    assert errors_of(service.update, "deal", deal["id"], {"stage": "prospect"}) == \
        {"stage": ["Cannot move from Proposal to Prospect"]}
    assert errors_of(service.update, "deal", deal["id"], {"stage": "prospect"}, bing) == \
        {"stage": ["不能从“方案”转到“潜在”"]}
    assert errors_of(service.update, "deal", deal["id"], {"stage": "nowhere"}) == \
        {"stage": ["'nowhere' is not a stage"]}
    assert service.get("deal", deal["id"])["stage"] == "proposal"
    # any closing stage can be reached from an open one
    assert service.update("deal", deal["id"], {"stage": "won"})["stage"] == "won"


def test_explicit_transition_list(service):
    ticket = service.create("ticket", {"subject": "Printer"})
    assert errors_of(service.update, "ticket", ticket["id"], {"state": "waiting"}) == \
        {"state": ["Cannot move from New to Waiting"]}
    service.update("ticket", ticket["id"], {"state": "working"})
    service.update("ticket", ticket["id"], {"state": "waiting"})
    assert errors_of(service.update, "ticket", ticket["id"], {"state": "closed"}) == \
        {"state": ["Cannot move from Waiting to Closed"]}
    service.update("ticket", ticket["id"], {"state": "working"})  # backwards, but listed
    service.update("ticket", ticket["id"], {"state": "closed"})
    assert errors_of(service.update, "ticket", ticket["id"], {"state": "working"}) == \
        {"state": ["Cannot move from Closed to Working"]}
    moves = [(h["from_stage"], h["to_stage"]) for h in stage_history(service.engine, "ticket", ticket["id"])]
    assert moves == [(None, "new"), ("new", "working"), ("working", "waiting"), ("waiting", "working"),
                     ("working", "closed")]


def test_stage_history_records_time_in_stage(service, account, alice, bing, clock):
    deal = service.create("deal", {"title": "H", "account": account["id"], "amount": 10,
                                   "close_date": "2026-09-01"}, alice)
    clock.advance(hours=1)
    service.update("deal", deal["id"], {"stage": "qualified"}, bing)
    clock.advance(hours=2, seconds=30)
    service.update("deal", deal["id"], {"title": "H2"}, alice)  # not a stage change
    clock.advance(minutes=1)
    service.update("deal", deal["id"], {"stage": "won"}, alice)
    entries = stage_history(service.engine, "deal", deal["id"])
    assert [(e["from_stage"], e["to_stage"], e["changed_by"], e["seconds_in_from"]) for e in entries] == [
        (None, "prospect", alice.user_id, None),
        ("prospect", "qualified", bing.user_id, 3600.0),
        ("qualified", "won", alice.user_id, 7290.0),
    ]
    assert entries[-1]["changed_at"] == clock.now


# --- rollups ------------------------------------------------------------------------------

def rollups(service, account_id):
    stored = service.get("account", account_id)
    return {key: stored[key] for key in ("won_total", "open_deals", "biggest_deal", "big_open_amount")}


def test_rollup_with_a_where_evaluated_in_python(service):
    a = service.create("account", {"name": "A"})
    b = service.create("account", {"name": "B"})
    assert service.get("account", a["id"])["vip_deals"] == 0
    vip = service.create("deal", {"title": "VIP renewal", "account": a["id"]})
    service.create("deal", {"title": "plain", "account": a["id"]})
    assert service.get("account", a["id"])["vip_deals"] == 1
    service.update("deal", vip["id"], {"account": b["id"]})
    assert (service.get("account", a["id"])["vip_deals"], service.get("account", b["id"])["vip_deals"]) == (0, 1)
    service.update("deal", vip["id"], {"title": "no longer"})
    assert service.get("account", b["id"])["vip_deals"] == 0


def test_rollups_follow_child_create_update_reparent_delete(service):
    a = service.create("account", {"name": "A"})
    b = service.create("account", {"name": "B"})
    assert rollups(service, a["id"]) == {"won_total": 0, "open_deals": 0, "biggest_deal": None,
                                         "big_open_amount": 0}
    small = service.create("deal", {"title": "small", "account": a["id"], "amount": 100})
    big = service.create("deal", {"title": "big", "account": a["id"], "amount": 2000})
    assert rollups(service, a["id"]) == {"won_total": 0, "open_deals": 2, "biggest_deal": Decimal("2000.00"),
                                         "big_open_amount": Decimal("2000.00")}
    service.update("deal", small["id"], {"stage": "won"})                       # where: stage == 'won'
    assert rollups(service, a["id"]) == {"won_total": Decimal("100.00"), "open_deals": 1,
                                         "biggest_deal": Decimal("2000.00"),
                                         "big_open_amount": Decimal("2000.00")}
    service.update("deal", big["id"], {"amount": 500})                           # update
    assert rollups(service, a["id"])["biggest_deal"] == Decimal("500.00")
    assert rollups(service, a["id"])["big_open_amount"] == 0
    service.update("deal", big["id"], {"account": b["id"], "amount": 1500})       # re-parent
    assert rollups(service, a["id"]) == {"won_total": Decimal("100.00"), "open_deals": 0,
                                         "biggest_deal": Decimal("100.00"), "big_open_amount": 0}
    assert rollups(service, b["id"]) == {"won_total": 0, "open_deals": 1, "biggest_deal": Decimal("1500.00"),
                                         "big_open_amount": Decimal("1500.00")}
    service.delete("deal", small["id"])                                          # delete
    assert rollups(service, a["id"]) == {"won_total": 0, "open_deals": 0, "biggest_deal": None,
                                         "big_open_amount": 0}
    assert errors_of(service.update, "account", a["id"], {"open_deals": 3}) == \
        {"open_deals": ["This field is computed and cannot be set"]}


def test_rollups_after_bulk_create(service):
    a = service.create("account", {"name": "A"})
    service.bulk_create("deal", [{"title": f"d{i}", "account": a["id"], "amount": i} for i in range(1, 51)],
                        batch_size=20)
    assert rollups(service, a["id"]) == {"won_total": 0, "open_deals": 50, "biggest_deal": Decimal("50.00"),
                                         "big_open_amount": 0}


# --- deleting linked records ------------------------------------------------------------------

def test_on_delete_restrict(service, account, engine):
    service.create("deal", {"title": "keeps it", "account": account["id"]})
    before = snapshot(engine)
    errors = errors_of(service.delete, "account", account["id"])
    assert errors == {"_record": ["Cannot delete: 1 Deals record(s) still link to it"]}
    assert snapshot(engine) == before


def test_on_delete_cascade_and_set_null(service, account, engine, alice):
    tickets = [service.create("ticket", {"subject": f"t{i}", "account": account["id"]}) for i in range(2)]
    person = service.create("person", {"name": "Pat", "account": account["id"]})
    service.delete("account", account["id"], alice)
    assert service.get("account", account["id"]) is None
    assert all(service.get("ticket", t["id"]) is None for t in tickets)
    for ticket in tickets:
        assert [h["changed_by"] for h in history(engine, "ticket", ticket["id"], "delete")] == [alice.user_id]
    kept = service.get("person", person["id"])
    assert kept["account"] is None and kept["version"] == 2
    [change] = history(engine, "person", person["id"], "update")
    assert (change["field"], change["old_value"], change["new_value"], change["changed_by"]) == \
        ("account", account["id"], None, alice.user_id)
    assert [h["changed_by"] for h in history(engine, "account", account["id"], "delete")] == [alice.user_id]


@pytest.mark.parametrize("on_delete", ["restrict", "cascade", "set_null"])
def test_deleting_records_that_link_to_themselves_or_in_a_cycle(engine, tmp_path, on_delete):
    blueprint = make_blueprint(tmp_path / "bp", {"node": {"fields": {
        "name": {"type": "text"}, "up": {"type": "reference", "to": "node", "on_delete": on_delete}}}})
    migrate(engine, blueprint)
    service = RecordService(blueprint, engine)
    itself = service.create("node", {"name": "itself"})
    service.update("node", itself["id"], {"up": itself["id"]})
    service.delete("node", itself["id"])  # its own link never blocks it
    assert service.get("node", itself["id"]) is None
    a = service.create("node", {"name": "a"})
    b = service.create("node", {"name": "b", "up": a["id"]})
    service.update("node", a["id"], {"up": b["id"]})
    if on_delete == "restrict":
        assert errors_of(service.delete, "node", a["id"]) == {
            "_record": ["Cannot delete: 1 Node record(s) still link to it"]}
        return
    service.delete("node", a["id"])
    assert service.get("node", a["id"]) is None
    assert (service.get("node", b["id"]) is None) == (on_delete == "cascade")


def test_missing_records(service, bing):
    assert service.get("account", 404) is None
    with pytest.raises(RecordNotFound, match="No such record"):
        service.update("account", 404, {"name": "x"})
    with pytest.raises(RecordNotFound, match="记录不存在"):
        service.delete("account", 404, bing)


def test_reference_to_a_missing_record(service, engine):
    before = snapshot(engine)
    errors = errors_of(service.create, "deal", {"title": "orphan", "account": 999})
    assert errors == {"account": ["The linked record does not exist"]}
    assert errors_of(service.create, "account", {"name": "x", "owner": 999}) == {"owner": ["No such user"]}
    assert snapshot(engine) == before


# --- optimistic locking and audit ----------------------------------------------------------------

def test_stale_version_is_refused(service, account, engine):
    deal = service.create("deal", {"title": "v1", "account": account["id"]})
    first = service.update("deal", deal["id"], {"title": "v2"}, version=1)
    assert first["version"] == 2
    before = snapshot(engine)
    with pytest.raises(StaleRecord) as stale:
        service.update("deal", deal["id"], {"title": "late edit"}, version=1)
    assert stale.value.current["title"] == "v2" and stale.value.current["version"] == 2
    assert "reload" in str(stale.value)
    assert snapshot(engine) == before
    assert service.update("deal", deal["id"], {"title": "v3"}, version="2")["version"] == 3


def test_history_has_one_row_per_changed_field(service, account, engine, alice, bing, clock):
    deal = service.create("deal", {"title": "Audit", "account": account["id"], "amount": 1000}, alice)
    created = history(engine, "deal", deal["id"], "create")
    assert {h["field"] for h in created} >= {"title", "account", "amount", "number", "stage"}
    assert all(h["changed_by"] == alice.user_id and h["changed_at"] == START for h in created)
    clock.advance(minutes=5)
    service.update("deal", deal["id"], {"title": "Audited", "amount": "2000", "close_date": None}, bing)
    changes = {h["field"]: h for h in history(engine, "deal", deal["id"], "update")}
    # net and weighted are formulas over amount: they changed too; close_date did not
    assert set(changes) == {"title", "amount", "net", "weighted"}
    assert (changes["title"]["old_value"], changes["title"]["new_value"]) == ("Audit", "Audited")
    assert Decimal(changes["amount"]["old_value"]) == 1000 and Decimal(changes["amount"]["new_value"]) == 2000
    assert all(h["changed_by"] == bing.user_id and h["changed_at"] == clock.now for h in changes.values())
    # saving the same values again changes nothing: no history, same version
    again = service.update("deal", deal["id"], {"title": "Audited"}, bing)
    assert again["version"] == 2
    assert len(history(engine, "deal", deal["id"], "update")) == 4


def test_a_failed_check_writes_nothing(service, account, engine):
    deal = service.create("deal", {"title": "keep", "account": account["id"], "amount": 10})
    before = snapshot(engine)
    # a create that fails a check (after defaults, formulas and autonumber rules ran)
    errors_of(service.create, "deal", {"title": "bad", "account": account["id"], "discount": 5})
    # an update that changes several fields, one of them invalid, and moves the stage
    errors_of(service.update, "deal", deal["id"], {"title": "changed", "stage": "won", "discount": 90})
    # an update that fails in the database checks, after validation passed
    errors_of(service.update, "deal", deal["id"], {"title": "changed", "account": 12345})
    assert snapshot(engine) == before
    assert service.get("deal", deal["id"])["title"] == "keep"


# --- bulk ---------------------------------------------------------------------------------

def test_bulk_create_is_all_or_nothing(service, account, engine):
    before = snapshot(engine)
    batch = [{"title": f"deal {i}", "account": account["id"], "amount": i} for i in range(1000)]
    batch[500] = {"title": "", "account": account["id"]}
    with pytest.raises(ValidationFailed) as failure:
        service.bulk_create("deal", batch, batch_size=100)  # five batches are written first
    assert failure.value.row == 500
    assert "row 500" in str(failure.value)
    assert failure.value.errors == {"title": ["This field is required"]}
    assert snapshot(engine) == before
    batch[500] = {"title": "fixed", "account": account["id"]}
    batch[900]["account"] = 424242  # fails in the database checks, in the last batch
    with pytest.raises(ValidationFailed) as failure:
        service.bulk_create("deal", batch, batch_size=100)
    assert failure.value.row == 900
    assert snapshot(engine) == before


def test_bulk_create_writes_every_row(service, account, engine):
    created = service.bulk_create("deal", [{"title": f"d{i}", "account": account["id"]} for i in range(1000)])
    assert len(created) == 1000 and len({d["id"] for d in created}) == 1000
    assert len(rows(engine, "deal")) == 1000
    assert len({d["number"] for d in rows(engine, "deal")}) == 1000
    assert service.get("account", account["id"])["open_deals"] == 1000
    assert len(rows(engine, "atrium_stage_history", entity="deal")) == 1000
