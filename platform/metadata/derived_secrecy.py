"""Derived values keep their inputs' secrecy: which formulas, roll-ups and dotted defaults each role
may not see because one of their inputs is hidden from it.

A derived field's inputs are the fields its value is made of: the names of its formula (fields of
its entity, other formulas included), each step of a dotted path (`customer.level`: the reference
`customer`, then `level` on the customer), a roll-up's child field and the fields of its `where`,
and the steps of a default's dotted paths (a default copied from a linked record). An input hidden
from a role (roles.yaml `fields:`, or itself derived from a hidden input) hides the derived field
from that role, unless the field lists the input in `reveals:`. The answer is computed once per
blueprint and role (`Access` keeps it), and `atrium check` lists it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Mapping

from atrium.metadata.expressions import Expression
from atrium.metadata.model import Entity, Field, Role


@dataclass(frozen=True)
class Input:
    """One field a derived value is made of: `key` as the metadata writes it (`margin`,
    `customer.level`), the field itself on its entity."""

    key: str
    entity: str
    field: str


@dataclass(frozen=True)
class HiddenDerived:
    """A derived field hidden from a role, and the input (as written) that hides it."""

    role: str
    entity: str
    field: str
    because: str


def is_derived(field: Field) -> bool:
    """Whether the field's value is made of other fields: a formula, a roll-up or a dotted default."""
    return field.formula is not None or field.rollup is not None or \
        bool(field.default is not None and field.default.paths)


def derived_inputs(entities: Mapping[str, Entity], entity: Entity, field: Field) -> tuple[Input, ...]:
    """The inputs of a derived field (none for a field set by hand), each once."""
    found: dict[str, Input] = {}
    if field.formula is not None:
        found.update((i.key, i) for i in _expression_inputs(entities, entity, field.formula, names=True))
    if field.default is not None:
        found.update((i.key, i) for i in _expression_inputs(entities, entity, field.default, names=False))
    rollup = field.rollup
    if rollup is not None and rollup.entity in entities:
        child = entities[rollup.entity]
        if rollup.field in child.fields:
            found[rollup.field] = Input(rollup.field, child.name, rollup.field)
        if rollup.where is not None:
            found.update((i.key, i) for i in _expression_inputs(entities, child, rollup.where, names=True))
    return tuple(found.values())


def _expression_inputs(entities: Mapping[str, Entity], entity: Entity, expression: Expression,
                       names: bool) -> Iterator[Input]:
    """The fields an expression reads: its plain names (when `names`) and every step of its dotted
    paths, each step a field of the entity the previous reference points to."""
    if names:
        for name in sorted(expression.names):
            if name in entity.fields:
                yield Input(name, entity.name, name)
    for path in sorted(expression.paths):
        current: Entity | None = entity
        for depth, step in enumerate(path):
            if current is None or step not in current.fields:
                break
            yield Input(".".join(path[:depth + 1]), current.name, step)
            link = current.fields[step]
            current = entities.get(link.to) if link.type == "reference" and link.to else None


def input_keys(entities: Mapping[str, Entity], entity: Entity, field: Field) -> list[str]:
    """What a field's `reveals:` may name: the keys of its inputs."""
    return [i.key for i in derived_inputs(entities, entity, field)]


def hidden_derived(entities: Mapping[str, Entity], role: Role) -> dict[tuple[str, str], str]:
    """The derived fields hidden from `role` by a hidden input: (entity, field) → the input's key.
    A field roles.yaml hides outright is not listed; a role with `all` sees everything."""
    if role.all:
        return {}
    derived = [(entity, field, derived_inputs(entities, entity, field))
               for entity in entities.values() for field in entity if is_derived(field)]
    hidden: dict[tuple[str, str], str] = {}

    def hides(item: Input) -> bool:
        return role.fields.get(f"{item.entity}.{item.field}") == "hidden" or (item.entity, item.field) in hidden

    changed = True
    while changed:  # a formula over a hidden formula is hidden too: repeat until nothing moves
        changed = False
        for entity, field, inputs in derived:
            key = (entity.name, field.name)
            if key in hidden or role.fields.get(f"{entity.name}.{field.name}") == "hidden":
                continue
            because = next((i.key for i in inputs if i.key not in field.reveals and hides(i)), None)
            if because is not None:
                hidden[key] = because
                changed = True
    return hidden


def hidden_by_role(entities: Mapping[str, Entity], roles: Mapping[str, Role]) -> list[HiddenDerived]:
    """Every derived field hidden from a role by its inputs, role by role (what `atrium check` lists)."""
    return [HiddenDerived(role.name, entity, field, because)
            for role in roles.values()
            for (entity, field), because in sorted(hidden_derived(entities, role).items())]
