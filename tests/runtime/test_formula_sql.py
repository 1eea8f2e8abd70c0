"""A formula computed by a recompute stores exactly what the Python evaluation of a save stores,
Decimal for Decimal: generated formulas over generated rows (hypothesis), through every route (the
formula compiled to SQL on PostgreSQL; on SQLite doubles with an error bound, the Python function
where the bound cannot decide)."""
from __future__ import annotations

import dataclasses
import os
from decimal import Decimal

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, assume, example, given, settings, strategies as st

from atrium.metadata import load_blueprint
from atrium.metadata.expressions import ExpressionError, parse_expression
from atrium.runtime.records.coercion import CoercionError, coerce
from atrium.runtime.records.evaluation import SYSTEM
from atrium.runtime.records.expression_sql import NotCompilable
from atrium.runtime.records.formula_sql import formula_value
from atrium.runtime.records.recompute import Recompute
from atrium.runtime.records.service import RecordService
from atrium.runtime.schema.migrations import migrate
from tests.runtime.blueprint_factory import write_blueprint

RESULTS = {"r_money": "money", "r_percent": "percent", "r_integer": "integer", "r_number": "number"}
FORMULAS = ["(amount or 0) / 10000", "amount * qty", "amount / qty", "qty / 3", "rate * amount / 100",
            "round(amount / 7, 2)", "min(amount, rate)", "abs(amount - 100.5)", "(amount or qty or 0) * 0.15",
            "amount - rate if amount > rate else 0", "qty * 2 if qty == 3 or amount < 0 else -qty",
            "max(qty, 10) / 4", "score * 2", "qty + 0.5"]


@pytest.fixture
def world(tmp_path, engine):
    fields = {"amount": {"type": "money"}, "qty": {"type": "integer"}, "rate": {"type": "percent"},
              "score": {"type": "number"}}
    fields.update({name: {"type": kind, "formula": "0"} for name, kind in RESULTS.items()})
    blueprint = load_blueprint(write_blueprint(tmp_path / "bp", {"item": {"fields": fields}}))
    migrate(engine, blueprint)
    return RecordService(blueprint, engine)


ROWS = st.lists(st.fixed_dictionaries({
    "amount": st.none() | st.decimals(-10**7, 10**7, places=2, allow_nan=False, allow_infinity=False),
    "qty": st.none() | st.integers(-1000, 1000),
    "rate": st.none() | st.decimals(-100, 100, places=4, allow_nan=False, allow_infinity=False),
    "score": st.none() | st.floats(-1e6, 1e6, allow_nan=False)}), min_size=1, max_size=12)
EXTREME = [{"amount": Decimal("-9999999.99"), "qty": q, "rate": None, "score": s}
           for q, s in [(None, 1e300), (-7, -1e300), (1000, 5e-324), (None, -1.5e-30), (3, 1e-13), (1, 0.0),
                        (None, 2.9999999e13), (-1, -1e13), (None, 1e200)]]
LEAVES = (st.sampled_from(["amount", "qty", "rate", "(amount or 0)", "(qty or 1)", "score"])
          | st.integers(-50, 50).map(str) | st.sampled_from(["0.5", "1.25", "0.1", "3.0", "200", "8", "0.15", "1000"]))
# the shapes the SQLite route compiles, so that most examples take it
ARITHMETIC = st.recursive(LEAVES, lambda inner: st.tuples(inner, st.sampled_from(["+", "-", "*", "/"]), inner).map(
    lambda t: f"({t[0]} {t[1]} {t[2]})") | inner.map(lambda a: f"abs({a})") | inner.map(lambda a: f"-{a}"),
    max_leaves=5)


