"""A list page's state as it lives in the URL, and the condition it means.

    /r/deal?stage=proposal&stage=won&close_date__period=this_quarter&amount__min=1000
            &account=12&account.tier=a&q=acme&sort=-amount&after=CURSOR

`?field=value` filters on any field the reader may see (related lists link to
`/r/child?ref_field=ID`); the view's `list.filters` get widgets by type. Suffixes: `__from`,
`__to` and `__period` for dates, `__min` and `__max` for numbers (a number given several times: any
of them, `?id=3&id=7`), `__q` for a reference typed as
text (no JavaScript: it matches by title). Values are coerced like form input; a bad one is
reported and ignored, never sent to SQL. Filters prefixed `any:` make one "any of these" group:
`?any:stage=won&any:amount__min=1000&owner=me` is (stage won OR amount at least 1000) AND mine.
`read_state` reads it for one request (the list, kanban, calendar, export and saved views all
start there).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field as dataclass_field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Callable, Iterable
from urllib.parse import urlencode

from atrium.metadata.model import Field
from atrium.runtime.automation.messages import message
from atrium.runtime.query.lists import ListQuery
from atrium.runtime.query.periods import RELATIVE_DAYS, as_bounds
from atrium.runtime.records.coercion import CoercionError, coerce
from atrium.translation import N_
from atrium.ui.web.i18n import PERIOD_WORDS, word
from atrium.ui.web.present import Presenter

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from atrium.ui.web.page_tools import Kit

RESOLVE_LIMIT = 200  # records a reference typed as text may match in a filter

PERIODS = ("today", "yesterday", "this_week", "last_week", "this_month", "last_month", "this_quarter",
           "last_quarter", "this_year", "last_year", "last_7_days", "last_30_days", "last_90_days",
           "next_7_days", "next_30_days", "next_90_days")
RESERVED = frozenset({"q", "sort", "after", "count", "limit", "csrf_token", "name", "query"})
SUFFIXES = ("from", "to", "period", "min", "max", "q")
OPTION_TYPES = frozenset({"select", "stage", "multiselect"})
TEXT_TYPES = frozenset({"text", "textarea", "email", "phone", "url", "autonumber"})
MAX_LIMIT = 200
ANY_PREFIX = "any:"  # a filter of the "any of these" group

Resolver = Callable[[str, str], list[int]]  # (entity, text) → ids of readable records by title


@dataclass
class Filter:
    """One filter widget of the view, with its current values."""

    path: str
    field: Field
    label: str
    kind: str  # options, user, reference, date, number, boolean, text
    values: list[str] = dataclass_field(default_factory=list)
    extra: dict[str, str] = dataclass_field(default_factory=dict)  # suffix → value
    options: list[tuple[str, str, str | None]] = dataclass_field(default_factory=list)  # value, label, color
    title: str = ""  # a chosen reference's title
    prefix: str = ""  # ANY_PREFIX in the "any of these" group

    @property
    def name(self) -> str:
        """The query parameter the widget writes."""
        return self.prefix + self.path

    @property
    def active(self) -> bool:
        return bool(self.values or any(self.extra.values()))


@dataclass
class ListState:
    entity: str
    where: dict[str, Any]  # field path → operators, and `any` (a list of them) for the group
    search: str
    sort: tuple[str, ...]
    after: str | None
    limit: int
    params: list[tuple[str, str]]  # filters, q and sort: what a bookmark or saved view keeps
    problems: list[str] = dataclass_field(default_factory=list)
    exact_count: bool = False

    def query_string(self, drop: Iterable[str] = (), **extra: str) -> str:
        drop = set(drop) | set(extra)
        pairs = [(k, v) for k, v in self.params if k not in drop]
        pairs += [(k, v) for k, v in extra.items() if v not in (None, "")]
        return urlencode(pairs)

    def sort_link(self, path: str) -> tuple[str, str]:
        """(query string, arrow) for a click on a column header: ascending, then descending."""
        current = self.sort[0] if self.sort else ""
        if current == path:
            return self.query_string(sort="-" + path), "▲"
        if current == "-" + path:
            return self.query_string(sort=path), "▼"
        return self.query_string(sort=path), ""


def kind_of(field: Field) -> str:
    if field.type in OPTION_TYPES:
        return "options"
    if field.type in ("user", "reference", "boolean"):
        return field.type
    if field.type in ("date", "datetime"):
        return "date"
    if field.type in ("integer", "number", "money", "percent"):
        return "number"
    return "text"


def _split(key: str) -> tuple[str, str]:
    path, _, suffix = key.rpartition("__")
    if path and suffix in SUFFIXES:
        return path, suffix
    return key, ""


class StateReader:
    """Reads a list's URL into a ListState, through the reader's field access."""

    def __init__(self, presenter: Presenter, resolve: Resolver):
        self.presenter = presenter
        self.resolve = resolve
        self.timezone = presenter.blueprint.timezone

    def read(self, entity: str, params: Any) -> ListState:
        view = self.presenter.blueprint.view(entity)
        where: dict[str, Any] = {}
        kept: list[tuple[str, str]] = []
        problems: list[str] = []
        grouped: dict[str, dict[str, list[str]]] = {}
        either: dict[str, dict[str, list[str]]] = {}  # the "any of these" group
        for key, value in params.multi_items():
            if key in RESERVED or key.startswith("_") or value.strip() == "":
                continue
            group = either if key.startswith(ANY_PREFIX) else grouped
            path, suffix = _split(key.removeprefix(ANY_PREFIX))
            if self.presenter.path_field(entity, path) is None:
                continue
            group.setdefault(path, {}).setdefault(suffix, []).append(value.strip())
            kept.append((key, value.strip()))
        for path, parts in grouped.items():
            field = self.presenter.path_field(entity, path)
            assert field is not None  # grouped holds only the paths that resolved
            condition = self._condition(field, parts, problems)
            if condition:
                where[path] = condition
        branches = []
        for path, parts in either.items():
            field = self.presenter.path_field(entity, path)
            assert field is not None  # as above
            condition = self._condition(field, parts, problems)
            if condition:
                branches.append({path: condition})
        if branches:  # one of them holds
            where["any"] = branches
        search = params.get("q", "").strip()[:200]
        if search:
            kept.append(("q", search))
        sort = self._sort(entity, params.get("sort", ""))
        if sort:
            kept.append(("sort", sort[0]))
        try:
            limit = max(1, min(MAX_LIMIT, int(params.get("limit", view.page_size))))
        except ValueError:
            limit = view.page_size
        if "limit" in params and limit != view.page_size:
            kept.append(("limit", str(limit)))
        return ListState(entity, where, search, sort, params.get("after") or None, limit, kept, problems,
                         params.get("count") == "exact")

    def _sort(self, entity: str, key: str) -> tuple[str, ...]:
        name = key.lstrip("-")
        if not name:
            return ()
        if name in ("created_at", "updated_at"):
            return (key,)
        field = self.presenter.entity(entity).fields.get(name)
        if field is None or field.type in ("multiselect", "location", "file") \
                or self.presenter.mode(entity, name) == "hidden":
            return ()
        return (key,)

    def _coerce(self, field: Field, value: str, problems: list[str]) -> Any:
        target = field
        if field.type == "multiselect":  # one option at a time
            target = Field(field.name, "select", field.label, options=field.options)
        try:
            return coerce(target, value, self.timezone)
        except CoercionError as error:
            text = message(error.key, self.presenter.locale, **error.params)
            problems.append(f"{self.presenter.text(field.label)}: {text}")
            return None

    def _condition(self, field: Field, parts: dict[str, list[str]], problems: list[str]) -> dict[str, Any]:
        kind = kind_of(field)
        plain = parts.get("", [])
        condition: dict[str, Any] = {}
        if kind in ("options", "reference", "user"):
            values: list[Any] = []
            for value in plain:
                if kind == "user" and value == "me":
                    values.append(self.presenter.actor.user_id)
                    continue
                if kind == "user" and value == "none":  # nobody's: e.g. the records of a public pool
                    return {"is_set": False}
                coerced = self._coerce(field, value, problems)
                if coerced is not None:
                    values.append(coerced)
            if kind == "reference" and not values and parts.get("q"):
                assert field.to is not None  # a loaded blueprint's references name an entity
                values = self.resolve(field.to, parts["q"][0]) or [0]  # 0: no record has it
            if values:
                condition["in"] = values
        elif kind == "boolean":
            chosen = self._coerce(field, plain[0], problems) if plain else None
            if chosen is not None:
                condition["eq"] = chosen
        elif kind == "number" and len(plain) > 1:  # ?id=3&id=7: any of these (a grouped notification's link)
            values = [v for v in (self._coerce(field, value, problems) for value in plain) if v is not None]
            if values:
                condition["in"] = values
        elif kind == "number":
            for suffix, operator in (("", "eq"), ("min", "gte"), ("max", "lte")):
                if parts.get(suffix):
                    value = self._coerce(field, parts[suffix][0], problems)
                    if value is not None:
                        condition[operator] = value
        elif kind == "date":
            self._dates(field, parts, condition, problems)
        elif plain:
            condition["contains"] = plain[0]
        return condition

    def _dates(self, field: Field, parts: dict[str, list[str]], condition: dict, problems: list[str]) -> None:
        plain = parts.get("", [])
        period = (parts.get("period") or [""])[0] or next((v for v in plain if is_period(v)), "")
        if period:
            if is_period(period):
                condition["within"] = period
            return
        days = [v for v in plain if not is_period(v)]
        day_field = Field(field.name, "date", field.label)
        first = next(iter(parts.get("from") or days), None)
        last = next(iter(parts.get("to") or days), None)
        kind = "datetime" if field.type == "datetime" else "date"
        start = self._coerce(day_field, first, problems) if first else None
        end = self._coerce(day_field, last, problems) if last else None
        if start is not None:
            condition["gte"] = as_bounds(start, start, kind, self.timezone)[0]
        if end is not None:  # the whole last day
            after = end + dt.timedelta(days=1)
            condition["lt"] = as_bounds(after, after, kind, self.timezone)[0]


def is_period(text: str) -> bool:
    return text in PERIODS or bool(RELATIVE_DAYS.match(text))


def filters_for(presenter: Presenter, entity: str, params: Any, titles: dict[str, dict[int, str]],
                users: list[tuple[int, str]], prefix: str = "") -> list[Filter]:
    """The widgets of the view's `list.filters`, filled from the URL (`prefix`: the "any of these"
    group's)."""
    result = []
    for path in presenter.blueprint.view(entity).filters:
        field = presenter.path_field(entity, path)
        if field is None:
            continue
        widget = Filter(path, field, presenter.path_label(entity, path), kind_of(field),
                        values=[v for v in params.getlist(prefix + path) if v],
                        extra={s: params.get(f"{prefix}{path}__{s}", "") for s in SUFFIXES}, prefix=prefix)
        if widget.kind == "options":
            if field.type == "stage":
                pipeline = presenter.blueprint.pipelines.get(field.pipeline or "")
                stages = pipeline.stages if pipeline else ()
                widget.options = [(s.name, presenter.text(s.label), s.color) for s in stages]
            else:
                widget.options = [(str(o.value), presenter.text(o.label), o.color) for o in field.options]
        elif widget.kind == "user":
            widget.options = [("me", presenter.text(_me(presenter)), None)]
            widget.options += [(str(i), n, None) for i, n in users]
            pool = presenter.blueprint.entities[entity].pool
            if pool is not None and path == pool.owner_field:
                widget.options.insert(1, ("none", _word(presenter, N_("Nobody (public pool)")), None))
        elif widget.kind == "reference" and widget.values:
            assert field.to is not None  # a loaded blueprint's references name an entity
            try:
                widget.title = titles.get(field.to, {}).get(int(widget.values[0]), "")
            except ValueError:
                pass
        elif widget.kind == "date":
            widget.options = list(_period_options(presenter.locale))
        result.append(widget)
    return result


def _me(presenter: Presenter) -> str:
    return word("Me", presenter.locale)


@lru_cache(maxsize=16)
def _period_options(locale: str) -> tuple[tuple[str, str, None], ...]:
    """A date filter's periods in the locale's words: the same for every date filter of every page."""
    return tuple((period, word(PERIOD_WORDS[period], locale), None) for period in PERIODS)


def _word(presenter: Presenter, key: str) -> str:
    return word(key, presenter.locale)


def resolver(kit: Kit, connection: Connection):
    """(entity, text) → ids of records the reader may read whose searchable fields contain text."""
    def resolve(entity: str, text: str) -> list[int]:
        if not kit.can("read", entity):
            return []
        page = kit.secured.list(kit.actor, ListQuery(entity, search=text, limit=RESOLVE_LIMIT), connection)
        return [record["id"] for record in page.records]
    return resolve


def read_state(kit: Kit, connection: Connection, params: Any = None) -> ListState:
    params = kit.request.query_params if params is None else params
    return StateReader(kit.presenter, resolver(kit, connection)).read(kit.entity_name, params)
