import sqlalchemy as sa

from atrium.runtime.schema.migrations import migrate
from atrium.runtime.seed.seeding import seed_demo


def test_design_examples_migrate(engine, design_blueprint, count_rows):
    plan = migrate(engine, design_blueprint)
    assert any(step.action == "create_table" and step.table == "order" for step in plan.steps)
    assert count_rows("order") == 0
    assert not migrate(engine, design_blueprint).changes


def test_migrating_and_seeding_leave_the_query_planner_statistics(engine, b2b):
    """After a migration and a seed the planner knows each table's size (SQLite: sqlite_stat1,
    PostgreSQL: pg_class.reltuples), so it picks indexes from evidence, not from their shape."""
    migrate(engine, b2b)
    seed_demo(b2b, engine, scale=20)
    some = next(iter(b2b.entities))
    with engine.connect() as c:
        rows = c.execute(sa.select(sa.func.count()).select_from(sa.table(some))).scalar()
        if engine.dialect.name == "sqlite":
            counted = {int(stat.split()[0]) for stat in c.execute(
                sa.text("SELECT stat FROM sqlite_stat1 WHERE tbl = :t"), {"t": some}).scalars()}
        else:
            counted = {c.execute(sa.text("SELECT reltuples FROM pg_class WHERE oid = to_regclass(:t)"),
                                 {"t": f'"{some}"'}).scalar()}
    assert rows > 0 and counted == {rows}