def _grow(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    pair = st.tuples(inner, inner)
    return (st.tuples(inner, st.sampled_from(["+", "-", "*", "/"]), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})")
            | inner.map(lambda a: f"abs({a})") | pair.map(lambda p: f"min({p[0]}, {p[1]})")
            | pair.map(lambda p: f"max({p[0]}, {p[1]})") | inner.map(lambda a: f"round({a}, 2)")
            | inner.map(lambda a: f"-{a}")
            | pair.map(lambda p: f"({p[0]} if {p[0]} > {p[1]} else {p[1]})")
            | pair.map(lambda p: f"({p[0]} if {p[0]} == {p[1]} or {p[1]} <= 0 else {p[1]})")
            | pair.map(lambda p: f"({p[1]} if {p[0]} is None or {p[1]} != 0 and not {p[0]} < {p[1]} else {p[0]})"))


EXPRESSIONS = st.recursive(LEAVES, _grow, max_leaves=6)


def _python(service: RecordService, field, record) -> object:
    """What a save stores (RecordRules._compute_formulas)."""
    try:
        value = service.rules.evaluator.bind("item", SYSTEM).evaluate(field.formula, record)
        return coerce(field, value, service.blueprint.timezone)
    except (ExpressionError, CoercionError):
        return None


def _records(service: RecordService, connection) -> list[dict]:
    table, entity = service.tables["item"], service.blueprint.entities["item"]
    return [service.record_of(entity, r._mapping) for r in connection.execute(sa.select(table).order_by(table.c.id))]


def _fill(service: RecordService, rows: list[dict]) -> None:
    table = service.tables["item"]
    with service.engine.begin() as connection:
        connection.execute(table.delete())
        now = service.clock()
        connection.execute(table.insert(), [{"version": 1, "created_at": now, "updated_at": now, **row}
                                            for row in rows])


@pytest.mark.skipif(os.environ.get("ATRIUM_TEST_DB", "sqlite") != "postgresql",
                    reason="SQLite keeps NUMERIC as a double: its formulas take the function route")
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(rows=ROWS, source=EXPRESSIONS, result=st.sampled_from(sorted(RESULTS)))
# Python fails on abs(None) (the whole formula stores NULL) where SQL carried the NULL on to the
# condition and took the else branch
@example(rows=[{"amount": None, "qty": None, "rate": None, "score": None}],
         source="(abs(amount) if abs(amount) == (qty or 1) or (qty or 1) <= 0 else (qty or 1))", result="r_integer")
def test_compiled_formulas_store_what_python_stores(world, rows, source, result):
    try:
        _check_compiled(world, rows, source, result)
    except NotCompilable:
        assume(False)


# Python fails (the formula stores NULL) on None in arithmetic, abs(), min(), ordering and on a
# division by zero, but only in the branches it evaluates; None == x never fails
NULL_ROWS = [{"amount": None, "qty": q, "rate": None, "score": None} for q in (None, 1, 2, 3, 5)]


@pytest.mark.parametrize("source", [
    "1 if abs(amount) == 1 else 2", "1 if -amount == 1 else 2", "1 if amount == qty else 2",
    "1 if amount != qty else 2", "1 if amount is None else 2", "1 if amount < 0 or qty == 1 else 2",
    "1 if qty == 1 or amount < 0 else 2", "1 if qty == 1 and amount < 0 else 2",
    "1 if not (amount >= 0) else 2", "qty / (qty - 3) if qty > 3 else 0", "1 if 4 / (qty - 3) > 1 else 2",
    "min(amount, 1) if qty == 1 else 5", "(qty or round(amount)) + 1", "(qty or 1) if round(amount) == 1 else 2",
    "max(qty, 2) if qty is not None else 7"])
def test_python_failures_store_null_only_where_python_evaluates(world, source):
    for result in sorted(RESULTS):
        if os.environ.get("ATRIUM_TEST_DB", "sqlite") == "postgresql":
            _check_compiled(world, NULL_ROWS, source, result)
        _check_recompute(world, NULL_ROWS, source, result)


