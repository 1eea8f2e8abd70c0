"""What it takes (runtime/reports/what_it_takes.py), on the b2b blueprint with a handful of records
written here: the needs equal a hand computation, a viewer without history is told so (no division
by zero), a reached goal needs nothing, a rep's own figures never count another rep's records, and
the comparison with peers shows only per-owner aggregates (team: among what the viewer reads;
company: everyone's, by the system)."""
from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from pathlib import Path

import pytest
from dashboard_kit import ZONE, bounds, money, query, seeded_site, widget
from report_kit import module_database

from atrium.metadata import load_blueprint
from atrium.runtime.access import users
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.reports.runner import Reports
from atrium.runtime.reports.what_it_takes import WhatItTakes, chain, ratio
from atrium.runtime.schema.migrations import migrate
from atrium.runtime.site.site import Site

pytestmark = pytest.mark.database

NOW = dt.datetime(2026, 5, 15, 4, 0, tzinfo=dt.timezone.utc)  # noon in Asia/Shanghai
TODAY = dt.date(2026, 5, 15)
MARCH = dt.date(2026, 3, 10)  # inside the last 180 days
LONG_AGO = dt.date(2025, 6, 1)  # outside them
B2B = Path(__file__).resolve().parents[2] / "blueprints" / "b2b_sales"
CLOCK = [NOW]  # fill() moves it back for a record made long ago
PEOPLE = (("rep1", "sales_rep", "east"), ("rep2", "sales_rep", "east"), ("rep3", "sales_rep", "south"),
          ("manager", "sales_manager", "east"))


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    blueprint = load_blueprint(B2B)
    with module_database(tmp_path_factory) as (engine, url):
        migrate(engine, blueprint)
        site = Site.open(blueprint, url, engine=engine, clock=lambda: CLOCK[0])
        actors = {}
        with engine.begin() as connection:
            teams = {"east": users.add_team(connection, site.tables, "east")}
            teams["south"] = users.add_team(connection, site.tables, "south", parent="east")
            for name, role, team in PEOPLE:
                user_id = users.add_user(connection, site.tables, blueprint, name, role, team=team)
                actors[name] = Actor(user_id, name, role, teams[team], "en")
        fill(site, actors)
        yield site, actors


def fill(site, actors) -> None:
    """rep1: won 1,000 this month; over the history 3 won orders (1,000 + 3,000 + 2,000 = 6,000) of
    6 orders created, 4 visits done, 2 leads; one won order long ago (outside the window). rep2: one
    won order of 5,000 this month, 2 orders created, 1 visit, 1 lead. rep3: nothing. Targets:
    rep1 10,000 and rep2 4,000 of revenue this month; rep3 8,000."""
    def won(actor, amount, on):
        order = make_order(actor, amount)
        site.records.update("order", order["id"], {"stage": "won", "expected_close": on, "won_on": on}, actor)

    def make_order(actor, amount):
        customer = site.records.create("customer", {"name": f"{actor.name} {amount} {uuid()}"}, actor)
        return site.records.create("order", {"name": "Deal", "customer": customer["id"], "amount": amount,
                                             "expected_close": TODAY + dt.timedelta(days=20)}, actor)

    def visit(actor):
        customer = site.records.create("customer", {"name": f"{actor.name} visit {uuid()}"}, actor)
        at = NOW - dt.timedelta(days=3)
        site.records.create("visit", {"customer": customer["id"], "planned_at": at, "visited_at": at,
                                      "status": "done"}, actor)

    def lead(actor):
        site.records.create("lead", {"company": f"Lead {uuid()}", "contact_name": "Ms Wu"}, actor)

    rep1, rep2 = actors["rep1"], actors["rep2"]
    won(rep1, 1000, TODAY)
    won(rep1, 3000, MARCH)
    won(rep1, 2000, MARCH)
    for _ in range(3):
        make_order(rep1, 700)
    for _ in range(4):
        visit(rep1)
    for _ in range(2):
        lead(rep1)
    won(rep2, 5000, TODAY)
    make_order(rep2, 100)
    visit(rep2)
    lead(rep2)
    for name, amount in (("rep1", 10000), ("rep2", 4000), ("rep3", 8000)):
        site.records.create("sales_target", {"owner": actors[name].user_id, "metric": "revenue", "period": TODAY,
                                             "amount": amount, "status": "approved",
                                             "approved_by": actors["manager"].user_id})
    # rep1's order made and won long ago is outside the history window
    CLOCK[0] = dt.datetime.combine(LONG_AGO, dt.time(4), dt.timezone.utc)
    won(rep1, 90000, LONG_AGO)
    CLOCK[0] = NOW


