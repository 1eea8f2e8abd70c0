"""Line grids (`form.lines` in views/<entity>.yaml): child records edited on the parent's form.

Each grid names the child entity and its reference to the parent (`from: quote_line.quote`) and
the child's fields shown as cells. A grid the form cannot save is a load error at its line: the
child must point to this entity, each column must be a field of the child other than the link
itself, and a required field the form cannot fill (no default, not a column) is named.
"""
from __future__ import annotations

from typing import Any, Mapping

from atrium.metadata.model import Entity, Label, LineGrid
from atrium.metadata.sources import Report, Source


def build_line_grids(report: Report, source: Source, entities: Mapping[str, Entity], entity: str,
                     specs: list[Mapping[str, Any]]) -> tuple[LineGrid, ...]:
    grids: list[LineGrid] = []
    seen: set[str] = set()
    for i, spec in enumerate(specs):
        path: list[str | int] = ["form", "lines", i]
        link = spec["from"]
        child_name, _, via = link.partition(".")
        child = entities.get(child_name)
        if child is None:
            report.unknown(source, [*path, "from"], "an entity", child_name, entities)
            continue
        field = child.fields.get(via)
        if field is None or field.type != "reference" or field.to != entity:
            links = [f"{child_name}.{f.name}" for f in child if f.type == "reference" and f.to == entity]
            hint = f"did you mean '{links[0]}'?" if links else ""
            report.add(source, [*path, "from"],
                       f"'{link}' must name a reference field of another entity that points to {entity}", hint)
            continue
        if link in seen:
            report.add(source, [*path, "from"], f"'{link}' has a grid already on this form")
        seen.add(link)
        columns = tuple(spec["columns"])
        for j, column in enumerate(columns):
            if column == via:
                report.add(source, [*path, "columns", j],
                           f"'{column}' is the link to the parent: every row of the grid points to it")
            elif column not in child.fields:
                report.unknown(source, [*path, "columns", j], f"a field of {child_name}", column, child.fields)
        for name, required in child.fields.items():
            if (required.required and required.default is None and not required.computed
                    and name != via and name not in columns):
                report.add(source, [*path, "columns"],
                           f"'{name}' is required on {child_name} and has no default: the grid needs it as a column")
        label = Label.of(spec["label"], link) if "label" in spec else child.plural
        grids.append(LineGrid(entity=child_name, via=via, columns=columns, label=label))
    return tuple(grids)
