"""Dotted paths in expressions (`sku.price`, `deal.account.tier`, `owner.team`): each is
checked against the entities once every entity is built, and stored formulas that read each other
across entities through paths or roll-ups must not form a cycle.

A path follows reference fields (up to three links, expressions.MAX_HOPS) to a field of the last
linked entity; a user field may be its last link, to one of USER_ATTRIBUTES. Report.expression
collects every expression that reads a path (with the entity it is evaluated on); the loader calls
`check_expression_paths` after the entities are linked.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from atrium.metadata.entities import system_field
from atrium.metadata.expressions import BUILTIN_FUNCTIONS, CONSTANTS, CONTEXT_FUNCTIONS
from atrium.metadata.model import SYSTEM_FIELDS, Entity, Field
from atrium.metadata.problems import did_you_mean
from atrium.metadata.sources import Report, Source

# What a path may read of a user (`owner.name`): the login name, the name shown, the role and the
# team's name. Nothing else of a user (password, locale, sign-in failures) is readable.
USER_ATTRIBUTES: tuple[str, ...] = ("name", "display_name", "role", "team")
USER = "user"  # the name a LinkedPath gives the users in its `entities`
LANGUAGE_NAMES = BUILTIN_FUNCTIONS | CONTEXT_FUNCTIONS | CONSTANTS


@dataclass(frozen=True)
class LinkedPath:
    """A resolved path: `entities[i]` holds the field `steps[i]`; entities[-1] is USER when the
    last link is a user field."""

    steps: tuple[str, ...]
    entities: tuple[str, ...]

    @property
    def key(self) -> str:
        return ".".join(self.steps)


@dataclass(frozen=True)
class PathProblem:
    message: str
    hint: str = ""


def resolve_linked_path(entities: Mapping[str, Entity], entity: str,
                        steps: tuple[str, ...]) -> LinkedPath | PathProblem:
    """Where a dotted path of an expression on `entity` leads, or why it leads nowhere."""
    dotted = ".".join(steps)
    current = entities[entity]
    along = [entity]
    for index, step in enumerate(steps[:-1]):
        field = current.fields.get(step) or (system_field(step) if step in SYSTEM_FIELDS else None)
        if field is None:
            return PathProblem(f"'{step}' in '{dotted}' is not a field of {current.name}",
                               did_you_mean(step, current.fields))
        if field.type == "user":
            last = steps[-1]
            if index != len(steps) - 2:
                return PathProblem(f"'{step}' in '{dotted}' is a user field: a path ends there, with one of "
                                   + ", ".join(USER_ATTRIBUTES))
            if last not in USER_ATTRIBUTES:
                return PathProblem(f"'{last}' in '{dotted}' is not readable of a user (one of "
                                   + ", ".join(USER_ATTRIBUTES) + ")", did_you_mean(last, USER_ATTRIBUTES))
            return LinkedPath(steps, tuple(along) + (USER,))
        if field.type != "reference" or field.to not in entities:
            return PathProblem(f"'{step}' in '{dotted}' is a {field.type} field, not a reference or user "
                               "field, so the path cannot go through it")
        current = entities[str(field.to)]
        along.append(current.name)
    last = steps[-1]
    target = current.fields.get(last) or (system_field(last) if last in SYSTEM_FIELDS else None)
    if target is None:
        return PathProblem(f"'{last}' in '{dotted}' is not a field of {current.name}",
                           did_you_mean(last, set(current.fields) | set(SYSTEM_FIELDS)))
    if target.type == "location":
        return PathProblem(f"'{dotted}' ends at a location field, which a path cannot read")
    return LinkedPath(steps, tuple(along))


def linked_paths(entities: Mapping[str, Entity], entity: str,
                 paths: frozenset[tuple[str, ...]]) -> list[LinkedPath]:
    """The paths of a loaded blueprint's expression, resolved (a loaded blueprint's all resolve)."""
    found = [resolve_linked_path(entities, entity, steps) for steps in sorted(paths)]
    return [path for path in found if isinstance(path, LinkedPath)]


def path_end(entities: Mapping[str, Entity], path: LinkedPath) -> Field | None:
    """The field a path reads, None for a user's attribute."""
    if path.entities[-1] == USER:
        return None
    model = entities[path.entities[-1]]
    return model.fields.get(path.steps[-1]) or system_field(path.steps[-1])


