"""A money or percent formula as SQL on SQLite, where NUMERIC is a double: computed in doubles
with a bound on its error, rounded in SQL where the bound decides the rounding, and handed to
the exact Python evaluation (a function registered on the connection) where it does not.

Python computes money in Decimal and rounds half up to the cent; the double computed by SQLite is
within a few units in the last place of that exact value. For each row the SQL carries, beside
the value x, a running bound e with |x - exact| <= e (each input and each operation adds its own
rounding error, |v| * 2**-52, and products and quotients propagate their operands' bounds). When
x * 100 is farther than e * 100 from a half cent, rounding x rounds the exact value the same way;
when it is not (a tie like 1.005, or values too large to bound well) the row is computed by the
Python function. So the stored value is exactly what a save stores, and the fast path covers
nearly every row.

Compiles: fields of type money, percent, integer and number, numeric literals, + - * /, unary
minus, abs(), and `field or ... or default`. Anything else raises NotCompilable (the caller uses
the Python function for every row).

Where Python fails (a None operand, a division by zero) a save stores NULL. These forms have no
branch and no comparison, and a default's tested parts are fields (never a failure), so a NULL
operand or a NULLIF'd zero divisor makes the whole SQL value NULL just where Python fails. A
condition or an `if`/`else` would break that (a local NULL can be dropped by a branch, see
formula_sql): compiling one here needs formula_sql's failure conditions.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any, Callable

import sqlalchemy as sa

from atrium.metadata.model import Entity, Field
from atrium.runtime.records.coercion import LIMITS
from atrium.runtime.records.expression_sql import NotCompilable

ULP = 2.0 ** -52  # a generous relative error of one double operation (half of it is enough)
SCALES = {"money": 2, "percent": 4}
LARGEST = 1e12  # from here on a double's error is too coarse to trust a rounding: Python decides
FLOORED = 2.0 ** 53  # floor() is only asked of values below this (see _floor)
NUMERIC_TYPES = ("money", "percent", "integer", "number")
_REAL = sa.Float()


@dataclass(frozen=True)
class Bounded:
    value: sa.ColumnElement  # the double
    error: sa.ColumnElement  # an upper bound of |value - exact value|


def rounded_formula(field: Field, entity: Entity, table: Any,
                    exact: Callable[[], sa.ColumnElement]) -> sa.ColumnElement:
    """The stored value of `field`'s formula: rounded in SQL where that is sure, else `exact()`
    (the Python evaluation, as a SQL function call over the row)."""
    formula = field.formula
    if formula is None or formula.paths or field.type not in SCALES:
        raise NotCompilable(field.name)
    result = _Compiler(entity, table).value(ast.parse(formula.source.strip(), mode="eval").body)
    scale = 10.0 ** SCALES[field.type]
    limit, step = LIMITS[field.type]  # near or beyond the column's limit, Python decides (NULL beyond)
    scaled = result.value * scale
    nearest_half = _floor(scaled) + 0.5
    unsure = sa.or_(sa.func.abs(result.value) >= min(LARGEST, float(limit - step)),
                    sa.func.abs(scaled - nearest_half) <= result.error * scale * 4 + 1e-9)
    # half away from zero, as Decimal's ROUND_HALF_UP; + 0.0 turns -0.0 into 0.0
    away = sa.case((scaled >= 0, _floor(scaled + 0.5)), else_=-_floor(0.5 - scaled))
    return sa.case((result.value.is_(None), sa.null()), (unsure, exact()),
                   else_=away / scale + 0.0)


def _floor(value: sa.ColumnElement) -> sa.ColumnElement:
    """floor(value) where |value| < FLOORED; 0 beyond (such rows are unsure, the exact function
    decides them). SQLAlchemy's pysqlite dialect registers Python's math.floor as floor(): it
    returns an int, and one beyond 64 bits (a formula of 1e30, or an infinity) fails the whole
    statement with "string or blob too big"; SQLite may evaluate it in any row, whatever the
    order of the conditions around it, so its argument is kept in range here."""
    return sa.func.floor(sa.case((sa.func.abs(value) < FLOORED, value), else_=0.0))


def _exact_constant(value: Any) -> bool:
    return isinstance(value, int) and abs(value) < 2 ** 53


class _Compiler:
    def __init__(self, entity: Entity, table: Any):
        self.entity, self.table = entity, table

    def value(self, node: ast.AST) -> Bounded:
        if isinstance(node, ast.Constant) and not isinstance(node.value, bool) and isinstance(node.value, int | float):
            number = sa.literal(float(node.value), _REAL)
            return Bounded(number, sa.literal(0.0 if _exact_constant(node.value) else abs(node.value) * ULP, _REAL))
        if isinstance(node, ast.Name):
            field = self.entity.fields.get(node.id)
            if field is None or field.type not in NUMERIC_TYPES:
                raise NotCompilable(node.id)
            column = sa.cast(self.table.c[node.id], _REAL)
            return Bounded(column, sa.func.abs(column) * ULP)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            inner = self.value(node.operand)
            return Bounded(-inner.value if isinstance(node.op, ast.USub) else inner.value, inner.error)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "abs" \
                and len(node.args) == 1 and not node.keywords:
            inner = self.value(node.args[0])
            return Bounded(sa.func.abs(inner.value), inner.error)
        if isinstance(node, ast.BinOp):
            return self._binop(node)
        if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or) \
                and all(isinstance(v, ast.Name) for v in node.values[:-1]):
            parts = [self.value(v) for v in node.values]
            value, error = parts[-1].value, parts[-1].error
            for part in reversed(parts[:-1]):
                present = sa.and_(part.value.is_not(None), part.value != 0)
                value = sa.case((present, part.value), else_=value)
                error = sa.case((present, part.error), else_=error)
            return Bounded(value, error)
        raise NotCompilable(ast.dump(node))

    def _binop(self, node: ast.BinOp) -> Bounded:
        a, b = self.value(node.left), self.value(node.right)
        if isinstance(node.op, ast.Add | ast.Sub):
            value = a.value + b.value if isinstance(node.op, ast.Add) else a.value - b.value
            return Bounded(value, a.error + b.error + sa.func.abs(value) * ULP)
        if isinstance(node.op, ast.Mult):
            value = a.value * b.value
            return Bounded(value, sa.func.abs(a.value) * b.error + sa.func.abs(b.value) * a.error
                           + a.error * b.error + sa.func.abs(value) * ULP)
        if isinstance(node.op, ast.Div):
            divisor = sa.func.nullif(b.value, 0.0)
            value = a.value / divisor
            # |a/b - A/B| <= (ea + |a/b| eb) / (|b| - eb); a divisor within its error of zero is unsure
            room = sa.func.abs(divisor) - b.error
            error = sa.case((room > 0, (a.error + sa.func.abs(value) * b.error) / room + sa.func.abs(value) * ULP),
                            else_=sa.literal(float("1e300"), _REAL))
            return Bounded(value, error)
        raise NotCompilable(type(node.op).__name__)
