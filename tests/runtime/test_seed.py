"""Demo data (`atrium seed`): counts from the seed plan, logins, determinism, validity, stage
history, a blueprint without a seed plan, and `--if-empty`. Runs on SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import uuid
from collections import defaultdict
from decimal import Decimal
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from atrium.cli import main
from atrium.runtime.access import users
from atrium.runtime.access.users import find_user, verify_password
from atrium.runtime.records.coercion import coerce
from atrium.runtime.records.evaluation import SYSTEM
from atrium.runtime.records.service import RecordService
from atrium.runtime.schema.database import create_engine
from atrium.runtime.schema.migrations import migrate
from atrium.runtime.schema.tables import build_tables
from atrium.runtime.seed.seeding import seed_demo

TODAY = dt.date(2026, 3, 15)
SCALE = 40


def expected_counts(blueprint, scale):
    plan = blueprint.seed.data
    counts = {}
    for name, entry in plan["entities"].items():
        if "count" in entry:
            counts[name] = entry["count"]
        elif "each" in entry:  # one per combination: users of a role × periods × values
            counts[name] = 1
            for values in entry["each"].values():
                if isinstance(values, (list, tuple)):
                    counts[name] *= len(values)
                elif "role" in values:
                    counts[name] *= sum(1 for user in plan["users"] if user["role"] == values["role"])
                else:
                    counts[name] *= values.get("to", 0) - values.get("from", 0) + 1
        elif name == plan["base"]:
            counts[name] = scale
        else:
            counts[name] = round(scale * entry["per_base"])
    return counts


def rows(engine, blueprint, table, order_by=("id",)):
    """Every row of a table, typed (datetimes are datetimes on both databases)."""
    target = build_tables(blueprint).metadata.tables[table]
    with engine.connect() as connection:
        query = sa.select(target).order_by(*(target.c[c] for c in order_by))
        return [dict(r._mapping) for r in connection.execute(query)]


def digest(engine, blueprint):
    """A fingerprint of every entity table, the histories and the users (without password salts)."""
    hasher = hashlib.sha256()
    for table in [*blueprint.entities, "atrium_history", "atrium_stage_history", "atrium_teams", "atrium_users"]:
        for row in rows(engine, blueprint, table):
            row.pop("password_hash", None)
            if table == "atrium_users":
                row.pop("created_at", None)
            hasher.update(repr(sorted((k, str(v)) for k, v in row.items())).encode())
    return hasher.hexdigest()


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch):
    """Real argon2, with small cost parameters: the default costs 0.2 s a user on this machine."""
    monkeypatch.setattr(users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def other_engine(engine, tmp_path):
    """A second fresh database of the same kind as `engine`."""
    if engine.dialect.name != "postgresql":
        second = create_engine(f"sqlite:///{tmp_path / 'second.db'}")
        yield second
        second.dispose()
        return
    base = os.environ["ATRIUM_TEST_PG_URL"]
    schema = "t_" + uuid.uuid4().hex[:16]
    admin = create_engine(base)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in base else "?"
    second = create_engine(f"{base}{separator}options={quote(f'-csearch_path={schema}')}")
    yield second
    second.dispose()
    with admin.begin() as connection:
        connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    admin.dispose()


@pytest.fixture
def seeded(engine, b2b):
    migrate(engine, b2b)
    summary = seed_demo(b2b, engine, scale=SCALE, seed=7, today=TODAY)
    return summary


def test_counts_follow_the_seed_plan(seeded, engine, b2b, count_rows):
    for entity, count in expected_counts(b2b, SCALE).items():
        assert count_rows(entity) == count, entity
        assert f"{count:,} " in seeded
    assert "rep1/rep1" in seeded


def test_demo_users_can_log_in_and_teams_have_managers(seeded, engine, b2b):
    tables = build_tables(b2b)
    teams = {t["name"]: t for t in rows(engine, b2b, "atrium_teams")}
    with engine.connect() as connection:
        for user in b2b.seed.data["users"]:
            found = find_user(connection, tables, user["name"])
            assert found["role"] == user["role"]
            assert verify_password(found["password_hash"], user["name"])
            assert not verify_password(found["password_hash"], user["name"] + "x")
        manager = find_user(connection, tables, "manager")
        assert teams["east"]["manager_id"] == manager["id"]
        assert teams["south"]["parent_id"] == teams["east"]["id"]
        assert manager["display_name"] == "王芳"


def test_same_seed_same_data_and_another_seed_other_data(engine, other_engine, b2b):
    for target in (engine, other_engine):
        migrate(target, b2b)
        seed_demo(b2b, target, scale=20, seed=11, today=TODAY)
    assert digest(engine, b2b) == digest(other_engine, b2b)
    with other_engine.begin() as connection:  # start the second database over
        for table in reversed(build_tables(b2b).metadata.sorted_tables):
            connection.execute(table.delete())
    seed_demo(b2b, other_engine, scale=20, seed=12, today=TODAY)
    assert digest(engine, b2b) != digest(other_engine, b2b)


def rollup_values(service, field, children):
    """parent id → what a rollup field should hold, computed here from the child records."""
    rollup = field.rollup
    evaluator = service.rules.evaluator.bind(rollup.entity, SYSTEM)
    groups = defaultdict(list)
    for child in children:
        if child[rollup.via] is None:
            continue
        if rollup.where is not None and not evaluator.evaluate(rollup.where, child):
            continue
        value = child["id"] if rollup.field == "id" else child[rollup.field]
        if value is not None:
            groups[child[rollup.via]].append(value)
    aggregate = {"count": len, "sum": sum, "min": min, "max": max, "avg": lambda xs: sum(xs) / len(xs)}
    return {parent: aggregate[rollup.function](values) for parent, values in groups.items()}


def test_every_record_is_valid_and_consistent(seeded, engine, b2b):
    """Re-validate each record with the clock at its creation time, as the service did; rollups
    hold what the child records add up to, and formulas what they compute from them."""
    moment = [dt.datetime.now(dt.timezone.utc)]
    service = RecordService(b2b, engine, clock=lambda: moment[0])
    names = {}
    for entity in b2b.entities.values():
        records = rows(engine, b2b, entity.name)
        assert records, entity.name
        with engine.connect() as connection:
            records = service.read_many(connection, entity.name, [r["id"] for r in records])
        names[entity.name] = records
    for entity in b2b.entities.values():
        rollups = [f for f in entity if f.rollup is not None]
        expected = {f.name: rollup_values(service, f, names[f.rollup.entity]) for f in rollups}
        for record in names[entity.name]:
            for field in rollups:
                value = expected[field.name].get(record["id"])
                if value is None and field.rollup.function in ("count", "sum"):
                    value = 0
                assert coerce(field, value) == record[field.name], (entity.name, record["id"], field.name)
            moment[0] = record["created_at"]
            values = {f.name: record[f.name] for f in entity if not f.computed}
            # checked as the seed's own precheck does (a check reading a linked record, like a
            # receipt's against its instalment's outstanding, held when the record was made)
            prepared, errors = service.rules.prepare(entity, None, values, SYSTEM)
            assert not errors, (entity.name, record["id"], errors)
            # a new record has no children yet: compute again with the ones it has, and with the
            # linked records its formulas read as they are now
            prepared.update({f.name: record[f.name] for f in rollups})
            with engine.connect() as connection:
                service.linked_values.fill(connection, entity, [prepared])
            service.rules._compute_formulas(entity, prepared)
            for name in entity.formula_order:
                assert prepared[name] == record[name], (entity.name, record["id"], name)
    # no receipt collects more than its instalment plans, nor anything on a voided one
    received: dict[int, Decimal] = {}
    for receipt in names["receipt"]:
        received[receipt["instalment"]] = received.get(receipt["instalment"], Decimal(0)) + receipt["amount"]
    for instalment in names["instalment"]:
        got = received.get(instalment["id"], Decimal(0))
        assert got <= (0 if instalment["voided"] else instalment["planned_amount"]), instalment
    # bilingual, realistic names
    companies = [c["name"] for c in names["customer"]]
    assert any(name.endswith("公司") for name in companies)
    assert all(len(name) >= 4 for name in companies)
    # a visit's customer is the customer of its order; a contact's owner is its customer's owner
    customers = {c["id"]: c for c in names["customer"]}
    orders = {o["id"]: o for o in names["order"]}
    for visit in names["visit"]:
        if visit["order"] is not None:
            assert visit["customer"] == orders[visit["order"]]["customer"]
    for contact in names["contact"]:
        assert contact["owner"] == customers[contact["customer"]]["owner"]
    # fields a closed stage or a condition asks for are filled exactly where they are needed
    for order in names["order"]:
        assert (order["lost_reason"] is not None) == (order["stage"] == "lost")
    for visit in names["visit"]:
        assert (visit["visited_at"] is not None) == (visit["status"] == "done")
    for lead in names["lead"]:
        assert (lead["customer"] is not None) == (lead["status"] == "converted")
    # dates spread over the months before today, and never created after it
    created = [o["created_at"] for o in names["order"]]
    assert max(created).date() <= TODAY
    assert (max(created) - min(created)).days > 180


def test_stage_history_walks_to_the_current_stage(seeded, engine, b2b):
    history = rows(engine, b2b, "atrium_stage_history", ("record_id", "changed_at", "id"))
    for entity in ("order", "lead"):
        pipeline = b2b.pipeline_for(entity)
        field = b2b.entities[entity].stage_field.name
        walks = {}
        for row in history:
            if row["entity"] == entity:
                walks.setdefault(row["record_id"], []).append(row)
        records = rows(engine, b2b, entity)
        assert len(walks) == len(records)
        beyond_first = 0
        for record in records:
            walk = walks[record["id"]]
            assert walk[0]["from_stage"] is None and walk[0]["to_stage"] == pipeline.stages[0].name
            assert walk[-1]["to_stage"] == record[field]
            assert walk[0]["changed_at"] == record["created_at"]
            for before, after in zip(walk, walk[1:], strict=False):
                assert after["from_stage"] == before["to_stage"]
                assert pipeline.allows(after["from_stage"], after["to_stage"])
                assert after["changed_at"] > before["changed_at"]
                assert after["seconds_in_from"] == pytest.approx(
                    (after["changed_at"] - before["changed_at"]).total_seconds())
                assert after["changed_at"].date() <= TODAY
            if record[field] != pipeline.stages[0].name:
                beyond_first += 1
                assert len(walk) >= 2
        assert beyond_first > len(records) / 3, entity


def test_blueprint_without_a_seed_plan(engine, design_blueprint, count_rows):
    assert design_blueprint.seed is None
    migrate(engine, design_blueprint)
    summary = seed_demo(design_blueprint, engine, scale=15, seed=2, today=TODAY)
    for entity in design_blueprint.entities:
        if entity == "receipt":  # its check reads the instalment: what no redraw fixes is left out, and said
            left_out = 15 - count_rows(entity)
            assert 0 <= left_out < 15 and (not left_out or f"{left_out} receipt records left out" in summary)
        else:
            assert count_rows(entity) == 15, entity
    with engine.connect() as connection:  # and every receipt kept passes it
        assert not connection.execute(sa.text(
            "SELECT r.id FROM receipt r JOIN instalment i ON i.id = r.instalment "
            "WHERE r.amount > COALESCE(i.amount, 0) - COALESCE(i.received, 0) + r.amount")).all()
    tables = build_tables(design_blueprint)
    with engine.connect() as connection:
        for role in design_blueprint.roles:
            assert verify_password(find_user(connection, tables, role)["password_hash"], role)
    assert "sales_rep/sales_rep" in summary
    stages = {r["stage"] for r in rows(engine, design_blueprint, "order")}
    assert len(stages) > 2


def test_cli_seed_if_empty_seeds_once(database_url, engine, b2b, count_rows, capsys):
    assert main(["--db", database_url, "migrate"]) == 0
    assert main(["--db", database_url, "seed", "--scale", "10", "--if-empty"]) == 0
    first = capsys.readouterr().out
    assert "rep1/rep1" in first
    assert main(["--db", database_url, "seed", "--scale", "10", "--if-empty"]) == 0
    assert "nothing to do" in capsys.readouterr().out
    assert count_rows("order") == 10


def test_values_a_check_refuses_are_redrawn_or_left_out(engine, tmp_path):
    """A blueprint whose checks refuse most generated values: every stored record still passes."""
    from atrium.metadata import load_blueprint
    (tmp_path / "entities").mkdir()
    (tmp_path / "blueprint.yaml").write_text("name: strict\nversion: 1\nlocales: [en]\ncurrency: CNY\n")
    (tmp_path / "roles.yaml").write_text("roles:\n  admin: {label: Admin, all: true}\n")
    (tmp_path / "entities" / "item.yaml").write_text(
        "name: item\nlabel: Item\nfields:\n"
        "  name: {type: text, required: true}\n"
        "  price: {type: money}\n"
        "  size: {type: integer, required: true}\n"
        "checks:\n"
        "  - {name: cheap, assert: 'price is None or price < 100', message: Too dear}\n"
        "  - {name: never, assert: 'size < 0', message: Impossible}\n")
    blueprint = load_blueprint(tmp_path)
    migrate(engine, blueprint)
    summary = seed_demo(blueprint, engine, scale=5, seed=1, today=TODAY)
    assert "5 item records left out" in summary
    assert rows(engine, blueprint, "item") == []
    (tmp_path / "entities" / "item.yaml").write_text(
        (tmp_path / "entities" / "item.yaml").read_text().replace("size < 0", "size > 0"))
    blueprint = load_blueprint(tmp_path)
    seed_demo(blueprint, engine, scale=8, seed=1, today=TODAY)
    items = rows(engine, blueprint, "item")
    assert len(items) == 8
    assert all(item["price"] is None or item["price"] < 100 for item in items)


def shares_blueprint(folder, receipt_plan: str):
    from atrium.metadata import load_blueprint
    (folder / "entities").mkdir(exist_ok=True)
    (folder / "blueprint.yaml").write_text("name: shares\nversion: 1\nlocales: [en]\ncurrency: CNY\n")
    (folder / "roles.yaml").write_text("roles:\n  admin: {label: Admin, all: true}\n")
    (folder / "entities" / "bill.yaml").write_text(
        "name: bill\nlabel: Bill\nfields:\n  amount: {type: money, required: true}\n")
    (folder / "entities" / "payment.yaml").write_text(
        "name: payment\nlabel: Payment\nfields:\n"
        "  bill: {type: reference, to: bill, required: true}\n"
        "  amount: {type: money, required: true}\n")
    (folder / "seed.yaml").write_text(
        "base: bill\nentities:\n  bill:\n    fields: {amount: {range: [1000, 9000]}}\n"
        f"  payment:\n    per_base: 2\n    fields: {receipt_plan}\n")
    return load_blueprint(folder)


def test_a_ref_picks_each_record_at_most_so_often_and_a_share_of_its_field(engine, tmp_path):
    """`ref: bill, at_most: 2` and `range: [0.2, 0.5], of: bill.amount`: two payments a bill at most,
    each a fifth to a half of it, so no bill is paid more than it asks."""
    blueprint = shares_blueprint(tmp_path, "{bill: {ref: bill, at_most: 2}, "
                                           "amount: {range: [0.2, 0.5], of: bill.amount}}")
    migrate(engine, blueprint)
    seed_demo(blueprint, engine, scale=10, seed=4, today=TODAY)
    bills = {bill["id"]: bill["amount"] for bill in rows(engine, blueprint, "bill")}
    paid: dict[int, list] = defaultdict(list)
    for payment in rows(engine, blueprint, "payment"):
        paid[payment["bill"]].append(payment["amount"])
    assert sum(len(amounts) for amounts in paid.values()) == 20     # 10 bills × 2: every one picked twice
    assert all(len(amounts) == 2 for amounts in paid.values())
    for bill, amounts in paid.items():
        assert all(bills[bill] * Decimal("0.2") <= amount <= bills[bill] * Decimal("0.5") for amount in amounts)
        assert sum(amounts) <= bills[bill]


def test_a_share_of_a_path_that_is_not_a_number_is_a_seed_plan_error(engine, tmp_path):
    from atrium.runtime.seed.context import SeedPlanError
    blueprint = shares_blueprint(tmp_path, "{amount: {range: [0.2, 0.5], of: bill.nothing}}")
    migrate(engine, blueprint)
    with pytest.raises(SeedPlanError, match="range.of: 'bill.nothing' is not a numeric field of payment"):
        seed_demo(blueprint, engine, scale=3, seed=1, today=TODAY)
