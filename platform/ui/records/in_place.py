"""Changing a few fields of a record where it is shown: a list cell, a kanban card's quick edit.

The same rules as the form: only fields the user may write (field modes from the access layer;
formulas, roll-ups, read-only and hidden fields never), only records the user may update, the
input read as the form reads it, and the save through SecuredRecords with the version the user
saw, so every check, stage rule, automation and derived value applies, and a save made after
someone else's is refused as stale with who changed the record and when.
"""
from __future__ import annotations

from dataclasses import dataclass, field as dataclass_field
from decimal import Decimal
from typing import Any, Callable, Mapping, Sequence

from sqlalchemy.engine import Connection
from starlette.datastructures import FormData, UploadFile

from atrium.metadata.model import IN_PLACE_TYPES, NUMERIC_TYPES, Field
from atrium.runtime.records.service import StaleRecord, ValidationFailed
from atrium.ui.records.form_model import INPUT_TYPES, Draft, FormModel, input_value
from atrium.ui.records.list_state import resolver
from atrium.ui.web.i18n import format_datetime, format_number
from atrium.ui.web.page_tools import Kit
from atrium.ui.web.present import Column, Lookups


@dataclass
class Editor:
    """One field's input: what it shows, its choices, and its messages."""

    name: str
    field: Field
    label: str
    value: Any = ""
    options: list[tuple[str, str]] = dataclass_field(default_factory=list)
    title: str = ""  # a reference's chosen record, or the text typed to find one
    errors: list[str] = dataclass_field(default_factory=list)
    required: bool = False

    @property
    def kind(self) -> str:
        return self.field.type

    @property
    def input_type(self) -> str:
        """Numbers are typed as text in the locale's writing (1,234.50), which the records
        service reads back; the rest as the form's inputs."""
        if self.field.type in NUMERIC_TYPES:
            return "text"
        return INPUT_TYPES.get(self.field.type, "text")


@dataclass
class Saved:
    """What a save in place came to: the record saved, field messages, or the stored record
    when someone else saved first."""

    record: dict[str, Any] | None = None
    errors: dict[str, list[str]] = dataclass_field(default_factory=dict)
    stale: dict[str, Any] | None = None


def number_text(field: Field, value: Any, locale: str) -> str:
    """A stored number as the user's locale writes it, with every digit it holds."""
    if value is None or value == "":
        return ""
    if field.type == "money":
        return format_number(value, 2, locale)
    number = Decimal(str(value))
    number = number.quantize(Decimal(1)) if number == number.to_integral_value() else number.normalize()
    exponent = number.as_tuple().exponent
    return format_number(number, max(0, -exponent) if isinstance(exponent, int) else 0, locale)