COUNTER = iter(range(10**6))


def uuid() -> int:
    return next(COUNTER)


def spec(compare: str = "none", dashboard: str = "sales_rep", site=None) -> dict:
    found = next(w for w in site.blueprint.dashboards[dashboard]["widgets"] if w["type"] == "what_it_takes")
    return {**dict(found), "compare": compare}


def plan(world, who: str, compare: str = "none", goal="target", dashboard="sales_rep"):
    site, actors = world
    reports = Reports(site)
    with site.engine.connect() as connection:
        if goal == "target":
            goal = reports.target(actors[who], "revenue", "month", connection)
        return WhatItTakes(reports).plan(actors[who], spec(compare, dashboard, site), goal, connection)


def test_the_needs_equal_a_hand_computation(world):
    result = plan(world, "rep1")
    # goal 10,000 - achieved 1,000 = 9,000 still to go
    assert (result.goal, result.achieved, result.remaining, result.reached) == (10000, 1000, 9000, False)
    # history (last 180 days): won 6,000 in 3 deals, 6 orders created, 4 visits, 2 leads
    assert [s.history for s in result.steps] == [6000, 3, 6, 4, 2]
    ratios = [s.ratio for s in result.steps]
    assert ratios[0] is None and ratios[1] == 2000  # average deal 6,000 / 3
    assert ratios[2] == Decimal("0.5")  # 3 won of 6 opportunities
    assert ratios[3] == Decimal("1.5")  # 6 opportunities from 4 visits
    assert ratios[4] == 2  # 4 visits from 2 leads
    # deals ceil(9,000 / 2,000) = 5; opportunities ceil(5 / 0.5) = 10; visits ceil(10 / 1.5) = 7;
    # leads ceil(7 / 2) = 4
    assert [s.need for s in result.steps] == [9000, 5, 10, 7, 4]
    assert result.enough_history


def test_a_viewer_without_history_is_told_so_and_nothing_divides_by_zero(world):
    result = plan(world, "rep3")
    assert (result.goal, result.achieved, result.remaining) == (8000, 0, 8000)
    assert [s.history for s in result.steps] == [0, 0, 0, 0, 0]
    assert all(s.ratio is None and s.need is None for s in result.steps[1:])
    assert not result.enough_history


def test_a_reached_goal_needs_nothing_and_never_a_negative(world):
    result = plan(world, "rep2")  # target 4,000, won 5,000
    assert result.reached and result.remaining == 0
    assert [s.need for s in result.steps] == [0, 0, 0, 0, 0]
    assert plan(world, "rep1", goal=500).reached  # a number as the goal
    assert chain(Decimal(100), Decimal(40), [Decimal(0), Decimal(5)])[1][1] == (None, None)


def test_a_reps_own_figures_never_count_another_reps_records(world):
    rep2 = plan(world, "rep2")
    assert rep2.achieved == 5000
    assert [s.history for s in rep2.steps] == [5000, 1, 2, 1, 1]
    # the manager reads the team (east and its sub-team south): both reps' figures add up
    manager = plan(world, "manager", dashboard="sales_manager")
    assert manager.goal == 22000 and manager.achieved == 6000
    assert [s.history for s in manager.steps] == [11000, 4, 8, 5, 3]


def test_team_comparison_is_among_what_the_viewer_reads(world):
    # a rep reads only their own records: the team average and the best are their own
    mine = plan(world, "rep1", compare="team")
    assert mine.achieved_compared.own == 1000 and mine.achieved_compared.peers == 1
    assert (mine.steps[1].compared.own, mine.steps[1].compared.average, mine.steps[1].compared.best) == \
        (2000, 2000, 2000)
    # the manager compares the reps (peers: sales_rep): average deal 2,000 and 5,000
    team = plan(world, "manager", compare="team", dashboard="sales_manager")
    deal = team.steps[1].compared
    assert (deal.own, deal.average, deal.best, deal.peers) == (None, 3500, 5000, 2)
    assert team.achieved_compared.average == 3000 and team.achieved_compared.best == 5000


