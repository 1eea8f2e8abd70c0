"""A bulk create stores what the same records created one by one store: the orders' own values
(formulas, stage stamps), their customer's roll-ups and the formulas reading them, the field
history, the stage history and the tasks the won orders' automation creates. Bulk creates batch
their history, roll-up refresh and per-entity rules (records/rollups.py, pipeline.py, rules.py);
this holds them to the one-by-one path, across batch borders, on the b2b blueprint, and the
customers' derived fields to what `atrium recompute` computes from the base tables."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa

from atrium.runtime.access.users import add_user
from atrium.runtime.records.recompute import Recompute
from atrium.runtime.schema.migrations import migrate
from atrium.runtime.site.services import records_service

STAGES = ["initial_contact", "needs_confirmed", "proposal", "negotiation", "won", "lost", "won"]
# what differs between two records by construction: their ids, numbers, links and moments
OWN = {"id", "name", "name_key", "code", "number", "customer", "order", "created_at", "updated_at", "version",
       "stage_entered_at"}  # the time of the create, as created_at (compared with it below)


def orders_for(customer: int, owner: int) -> list[dict]:
    today = dt.date.today()
    return [{"name": f"Deal {i}", "customer": customer, "owner": owner, "stage": STAGES[i % len(STAGES)],
             "amount": Decimal(10_000 + 2_500 * i), "margin": Decimal(1_000 + 10 * i),
             "expected_close": today + dt.timedelta(days=10 + i),
             "lost_reason": "price" if STAGES[i % len(STAGES)] == "lost" else None,
             "tags": ["key_account"], "next_step": f"call {i}"} for i in range(17)]


def stored(engine, table: str, where: str, value: int) -> list[dict]:
    with engine.connect() as connection:
        return [dict(row) for row in connection.execute(
            sa.text(f'SELECT * FROM "{table}" WHERE "{where}" = :v ORDER BY id'), {"v": value}).mappings()]


def without_own(row: dict) -> dict:
    return {key: value for key, value in row.items() if key not in OWN}


def history_of(engine, entity: str, ids: list[int], skip: set[str]) -> list[list[tuple]]:
    """Each record's history rows as (action, field, old, new), in the order written."""
    found = []
    with engine.connect() as connection:
        for record_id in ids:
            found.append([(row.action, row.field, row.old_value, row.new_value) for row in connection.execute(
                sa.text("SELECT * FROM atrium_history WHERE entity = :e AND record_id = :r ORDER BY id"),
                {"e": entity, "r": record_id}) if row.field not in skip])
    return found


def stages_of(engine, ids: list[int]) -> list[list[tuple]]:
    with engine.connect() as connection:
        return [[(row.from_stage, row.to_stage) for row in connection.execute(sa.text(
            "SELECT * FROM atrium_stage_history WHERE entity = 'order' AND record_id = :r ORDER BY id"),
            {"r": record_id})] for record_id in ids]


def test_bulk_create_stores_what_one_by_one_creates_store(engine, b2b):
    migrate(engine, b2b)
    service = records_service(b2b, engine)
    with engine.begin() as connection:
        owner = add_user(connection, service.tables, b2b, "rep", "sales_rep", locale="en")
    customer = {"name": "Acme", "level": "a", "region": "east", "industry": "manufacturing", "owner": owner}
    one, bulk, plain = (service.create("customer", {**customer, "name": name})["id"]
                        for name in ("One Co", "Bulk Co", "Plain Co"))

    singles = [service.create("order", row)["id"] for row in orders_for(one, owner)]
    batched = [r["id"] for r in service.bulk_create("order", orders_for(bulk, owner), batch_size=5,
                                                    audit_fields=True)]
    plains = [r["id"] for r in service.bulk_create("order", orders_for(plain, owner), batch_size=4)]

    # the customers' roll-ups and the formulas reading them
    customers = {key: without_own(stored(engine, "customer", "id", key)[0]) for key in (one, bulk, plain)}
    assert customers[one]["won_orders"] == 4 and customers[one]["lifetime_value"] > 0  # the roll-ups ran
    assert customers[bulk] == customers[one]
    assert customers[plain] == customers[one]
    # and they are what the base tables give: recomputing every derived field changes nothing
    recompute = Recompute(service)
    with engine.begin() as connection:
        recompute.run(connection, recompute.chosen("customer"))
    assert {key: without_own(stored(engine, "customer", "id", key)[0]) for key in (one, bulk, plain)} == customers
    # the orders' own values: formulas, stage stamps, defaults; each entered its first stage when created
    assert all(row["stage_entered_at"] == row["created_at"] for key in (one, bulk, plain)
               for row in stored(engine, "order", "customer", key))
    assert [without_own(r) for r in stored(engine, "order", "customer", bulk)] == \
           [without_own(r) for r in stored(engine, "order", "customer", one)]
    assert [without_own(r) for r in stored(engine, "order", "customer", plain)] == \
           [without_own(r) for r in stored(engine, "order", "customer", one)]
    # the field history of a create that audits each field, and the stage history
    assert history_of(engine, "order", batched, OWN) == history_of(engine, "order", singles, OWN)
    assert any(len(rows) > 5 for rows in history_of(engine, "order", singles, OWN))
    assert stages_of(engine, batched) == stages_of(engine, singles)
    # a bulk create without each field's history: one create row a record, the same stage history
    assert [[row[:2] for row in rows] for rows in history_of(engine, "order", plains, OWN)] == \
           [[("create", None)]] * len(plains)
    assert stages_of(engine, plains) == stages_of(engine, singles)
    # the won orders' kick-off tasks, each with its own history
    tasks_one = [t for i in singles for t in stored(engine, "task", "order", i)]
    tasks_bulk = [t for i in batched for t in stored(engine, "task", "order", i)]
    assert len(tasks_one) == 4
    assert [without_own(t) for t in tasks_bulk] == [without_own(t) for t in tasks_one]
    assert history_of(engine, "task", [t["id"] for t in tasks_bulk], OWN) == \
           history_of(engine, "task", [t["id"] for t in tasks_one], OWN)
