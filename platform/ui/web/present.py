"""How stored values show on pages and in exports.

Option labels and colours, stage labels, titles of linked records (only those the reader may
read: anything else shows as restricted), users' display names, money with the currency
symbol, dates and numbers in the reader's locale. `Lookups` fetches what a page of records
needs in a few queries, through the access rules, so a list costs the same for 5 or 500 rows.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field as dataclass_field
from decimal import Decimal
from typing import Any, Iterable, Mapping, Sequence
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from atrium.metadata.model import SYSTEM_FIELDS, Entity, Field, Label
from atrium.metadata.references import resolve_path
from atrium.runtime.access.secured import SecuredRecords
from atrium.runtime.files.service import file_url
from atrium.runtime.query.lists import ListQuery
from atrium.runtime.records.coercion import CoercionError, coerce
from atrium.runtime.records.evaluation import Actor
from atrium.runtime.site.site import Site
from atrium.ui.web.i18n import format_date, format_datetime, format_money, format_number, word

NUMERIC = frozenset({"integer", "number", "money", "percent"})
MAX_DEPTH = 3  # steps in a dotted path (account.region is 2)


@dataclass(frozen=True)
class Shown:
    """One value ready for a template: text, maybe a link, maybe a colour badge or several."""

    text: str
    href: str | None = None
    color: str | None = None
    badges: tuple["Shown", ...] = ()
    muted: bool = False
    links: tuple["Shown", ...] = ()  # several links (a file field's files)


EMPTY = Shown("")


@dataclass(frozen=True)
class Column:
    path: str
    field: Field
    label: str
    sortable: bool
    numeric: bool


@dataclass
class Lookups:
    """Titles of readable linked records, users' names, and linked records for dotted paths."""

    titles: dict[str, dict[int, str]] = dataclass_field(default_factory=dict)
    users: dict[int, str] = dataclass_field(default_factory=dict)
    linked: dict[str, dict[int, dict[str, Any]]] = dataclass_field(default_factory=dict)


