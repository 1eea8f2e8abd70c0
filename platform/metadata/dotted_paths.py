"""Dotted paths in expressions (`account.tier`): the syntax alone - a chain of attribute accesses
over a plain name, at most MAX_HOPS links. What a path may reach is checked against the entities
in expression_paths.py; the runtime's values come from runtime/records/linked_values.py."""
from __future__ import annotations

import ast

MAX_HOPS = 3  # `a.b.c.d` follows three links; a longer path is refused


def path_of(node: ast.Attribute | ast.Name) -> tuple[str, ...]:
    """The names of a dotted path read outward from the last: `a.b.c` → ("a", "b", "c")."""
    steps: list[str] = []
    current: ast.expr = node
    while isinstance(current, ast.Attribute):
        steps.append(current.attr)
        current = current.value
    assert isinstance(current, ast.Name)  # attribute_problem allows only chains over a name
    steps.append(current.id)
    return tuple(reversed(steps))


def attribute_problem(node: ast.Attribute) -> str | None:
    """Why an attribute access is not a dotted path (plain names down to a name, at most
    MAX_HOPS links), or None when it is one."""
    hops = 0
    current: ast.expr = node
    while isinstance(current, ast.Attribute):
        if current.attr.startswith("_"):
            return f"expressions cannot use names starting with '_': {current.attr}"
        hops += 1
        current = current.value
    if not isinstance(current, ast.Name):
        return "expressions cannot use attribute access except dotted paths through linked records, like account.tier"
    if hops > MAX_HOPS:
        return f"the dotted path {'.'.join(path_of(node))} follows {hops} links; a path follows at most {MAX_HOPS}"
    return None
