"""The sequence the demo plan makes entities in: each after the entities it links to, except a link
the plan leaves empty (`{value: null}`) to an entity the plan makes later, so adding such an entity
at the end of a plan leaves the demo records made before it as they were."""
from __future__ import annotations

from atrium.runtime.seed.seeding import _entity_plan


def sequence(blueprint, plan):
    return [entity.name for entity, _, _ in _entity_plan(blueprint, plan, 10, [])]


def test_an_empty_link_to_an_entity_made_later_does_not_make_the_entity_wait(b2b):
    made = sequence(b2b, b2b.seed.data)
    assert made.index("order") < made.index("case_study")  # order.case_study is left empty by the plan
    assert made[-2:] == ["expense", "case_study"]  # listed last, made last
    assert made.index("order") < made.index("lead")  # lead.converted_order: empty, but order comes first anyway


def test_a_link_the_plan_fills_makes_the_entity_wait(b2b):
    plan = dict(b2b.seed.data)
    plan["entities"] = {name: dict(entry) for name, entry in plan["entities"].items()}
    fields = dict(plan["entities"]["order"]["fields"])
    del fields["case_study"]  # unplanned: the order may link to a random case, which must exist first
    plan["entities"]["order"] = {**plan["entities"]["order"], "fields": fields}
    made = sequence(b2b, plan)
    assert made.index("case_study") < made.index("order")