class Presenter:
    def __init__(self, site: Site, actor: Actor, locale: str):
        self.site = site
        self.blueprint = site.blueprint
        self.actor = actor
        self.locale = locale
        self.secured = SecuredRecords(site)
        # what a path resolves to depends on the blueprint and the role's field modes only: kept on
        # the site (a new metadata version is a new site) per role, not worked out per request
        self._path_fields: dict[tuple[str | None, str, str], Field | None] = vars(site).setdefault(
            "_path_fields_by_role", {})

    # --- labels and paths ---------------------------------------------------------------------

    def text(self, label: Label | str | None) -> str:
        if isinstance(label, Label):
            return label.text(self.locale, self.blueprint.default_locale)
        return "" if label is None else str(label)

    def entity(self, name: str) -> Entity:
        return self.blueprint.entities[name]

    def mode(self, entity: str, field: str) -> str:
        if field in SYSTEM_FIELDS:
            return "readonly"
        return self.site.access.field_mode(self.actor, entity, field)

    def path_field(self, entity: str, path: str) -> Field | None:
        """The field a dotted path ends at, or None when it does not resolve or passes a field
        the reader's role hides."""
        key = (self.actor.role, entity, path)
        try:
            return self._path_fields[key]
        except KeyError:
            found = self._path_fields[key] = self._resolve_path_field(entity, path)
            return found

    def _resolve_path_field(self, entity: str, path: str) -> Field | None:
        steps = path.split(".")
        if len(steps) > MAX_DEPTH or entity not in self.blueprint.entities:
            return None
        resolved = resolve_path(self.blueprint.entities, entity, path)
        if isinstance(resolved, str):
            return None
        current = entity
        for step in steps:
            if self.mode(current, step) == "hidden":
                return None
            field = self.entity(current).fields.get(step)
            if field is not None and field.type == "reference":
                assert field.to is not None  # resolve_path went through it: it names an entity
                current = field.to
        return resolved

    def path_label(self, entity: str, path: str) -> str:
        parts, current = [], entity
        for step in path.split("."):
            field = self.entity(current).fields.get(step)
            if field is None:
                parts.append(step)  # not a field: its name as written
                break
            parts.append(self.text(field.label))
            current = field.to or current
        return " · ".join(parts)

    def columns(self, entity: str, paths: Iterable[str]) -> list[Column]:
        """The columns of `paths` the reader may see, kept on the site per role and language (what
        they are depends on nothing else): a detail page asks for each of its related lists."""
        paths = tuple(paths)
        kept = vars(self.site).setdefault("_columns_by_role", {})
        key = (self.actor.role, self.locale, entity, paths)
        found = kept.get(key)
        if found is None:
            found = kept[key] = tuple(self._columns(entity, paths))
        return list(found)

    def _columns(self, entity: str, paths: Iterable[str]) -> list[Column]:
        result = []
        for path in paths:
            field = self.path_field(entity, path)
            if field is None:
                continue
            sortable = "." not in path and field.type not in ("multiselect", "location", "file")
            result.append(Column(path, field, self.path_label(entity, path), sortable, field.type in NUMERIC))
        return result

    # --- fetching what a page needs -----------------------------------------------------------

    def readable_titles(self, connection: Connection, entity: str, ids: Iterable[Any]) -> dict[int, str]:
        """Titles of the records among `ids` this actor may read (the others stay unnamed)."""
        wanted = sorted({int(i) for i in ids if isinstance(i, int)})
        if not wanted or not self.site.access.can(self.actor, entity, "read"):
            return {}
        return self.site.queries.titles(connection, entity, wanted, self.actor, readable_only=True)

    def _fetch_linked(self, connection: Connection, lookups: Lookups, entity: str, ids: set[int]) -> None:
        known = lookups.linked.setdefault(entity, {})
        missing = sorted(i for i in ids if i not in known)
        for start in range(0, len(missing), 500):
            chunk = missing[start:start + 500]
            page = self.secured.list(self.actor, ListQuery(entity, where={"id": {"in": chunk}},
                                                           sort=("id",), limit=500), connection)
            known.update({record["id"]: record for record in page.records})

    def load(self, connection: Connection, entity: str, records: Sequence[Mapping[str, Any]],
             paths: Iterable[str], lookups: Lookups | None = None) -> Lookups:
        """Everything needed to show `paths` of `records`: linked records, titles, user names."""
        lookups = lookups or Lookups()
        titles: dict[str, set] = {}
        users: set = set()
        for path in paths:
            if self.path_field(entity, path) is None:
                continue
            steps = path.split(".")
            current, rows = entity, list(records)
            for depth, step in enumerate(steps):
                field = self.entity(current).fields.get(step)
                values = [row.get(step) for row in rows]
                if field is None:
                    if step in ("created_by", "updated_by"):
                        users.update(values)
                    break
                if field.type == "user":
                    users.update(values)
                if field.type != "reference":
                    break
                assert field.to is not None  # a loaded blueprint's references name an entity
                ids = {v for v in values if isinstance(v, int)}
                if depth == len(steps) - 1:
                    titles.setdefault(field.to, set()).update(ids)
                    break
                self._fetch_linked(connection, lookups, field.to, ids)
                rows = [lookups.linked[field.to][i] for i in ids if i in lookups.linked[field.to]]
                current = field.to
        for target, ids in titles.items():  # what an earlier load for this reader found is not asked again
            known = lookups.titles.setdefault(target, {})
            known.update(self.readable_titles(connection, target, [i for i in ids if i not in known]))
        self.load_users(connection, users, lookups)
        return lookups

    def load_users(self, connection: Connection, ids: Iterable[Any], lookups: Lookups) -> None:
        wanted = sorted({i for i in ids if isinstance(i, int)} - set(lookups.users))
        if not wanted:
            return
        table = self.site.tables.system("atrium_users")
        query = self.site.queries.statements.get(("user names",), lambda: sa.select(
            table.c.id, table.c.display_name, table.c.name).where(table.c.id.in_(sa.bindparam("ids", expanding=True))))
        for start in range(0, len(wanted), 500):
            for row in connection.execute(query, {"ids": wanted[start:start + 500]}):
                lookups.users[row.id] = row.display_name or row.name

    def value_at(self, entity: str, record: Mapping[str, Any], path: str, lookups: Lookups) -> Any:
        """The value at a dotted path (None when a step is empty or not readable)."""
        steps = path.split(".")
        current, row = entity, record
        for step in steps[:-1]:
            field = self.entity(current).fields[step]
            assert field.to is not None  # a path's steps before the last are references
            key = row.get(step)  # lookups.linked holds records by their int id
            linked = lookups.linked.get(field.to, {}).get(key) if isinstance(key, int) else None
            if linked is None:
                return None
            row = linked
            current = field.to
        return row.get(steps[-1])

    # --- showing one value --------------------------------------------------------------------

    def show(self, field: Field, value: Any, lookups: Lookups) -> Shown:
        if value is None or value == [] or value == "":
            return EMPTY
        kind = field.type
        if kind == "reference":
            assert field.to is not None  # a loaded blueprint's references name an entity
            title = lookups.titles.get(field.to, {}).get(value)
            if title is None:
                return Shown(word("(no access)", self.locale), muted=True)
            return Shown(title, href=f"/r/{field.to}/{value}")
        if kind == "user" or field.name in ("created_by", "updated_by"):
            return Shown(lookups.users.get(value, f"#{value}"))
        if kind == "select":
            option = field.option(value)
            return Shown(self.text(option.label) if option else str(value), color=option.color if option else None)
        if kind == "file":  # the column lists the field's files: [{id, name, size, type}]
            links = tuple(Shown(str(item.get("name")), href=file_url(item.get("id")))
                          for item in value if isinstance(item, Mapping))
            return Shown(", ".join(link.text for link in links), links=links)
        if kind == "multiselect":
            badges = []
            for item in value if isinstance(value, list | tuple) else [value]:
                option = field.option(item)
                badges.append(Shown(self.text(option.label) if option else str(item),
                                    color=(option.color if option else None) or "default"))
            return Shown(", ".join(b.text for b in badges), badges=tuple(badges))
        if kind == "stage":
            pipeline = self.blueprint.pipelines.get(field.pipeline or "")
            stage = pipeline.stage(value) if pipeline else None
            return Shown(self.text(stage.label) if stage else str(value), color=stage.color if stage else None)
        if kind == "url" and str(value).lower().startswith(("http://", "https://")):
            return Shown(str(value), href=str(value))
        if kind == "email":
            return Shown(str(value), href=f"mailto:{value}")
        return Shown(self.plain(field, value, lookups))

    def plain(self, field: Field, value: Any, lookups: Lookups) -> str:
        """The value as text (CSV cells, titles, timeline entries)."""
        if value is None or value == [] or value == "":
            return ""
        kind = field.type
        if kind in ("reference", "user", "select", "multiselect", "stage", "file") \
                or field.name in ("created_by", "updated_by"):
            return self.show(field, value, lookups).text
        if kind == "money":
            return format_money(value, self.blueprint.currency, self.locale)
        if kind == "percent":
            return f"{format_number(_tidy(value))}%"
        if kind in ("integer", "number"):
            return format_number(value)
        if kind == "boolean":
            return word("Yes", self.locale) if value else word("No", self.locale)
        if kind == "date" or (isinstance(value, dt.date) and not isinstance(value, dt.datetime)):
            return format_date(value, self.locale)
        if kind == "datetime" or isinstance(value, dt.datetime):
            return format_datetime(value, self.locale, self.blueprint.timezone)
        if kind == "location":
            if not isinstance(value, Mapping):
                return str(value)
            if value.get("address"):
                return str(value["address"])
            return f"{value.get('lat')}, {value.get('lng')}"
        return str(value)

    def export_value(self, field: Field, value: Any, lookups: Lookups) -> str:
        """A CSV cell: numbers and dates plain (a spreadsheet reads them), the rest as shown."""
        if value is None or value == [] or value == "":
            return ""
        if field.type in NUMERIC:
            return str(_tidy(value)) if isinstance(value, Decimal) else str(value)
        if field.type == "date":
            return value.isoformat()
        if field.type == "datetime":
            return value.astimezone(ZoneInfo(self.blueprint.timezone)).strftime("%Y-%m-%d %H:%M")
        if field.type == "boolean":
            return word("Yes", self.locale) if value else word("No", self.locale)
        if field.type == "file":  # links to the downloads, each under the reader's own access check
            return " ".join(file_url(item.get("id")) for item in value if isinstance(item, Mapping))
        return self.plain(field, value, lookups)

    def stored(self, field: Field, value: Any) -> Any:
        """A value kept as JSON in history, back to what the field stores (best effort)."""
        try:
            return coerce(field, value, self.blueprint.timezone)
        except CoercionError:
            return value


def _tidy(value: Any) -> Any:
    """Decimal('50.0000') → Decimal('50'), Decimal('12.50') stays two places."""
    if isinstance(value, Decimal):
        return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()
    return value
