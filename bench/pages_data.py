"""The database the page benchmarks read: the shipped b2b_sales blueprint on SQLite with
1,000,000 orders, made fast and kept between runs.

How it is made: `migrate`, then `seed_demo` at a small scale (demo users and teams with their
passwords, products, customers, contacts, orders, visits and tasks through the records service,
with their history), then sixty more sales reps (no password), then set-based `INSERT ... SELECT`
statements over recursive CTEs for the rest: customers (one per ten orders), orders up to the
total, about one visit per order, a task for every third order, and the history the detail page
reads: a `create` row per record, field updates on a share of the orders, and a stage walk from
the first stage to each order's current one. Values are spread deterministically (multiplicative
hashes of the row number) and texts are borrowed from the seeded records, so they are realistic
and the same on every build. Autonumber sequences are moved past the generated codes.
"""
from __future__ import annotations

import datetime as dt
import json
import sqlite3
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from atrium.metadata import load_blueprint  # noqa: E402
from atrium.runtime.access import users  # noqa: E402
from atrium.runtime.schema import preaggregates, stage_tracking  # noqa: E402
from atrium.runtime.schema.database import create_engine, refresh_statistics  # noqa: E402
from atrium.runtime.schema.migrations import migrate  # noqa: E402
from atrium.runtime.schema.tables import build_tables  # noqa: E402
from atrium.runtime.seed.seeding import seed_demo  # noqa: E402

B2B = ROOT / "blueprints" / "b2b_sales"
SEED_SCALE = 2000          # orders made through the records service (with visits, tasks, history)
EXTRA_REPS = 60            # rep4 ... rep63, spread over the two demo teams
ORDERS_PER_CUSTOMER = 10
SPAN_DAYS = 548            # orders created over the 18 months before today
STAGES = ["initial_contact", "needs_confirmed", "proposal", "negotiation", "won", "lost"]
OPEN = STAGES[:4]
PROBABILITY = {"initial_contact": 10, "needs_confirmed": 25, "proposal": 50, "negotiation": 75,
               "won": 100, "lost": 0}
STAMP = "'%Y-%m-%d %H:%M:%S.000000'"  # how SQLAlchemy stores a datetime in SQLite


def log(text: str) -> None:
    print(text, flush=True)


def build_or_reuse(path: Path, orders: int) -> dict:
    """The database at `path` with `orders` orders; reused when a finished build is there."""
    info_path = path.with_suffix(".json")
    if path.exists() and info_path.exists():
        info = json.loads(info_path.read_text())
        if info.get("orders") == orders and info.get("complete"):
            log(f"reusing {path} ({orders:,} orders, built {info['built']})")
            info["migrate_seconds"] = prepare_to_serve(path)
            return info
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    info_path.unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    blueprint = load_blueprint(B2B)
    engine = create_engine(f"sqlite:///{path}")
    migrate(engine, blueprint)
    log(f"seeding the demo data at scale {SEED_SCALE:,} through the records service ...")
    seed_demo(blueprint, engine, scale=SEED_SCALE, seed=1)
    tables = build_tables(blueprint)
    with engine.begin() as connection:
        for n in range(4, 4 + EXTRA_REPS):
            users.add_user(connection, tables, blueprint, f"rep{n}", "sales_rep",
                           team="east" if n % 2 else "south", display_name=f"Rep {n}")
        # the fill below writes each table with one INSERT ... SELECT: the pre-aggregates are computed
        # once after it (prepare_to_serve's migrate builds what is missing) rather than by a trigger per row
        for shape in preaggregates.shapes(blueprint, tables):
            preaggregates.drop(connection, shape.name)
        for tracking in stage_tracking.trackings(blueprint):  # likewise: filled once from the history
            stage_tracking.drop(connection, tracking.name)
    engine.dispose()
    seeded = time.perf_counter() - started
    counts = fill(path, orders, ZoneInfo(blueprint.timezone))
    prepare_to_serve(path)
    info = {"orders": orders, "complete": True, "built": dt.datetime.now().isoformat(timespec="seconds"),
            "seed_seconds": round(seeded, 1), "fill_seconds": round(time.perf_counter() - started - seeded, 1),
            "counts": counts, "size_mib": round(path.stat().st_size / 1024 / 1024)}
    info_path.write_text(json.dumps(info, indent=1))
    log(f"built {path}: {counts} in {seeded + info['fill_seconds']:.0f} s ({info['size_mib']} MiB)")
    return info


