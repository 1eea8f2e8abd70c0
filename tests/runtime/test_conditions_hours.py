"""Hour-level and open-ended time conditions: `older_than_hours`, `within_last_hours` (date-time
fields, counted on the instant) and `until` (up to the end of a relative period), compiled and run
on SQLite and PostgreSQL with a fixed clock, a daylight-saving change included."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from automation_kit import Clock, blueprint_with
from blueprint_factory import make_blueprint

from atrium.metadata import BlueprintError
from atrium.runtime.query.conditions import ConditionError, Joins, compile_condition
from atrium.runtime.schema.migrations import migrate
from atrium.runtime.site.site import Site

UTC = dt.timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")
ENTITIES = {"job": {"fields": {"name": {"type": "text", "required": True},
                               "at": {"type": "datetime"}, "on": {"type": "date"}}}}
# Sunday 29 March 2026, noon in Berlin: clocks went from 02:00 to 03:00 this morning, so this day
# has 23 hours and wall-clock arithmetic (noon minus 24 h = yesterday noon) is an hour off.
AFTER_DST = dt.datetime(2026, 3, 29, 12, 0, tzinfo=BERLIN)


@pytest.fixture
def jobs(tmp_path, database_url):
    blueprint = make_blueprint(tmp_path / "bp", ENTITIES, timezone="Europe/Berlin")
    clock = Clock(AFTER_DST)
    site = Site.open(blueprint, database_url, clock=clock)
    migrate(site.engine, blueprint)
    yield site, clock
    site.engine.dispose()


def add(site, name, at=None, on=None):
    table = site.tables["job"]
    with site.engine.begin() as connection:
        connection.execute(table.insert().values(name=name, at=at, on=on, version=1,
                                                 created_at=site.now(), updated_at=site.now()))


def names(site, condition, now=None) -> list[str]:
    joins = Joins(site.blueprint, site.tables, "job")
    where = compile_condition(joins, condition, now or site.now(), site.blueprint.timezone)
    with site.engine.connect() as connection:
        return sorted(connection.execute(sa.select(joins.base.c.name).select_from(joins.from_clause)
                                         .where(where)).scalars())


def cutoff(site, condition, now) -> dt.datetime:
    """The instant a condition compares with, as bound into its SQL."""
    where = compile_condition(Joins(site.blueprint, site.tables, "job"), condition, now, site.blueprint.timezone)
    values = [v for v in where.compile().params.values() if isinstance(v, dt.datetime)]
    return values[0]


def hours_before(moment: dt.datetime, hours: float) -> dt.datetime:
    return moment.astimezone(UTC) - dt.timedelta(hours=hours)


@pytest.mark.parametrize("now", [AFTER_DST, AFTER_DST.astimezone(UTC),
                                 AFTER_DST.astimezone(dt.timezone(dt.timedelta(hours=8)))],
                         ids=["berlin", "utc", "shanghai"])
def test_the_cutoff_is_the_instant_minus_the_hours_whatever_zone_the_clock_gives(jobs, now):
    site, _ = jobs
    assert cutoff(site, {"at": {"older_than_hours": 24}}, now) == dt.datetime(2026, 3, 28, 10, 0, tzinfo=UTC)
    assert cutoff(site, {"at": {"within_last_hours": 4}}, now) == dt.datetime(2026, 3, 29, 6, 0, tzinfo=UTC)


def test_older_than_hours_is_strictly_more_than_n_hours_ago(jobs):
    site, _ = jobs
    for name, hours in (("5h", 5), ("4h", 4), ("3h", 3), ("future", -1)):
        add(site, name, at=hours_before(AFTER_DST, hours))
    add(site, "never")
    assert names(site, {"at": {"older_than_hours": 4}}) == ["5h"]
    assert names(site, {"at": {"older_than_hours": 0}}) == ["3h", "4h", "5h"]  # any time before now


def test_within_last_hours_is_between_n_hours_ago_and_now(jobs):
    site, _ = jobs
    for name, hours in (("5h", 5), ("4h", 4), ("1m", 1 / 60), ("future", -1)):
        add(site, name, at=hours_before(AFTER_DST, hours))
    add(site, "never")
    assert names(site, {"at": {"within_last_hours": 4}}) == ["1m", "4h"]


def test_a_daylight_saving_change_does_not_move_the_hours(jobs):
    """24 hours before Sunday noon (CEST) is Saturday 11:00 (CET), not Saturday noon."""
    site, clock = jobs
    add(site, "23.5 h ago", at=dt.datetime(2026, 3, 28, 11, 30, tzinfo=BERLIN))
    add(site, "24.5 h ago", at=dt.datetime(2026, 3, 28, 10, 30, tzinfo=BERLIN))
    assert names(site, {"at": {"older_than_hours": 24}}) == ["24.5 h ago"]
    assert names(site, {"at": {"within_last_hours": 24}}) == ["23.5 h ago"]
    # and back in autumn (25-hour day): Sunday 25 October, noon CET
    clock.now = dt.datetime(2026, 10, 25, 12, 0, tzinfo=BERLIN)
    add(site, "autumn 24.5 h ago", at=dt.datetime(2026, 10, 24, 12, 30, tzinfo=BERLIN))
    add(site, "autumn 23.5 h ago", at=dt.datetime(2026, 10, 24, 13, 30, tzinfo=BERLIN))
    assert "autumn 24.5 h ago" in names(site, {"at": {"older_than_hours": 24}})
    assert "autumn 23.5 h ago" not in names(site, {"at": {"older_than_hours": 24}})


def test_until_includes_everything_up_to_the_end_of_the_period(jobs):
    site, _ = jobs
    today = AFTER_DST.date()
    for offset in (-40, -1, 0, 1, 6, 7):
        add(site, f"{offset:+d}", on=today + dt.timedelta(days=offset),
            at=dt.datetime.combine(today + dt.timedelta(days=offset), dt.time(23, 30), BERLIN))
    add(site, "never")
    assert names(site, {"on": {"until": "today"}}) == ["+0", "-1", "-40"]
    assert names(site, {"at": {"until": "today"}}) == ["+0", "-1", "-40"]  # to local midnight
    assert names(site, {"on": {"until": "next_7_days"}}) == ["+0", "+1", "+6", "-1", "-40"]


def test_hours_on_a_date_field_are_refused_when_compiled(jobs):
    site, _ = jobs
    with pytest.raises(ConditionError, match="a date has no hours"):
        names(site, {"on": {"older_than_hours": 3}})


@pytest.mark.parametrize("operator", ["older_than_hours", "within_last_hours"])
def test_hours_on_a_date_field_are_a_load_error_at_the_line(tmp_path, operator):
    with pytest.raises(BlueprintError) as failure:
        blueprint_with(tmp_path, {"rule": {"entity": "chore", "on": "schedule", "every": "hour",
                                           "where": {"due": {operator: 3}}, "do": [{"set": {"title": "'x'"}}]}})
    text = str(failure.value)
    assert "automations/rule.yaml:" in text
    assert f"'{operator}' applies to date-time fields; 'due' is a date field, which has no hours" in text


def test_hours_on_a_date_time_field_load(tmp_path):
    blueprint = blueprint_with(tmp_path, {"rule": {"entity": "account", "on": "schedule", "every": "hour",
                                                   "where": {"last_touch_at": {"older_than_hours": 3},
                                                             "created_at": {"within_last_hours": 48}},
                                                   "do": [{"set": {"note": "'late'"}}]}})
    assert blueprint.automations["rule"]["where"]["last_touch_at"] == {"older_than_hours": 3}
