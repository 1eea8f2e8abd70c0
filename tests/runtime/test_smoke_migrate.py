from atrium.runtime.migrations import migrate


def test_design_examples_migrate(engine, design_blueprint, count_rows):
    plan = migrate(engine, design_blueprint)
    assert any(step.action == "create_table" and step.table == "order" for step in plan.steps)
    assert count_rows("order") == 0
    assert not migrate(engine, design_blueprint).changes