def prepare_to_serve(path: Path) -> float:
    """What `atrium migrate` and `atrium serve` do to the file before serving: the indexes the
    current metadata and platform want (a default sort's index, say) and fresh planner statistics."""
    started = time.perf_counter()
    blueprint = load_blueprint(B2B)
    engine = create_engine(f"sqlite:///{path}")
    plan = migrate(engine, blueprint)
    refresh_statistics(engine, build_tables(blueprint).metadata.tables)
    engine.dispose()
    seconds = time.perf_counter() - started
    changes = "; ".join(step.description for step in plan.changes) or "nothing to change"
    log(f"migrate ({changes}) and statistics: {seconds:.1f} s")
    return seconds


def _run(db: sqlite3.Connection, label: str, sql: str, params: dict | None = None) -> None:
    started, before = time.perf_counter(), db.total_changes
    db.execute(sql, params or {})
    log(f"  {label}: {db.total_changes - before:,} rows in {time.perf_counter() - started:.1f} s")


def fill(path: Path, total_orders: int, zone: ZoneInfo) -> dict:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=DELETE")  # one big transaction: no WAL file of a gigabyte
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA cache_size=-1000000")
    db.execute("PRAGMA temp_store=MEMORY")
    one = lambda sql: db.execute(sql).fetchone()[0]  # noqa: E731
    seeded_orders = one('SELECT count(*) FROM "order"')
    seeded_customers = one("SELECT count(*) FROM customer")
    generate = total_orders - seeded_orders
    customers = max(seeded_customers, total_orders // ORDERS_PER_CUSTOMER)
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    offset = int(now.astimezone(zone).utcoffset().total_seconds())
    start = int(now.timestamp()) - SPAN_DAYS * 86400
    log(f"generating {customers - seeded_customers:,} customers and {generate:,} orders with "
        "their visits, tasks and history ...")
    db.execute("BEGIN")
    # texts borrowed from the seeded records, numbered from 0
    db.execute("CREATE TEMP TABLE c_src AS SELECT row_number() OVER (ORDER BY id) - 1 AS k, name, phone, "
               "website, address FROM customer")
    db.execute('CREATE TEMP TABLE o_src AS SELECT row_number() OVER (ORDER BY id) - 1 AS k, name, next_step '
               'FROM "order"')
    db.execute("CREATE TEMP TABLE v_src AS SELECT row_number() OVER (ORDER BY id) - 1 AS k, outcome, next_step, "
               "location_lat, location_lng, location_address FROM visit")
    db.execute("CREATE TEMP TABLE t_src AS SELECT row_number() OVER (ORDER BY id) - 1 AS k, title, notes FROM task")
    db.execute("CREATE TEMP TABLE owners AS SELECT row_number() OVER (ORDER BY id) - 1 AS k, id FROM atrium_users "
               "WHERE role IN ('sales_rep', 'sales_manager')")
    for source in ("c_src", "o_src", "v_src", "t_src", "owners"):  # lookups by k: an index, not a scan per row
        db.execute(f"CREATE INDEX temp.ix_{source}_k ON {source} (k)")
    n_owners, n_c, n_o = one("SELECT count(*) FROM owners"), one("SELECT count(*) FROM c_src"), \
        one("SELECT count(*) FROM o_src")
    n_v, n_t = one("SELECT count(*) FROM v_src"), one("SELECT count(*) FROM t_src")
    _run(db, "customers", f"""
        INSERT INTO customer (id, created_at, created_by, updated_at, updated_by, version, name, level, industry,
            region, phone, website, address, owner, tags, last_followup_at, lifetime_value, last_visit_at,
            open_orders)
        WITH RECURSIVE n(i) AS (SELECT {seeded_customers + 1} UNION ALL SELECT i + 1 FROM n WHERE i < {customers}),
        h AS (SELECT i, (i * 69621 + 7) % 2147483647 AS a, (i * 48271 + 11) % 2147483647 AS b,
                     {start} + (i * 86413) % ({SPAN_DAYS} * 86400) AS t FROM n)
        SELECT i, strftime({STAMP}, t, 'unixepoch'), NULL, strftime({STAMP}, t, 'unixepoch'), NULL, 1,
            s.name || ' ' || i,
            CASE a % 10 WHEN 0 THEN 'vip' WHEN 1 THEN 'a' WHEN 2 THEN 'a' WHEN 3 THEN 'b' WHEN 4 THEN 'b'
                WHEN 5 THEN 'b' ELSE 'c' END,
            CASE b % 9 WHEN 0 THEN 'retail' WHEN 1 THEN 'it_services' WHEN 2 THEN 'finance'
                WHEN 3 THEN 'healthcare' WHEN 4 THEN 'logistics' ELSE 'manufacturing' END,
            CASE a % 13 WHEN 0 THEN 'west' WHEN 1 THEN 'central' WHEN 2 THEN 'central' WHEN 3 THEN 'north'
                WHEN 4 THEN 'north' WHEN 5 THEN 'north' WHEN 6 THEN 'south' WHEN 7 THEN 'south'
                WHEN 8 THEN 'south' ELSE 'east' END,
            s.phone, s.website, s.address,
            CASE WHEN b % 10 = 0 THEN NULL ELSE (SELECT id FROM owners WHERE k = a % {n_owners}) END,
            CASE b % 4 WHEN 0 THEN '["key_account"]' WHEN 1 THEN '["listed"]' ELSE '[]' END,
            strftime({STAMP}, {int(now.timestamp())} - a % (60 * 86400), 'unixepoch'), 0, NULL, 0
        FROM h JOIN c_src s ON s.k = b % {n_c}""")
    years = {}
    for year, value in db.execute("SELECT name, value FROM atrium_sequences WHERE name LIKE 'order.code:ORD-%'"):
        years[year.rsplit("-", 2)[-2]] = value
    year_base = "CASE year " + " ".join(f"WHEN '{y}' THEN {v}" for y, v in years.items()) + " ELSE 0 END" \
        if years else "0"
    step = SPAN_DAYS * 86400 / generate
    stage_case = ("CASE WHEN a % 16 < 3 THEN 'initial_contact' WHEN a % 16 < 6 THEN 'needs_confirmed' "
                  "WHEN a % 16 < 9 THEN 'proposal' WHEN a % 16 < 11 THEN 'negotiation' "
                  "WHEN a % 16 < 14 THEN 'won' ELSE 'lost' END")
    probability = "CASE stage " + " ".join(f"WHEN '{s}' THEN {p}" for s, p in PROBABILITY.items()) + " END"
    open_list = ", ".join(f"'{s}'" for s in OPEN)
    today = now.astimezone(zone).date().isoformat()
    _run(db, "orders", f"""
        INSERT INTO "order" (id, created_at, created_by, updated_at, updated_by, version, code, name, customer,
            owner, amount, stage, expected_close, probability, weighted_amount, lost_reason, tags, next_step,
            margin)
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {generate}),
        h AS (SELECT i, {start} + CAST((i - 1) * {step} AS INTEGER) + (i * 7919) % {max(1, int(step))} AS t,
                     1 + (i * 48271 + 11) % {customers} AS cid, (i * 69621 + 7) % 2147483647 AS a,
                     (i * 16807 + 3) % 2147483647 AS b, (i * 40692 + 5) % 2147483399 AS c FROM n),
        s AS (SELECT h.*, {stage_case} AS stage, 5000 + (b % 19951) * 100 AS amount,
                     strftime('%Y', t + {offset}, 'unixepoch') AS year FROM h),
        p AS (SELECT s.*, {probability} AS probability,
                     row_number() OVER (PARTITION BY year ORDER BY i) AS seq FROM s)
        SELECT {seeded_orders} + i, strftime({STAMP}, t, 'unixepoch'), cu.owner, strftime({STAMP}, t, 'unixepoch'),
            cu.owner, 1, 'ORD-' || year || '-' || printf('%05d', {year_base} + seq), o.name, cid, cu.owner,
            amount, stage,
            CASE WHEN stage IN ({open_list}) THEN date('{today}', '+' || (b % 150) || ' days')
                 ELSE date(t, 'unixepoch', '+' || (c % 151) || ' days') END,
            probability, amount * probability / 100,
            CASE WHEN stage = 'lost' THEN CASE c % 12 WHEN 0 THEN 'other' WHEN 1 THEN 'timing' WHEN 2 THEN 'timing'
                 WHEN 3 THEN 'no_budget' WHEN 4 THEN 'no_budget' WHEN 5 THEN 'competitor' WHEN 6 THEN 'competitor'
                 WHEN 7 THEN 'competitor' ELSE 'price' END END,
            CASE c % 10 WHEN 0 THEN '["key_account"]' WHEN 1 THEN '["key_account"]' WHEN 2 THEN '["price_sensitive"]'
                 WHEN 3 THEN '["price_sensitive"]' WHEN 4 THEN '["long_decision_chain"]' ELSE '[]' END,
            (SELECT next_step FROM o_src WHERE k = a % {n_o}), amount * (8 + a % 28) / 100
        FROM p JOIN customer cu ON cu.id = p.cid JOIN o_src o ON o.k = c % {n_o}
        ORDER BY i""")
    for year, count in db.execute(f'SELECT substr(code, 5, 4), count(*) FROM "order" WHERE id > {seeded_orders} '
                                  "GROUP BY 1").fetchall():
        key = f"order.code:ORD-{year}-"
        db.execute("INSERT INTO atrium_sequences (name, value) VALUES (?, ?) "
                   "ON CONFLICT (name) DO UPDATE SET value = value + excluded.value", (key, count))
    day = lambda days: f"strftime({STAMP}, o.created_at, '+' || ({days}) || ' days')"  # noqa: E731
    _run(db, "visits", f"""
        INSERT INTO visit (created_at, created_by, updated_at, updated_by, version, customer, contact, "order",
            owner, planned_at, visited_at, status, purpose, outcome, next_step, location_lat, location_lng,
            location_address)
        SELECT {day('1 + k.j * 9')}, o.owner, {day('1 + k.j * 9')}, o.owner, 1, o.customer, NULL, o.id, o.owner,
            {day('2 + k.j * 9 + o.id % 12')},
            CASE WHEN (o.id + k.j) % 10 BETWEEN 3 AND 8 THEN {day('3 + k.j * 9 + o.id % 12')} END,
            CASE WHEN (o.id + k.j) % 10 < 3 THEN 'planned' WHEN (o.id + k.j) % 10 < 9 THEN 'done'
                 ELSE 'cancelled' END,
            CASE (o.id + k.j) % 6 WHEN 0 THEN 'first_visit' WHEN 1 THEN 'needs_analysis' WHEN 2 THEN 'demo'
                 WHEN 3 THEN 'negotiation' WHEN 4 THEN 'after_sales' ELSE 'relationship' END,
            v.outcome, v.next_step, v.location_lat, v.location_lng, v.location_address
        FROM "order" o JOIN (SELECT 0 AS j UNION ALL SELECT 1) k ON k.j < (o.id * 31) % 3
        JOIN v_src v ON v.k = (o.id * 7 + k.j) % {n_v}
        WHERE o.id > {seeded_orders} ORDER BY o.id, k.j""")
    _run(db, "tasks", f"""
        INSERT INTO task (created_at, created_by, updated_at, updated_by, version, title, "order", owner, due,
            done, notes)
        SELECT {day('2')}, o.owner, {day('2')}, o.owner, 1, t.title, o.id, o.owner,
            date(o.created_at, '+' || (o.id % 33) || ' days'), (o.id % 3 = 0), t.notes
        FROM "order" o JOIN t_src t ON t.k = o.id % {n_t}
        WHERE o.id > {seeded_orders} AND o.id % 3 = 0 ORDER BY o.id""")
    for entity, first in (("customer", seeded_customers), ("order", seeded_orders)):
        _run(db, f"history: {entity} created", f"""
            INSERT INTO atrium_history (entity, record_id, action, field, old_value, new_value, changed_at,
                changed_by)
            SELECT '{entity}', id, 'create', NULL, 'null', 'null', created_at, created_by FROM "{entity}"
            WHERE id > {first} ORDER BY id""")
    for entity, table in (("visit", "visit"), ("task", "task")):
        _run(db, f"history: {entity} created", f"""
            INSERT INTO atrium_history (entity, record_id, action, field, old_value, new_value, changed_at,
                changed_by)
            SELECT '{entity}', id, 'create', NULL, 'null', 'null', created_at, created_by FROM {table}
            WHERE "order" > {seeded_orders} ORDER BY id""")
    changes = [  # (field, which orders, old JSON, new JSON, days after creation)
        ("amount", "o.id % 4 = 0", "json_quote(printf('%.2f', o.amount * 0.9))",
         "json_quote(printf('%.2f', o.amount))", 6),
        ("next_step", "o.id % 6 = 1", "json_quote(v.next_step)", "json_quote(o.next_step)", 9),
        ("expected_close", "o.id % 5 = 2", "json_quote(date(o.expected_close, '-14 days'))",
         "json_quote(o.expected_close)", 12),
    ]
    for field, which, old, new, days in changes:
        _run(db, f"history: order {field} changed", f"""
            INSERT INTO atrium_history (entity, record_id, action, field, old_value, new_value, changed_at,
                changed_by)
            SELECT 'order', o.id, 'update', '{field}', {old}, {new}, {day(str(days))}, o.owner
            FROM "order" o JOIN o_src v ON v.k = o.id % {n_o}
            WHERE o.id > {seeded_orders} AND {which} ORDER BY o.id""")
    walks = []
    for final in STAGES:
        variants = range(4) if final == "lost" else [0]
        for variant in variants:
            path = OPEN[:variant + 1] + ["lost"] if final == "lost" else \
                OPEN + ["won"] if final == "won" else OPEN[:OPEN.index(final) + 1]
            for step, (source, target) in enumerate(zip([None] + path[:-1], path, strict=False)):
                walks.append(f"('{final}', {variant}, {step}, "
                             f"{'NULL' if source is None else repr(source)}, '{target}')")
    _run(db, "stage history", f"""
        WITH walk(final, variant, step, from_stage, to_stage) AS (VALUES {', '.join(walks)})
        INSERT INTO atrium_stage_history (entity, record_id, pipeline, from_stage, to_stage, changed_at,
            changed_by, seconds_in_from)
        SELECT 'order', o.id, 'order', w.from_stage, w.to_stage, {day('w.step * (3 + o.id % 9)')}, o.owner,
            CASE WHEN w.step > 0 THEN (3 + o.id % 9) * 86400.0 END
        FROM "order" o JOIN walk w ON w.final = o.stage
            AND w.variant = CASE WHEN o.stage = 'lost' THEN o.id % 4 ELSE 0 END
        WHERE o.id > {seeded_orders} ORDER BY o.id, w.step""")
    db.execute("COMMIT")
    counts = {name: one(f'SELECT count(*) FROM "{name}"') for name in
              ("customer", "order", "visit", "task", "atrium_history", "atrium_stage_history", "atrium_users")}
    db.execute("PRAGMA journal_mode=WAL")  # as the application runs it
    db.close()
    return counts


if __name__ == "__main__":
    build_or_reuse(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/tmp/atrium-bench/orders-1m.db"),
                   int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000)