def test_company_comparison_gives_a_rep_only_the_average_and_the_best(world):
    mine = plan(world, "rep1", compare="company")
    deal = mine.steps[1].compared
    assert (deal.own, deal.average, deal.best, deal.peers) == (2000, 3500, 5000, 2)
    win = mine.steps[2].compared  # won / opportunities: rep1 3 / 6, rep2 1 / 2
    assert (win.own, win.average, win.best) == (Decimal("0.5"), Decimal("0.5"), Decimal("0.5"))
    # the rep's own chain stays their own
    assert [s.history for s in mine.steps] == [6000, 3, 6, 4, 2]


def test_company_figures_of_many_peers_group_every_owner_and_compare_the_same(world, monkeypatch):
    """Past MAX_LISTED_OWNERS peers the per-owner statement is not narrowed to them: same figures."""
    from atrium.runtime.reports import what_it_takes

    listed = plan(world, "rep1", compare="company")
    monkeypatch.setattr(what_it_takes, "MAX_LISTED_OWNERS", 1)
    everyone = plan(world, "rep1", compare="company")
    assert everyone.achieved_compared == listed.achieved_compared
    assert [s.compared for s in everyone.steps] == [s.compared for s in listed.steps]


# --- the demo data: the widget's numbers against a hand computation in plain SQL ----------------

HAND = {
    "goal": """SELECT sum(amount) FROM sales_target o WHERE metric = 'revenue' AND status = 'approved'
               AND month >= :month AND month < :next_month {scope}""",
    "achieved": """SELECT coalesce(sum(amount), 0) FROM "order" o WHERE stage = 'won' AND won_on >= :month
                   AND won_on < :next_month {scope}""",
    "won": """SELECT coalesce(sum(amount), 0), count(*) FROM "order" o WHERE stage = 'won' AND won_on >= :first
              AND won_on < :tomorrow {scope}""",
    "opportunities": """SELECT count(*) FROM "order" o WHERE created_at >= :start AND created_at < :end {scope}""",
    "visits": """SELECT count(*) FROM visit o WHERE status = 'done' AND visited_at >= :start AND visited_at < :end
                 {scope}""",
    "leads": """SELECT count(*) FROM lead o WHERE created_at >= :start AND created_at < :end {scope}""",
}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    with seeded_site(tmp_path_factory, scale=40) as site:
        yield site


def by_hand(site, user: str) -> tuple[Decimal, Decimal, list[Decimal], list]:
    """Goal, achieved, the history of each step and each need, from the database by hand."""
    today = bounds()["today"]
    first = today - dt.timedelta(days=179)  # the last 180 days, today included
    start = dt.datetime.combine(first, dt.time(), ZONE).astimezone(dt.timezone.utc)
    end = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), ZONE).astimezone(dt.timezone.utc)

    def one(key: str) -> tuple:
        times = {"start": start, "end": end} if ":start" in HAND[key] else {}
        return query(site, HAND[key], user, first=first, **times)[0]

    goal, achieved = Decimal(str(one("goal")[0])), Decimal(str(one("achieved")[0]))
    won_amount, won_count = one("won")
    history = [Decimal(str(won_amount)), Decimal(won_count), Decimal(one("opportunities")[0]),
               Decimal(one("visits")[0]), Decimal(one("leads")[0])]
    need: object = max(goal - achieved, Decimal(0))
    needs = [need]
    for before, this in zip(history, history[1:], strict=False):
        if need is None or not before or not this:
            need = None
        else:
            need = math.ceil(need / (before / this)) if need > 0 else 0  # type: ignore[operator]
        needs.append(need)
    return goal, achieved, history, needs


