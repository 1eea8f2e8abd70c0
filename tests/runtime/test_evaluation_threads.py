"""One site serves request threads, the scheduler and import workers at once: the expressions each
of them evaluates (defaults, formulas, checks) answer for its own entity and acting user."""
from __future__ import annotations

import threading

from blueprint_factory import make_blueprint

from atrium.runtime.records.evaluation import Actor
from atrium.runtime.records.service import RecordService
from atrium.runtime.schema.database import create_engine

# two entities whose formulas read the acting user and the entity's own pipeline
ENTITIES = {
    name: {"owner": "owner", "fields": {
        "title": {"type": "text"},
        "owner": {"type": "user", "default": "current_user()"},
        "mine": {"type": "boolean", "formula": "owner == current_user()"},
        "stage": {"type": "stage", "pipeline": name},
        "chance": {"type": "percent", "formula": "stage_probability(stage)"},
    }} for name in ("deal", "bid")
}
PIPELINES = {name: {"entity": name, "field": "stage", "transitions": "any",
                    "stages": [{"name": "open", "probability": chance}, {"name": "won", "probability": 100,
                                                                         "outcome": "won"}]}
             for name, chance in (("deal", 10), ("bid", 70))}
ANN = Actor(user_id=11, name="ann", role="rep")
BOB = Actor(user_id=22, name="bob", role="manager")


def service(tmp_path) -> RecordService:
    blueprint = make_blueprint(tmp_path / "bp", ENTITIES, PIPELINES)
    return RecordService(blueprint, create_engine(f"sqlite:///{tmp_path / 'unused.db'}"))


def test_two_threads_evaluating_at_once_each_get_their_own_user_and_entity(tmp_path):
    records = service(tmp_path)
    start = threading.Barrier(2)
    wrong: list[tuple] = []

    def prepare_many(entity: str, actor: Actor, chance: int) -> None:
        model = records.entity(entity)
        start.wait()
        for i in range(3000):
            record, errors = records.rules.prepare(model, None, {"title": f"{entity} {i}"}, actor)
            seen = (record["owner"], record["mine"], record["chance"], errors)
            if seen != (actor.user_id, True, chance, {}):
                wrong.append((entity, actor.name, seen))

    threads = [threading.Thread(target=prepare_many, args=args)
               for args in (("deal", ANN, 10), ("bid", BOB, 70))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert wrong == []


def test_a_binding_is_its_own_and_a_later_one_does_not_change_it(tmp_path):
    records = service(tmp_path)
    deal = records.entity("deal")
    for_ann = records.rules.evaluator.bind("deal", ANN)
    records.rules.evaluator.bind("bid", BOB)  # e.g. a nested write by an automation, or another thread
    formula = deal.fields["mine"].formula
    assert for_ann.evaluate(formula, {"owner": 11}) is True
    assert for_ann.evaluate(deal.fields["chance"].formula, {"stage": "open"}) == 10
    assert records.rules.evaluator.bind("deal", ANN) is for_ann  # kept for the next write by ann


def test_the_server_scheduler_shares_the_site_with_requests_writing_at_the_same_time(tmp_path, database_url):
    import datetime as dt

    from pool_kit import START, clock_at, pool_rows, pool_site

    from atrium.runtime.access.secured import SecuredRecords
    from atrium.runtime.automation.scheduler import Scheduler
    site, people = pool_site(tmp_path, database_url, clock_at())
    idle = [site.records.create("account", {"name": f"Idle {i}", "owner": people.rep2.user_id,
                                            "last_touch_at": START - dt.timedelta(days=40)})["id"] for i in range(50)]
    home = site.records.create("account", {"name": "Home", "owner": people.rep1.user_id})
    scheduler = Scheduler(site, interval=0.05)
    assert scheduler.site is site  # no private copy of the services
    scheduler.start()
    try:  # meanwhile a request thread writes records whose owner defaults to current_user()
        made = [SecuredRecords(site).create(people.rep1, "person", {"account": home["id"], "name": f"P{i}"})
                for i in range(60)]
        for _ in range(400):
            if len(pool_rows(site)) == len(idle):
                break
            threading.Event().wait(0.05)
    finally:
        scheduler.stop()
    assert {person["owner"] for person in made} == {people.rep1.user_id}
    assert [site.records.get("account", i)["owner"] for i in idle] == [None] * len(idle)
    assert pool_rows(site) == [("recycle", None, people.rep2.user_id, "recycle")] * len(idle)
    site.engine.dispose()
