"""The calendar of an entity whose view has `calendar: {date, end?, title?, color_by?}`.

    GET /r/{entity}/calendar                        this month
    GET /r/{entity}/calendar?view=week&date=2026-11-16&owner=me

Records are placed by the date field in the blueprint's time zone (a datetime at 00:15 in
Asia/Shanghai is on that day there, whatever its UTC date), titled by `title:` fields or the
record's title, coloured by the option colour of `color_by`, and link to the record. The list's
filters and quick search apply. One query reads the visible range, under the reader's access
scope, bounded at CALENDAR_LIMIT entries; a day shows DAY_CAP of them with "+N more" linking to
the list of that day.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field as dataclass_field
from typing import Any, Mapping
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from atrium.metadata.model import Field
from atrium.runtime.query.periods import as_bounds, local_today
from atrium.runtime.records.service import RecordNotFound
from atrium.ui.boards.kanban import filter_widgets, scoped, view_links
from atrium.ui.records.list_page import read_state
from atrium.ui.records.list_state import ListState
from atrium.ui.web.i18n import month_name, weekday_name
from atrium.ui.web.page_tools import Kit, record_page
from atrium.ui.web.templating import render
from atrium.ui.web.threads import in_thread

CALENDAR_LIMIT = 1000
DAY_CAP = {"month": 4, "week": 50}
OWN_PARAMS = ("view", "date")  # the calendar's own; everything else is the list's state


@dataclass
class Entry:
    id: int
    title: str
    href: str
    time: str = ""  # HH:MM on the day a datetime starts
    color: str | None = None
    continues: bool = False  # a multi-day entry on a day after its first


@dataclass
class Day:
    date: dt.date
    inside: bool  # in the month shown (week view: always)
    today: bool
    entries: list[Entry] = dataclass_field(default_factory=list)
    more: int = 0
    more_url: str = ""
    new_url: str = ""


class CalendarSpec:
    """The view's `calendar:` resolved against the entity and the reader's field access."""

    def __init__(self, kit: Kit):
        spec = kit.view.calendar
        mode = kit.presenter.mode
        date = kit.entity.fields.get(spec.get("date", "")) if spec else None
        if date is None or date.type not in ("date", "datetime") or mode(kit.entity_name, date.name) == "hidden":
            raise RecordNotFound(kit.entity_name)
        self.date: Field = date
        end = kit.entity.fields.get(spec.get("end") or "")
        self.end: Field | None = end if end is not None and end.type in ("date", "datetime") \
            and mode(kit.entity_name, end.name) != "hidden" else None
        titles = spec.get("title") or ()
        titles = [titles] if isinstance(titles, str) else list(titles)
        self.titles = [c.field for c in kit.presenter.columns(kit.entity_name, [t for t in titles if "." not in t])]
        color = kit.entity.fields.get(spec.get("color_by") or "")
        self.color: Field | None = color if color is not None and color.type in ("select", "stage") \
            and mode(kit.entity_name, color.name) != "hidden" else None


def parse_day(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat((text or "").strip()[:10])
    except ValueError:
        return None


def month_start(day: dt.date, shift: int = 0) -> dt.date:
    index = day.year * 12 + day.month - 1 + shift
    return dt.date(index // 12, index % 12 + 1, 1)


def visible_range(mode: str, anchor: dt.date) -> tuple[dt.date, dt.date]:
    """[start, end) of the days shown: whole weeks, Monday first."""
    if mode == "week":
        start = anchor - dt.timedelta(days=anchor.weekday())
        return start, start + dt.timedelta(days=7)
    first, following = month_start(anchor), month_start(anchor, 1)
    start = first - dt.timedelta(days=first.weekday())
    last = following - dt.timedelta(days=1)
    return start, last + dt.timedelta(days=7 - last.weekday())


def local_day(value: Any, zone: ZoneInfo) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.astimezone(zone).date()
    return value if isinstance(value, dt.date) else None


class Calendar:
    def __init__(self, kit: Kit, spec: CalendarSpec, state: ListState, mode: str, anchor: dt.date):
        self.kit = kit
        self.spec = spec
        self.state = state
        self.mode = mode
        self.anchor = anchor
        self.zone = ZoneInfo(kit.blueprint.timezone)
        self.start, self.end = visible_range(mode, anchor)
        self.truncated = False

    def read(self, connection) -> list[dict[str, Any]]:
        """The records the visible range shows: one query, bounded."""
        kit, spec = self.kit, self.spec
        joins, where = scoped(kit, connection, self.state)
        table = joins.base
        low, high = as_bounds(self.start, self.end, spec.date.type, kit.blueprint.timezone)
        column = table.c[spec.date.name]
        condition = sa.and_(column < high, column >= low)
        if spec.end is not None:  # an entry that began earlier and is still running shows too
            end_low = as_bounds(self.start, self.end, spec.end.type, kit.blueprint.timezone)[0]
            ending = table.c[spec.end.name]
            condition = sa.and_(column < high, sa.or_(column >= low, ending >= end_low))
        rows = connection.execute(sa.select(table).select_from(joins.from_clause).where(*where, condition)
                                  .order_by(column, table.c.id).limit(CALENDAR_LIMIT + 1)).fetchall()
        self.truncated = len(rows) > CALENDAR_LIMIT
        return [kit.secured.visible(kit.actor, kit.entity_name, kit.site.records.record_of(kit.entity, r._mapping))
                for r in rows[:CALENDAR_LIMIT]]

    def entries(self, connection, records: list[dict[str, Any]]) -> list[tuple[dt.date, dt.date, Entry]]:
        kit, spec, presenter = self.kit, self.spec, self.kit.presenter
        lookups = presenter.load(connection, kit.entity_name, records, [f.name for f in spec.titles])
        names = {} if spec.titles else kit.site.queries.titles(connection, kit.entity_name, [r["id"] for r in records])
        result = []
        for record in records:
            first = local_day(record.get(spec.date.name), self.zone)
            if first is None:
                continue
            last = local_day(record.get(spec.end.name), self.zone) if spec.end is not None else None
            last = max(first, last) if last is not None else first
            parts = [presenter.plain(f, record.get(f.name), lookups) for f in spec.titles]
            title = " · ".join(p for p in parts if p) or names.get(record["id"]) or f"#{record['id']}"
            moment = record.get(spec.date.name)
            time = moment.astimezone(self.zone).strftime("%H:%M") if isinstance(moment, dt.datetime) else ""
            color = None
            if spec.color is not None:
                color = presenter.show(spec.color, record.get(spec.color.name), lookups).color
            result.append((first, last,
                           Entry(record["id"], title, f"/r/{kit.entity_name}/{record['id']}", time, color)))
        return result

    def days(self, connection) -> list[Day]:
        kit = self.kit
        today = local_today(kit.site.now(), kit.blueprint.timezone)
        count = (self.end - self.start).days
        days = [Day(self.start + dt.timedelta(days=i), True, False) for i in range(count)]
        for day in days:
            day.inside = self.mode == "week" or day.date.month == self.anchor.month
            day.today = day.date == today
        placed: dict[dt.date, list[Entry]] = {}
        for first, last, entry in self.entries(connection, self.read(connection)):
            at = max(first, self.start)
            while at <= last and at < self.end:
                shown = entry if at == first else Entry(entry.id, entry.title, entry.href, "", entry.color, True)
                placed.setdefault(at, []).append(shown)
                at += dt.timedelta(days=1)
        can_create = kit.can("create") and kit.presenter.mode(kit.entity_name, self.spec.date.name) == "write"
        cap = DAY_CAP[self.mode]
        name = self.spec.date.name
        for day in days:
            entries = placed.get(day.date, [])
            day.entries, day.more = entries[:cap], max(0, len(entries) - cap)
            text = day.date.isoformat()
            day.more_url = f"/r/{kit.entity_name}?" + self.state.query_string(**{f"{name}__from": text,
                                                                                 f"{name}__to": text})
            if can_create:
                prefill = text if self.spec.date.type == "date" else f"{text}T09:00"
                day.new_url = f"/r/{kit.entity_name}/new?{QueryParams({name: prefill})}"
        return days

    # --- navigation and headings --------------------------------------------------------------

    def link(self, mode: str | None = None, day: dt.date | None = None) -> str:
        extra = {"view": mode or self.mode}
        if day is not None:
            extra["date"] = day.isoformat()
        return f"/r/{self.kit.entity_name}/calendar?" + self.state.query_string(**extra)

    def navigation(self) -> dict[str, str]:
        word = self.kit.word
        if self.mode == "week":
            previous, following = self.anchor - dt.timedelta(days=7), self.anchor + dt.timedelta(days=7)
            labels = (word("Previous week"), word("Next week"))
        else:
            previous, following = month_start(self.anchor, -1), month_start(self.anchor, 1)
            labels = (month_name(previous.month, self.kit.locale), month_name(following.month, self.kit.locale))
        return {"previous": self.link(day=previous), "previous_label": labels[0],
                "next": self.link(day=following), "next_label": labels[1], "today": self.link(),
                "month": self.link("month", self.anchor), "week": self.link("week", self.anchor)}

    def heading(self) -> str:
        word = self.kit.word
        if self.mode == "week":
            last = self.end - dt.timedelta(days=1)
            return word("{start} – {end}", start=self.day_text(self.start), end=self.day_text(last))
        return word("{month_name} {year}", year=self.anchor.year, month=self.anchor.month,
                    month_name=month_name(self.anchor.month, self.kit.locale))

    def day_text(self, day: dt.date) -> str:
        return self.kit.word("{day} {month_name} {year}", year=day.year, month=day.month, day=day.day,
                             month_name=month_name(day.month, self.kit.locale))


def calendar_params(request: Request) -> QueryParams:
    """The list's state without the calendar's own parameters."""
    return QueryParams([(k, v) for k, v in request.query_params.multi_items() if k not in OWN_PARAMS])


@record_page
@in_thread
def calendar(request: Request) -> Response:
    kit = Kit(request)
    kit.require("read")
    spec = CalendarSpec(kit)
    params = calendar_params(request)
    mode = "week" if request.query_params.get("view") == "week" else "month"
    anchor = parse_day(request.query_params.get("date")) or local_today(kit.site.now(), kit.blueprint.timezone)
    with kit.site.engine.connect() as connection:
        state = read_state(kit, connection, params)
        sheet = Calendar(kit, spec, state, mode, anchor)
        days = sheet.days(connection)
        filters = filter_widgets(kit, connection, params)
    query = state.query_string()
    context: Mapping[str, Any] = {
        "entity": kit.entity, "entity_name": kit.entity_name, "active_entity": kit.entity_name,
        "state": state, "filters": filters, "mode": mode, "anchor": anchor.isoformat(),
        "weeks": [days[i:i + 7] for i in range(0, len(days), 7)],
        "weekdays": [weekday_name(i, kit.locale) for i in range(1, 8)],
        "heading": sheet.heading(), "nav": sheet.navigation(), "truncated": sheet.truncated,
        "limit": CALENDAR_LIMIT, "views": view_links(kit, query, "calendar"), "query": query,
        "can_create": kit.can("create"), "date_label": kit.presenter.text(spec.date.label),
        "day_labels": {d.date: sheet.day_text(d.date) for d in days},
    }
    return render(request, "calendar.html", context)


routes = [Route("/r/{entity}/calendar", calendar, methods=["GET"], name="record_calendar")]
