"""Compile a simple condition expression (`stage == 'won'`, `is_open(stage)`, `amount > 0 and
not lost`) into a SQL clause, so aggregates filter in the database instead of in Python.

Only a small, safe subset compiles; anything else raises `NotCompilable` and the caller falls
back to evaluating the expression in Python over the rows.
"""
from __future__ import annotations

import ast
from typing import Any, Callable, Mapping

import sqlalchemy as sa
from sqlalchemy.sql.base import ReadOnlyColumnCollection

from atrium.errors import AtriumError
from atrium.metadata.expressions import Expression


class NotCompilable(AtriumError):
    """The expression has no SQL form; the caller evaluates it in Python instead."""


COMPARE = {ast.Eq: lambda a, b: a == b, ast.NotEq: lambda a, b: a != b, ast.Lt: lambda a, b: a < b,
           ast.LtE: lambda a, b: a <= b, ast.Gt: lambda a, b: a > b, ast.GtE: lambda a, b: a >= b}


def compile_condition(expression: Expression, columns: ReadOnlyColumnCollection[str, sa.Column[Any]],
                      functions: Mapping[str, Callable[[sa.ColumnElement], sa.ColumnElement]]
                      | None = None) -> sa.ColumnElement:
    tree = ast.parse(expression.source.strip(), mode="eval").body
    return _compile(tree, columns, functions or {})


def _value(node: ast.AST) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return [_value(item) for item in node.elts]
    raise NotCompilable(ast.dump(node))


def _operand(node: ast.AST, columns) -> Any:
    if isinstance(node, ast.Name) and node.id in columns:
        return columns[node.id]
    return _value(node)


def _compile(node: ast.AST, columns, functions) -> sa.ColumnElement:
    if isinstance(node, ast.BoolOp):
        parts = [_compile(value, columns, functions) for value in node.values]
        return sa.and_(*parts) if isinstance(node.op, ast.And) else sa.or_(*parts)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return sa.not_(_compile(node.operand, columns, functions))
    if isinstance(node, ast.Name) and node.id in columns:
        return columns[node.id].is_not(None) & (columns[node.id] != sa.false())
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in functions \
            and len(node.args) == 1 and isinstance(node.args[0], ast.Name) and node.args[0].id in columns:
        return functions[node.func.id](columns[node.args[0].id])
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        left, op, right = node.left, node.ops[0], node.comparators[0]
        a, b = _operand(left, columns), _operand(right, columns)
        if isinstance(op, ast.Is | ast.IsNot):
            if b is not None or not isinstance(a, sa.ColumnElement):
                raise NotCompilable("is")
            return a.is_(None) if isinstance(op, ast.Is) else a.is_not(None)
        if isinstance(op, ast.In | ast.NotIn):
            if not isinstance(a, sa.ColumnElement) or not isinstance(b, list):
                raise NotCompilable("in")
            return a.in_(b) if isinstance(op, ast.In) else a.not_in(b)
        if type(op) in COMPARE and (isinstance(a, sa.ColumnElement) or isinstance(b, sa.ColumnElement)):
            return COMPARE[type(op)](a, b)
    if isinstance(node, ast.Constant) and isinstance(node.value, bool):
        return sa.true() if node.value else sa.false()
    raise NotCompilable(ast.dump(node))
