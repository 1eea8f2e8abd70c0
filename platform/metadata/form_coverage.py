"""Required fields a form can fill: a field that is `required`, or has `required_when`, must be on
a form section of its entity's view, or nobody can save the record from its form (a field required
when another has some value, that the form never shows). Checked by the loader, so `atrium check`, the studio and
every start refuse such a blueprint; the problem is reported at the field's own line.

A field the engine fills is left alone: computed fields, fields with a default (filled when a
record is made) and stamped fields (`stamp_on_stage`). An entity whose view has no form sections
gets the generated form, which shows every field.
"""
from __future__ import annotations

from typing import Mapping

from atrium.metadata.model import Entity, Field, View
from atrium.metadata.sources import Report, Source


def needs_form(field: Field) -> bool:
    """Only a person can give this field the value it must have."""
    return ((field.required or field.required_when is not None) and not field.computed
            and field.default is None and not field.stamp_on_stage)


def check_form_coverage(entity_sources: Mapping[str, Source], entities: Mapping[str, Entity],
                        views: Mapping[str, View], report: Report) -> None:
    for name, view in views.items():
        entity = entities.get(name)
        if entity is None or not view.sections:
            continue
        on_form = {field for section in view.sections for field in section.fields}
        for field in entity:
            if needs_form(field) and field.name not in on_form:
                when = (f" when {field.required_when.source}" if not field.required
                        and field.required_when is not None else "")
                report.add(entity_sources[name], ["fields", field.name],
                           f"'{field.name}' is required{when} but on no form section of views/{name}.yaml: "
                           "the form cannot be saved while it is empty",
                           "add it to a form section, with visible_when if it is needed only sometimes",
                           key=True)
