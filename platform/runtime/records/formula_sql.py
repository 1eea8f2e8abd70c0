"""Compile a formula (`(amount or 0) / 10000`, `price * quantity`, `a - b if a > b else 0`) into a
SQL value expression, so a recompute writes a whole table with one UPDATE on PostgreSQL.

The SQL must give exactly what the Python evaluation gives (records/rules.py), stored value for
stored value, so only a subset compiles; anything else raises `NotCompilable` and the caller
computes in Python. What makes the two agree:

- Each node carries the Python kind of its value: integers and money/percent (Decimal) compute
  in NUMERIC, which is exact like Python's int and Decimal; floats in DOUBLE PRECISION. `a / b`
  over two integers is a float in Python, so it divides as floats. A Decimal meeting a float
  literal takes the literal's shortest text (`_coerce` in expression_functions does the same).
- A failure in Python (None + 1, abs(None), -None, min(None, 1), round(None), None < 1, a division
  by zero) stores NULL for the whole formula, even where SQL would carry the NULL on locally and
  then drop it (`abs(a) == 1` is NULL in SQL, so `x if abs(a) == 1 else 1` would take the `else`
  branch and give 1). So beside its SQL value each node carries `err`, an SQL condition (never
  NULL) "the Python evaluation fails here", and the stored value is NULL where the formula's err
  holds. A strict operation fails where an operand fails or is NULL (or its divisor is 0); only
  the branches Python evaluates count: `t if c else e` fails where c fails, or c holds and t
  fails, or c does not hold and e fails; `a or b` fails where a fails or a is falsy and b fails
  (`and` likewise). Where err does not hold a condition's SQL is TRUE or FALSE, never NULL.
  `==`/`!=`/`is` never fail in Python (None == 1 is False), so they compile to IS [NOT] DISTINCT
  FROM / IS [NOT] NULL.
- `x or d` compiles only when `x` is a field (a NULL there is an empty value, not a failure).
- The stored value is coerced as `coerce` does: money and percent round half up (away from
  zero, as PostgreSQL's round(numeric) does) to their step, beyond their limit they are NULL.
- Comparing a Decimal with a float is exact in Python and not in SQL: refused. So are `//`,
  `%`, `**`, round() over floats (Python rounds their binary value half to even) and any function
  other than abs, min, max and round.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable

import sqlalchemy as sa

from atrium.metadata.expressions import Expression
from atrium.metadata.model import Entity, Field
from atrium.runtime.records.coercion import INTEGER_LIMIT, LIMITS
from atrium.runtime.records.expression_sql import NotCompilable

INT, DEC, FLOAT = "int", "decimal", "float"
NUMERIC_FIELDS = {"integer": INT, "money": DEC, "percent": DEC, "number": FLOAT}
SCALES = {"money": 2, "percent": 4}
_NUMERIC = sa.Numeric()
_FLOAT = sa.Float(precision=53)


@dataclass(frozen=True)
class Value:
    sql: sa.ColumnElement
    kind: str  # int, decimal, float
    err: sa.ColumnElement | None = None  # where the Python evaluation fails (never NULL); None: never


@dataclass(frozen=True)
class Condition:
    sql: sa.ColumnElement  # TRUE or FALSE (NULL only where err holds)
    err: sa.ColumnElement | None = None


def _either(*conditions: sa.ColumnElement | None) -> sa.ColumnElement | None:
    """Any of the failure conditions (None: no failure possible)."""
    present = [c for c in conditions if c is not None]
    if not present:
        return None
    return present[0] if len(present) == 1 else sa.or_(*present)


def _strict(*values: Value) -> sa.ColumnElement | None:
    """Where an operation that Python refuses on None (arithmetic, ordering, abs...) fails."""
    return _either(*(v.err for v in values), *(v.sql.is_(None) for v in values))


def _when(test: sa.ColumnElement, then: sa.ColumnElement | None,
          otherwise: sa.ColumnElement | None) -> sa.ColumnElement | None:
    """`then` where `test` holds, else `otherwise` (failure conditions; None: no failure)."""
    if then is None and otherwise is None:
        return None
    return sa.case((test, then if then is not None else sa.false()),
                   else_=otherwise if otherwise is not None else sa.false())


def compiles(field: Field, entity: Entity) -> bool:
    """Whether `field`'s formula has an exact SQL form."""
    try:
        formula_value(field, entity, sa.table(entity.name, *(sa.column(f.name) for f in entity)))
    except NotCompilable:
        return False
    return True


