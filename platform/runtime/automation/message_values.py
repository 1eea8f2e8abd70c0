"""A record's values as a message reads them: the `{field}` placeholders of notifications and
approval requests.

A message names fields (`{status}`, `{account}`, `{owner}`, `{due_on}`); the person reading it
should see the option's label in their language, the linked record's title, the user's name, a
time in the blueprint's time zone and a grouped number, not stored codes and ids. What needs the
database (titles, names) is read once for a whole batch of records. A name that is no field of
the record stays as written.
"""
from __future__ import annotations

import datetime as dt
import functools
import re
from decimal import Decimal
from typing import Any, Mapping, Sequence
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from atrium.metadata.model import Blueprint, Field
from atrium.runtime.access.policy import Access
from atrium.runtime.query.lists import Queries
from atrium.runtime.schema.tables import Tables

PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")
Texts = Mapping[str, str]  # locale → text


class MessageValues:
    def __init__(self, blueprint: Blueprint, tables: Tables):
        self.blueprint = blueprint
        self.tables = tables
        self.zone = ZoneInfo(blueprint.timezone)
        self.queries = Queries(blueprint, tables, Access(blueprint, tables), None)  # titles only

    def fill(self, connection: Connection, entity: str, texts: Texts,
             records: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
        """Each record's message, locale → text, in the records' sequence."""
        names = {name for text in texts.values() for name in PLACEHOLDER.findall(text)}
        if not names:
            shared = dict(texts)  # the same message for every record
            return [shared for _ in records]
        model = self.blueprint.entities[entity]
        fields = {name: model.fields[name] for name in names if name in model.fields}
        looked_up = self._looked_up(connection, fields, records)
        return [{locale: self._fill(text, record, fields, looked_up, locale) for locale, text in texts.items()}
                for record in records]

    def _looked_up(self, connection: Connection, fields: Mapping[str, Field],
                   records: Sequence[Mapping[str, Any]]) -> dict[str, dict[Any, str]]:
        """Field name → stored id → what shows, for the reference and user fields the texts name."""
        found: dict[str, dict[Any, str]] = {}
        for name, field in fields.items():
            ids = sorted({value for record in records if (value := record.get(name)) is not None})
            if not ids or field.type not in ("reference", "user"):
                continue
            if field.type == "reference":
                assert field.to is not None  # a loaded blueprint's reference names its entity
                found[name] = self.queries.titles(connection, field.to, ids)
            else:
                users = self.tables.system("atrium_users")
                found[name] = {row.id: row.display_name or row.name for row in connection.execute(
                    sa.select(users.c.id, users.c.name, users.c.display_name).where(users.c.id.in_(ids)))}
        return found

    def _fill(self, text: str, record: Mapping[str, Any], fields: Mapping[str, Field],
              looked_up: Mapping[str, Mapping[Any, str]], locale: str) -> str:
        out = []
        for literal, name in _parts(text):
            out.append(literal)
            if name is None:
                continue
            if name not in record:
                out.append("{" + name + "}")
            else:
                out.append(self._shown(fields.get(name), record[name], looked_up.get(name), locale))
        return "".join(out)

    def _shown(self, field: Field | None, value: Any, looked_up: Mapping[Any, str] | None, locale: str) -> str:
        if value is None:
            return ""
        if looked_up is not None:
            return looked_up.get(value, f"#{value}")
        if field is not None and field.type in ("select", "multiselect"):
            values = value if isinstance(value, (list, tuple)) else [value]
            return ", ".join(self._option(field, v, locale) for v in values)
        if isinstance(value, bool):
            return str(value)
        if isinstance(value, dt.datetime):
            moment = value if value.tzinfo is not None else value.replace(tzinfo=dt.timezone.utc)
            return f"{moment.astimezone(self.zone):%Y-%m-%d %H:%M}"
        if isinstance(value, (int, Decimal)) and field is not None and field.type != "autonumber":
            return f"{value:,}"
        return str(value)

    def _option(self, field: Field, value: Any, locale: str) -> str:
        option = field.option(value)
        return option.label.text(locale, self.blueprint.default_locale) if option is not None else str(value)


@functools.lru_cache(maxsize=256)
def _parts(text: str) -> tuple[tuple[str, str | None], ...]:
    """A message split once into (literal, field name or None) parts."""
    parts, last = [], 0
    for match in PLACEHOLDER.finditer(text):
        parts.append((text[last:match.start()], match.group(1)))
        last = match.end()
    parts.append((text[last:], None))
    return tuple(parts)
