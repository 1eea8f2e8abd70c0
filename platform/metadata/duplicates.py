"""`duplicates:` on an entity → a checked `Duplicates`: the rules that make two records look alike.

Each problem is reported at its place in the entity's file (file:line:col), like every other check:
a rule names fields of the entity, of a type that can be compared (model.DUPLICATE_TYPES), typed
rather than computed (a computed value is written set-wise, past the key kept beside the field),
and a text or email field's key column (`<field>_key`) must not be a field of its own.
"""
from __future__ import annotations

from typing import Any, Mapping

from atrium.metadata.model import DEFAULT_NAME_SUFFIXES, DUPLICATE_TYPES, KEYED_TYPES, Duplicates, Field
from atrium.metadata.sources import Report, Source

KEY = "duplicates"


def build_duplicates(source: Source, fields: Mapping[str, Field], report: Report) -> Duplicates | None:
    spec: Mapping[str, Any] | None = source.data.get(KEY)
    if spec is None:
        return None
    before = len(report.problems)
    rules = []
    for i, rule in enumerate(spec["match"]):
        for j, name in enumerate(rule):
            path: list[str | int] = [KEY, "match", i, j]
            field = fields.get(name)
            if field is None:
                report.unknown(source, path, "a field of this entity", name, fields)
            elif field.type not in DUPLICATE_TYPES:
                report.add(source, path, f"'{name}' is a {field.type} field: duplicates are compared on "
                           + ", ".join(sorted(DUPLICATE_TYPES)) + " fields")
            elif field.computed:
                report.add(source, path, f"'{name}' is computed: duplicates are compared on fields people type")
            elif field.type in KEYED_TYPES and f"{name}_key" in fields:
                report.add(source, path, f"'{name}' keeps its normalised value in the column {name}_key, "
                           f"which is a field of {source.name}: rename that field")
        rules.append(tuple(rule))
    if len(report.problems) != before:
        return None
    suffixes = tuple(spec["suffixes"]) if "suffixes" in spec else DEFAULT_NAME_SUFFIXES
    return Duplicates(match=tuple(dict.fromkeys(rules)), suffixes=suffixes)