def check_expression_paths(report: Report, entities: Mapping[str, Entity]) -> None:
    """Every path of every expression the report collected leads somewhere (at its file:line:col)."""
    for source, steps, expression, entity in report.linked:
        if entity not in entities:
            continue
        for path in sorted(expression.paths):
            if path[0] not in entities[entity].fields and path[0] not in SYSTEM_FIELDS:
                if path[0] in LANGUAGE_NAMES:  # known to the language, so not reported as unknown
                    report.add(source, steps, f"expression {expression.source!r}: '{path[0]}' in "
                               f"'{'.'.join(path)}' is not a field of {entity}, so the path cannot go through it")
                continue  # else Report.expression named the unknown first name already
            found = resolve_linked_path(entities, entity, path)
            if isinstance(found, PathProblem):
                report.add(source, steps, f"expression {expression.source!r}: {found.message}", found.hint)


Node = tuple[str, str]  # (entity, formula or roll-up field)


def check_derived_cycles(report: Report, sources: Mapping[str, Source], entities: Mapping[str, Entity]) -> None:
    """Stored formulas and roll-ups reading each other across entities must not form a cycle."""
    graph: dict[Node, set[Node]] = {}
    for entity in entities.values():
        for field in entity:
            if field.formula is not None:
                reads = {(entity.name, n) for n in field.formula.names if _derived(entity.fields.get(n))}
                for path in linked_paths(entities, entity.name, field.formula.paths):
                    end = path_end(entities, path)
                    if end is not None and _derived(end):
                        reads.add((path.entities[-1], end.name))
                graph[(entity.name, field.name)] = reads
            elif field.rollup is not None and field.rollup.entity in entities:
                child = entities[field.rollup.entity]
                graph[(entity.name, field.name)] = ({(child.name, field.rollup.field)}
                                                    if _derived(child.fields.get(field.rollup.field)) else set())
    reported: set[frozenset[Node]] = set()
    for cycle in _cycles(graph):
        if len({entity for entity, _ in cycle}) < 2 or frozenset(cycle) in reported:
            continue  # a cycle within one entity is reported by the entity's own formula order
        reported.add(frozenset(cycle))
        first, name = cycle[0]
        key = "formula" if entities[first].fields[name].formula is not None else "rollup"
        report.add(sources[first], ["fields", name, key], "derived fields read each other in a cycle: "
                   + " → ".join(f"{e}.{n}" for e, n in cycle + [cycle[0]]))


def _derived(field: Field | None) -> bool:
    return field is not None and (field.formula is not None or field.rollup is not None)


def _cycles(graph: Mapping[Node, set[Node]]) -> list[list[Node]]:
    """One cycle through each back edge a depth-first walk meets."""
    state: dict[Node, int] = {}  # 1 on the walk's stack, 2 done
    found: list[list[Node]] = []
    for start in sorted(graph):
        if state.get(start):
            continue
        stack: list[tuple[Node, list[Node]]] = [(start, sorted(graph.get(start, ())))]
        trail = [start]
        state[start] = 1
        while stack:
            node, pending = stack[-1]
            if not pending:
                stack.pop()
                trail.pop()
                state[node] = 2
                continue
            following = pending.pop()
            if state.get(following) == 1:
                found.append(trail[trail.index(following):])
            elif not state.get(following):
                state[following] = 1
                trail.append(following)
                stack.append((following, sorted(graph.get(following, ()))))
    return found