def _check_compiled(service: RecordService, rows: list[dict], source: str, result: str) -> None:
    entity = service.blueprint.entities["item"]
    field = dataclasses.replace(entity.fields[result], formula=parse_expression(source))
    table = service.tables["item"]
    value = formula_value(field, entity, table)
    _fill(service, rows)
    with service.engine.connect() as connection:
        stored = dict(connection.execute(sa.select(table.c.id, value).order_by(table.c.id)).all())
        records = _records(service, connection)
    for record in records:
        expected = _python(service, field, record)
        got = stored[record["id"]]
        assert (got is None and expected is None) or (got is not None and expected is not None and (
            Decimal(str(got)) == Decimal(str(expected)))), (source, record, got, expected)


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(rows=ROWS, source=ARITHMETIC | EXPRESSIONS, result=st.sampled_from(["r_money", "r_percent", "r_money"]))
# values far beyond a column's limit (a save stores NULL): SQLAlchemy's floor() for SQLite is
# Python's math.floor, whose int beyond 64 bits failed the whole UPDATE ("string or blob too big")
@example(rows=[{"amount": None, "qty": None, "rate": None, "score": 1.511264148246121e-30}],
         source="((qty or 1) / score)", result="r_money")
@example(rows=EXTREME, source="((qty or 1) / score)", result="r_percent")
@example(rows=EXTREME, source="(-(score * 1000) + amount)", result="r_money")
@example(rows=EXTREME, source="((score * score) - (score * score))", result="r_money")
@example(rows=EXTREME, source="abs((score / 3))", result="r_money")
def test_every_recompute_route_stores_what_a_save_stores(world, rows, source, result):
    _check_recompute(world, rows, source, result)


def _check_recompute(service: RecordService, rows: list[dict], source: str, result: str) -> None:
    entity = service.blueprint.entities["item"]
    field = dataclasses.replace(entity.fields[result], formula=parse_expression(source))
    changed = dataclasses.replace(entity, fields={**entity.fields, result: field})
    _fill(service, rows)
    with service.engine.begin() as connection:
        Recompute(service).field(connection, changed, field)
        records = _records(service, connection)
    for record in records:
        expected = _python(service, field, record)
        got = record[result]
        assert got == expected or (got is not None and expected is not None
                                   and Decimal(str(got)) == Decimal(str(expected))), (source, record, got, expected)


def test_recompute_changes_nothing_a_save_computed(world):
    """Every formula route (SQL on PostgreSQL, the registered function on SQLite) agrees with the save."""
    service = world
    entity = service.blueprint.entities["item"]
    rows = [{"amount": Decimal("79700.00"), "qty": 3, "rate": Decimal("12.5"), "score": 1.5},
            {"amount": None, "qty": 0, "rate": None, "score": None},
            {"amount": Decimal("-0.05"), "qty": -7, "rate": Decimal("0.0001"), "score": -2.25},
            {"amount": Decimal("201.00"), "qty": 200, "rate": Decimal("99.9999"), "score": 0.1}]
    for source in FORMULAS:
        for result in RESULTS:
            field = dataclasses.replace(entity.fields[result], formula=parse_expression(source))
            expected = []
            _fill(service, rows)
            with service.engine.begin() as connection:
                table = service.tables["item"]
                records = _records(service, connection)
                expected = [_python(service, field, record) for record in records]
                # store what a save stores, then recompute: nothing may change
                store = table.update().where(table.c.id == sa.bindparam("_id")).values({result: sa.bindparam("_v")})
                connection.execute(store,
                                   [{"_id": r["id"], "_v": v} for r, v in zip(records, expected, strict=True)])
                changed = dataclasses.replace(entity, fields={**entity.fields, result: field})
                outcome = Recompute(service).field(connection, changed, field)
            assert outcome.changed == 0, (source, result, outcome)
            assert outcome.failed == sum(1 for r, v in zip(records, expected, strict=True)
                                         if v is None and all(r.get(n) is not None for n in field.formula.names
                                                              if n in entity.fields)), (source, result)
