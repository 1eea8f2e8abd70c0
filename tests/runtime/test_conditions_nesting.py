"""`any:` / `all:` in the condition language: the SQL the one compiler makes agrees with the
condition's meaning evaluated in Python, on random records and random nested conditions, on SQLite
and PostgreSQL; and a nested condition that names a missing field or misuses `any:` is refused."""
from __future__ import annotations

import datetime as dt
from typing import Any, Mapping

import pytest
import sqlalchemy as sa
from blueprint_factory import make_blueprint
from hypothesis import HealthCheck, given, settings, strategies as st

from atrium.runtime.query.conditions import ConditionError, Joins, compile_condition
from atrium.runtime.schema.migrations import migrate
from atrium.runtime.site.site import Site

ENTITIES = {"student": {"fields": {
    "name": {"type": "text", "required": True},
    "level": {"type": "select", "options": ["a", "b", "c"]},
    "score": {"type": "integer"},
}}}
NOW = dt.datetime(2026, 5, 4, 12, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def students(tmp_path, database_url):
    site = Site.open(make_blueprint(tmp_path / "bp", ENTITIES), database_url)
    migrate(site.engine, site.blueprint)
    yield site
    site.engine.dispose()


def _holds(record: Mapping[str, Any], condition: Mapping[str, Any]) -> bool:
    """What the condition means, written out in Python for the operators the test draws."""
    for key, spec in condition.items():
        if key == "any":
            if not any(_holds(record, part) for part in spec):
                return False
            continue
        if key == "all":
            if not all(_holds(record, part) for part in spec):
                return False
            continue
        value = record[key]
        for operator, wanted in (spec.items() if isinstance(spec, Mapping) else [("eq", spec)]):
            if not _operator_holds(operator, value, wanted):
                return False
    return True


def _operator_holds(operator: str, value: Any, wanted: Any) -> bool:
    if operator == "eq":
        return value == wanted
    if operator == "ne":
        return value != wanted  # an empty value differs from any value
    if operator == "in":
        return value in wanted
    if operator == "not_in":
        return value not in wanted
    if operator == "gt":
        return value is not None and value > wanted
    if operator == "lte":
        return value is not None and value <= wanted
    assert operator == "is_set"
    return (value is not None) == wanted


LEVELS = st.sampled_from(["a", "b", "c"])
SCORES = st.integers(0, 5)
LEAVES = st.one_of(
    LEVELS.map(lambda v: {"level": v}),
    st.tuples(st.sampled_from(["eq", "ne"]), LEVELS).map(lambda p: {"level": {p[0]: p[1]}}),
    st.tuples(st.sampled_from(["in", "not_in"]), st.lists(LEVELS, min_size=1, max_size=2))
    .map(lambda p: {"level": {p[0]: p[1]}}),
    st.tuples(st.sampled_from(["gt", "lte", "eq", "ne"]), SCORES).map(lambda p: {"score": {p[0]: p[1]}}),
    st.tuples(st.sampled_from(["level", "score"]), st.booleans()).map(lambda p: {p[0]: {"is_set": p[1]}}),
)
CONDITIONS = st.recursive(
    LEAVES,
    lambda inner: st.one_of(
        st.tuples(st.sampled_from(["any", "all"]), st.lists(inner, min_size=1, max_size=3))
        .map(lambda p: {p[0]: p[1]}),
        # a field entry beside a logical key: both must hold
        st.tuples(LEAVES, st.lists(inner, min_size=1, max_size=3)).map(lambda p: {**p[0], "any": p[1]}),
    ),
    max_leaves=8)
RECORDS = st.lists(st.fixed_dictionaries({"level": st.none() | LEVELS, "score": st.none() | SCORES}),
                   min_size=1, max_size=12)


def _matching(site: Site, condition: Mapping[str, Any]) -> list[str]:
    joins = Joins(site.blueprint, site.tables, "student")
    where = compile_condition(joins, condition, NOW, site.blueprint.timezone)
    with site.engine.connect() as connection:
        return sorted(connection.execute(sa.select(joins.base.c.name).select_from(joins.from_clause)
                                         .where(where)).scalars())


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(records=RECORDS, condition=CONDITIONS)
def test_sql_and_python_agree_on_random_nested_conditions(students, records, condition):
    table = students.tables["student"]
    with students.engine.begin() as connection:
        connection.execute(table.delete())
        for i, record in enumerate(records):
            connection.execute(table.insert().values(name=f"s{i:02}", version=1, created_at=NOW,
                                                     updated_at=NOW, **record))
    expected = sorted(f"s{i:02}" for i, record in enumerate(records) if _holds(record, condition))
    assert _matching(students, condition) == expected


def test_any_pools_never_followed_and_long_ago_followed_in_one_condition(students):
    table = students.tables["student"]
    with students.engine.begin() as connection:
        for name, score in (("never", None), ("low", 1), ("high", 4)):
            connection.execute(table.insert().values(name=name, score=score, version=1, created_at=NOW,
                                                     updated_at=NOW))
    assert _matching(students, {"any": [{"score": {"is_set": False}}, {"score": {"lte": 1}}]}) == ["low", "never"]
    assert _matching(students, {"all": [{"score": {"is_set": True}}, {"score": {"gt": 1}}]}) == ["high"]


def test_a_wrong_field_or_a_wrong_shape_inside_any_is_refused(students):
    with pytest.raises(ConditionError, match="'scor' is not a field of student"):
        _matching(students, {"any": [{"level": "a"}, {"scor": 1}]})
    with pytest.raises(ConditionError, match="'any' takes a list of conditions"):
        _matching(students, {"any": {"level": "a"}})