@pytest.mark.parametrize("user, dashboard", [("rep2", "sales_rep"), ("manager", "sales_manager")])
def test_on_the_demo_data_the_widget_equals_a_hand_computation(demo, user, dashboard):
    goal, achieved, history, needs = by_hand(demo, user)
    assert goal > 0 and all(history), "the demo data gives the viewer a target and a history"
    plan = widget(demo, user, dashboard, "what_it_takes").plan
    assert (money(plan["goal"]), money(plan["achieved"])) == (money(goal), money(achieved))
    assert money(plan["remaining"]) == money(max(goal - achieved, Decimal(0)))
    assert [money(s["before_history"]) for s in plan["steps"]] == [money(h) for h in history[:-1]]
    assert plan["steps"][-1]["history"] == history[-1]
    assert [s["need"] for s in plan["steps"]] == needs[1:]
    assert money(plan["steps"][0]["ratio"]) == money(history[0] / history[1])  # the average deal


def test_on_the_demo_data_a_kpi_compares_visits_with_the_visits_target(demo):
    start = dt.datetime.combine(bounds()["month"], dt.time(), ZONE).astimezone(dt.timezone.utc)
    end = dt.datetime.combine(bounds()["next_month"], dt.time(), ZONE).astimezone(dt.timezone.utc)
    [(visits,)] = query(demo, """SELECT count(*) FROM visit o WHERE status = 'done' AND visited_at >= :start
        AND visited_at < :end {scope}""", "rep1", start=start, end=end)
    [(goal,)] = query(demo, """SELECT sum(amount) FROM sales_target o WHERE metric = 'visits' AND status = 'approved'
        AND month >= :month AND month < :next_month {scope}""", "rep1")
    kpi = widget(demo, "rep1", "sales_rep", "visits_this_month").kpi
    assert kpi["value"] == visits and kpi["target"] == goal == 20


def test_with_the_team_comparison_the_totals_come_from_the_per_owner_groups_and_equal_the_reports(world):
    """Compared by team, each figure is read once, grouped by owner: the viewer's totals are the
    sum of the groups and must equal the reports' own totals (no comparison: one total each)."""
    for who, dashboard in (("rep1", "sales_rep"), ("rep2", "sales_rep"), ("rep3", "sales_rep"),
                           ("manager", "sales_manager")):
        alone = plan(world, who, dashboard=dashboard)
        grouped = plan(world, who, compare="team", dashboard=dashboard)
        assert (grouped.goal, grouped.achieved, grouped.remaining) == (alone.goal, alone.achieved, alone.remaining)
        assert [(s.history, s.ratio, s.need) for s in grouped.steps] == \
            [(s.history, s.ratio, s.need) for s in alone.steps]


def test_the_team_comparison_reads_each_figure_once(world):
    site, actors = world
    reports = Reports(site)
    ran = []
    run_document, run = reports.run_document, reports.run
    owners = []
    reports.run_document = lambda *a, **k: ran.append(a[1].name) or owners.append(a[2].owners) or \
        run_document(*a, **k)
    reports.run = lambda *a, **k: ran.append(a[1]) or run(*a, **k)
    with site.engine.connect() as connection:
        goal = reports.target(actors["manager"], "revenue", "month", connection)
        WhatItTakes(reports).plan(actors["manager"], spec("team", "sales_manager", site), goal, connection)
    widget_spec = spec("team", "sales_manager", site)
    assert len(ran) == 1 + len(widget_spec["steps"])
    # the team scope's owners listed in each statement (what lets SQLite read the owner index alone);
    # the figures equal the reports' totals (test above) and the hand computations (tests before)
    team = tuple(sorted(actors[name].user_id for name in ("rep1", "rep2", "rep3", "manager")))
    assert owners == [team] * len(ran)