def formula_value(field: Field, entity: Entity, table: Any) -> sa.ColumnElement:
    """The stored value of `field`'s formula for each row of `table`, as one SQL expression."""
    formula = field.formula
    if formula is None or formula.paths or field.type not in NUMERIC_FIELDS:
        raise NotCompilable(field.name)
    value = _Compiler(entity, table).value(ast.parse(formula.source.strip(), mode="eval").body)
    if value.err is None:
        return stored(field, value)
    return sa.case((value.err, sa.null()), else_=stored(field, value))


def compile_value(expression: Expression, entity: Entity, table: Any) -> Value:
    return _Compiler(entity, table).value(ast.parse(expression.source.strip(), mode="eval").body)


def stored(field: Field, value: Value) -> sa.ColumnElement:
    """`coerce(field, value)` in SQL: rounded to the field's step, NULL beyond its limit."""
    sql = value.sql
    if field.type in SCALES:
        limit, step = LIMITS[field.type]
        number = sql if value.kind != FLOAT else sa.cast(sql, _NUMERIC)
        bound = sa.literal(limit - step / 2, _NUMERIC)
        return sa.case((sa.func.abs(number) < bound, sa.func.round(number, SCALES[field.type])),
                       else_=sa.null())
    if field.type == "number":
        limit, _ = LIMITS["number"]
        bound = sa.literal(limit - Decimal("0.5"), _NUMERIC)
        return sa.case((sa.func.abs(sa.cast(sql, _NUMERIC)) < bound, sa.cast(sql, _FLOAT)), else_=sa.null())
    # integer: a whole value within the column's range, else no value
    number = sql if value.kind != FLOAT else sa.cast(sql, _NUMERIC)
    whole = sa.and_(number == sa.func.trunc(number), number < sa.literal(INTEGER_LIMIT, _NUMERIC),
                    number >= sa.literal(-INTEGER_LIMIT, _NUMERIC))
    return sa.case((whole, sa.cast(number, sa.BigInteger())), else_=sa.null())


def _widest(*kinds: str) -> str:
    return FLOAT if FLOAT in kinds else DEC if DEC in kinds else INT