class InPlace:
    """The fields of one entity a user may change in place, and saving them."""

    def __init__(self, kit: Kit, current: Mapping[str, Any] | None = None):
        self.kit = kit
        self.model = FormModel(kit, current)

    def editable(self, name: str) -> bool:
        field = self.kit.entity.fields.get(name)
        return (field is not None and field.type in IN_PLACE_TYPES and field.name != self._stage_name()
                and self.model.editable(name))

    def _stage_name(self) -> str | None:
        stage = self.kit.entity.stage_field
        return stage.name if stage is not None else None

    def updatable(self, connection: Connection) -> Callable[[Mapping[str, Any]], bool]:
        """record → whether this user may update it (the role's update scope)."""
        if not self.kit.can("update"):
            return lambda record: False
        return self.kit.site.access.permits_each(connection, self.kit.actor, self.kit.entity_name, "update")

    def editors(self, connection: Connection, record: Mapping[str, Any], names: list[str],
                users: list[tuple[int, str]], raw: Mapping[str, Any] | None = None,
                titles: Mapping[str, str] | None = None,
                errors: Mapping[str, list[str]] | None = None) -> list[Editor]:
        """The inputs of `names` for `record`: the stored values, or what the user typed;
        `users` the active users (list_page.active_users) a user field offers."""
        kit = self.kit
        presenter = kit.presenter
        lookups = presenter.load(connection, kit.entity_name, [record], names) if names else Lookups()
        result = []
        for name in names:
            field = kit.entity.fields[name]
            editor = Editor(name, field, presenter.text(field.label), errors=list((errors or {}).get(name, ())),
                            required=self.model.required(name, record))
            stored = record.get(name)
            if raw is not None and name in raw:
                editor.value = raw[name]
            elif field.type in NUMERIC_TYPES:
                editor.value = number_text(field, stored, kit.locale)
            else:
                editor.value = input_value(field, stored, kit.blueprint.timezone)
            offered = self._users(connection, record, users) if field.type == "user" else []
            editor.options = self.model.options(field, offered)
            if field.type == "reference":
                chosen = stored if raw is None or name not in raw else _int(raw[name])
                editor.title = (lookups.titles.get(field.to or "", {}).get(chosen) if chosen is not None else None) \
                    or (titles or {}).get(name, "")
            result.append(editor)
        return result

    def _users(self, connection: Connection, record: Mapping[str, Any],
               users: list[tuple[int, str]]) -> list[tuple[int, str]]:
        """Users to choose from; for the owner field only those the user may give records to."""
        owner = self.kit.entity.owner
        reach = self.kit.site.access.owner_reach(connection, self.kit.actor, self.kit.entity_name)
        if owner is not None and reach is not None:
            self.model.owner_choices = [(i, n) for i, n in users if i in reach or i == record.get(owner)]
        return users

    def read(self, connection: Connection, values: Mapping[str, Any], names: list[str]) -> Draft:
        """The user's input for `names` (name → value, and `<name>__q` for a reference's typed
        text), read as the form reads a submission."""
        pairs: list[tuple[str, str | UploadFile]] = [("_fields", name) for name in names]
        for key, value in values.items():
            for item in value if isinstance(value, list) else [value]:
                pairs.append((key, item))
        return self.model.read(FormData(pairs), resolver(self.kit, connection))

    def save(self, record_id: int, changes: Mapping[str, Any], version: int | None) -> Saved:
        kit = self.kit
        try:
            return Saved(record=kit.secured.update(kit.actor, kit.entity_name, record_id, changes, version=version))
        except ValidationFailed as failed:
            return Saved(errors=failed.errors)
        except StaleRecord as stale:
            return Saved(stale=kit.secured.visible(kit.actor, kit.entity_name, stale.current))

    def last_change(self, connection: Connection, current: Mapping[str, Any]) -> dict[str, str]:
        """Who saved the record last, and when (the words' `user` and `time`)."""
        lookups = Lookups()
        changed_by = current.get("updated_by")
        self.kit.presenter.load_users(connection, [changed_by], lookups)
        who = lookups.users.get(changed_by, "") if isinstance(changed_by, int) else ""
        when = format_datetime(current.get("updated_at"), self.kit.locale, self.kit.blueprint.timezone)
        return {"user": who or self.kit.word("someone"), "time": when}

    def stale_note(self, connection: Connection, current: Mapping[str, Any]) -> str:
        """Why the user's value was not saved: someone else saved the record first."""
        return self.kit.word("Not saved: {user} changed this record at {time}. The current value is shown.",
                             **self.last_change(connection, current))

    def changed_note(self, connection: Connection, current: Mapping[str, Any]) -> str:
        """The record changed after the user's page was drawn: the input shows the new value."""
        return self.kit.word("{user} changed this record at {time}: the input shows the current value.",
                             **self.last_change(connection, current))


class ListCells:
    """Which cells of a list page the reader may edit (the list template asks `editable`)."""

    def __init__(self, kit: Kit, connection: Connection, records: Sequence[Mapping[str, Any]],
                 columns: Sequence[Column]):
        in_place = InPlace(kit)
        # the first column links to the record: it opens it, it is not edited in place
        self.paths = {c.path for c in columns[1:] if "." not in c.path and in_place.editable(c.path)}
        updatable = in_place.updatable(connection) if self.paths else (lambda record: False)
        self.rows = {r["id"] for r in records if updatable(r)}

    def editable(self, record: Mapping[str, Any], path: str) -> bool:
        return path in self.paths and record.get("id") in self.rows


def inline_context(kit: Kit, connection: Connection, records: Sequence[Mapping[str, Any]],
                   columns: Sequence[Column]) -> dict[str, Any]:
    """What the list page adds for inline edit (cell_edit.py answers the cells)."""
    return {"inline": ListCells(kit, connection, records, columns)}


def version_of(text: Any) -> int | None:
    text = str(text or "").strip()
    return int(text) if text.isdigit() else None


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