def test_after_a_write_the_figures_are_right_and_those_of_other_entities_are_kept(demo):
    """The dashboard keeps each figure of the chain under the change counters of its own tables: a
    visit written shows in the visits figure; an order written shows in the order figures without the
    visits figure being read again. Every time the widget equals the hand computation."""
    from dashboard_kit import actor_of, widget_index
    from sqlalchemy import event

    from atrium.ui.reports.filters import Filters
    from atrium.ui.reports.widget_cache import WidgetCache
    from atrium.ui.reports.widgets import WidgetMaker

    site, cache = demo, WidgetCache()
    document = site.blueprint.dashboards["sales_manager"]
    index = widget_index(site, "sales_manager", "what_it_takes")
    statements: list[str] = []
    read: list[str] = []  # what the last widget computation ran

    def listen(conn, cursor, statement, *_):
        statements.append(statement)

    def shown() -> dict:
        statements.clear()
        with site.engine.connect() as connection:
            made = WidgetMaker(site, actor_of(site, "manager"), "en", document, Filters(), connection,
                               cache, ("test",)).make(index)
        read[:] = statements
        assert made.notice is None, made.notice
        _, achieved, history, needs = by_hand(site, "manager")
        assert money(made.plan["achieved"]) == money(achieved)
        assert [money(s["before_history"]) for s in made.plan["steps"]] == [money(h) for h in history[:-1]]
        assert made.plan["steps"][-1]["history"] == history[-1]
        assert [s["need"] for s in made.plan["steps"]] == needs[1:]
        return made.plan

    def read_visits() -> bool:
        return any("FROM visit" in s for s in read)

    event.listen(site.engine, "before_cursor_execute", listen)
    try:
        before = shown()
        assert read_visits()
        shown()
        assert not read_visits()  # nothing written: every figure kept
        manager = actor_of(site, "manager")
        team = {r for (r,) in query(site, "SELECT id FROM visit o WHERE status <> 'done' {scope}", "manager")}
        site.records.update("visit", min(team), {"status": "done", "visited_at": dt.datetime.now(dt.timezone.utc)},
                            manager)
        after_visit = shown()
        assert read_visits()
        assert after_visit["steps"][-2]["history"] == before["steps"][-2]["history"] + 1  # visits done
        [(order, amount)] = query(site, """SELECT id, amount FROM "order" o WHERE stage = 'won'
            AND won_on >= :first AND won_on < :tomorrow {scope} ORDER BY id LIMIT 1""", "manager",
                                  first=bounds()["today"] - dt.timedelta(days=179))
        site.records.update("order", order, {"amount": money(amount) + 1000}, manager)
        after_order = shown()
        assert not read_visits()  # the visits figure is kept: no visit was written
        assert money(after_order["steps"][0]["before_history"]) == money(before["steps"][0]["before_history"]) + 1000
    finally:
        event.remove(site.engine, "before_cursor_execute", listen)


PER_OWNER = {
    "achieved": """SELECT owner, coalesce(sum(amount), 0) FROM "order" WHERE stage = 'won' AND won_on >= :month
                   AND won_on < :next_month GROUP BY owner""",
    "won": """SELECT owner, coalesce(sum(amount), 0), count(*) FROM "order" WHERE stage = 'won' AND won_on >= :first
              AND won_on < :tomorrow GROUP BY owner""",
    "opportunities": """SELECT owner, count(*) FROM "order" WHERE created_at >= :start AND created_at < :end
                        GROUP BY owner""",
    "visits": """SELECT owner, count(*) FROM visit WHERE status = 'done' AND visited_at >= :start AND visited_at < :end
                 GROUP BY owner""",
    "leads": """SELECT owner, count(*) FROM lead WHERE created_at >= :start AND created_at < :end GROUP BY owner""",
}


def company_by_hand(site) -> tuple[dict, list[dict]]:
    """Every rep's achieved value and chain history, by hand over every record (the company)."""
    today = bounds()["today"]
    first = today - dt.timedelta(days=179)
    start = dt.datetime.combine(first, dt.time(), ZONE).astimezone(dt.timezone.utc)
    end = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), ZONE).astimezone(dt.timezone.utc)

    def grouped(key: str) -> dict:
        times = {"start": start, "end": end} if ":start" in PER_OWNER[key] else {}
        return {row[0]: row[1:] for row in query(site, PER_OWNER[key], "admin", first=first, **times)}

    achieved = {o: Decimal(str(v[0])) for o, v in grouped("achieved").items()}
    won = grouped("won")
    figures = [{o: Decimal(str(v[0])) for o, v in won.items()}, {o: Decimal(v[1]) for o, v in won.items()}]
    figures += [{o: Decimal(v[0]) for o, v in grouped(key).items()} for key in ("opportunities", "visits", "leads")]
    return achieved, figures


