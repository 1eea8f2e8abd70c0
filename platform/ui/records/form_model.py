"""A generated form: its sections and widgets, read from the view and the user's field access,
and the user's submission read back into values.

The same expressions the records service enforces decide what the form shows: a section's
`visible_when` and a field's `required_when` (and the `requires` of the record's stage) are
evaluated on the draft record, the record as it would be saved with the user's input. A field in
a section that is not visible is not taken from the submission.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field as dataclass_field
from typing import Any, Mapping
from zoneinfo import ZoneInfo

from atrium.metadata.expressions import ExpressionError
from atrium.metadata.model import Field, Label
from atrium.runtime.records.coercion import is_empty
from atrium.ui.web.page_tools import Kit
from atrium.ui.web.present import EMPTY, Lookups, Shown

STEPS = {"integer": "1", "money": "0.01", "percent": "any", "number": "any"}
INPUT_TYPES = {"text": "text", "email": "email", "phone": "tel", "url": "url", "integer": "number",
               "number": "number", "money": "number", "percent": "number", "date": "date",
               "datetime": "datetime-local"}


@dataclass
class Widget:
    name: str
    field: Field
    label: str
    editable: bool
    value: Any = ""
    shown: Shown = EMPTY
    required: bool = False
    options: list[tuple[str, str]] = dataclass_field(default_factory=list)
    errors: list[str] = dataclass_field(default_factory=list)
    title: str = ""  # the chosen record of a reference, or the text typed to find one
    help: str = ""
    drives: bool = False  # a change re-evaluates visible_when / required_when
    touched: bool = False  # the user has left this field (its messages show)
    visible: bool = True  # the field's own visible_when holds on the draft

    @property
    def kind(self) -> str:
        return self.field.type

    @property
    def input_type(self) -> str:
        return INPUT_TYPES.get(self.field.type, "text")

    @property
    def step(self) -> str | None:
        return STEPS.get(self.field.type)


@dataclass
class Section:
    label: str
    widgets: list[Widget]
    visible: bool = True
    columns: int = 2


@dataclass
class Draft:
    """The user's input: values for the records service, and what to show back in the inputs."""

    changes: dict[str, Any]
    raw: dict[str, Any]
    titles: dict[str, str]
    errors: dict[str, list[str]] = dataclass_field(default_factory=dict)