class _Compiler:
    def __init__(self, entity: Entity, table: Any):
        self.entity = entity
        self.table = table

    # --- values ------------------------------------------------------------------------------

    def value(self, node: ast.AST) -> Value:
        handlers: dict[type, Callable[[Any], Value]] = {
            ast.Constant: self._constant, ast.Name: self._name, ast.BinOp: self._binop,
            ast.UnaryOp: self._unary, ast.BoolOp: self._default, ast.IfExp: self._if,
            ast.Call: self._call}
        handler = handlers.get(type(node))
        if handler is None:
            raise NotCompilable(ast.dump(node))
        return handler(node)

    def _constant(self, node: ast.Constant) -> Value:
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise NotCompilable(repr(node.value))
        if isinstance(node.value, int):
            return Value(sa.literal(node.value, _NUMERIC), INT)
        return Value(sa.literal(node.value, _FLOAT), FLOAT)

    def _name(self, node: ast.Name) -> Value:
        field = self.entity.fields.get(node.id)
        if field is None or field.type not in NUMERIC_FIELDS:
            raise NotCompilable(node.id)
        kind = NUMERIC_FIELDS[field.type]
        column = self.table.c[node.id]
        return Value(sa.cast(column, _NUMERIC) if kind == INT else column, kind)

    def _as(self, value: Value, kind: str, node: ast.AST) -> sa.ColumnElement:
        """The value as `kind`; a float meets a Decimal only as a literal (by its shortest text)."""
        if value.kind == kind or (value.kind == INT and kind == DEC):
            return value.sql
        if kind == FLOAT:
            return sa.cast(value.sql, _FLOAT)
        if isinstance(node, ast.Constant) and isinstance(node.value, float):
            return sa.literal(Decimal(repr(node.value)), _NUMERIC)
        raise NotCompilable("a float column meets a Decimal")

    def _binop(self, node: ast.BinOp) -> Value:
        left, right = self.value(node.left), self.value(node.right)
        kinds = {left.kind, right.kind}
        if isinstance(node.op, ast.Div):
            kind = FLOAT if kinds <= {INT, FLOAT} else DEC
        elif isinstance(node.op, ast.Add | ast.Sub | ast.Mult):
            kind = DEC if DEC in kinds else _widest(*kinds)
        else:
            raise NotCompilable(type(node.op).__name__)
        a, b = self._as(left, kind, node.left), self._as(right, kind, node.right)
        err = _strict(left, right)
        if isinstance(node.op, ast.Add):
            return Value(a + b, kind, err)
        if isinstance(node.op, ast.Sub):
            return Value(a - b, kind, err)
        if isinstance(node.op, ast.Mult):
            return Value(a * b, kind, err)
        return Value(a / sa.func.nullif(b, 0), kind, _either(err, b == 0))

    def _unary(self, node: ast.UnaryOp) -> Value:
        operand = self.value(node.operand)
        if isinstance(node.op, ast.USub):
            return Value(-operand.sql, operand.kind, _strict(operand))
        if isinstance(node.op, ast.UAdd):
            return Value(operand.sql, operand.kind, _strict(operand))
        raise NotCompilable("not")

    def _default(self, node: ast.BoolOp) -> Value:
        """`a or b or 0`: each but the last a field; the first with a non-zero value wins."""
        if not isinstance(node.op, ast.Or) or not all(isinstance(v, ast.Name) for v in node.values[:-1]):
            raise NotCompilable("and/or over values")
        parts = [self.value(v) for v in node.values]
        kind = _widest(*(p.kind for p in parts))
        if kind == FLOAT and DEC in {p.kind for p in parts}:
            raise NotCompilable("a float and a Decimal in one default")
        result, err = self._as(parts[-1], kind, node.values[-1]), parts[-1].err
        for part, source in zip(reversed(parts[:-1]), reversed(node.values[:-1]), strict=True):
            sql = self._as(part, kind, source)
            truthy = sa.and_(part.sql.is_not(None), part.sql != 0)
            result = sa.case((truthy, sql), else_=result)
            err = _either(part.err, _when(truthy, None, err))
        return Value(result, kind, err)

    def _if(self, node: ast.IfExp) -> Value:
        test = self.condition(node.test)
        body, orelse = self.value(node.body), self.value(node.orelse)
        kind = _widest(body.kind, orelse.kind)
        if kind == FLOAT and DEC in (body.kind, orelse.kind):
            raise NotCompilable("a float and a Decimal as the two branches")
        return Value(sa.case((test.sql, self._as(body, kind, node.body)), else_=self._as(orelse, kind, node.orelse)),
                     kind, _either(test.err, _when(test.sql, body.err, orelse.err)))

    def _call(self, node: ast.Call) -> Value:
        if not isinstance(node.func, ast.Name) or node.keywords:
            raise NotCompilable("call")
        name, args = node.func.id, node.args
        if name == "abs" and len(args) == 1:
            value = self.value(args[0])
            return Value(sa.func.abs(value.sql), value.kind, _strict(value))
        if name in ("min", "max") and len(args) >= 2:
            parts = [self.value(a) for a in args]
            kinds = {p.kind for p in parts}
            if FLOAT in kinds and DEC in kinds:
                raise NotCompilable("min/max over a float and a Decimal")
            kind = _widest(*kinds)
            sqls = [self._as(p, kind, a) for p, a in zip(parts, args, strict=True)]
            pick = sa.func.least if name == "min" else sa.func.greatest
            # Python fails on None (LEAST/GREATEST would skip it): err
            return Value(pick(*sqls), kind, _strict(*parts))
        if name == "round" and len(args) in (1, 2):
            return self._round(args)
        raise NotCompilable(name)

    def _round(self, args: list[ast.expr]) -> Value:
        """Python's round() of a Decimal or an integer: half to even."""
        value = self.value(args[0])
        if value.kind == FLOAT:
            raise NotCompilable("round() of a float")
        digits = 0
        if len(args) == 2:
            if not isinstance(args[1], ast.Constant) or type(args[1].value) is not int or abs(args[1].value) > 20:
                raise NotCompilable("round() digits")
            digits = args[1].value
        scaled = value.sql * sa.literal(Decimal(10) ** digits, _NUMERIC)
        floor = sa.func.floor(scaled)
        half = scaled - floor == sa.literal(Decimal("0.5"), _NUMERIC)
        even = sa.func.mod(floor, 2) == 0
        whole = sa.case((half, sa.case((even, floor), else_=floor + 1)), else_=sa.func.round(scaled))
        result = whole / sa.literal(Decimal(10) ** digits, _NUMERIC) if digits else whole
        # round(x) without digits is an int in Python; with digits, a Decimal keeps its kind
        return Value(result, INT if len(args) == 1 else value.kind, _strict(value))

    # --- conditions ---------------------------------------------------------------------------

    def condition(self, node: ast.AST) -> Condition:
        if isinstance(node, ast.BoolOp):
            parts = [self.condition(v) for v in node.values]
            result = parts[-1]
            for part in reversed(parts[:-1]):
                # Python reads the right side only where the left one does not decide
                if isinstance(node.op, ast.And):
                    read = _when(part.sql, result.err, None)
                    result = Condition(sa.and_(part.sql, result.sql), _either(part.err, read))
                else:
                    read = _when(part.sql, None, result.err)
                    result = Condition(sa.or_(part.sql, result.sql), _either(part.err, read))
            return result
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            operand = self.condition(node.operand)
            return Condition(sa.not_(operand.sql), operand.err)
        if isinstance(node, ast.Compare) and len(node.ops) == 1:
            return self._compare(node.left, node.ops[0], node.comparators[0])
        raise NotCompilable("condition")

    def _compare(self, left_node: ast.expr, op: ast.cmpop, right_node: ast.expr) -> Condition:
        if isinstance(op, ast.Is | ast.IsNot):
            if not (isinstance(right_node, ast.Constant) and right_node.value is None):
                raise NotCompilable("is")
            tested = self.value(left_node)
            return Condition(tested.sql.is_(None) if isinstance(op, ast.Is) else tested.sql.is_not(None), tested.err)
        left, right = self.value(left_node), self.value(right_node)
        if {left.kind, right.kind} == {DEC, FLOAT}:
            raise NotCompilable("a Decimal compared with a float")
        kind = _widest(left.kind, right.kind)
        a, b = self._as(left, kind, left_node), self._as(right, kind, right_node)
        if isinstance(op, ast.Eq):  # None == 1 is False in Python, never a failure
            return Condition(a.is_not_distinct_from(b), _either(left.err, right.err))
        if isinstance(op, ast.NotEq):
            return Condition(a.is_distinct_from(b), _either(left.err, right.err))
        compare = {ast.Lt: a < b, ast.LtE: a <= b, ast.Gt: a > b, ast.GtE: a >= b}.get(type(op))
        if compare is None:
            raise NotCompilable(type(op).__name__)
        return Condition(compare, _strict(left, right))  # None < 1 fails in Python