def assert_compared_by_hand(site, user: str, made_plan: dict) -> None:
    """The rep's own chain equals the reports' totals; the average and best equal the hand computation
    over every rep's records (peers: the reps with any figure)."""
    _, achieved, history, needs = by_hand(site, user)
    assert money(made_plan["achieved"]) == money(achieved)
    assert [money(s["before_history"]) for s in made_plan["steps"]] == [money(h) for h in history[:-1]]
    assert [s["need"] for s in made_plan["steps"]] == needs[1:]
    company_achieved, figures = company_by_hand(site)
    [(me,)] = query(site, "SELECT id FROM atrium_users WHERE name = :name", "admin", name=user)
    reps = {r for (r,) in query(site, "SELECT id FROM atrium_users WHERE role = 'sales_rep'", "admin")}
    having = reps & (set(company_achieved).union(*figures))
    zero = Decimal(0)

    def close(value) -> Decimal | None:
        return None if value is None else Decimal(value).quantize(Decimal("0.000001"))

    mine = made_plan["achieved_compared"]
    values = [company_achieved.get(o, zero) for o in having]
    assert (money(mine.own), money(mine.average), money(mine.best), mine.peers) == \
        (money(company_achieved.get(me, zero)), money(sum(values) / len(values)), money(max(values)), len(values))
    for i, step in enumerate(made_plan["steps"], start=1):
        rates = {o: ratio(figures[i - 1].get(o, zero), figures[i].get(o, zero)) for o in having | {me}}
        others = [r for o, r in rates.items() if o in having and r is not None]
        compared = step["compared"]
        assert (close(compared.own), compared.peers) == (close(rates[me]), len(others)), (user, i)
        if others:
            assert (close(compared.average), close(compared.best)) == \
                (close(sum(others) / len(others)), close(max(others))), (user, i)


def test_the_company_comparison_is_read_once_for_every_rep_and_equals_the_base_tables(demo):
    """Compared with the company, the per-owner figures are the same for every rep: the second rep's
    widget reads none of them again (only that rep's own totals), and after one rep writes an order
    another sees the comparison move. Every time it equals a hand computation over every record."""
    from dashboard_kit import actor_of, widget_index
    from sqlalchemy import event

    from atrium.ui.reports.filters import Filters
    from atrium.ui.reports.widget_cache import WidgetCache
    from atrium.ui.reports.widgets import WidgetMaker

    site, cache = demo, WidgetCache()
    document = site.blueprint.dashboards["sales_rep"]
    index = widget_index(site, "sales_rep", "what_it_takes")
    assert document["widgets"][index]["compare"] == "company"
    statements: list[str] = []

    def listen(conn, cursor, statement, *_):
        statements.append(statement)

    def shown(user: str) -> tuple[dict, int]:
        statements.clear()
        actor = actor_of(site, user)
        with site.engine.connect() as connection:
            made = WidgetMaker(site, actor, "en", document, Filters(), connection, cache,
                               ("test", actor.user_id)).make(index)
        grouped = sum("GROUP BY" in s for s in statements)
        assert made.notice is None, made.notice
        assert_compared_by_hand(site, user, made.plan)
        return made.plan, grouped

    event.listen(site.engine, "before_cursor_execute", listen)
    try:
        before, grouped = shown("rep1")
        assert grouped == 6  # the achieved value and five steps, per owner
        assert shown("rep2")[1] == 0  # kept from rep1's widget
        rep2 = actor_of(site, "rep2")
        customer = site.records.create("customer", {"name": "Company comparison"}, rep2)
        site.records.create("order", {"name": "Deal", "customer": customer["id"], "amount": 500,
                                      "expected_close": bounds()["today"] + dt.timedelta(days=20)}, rep2)
        after, grouped = shown("rep1")
        assert 0 < grouped < 6  # the order figures again, not the visits nor the leads
        assert after["steps"][1]["compared"].best < before["steps"][1]["compared"].best  # rep2's win rate fell
    finally:
        event.remove(site.engine, "before_cursor_execute", listen)