class FormModel:
    def __init__(self, kit: Kit, current: Mapping[str, Any] | None):
        self.kit = kit
        self.entity = kit.entity
        self.current = current
        self.rules = kit.site.records.rules
        self.layout = self._layout()
        names = [name for _, _, _, fields in self.layout for name in fields]
        self.names = list(dict.fromkeys(names))
        # fields whose default copies a linked record's value (`default: "product.price"`): a new
        # record's form refills them when the link changes, until the user has typed them
        self.copied = {f.name for f in self.entity if f.default is not None and f.default.paths
                       and not f.computed and f.name in self.names}
        self.drivers = self._drivers()
        self.owner_choices: list[tuple[int, str]] | None = None  # set when the role's reach is limited
        # the record's roll-ups over its line grids as typed (FormLines.rolled): the draft reads
        # them instead of the stored ones, so its formulas and conditions follow the lines live
        self.rolled: dict[str, Any] = {}

    # --- layout -------------------------------------------------------------------------------

    def mode(self, name: str) -> str:
        return self.kit.site.access.field_mode(self.kit.actor, self.entity.name, name)

    def _layout(self) -> list[tuple[Label | str, Any, int, list[str]]]:
        sections = self.kit.view.sections
        if not sections:
            fields = [f.name for f in self.entity if not f.computed]
            return [(self.entity.label, None, 2, [n for n in fields if self.mode(n) != "hidden"])]
        return [(s.label, s.visible_when, s.columns, [n for n in s.fields if n in self.entity.fields
                                                      and self.mode(n) != "hidden"]) for s in sections]

    def editable(self, name: str) -> bool:
        field = self.entity.fields.get(name)
        return field is not None and not field.computed and self.mode(name) == "write"

    def _drivers(self) -> set[str]:
        names: set[str] = set()
        for _, visible_when, _, _ in self.layout:
            if visible_when is not None:
                names |= set(visible_when.names)
        for name in self.names:
            field = self.entity.fields[name]
            for condition in (field.required_when, field.visible_when):
                if condition is not None:
                    names |= set(condition.names)
            if field.default is not None and self.current is None:  # a link a copied default reads
                names |= {path[0] for path in field.default.paths}
        stage = self.entity.stage_field
        if stage is not None:
            names.add(stage.name)
        return names & set(self.names)

    # --- the draft ----------------------------------------------------------------------------

    def draft_record(self, changes: Mapping[str, Any],
                     typed: set[str] | None = None) -> tuple[dict[str, Any], dict[str, list[str]]]:
        """The record as it would be saved, its rules reading linked records. With `typed` (the
        fields the user has been in), a new record's copied defaults the user left alone are
        taken again from the links as they are now."""
        base = None
        if self.current is not None:
            base = {f.name: None for f in self.entity} | dict(self.current)
        elif typed is not None:
            changes = {name: value for name, value in changes.items() if name not in self.copied - typed}
        records = self.kit.site.records
        with self.kit.site.engine.connect() as connection:
            record, errors = self.rules.prepare(self.entity, base, changes, self.kit.actor,
                                                linked=records.linked_values.reader(connection),
                                                rolled=self.rolled or None)
            # the form's own conditions (visible_when, required_when) read the linked values too
            conditions = ([v for _, v, _, _ in self.layout] + [f.required_when for f in self.entity]
                          + [f.visible_when for f in self.entity])
            shown = records.linked_values.for_expressions(connection, self.entity.name, [record], conditions)
        return dict(shown[0]), errors

    def refill_copied(self, record: Mapping[str, Any], raw: dict[str, Any], typed: set[str]) -> None:
        """Show a new record's copied defaults the user has not typed as the draft computed them."""
        if self.current is not None:
            return
        for name in self.copied - typed:
            raw[name] = input_value(self.entity.fields[name], record.get(name), self.kit.blueprint.timezone)

    def holds(self, expression: Any, record: Mapping[str, Any]) -> bool:
        if expression is None:
            return True
        try:
            evaluator = self.rules.evaluator.bind(self.entity.name, self.kit.actor)
            return bool(evaluator.evaluate(expression, record))
        except ExpressionError:
            return False

    def visible_sections(self, record: Mapping[str, Any]) -> list[bool]:
        return [self.holds(visible_when, record) for _, visible_when, _, _ in self.layout]

    def field_visible(self, name: str, record: Mapping[str, Any]) -> bool:
        """Whether the field's own `visible_when` holds (a field without one always shows)."""
        return self.holds(self.entity.fields[name].visible_when, record)

    def required(self, name: str, record: Mapping[str, Any]) -> bool:
        field = self.entity.fields[name]
        if not self.field_visible(name, record):
            return False  # a hidden field is not asked for
        if field.required or (field.required_when is not None and self.holds(field.required_when, record)):
            return True
        pipeline = self.kit.blueprint.pipeline_for(self.entity.name)
        stage_field = self.entity.stage_field
        stage = pipeline.stage(record.get(stage_field.name)) if pipeline and stage_field else None
        return bool(stage and name in stage.requires)

    def hidden_by_sections(self, record: Mapping[str, Any]) -> set[str]:
        """Fields only in sections the draft does not show, or whose own visible_when does not
        hold: not taken from a submission."""
        shown: set[str] = set()
        hidden: set[str] = set()
        for visible, (_, _, _, fields) in zip(self.visible_sections(record), self.layout, strict=False):
            (shown if visible else hidden).update(fields)
        return (hidden - shown) | {name for name in self.names if not self.field_visible(name, record)}

    # --- reading a submission -----------------------------------------------------------------

    def read(self, form: Any, resolve) -> Draft:
        """The submitted values of fields that were on the form and may be written."""
        posted = set(form.getlist("_fields"))
        changes: dict[str, Any] = {}
        raw: dict[str, Any] = {}
        titles: dict[str, str] = {}
        errors: dict[str, list[str]] = {}
        for name in self.entity.fields:
            if name not in posted or not self.editable(name):
                continue
            field = self.entity.fields[name]
            if field.type == "multiselect":
                value: Any = [str(v) for v in form.getlist(name) if str(v)]
                raw[name] = value
                value = value or None
            elif field.type == "boolean":
                value = str(form.get(name, "")) in ("on", "true", "1")
                raw[name] = value
            elif field.type == "location":
                value = {part: str(form.get(f"{name}__{part}", "")).strip() for part in ("lat", "lng", "address")}
                raw[name] = value
            else:
                value = str(form.get(name, "")).strip()
                raw[name] = value
                if field.type == "reference":
                    typed = str(form.get(f"{name}__q", "")).strip()
                    titles[name] = typed
                    if not value and typed:
                        found = resolve(field.to, typed)
                        if len(found) == 1:
                            value = raw[name] = str(found[0])
                        else:
                            errors[name] = [self.kit.word("Choose a record from the list")]
            changes[name] = value
        return Draft(changes, raw, titles, errors)

    def prefill(self, params: Mapping[str, str]) -> dict[str, str]:
        """Values for a new record from the URL (`/r/{entity}/new?{reference}=12` from a related list)."""
        return {name: str(value) for name, value in params.items()
                if name in self.entity.fields and self.editable(name)
                and self.entity.fields[name].type not in ("multiselect", "location")}

    # --- building the widgets -----------------------------------------------------------------

    def sections(self, record: Mapping[str, Any], raw: Mapping[str, Any] | None, lookups: Lookups,
                 errors: Mapping[str, list[str]], titles: Mapping[str, str], users: list[tuple[int, str]],
                 touched: set[str] | None = None) -> list[Section]:
        presenter = self.kit.presenter
        result = []
        for visible, (label, _, columns, fields) in zip(self.visible_sections(record), self.layout, strict=False):
            widgets = []
            for name in fields:
                field = self.entity.fields[name]
                widget = Widget(name, field, presenter.text(field.label), self.editable(name),
                                help=presenter.text(field.help) if field.help else "",
                                required=self.required(name, record), drives=name in self.drivers)
                widget.value = raw[name] if raw is not None and name in raw else input_value(
                    field, record.get(name), self.kit.blueprint.timezone)
                widget.shown = presenter.show(field, record.get(name), lookups)
                widget.visible = self.field_visible(name, record)
                widget.touched = touched is None or name in touched
                if widget.touched:
                    widget.errors = list(errors.get(name, ()))
                widget.options = self.options(field, users)
                if field.type == "reference":
                    chosen = _int(widget.value)
                    linked = lookups.titles.get(field.to, {}).get(chosen) if chosen is not None else None
                    widget.title = linked or titles.get(name, "")
                widgets.append(widget)
            result.append(Section(presenter.text(label), widgets, visible, columns))
        return result

    def options(self, field: Field, users: list[tuple[int, str]]) -> list[tuple[str, str]]:
        text = self.kit.presenter.text
        if field.type in ("select", "multiselect"):
            return [(str(o.value), text(o.label)) for o in field.options]
        if field.type == "user":
            if field.name == self.entity.owner and self.owner_choices is not None:
                users = self.owner_choices
            return [(str(i), name) for i, name in users]
        if field.type == "stage":
            pipeline = self.kit.blueprint.pipelines.get(field.pipeline or "")
            if pipeline is None:
                return []
            source = self.current.get(field.name) if self.current else None
            return [(s.name, text(s.label)) for s in pipeline.stages
                    if source is None or s.name == source or pipeline.allows(source, s.name)]
        return []


def input_value(field: Field, value: Any, timezone: str) -> Any:
    """A stored value as an input shows it."""
    if field.type == "multiselect":
        return [str(v) for v in value or ()]
    if field.type == "boolean":
        return bool(value)
    if field.type == "location":
        value = value or {}
        return {part: "" if is_empty(value.get(part)) else str(value.get(part)) for part in ("lat", "lng", "address")}
    if value is None:
        return ""
    if field.type == "datetime" and isinstance(value, dt.datetime):
        return value.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%dT%H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
