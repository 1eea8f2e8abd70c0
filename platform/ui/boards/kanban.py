"""The kanban board of an entity whose view has `kanban: {group_by, card, sum}`.

    GET /r/{entity}/kanban?q=acme&owner=me      one column per stage of the pipeline (or option of
                                                a select), with its count and total

A column's count and total come from one GROUP BY query under the reader's access scope and the
list page's filters (the same URL parameters); each column then loads at most CARD_CAP cards,
newest first, with "+N more" linking to the filtered list, so a board over a million records
costs a handful of indexed queries. Moving a card is kanban_move.py.
"""
from __future__ import annotations

from dataclasses import dataclass, field as dataclass_field
from typing import Any, Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from starlette.requests import Request
from starlette.responses import Response

from atrium.metadata.model import Field
from atrium.runtime.query.conditions import Joins
from atrium.runtime.query.lists import ListQuery
from atrium.runtime.records.service import RecordNotFound
from atrium.ui.records.in_place import InPlace
from atrium.ui.records.list_page import default_columns, filter_titles, read_state
from atrium.ui.records.list_state import ListState, filters_for
from atrium.ui.web.i18n import format_money, format_number
from atrium.ui.web.page_tools import Kit, active_users, record_page
from atrium.ui.web.present import Column, Shown
from atrium.ui.web.templating import render
from atrium.ui.web.threads import in_thread

CARD_CAP = 50
NONE_KEY = "kanban-col-none"


def scoped(kit: Kit, connection: Connection, state: ListState) -> tuple[Joins, list[sa.ColumnElement]]:
    """The FROM clause and WHERE conditions of the list with the same URL: the reader's access
    scope, the filters and the quick search, exactly as the list page applies them."""
    if not kit.can("read"):
        raise RecordNotFound(kit.entity_name)
    joins = Joins(kit.blueprint, kit.site.tables, kit.entity_name)
    query = ListQuery(kit.entity_name, where=state.where, search=state.search)
    # Queries._where is what Queries.list and exact_count use; the board needs its conditions
    # for a GROUP BY, which the runtime has no public call for yet.
    return joins, kit.site.queries.where(connection, kit.actor, joins, query, kit.site.now())


def filter_widgets(kit: Kit, connection: Connection, params: Any) -> list:
    """The list page's filter widgets, for the board and the calendar."""
    users = []
    if any((f := kit.presenter.path_field(kit.entity_name, p)) is not None and f.type == "user"
           for p in kit.view.filters):
        users = active_users(kit, connection)
    return filters_for(kit.presenter, kit.entity_name, params, filter_titles(kit, connection), users)


@dataclass
class Card:
    id: int
    version: int
    link: str  # the first card field, as the list page's first column
    fields: list[tuple[str, Shown]]
    move_url: str
    movable: bool
    targets: list[tuple[str, str]]
    quick_url: str = ""  # the card's quick edit (quick_edit.py), when it has fields this reader may change


@dataclass
class Lane:
    """One column of the board."""

    key: str  # its DOM id
    value: str | None  # the stored value as text; None: records with no or an unknown value
    label: str
    color: str | None = None
    closed: bool = False  # a closed outcome (won, lost): shown folded
    count: int = 0
    total: str | None = None
    probability: str | None = None  # the stage's configured probability, with the learned one
    cards: list[Card] = dataclass_field(default_factory=list)
    more_url: str = ""

    @property
    def more(self) -> int:
        return max(0, self.count - len(self.cards))


class Board:
    """The board's metadata, read once per request: the column field, card fields, sum field."""

    def __init__(self, kit: Kit):
        self.kit = kit
        spec = kit.view.kanban
        group = kit.entity.fields.get(spec.get("group_by", "")) if spec else None
        if group is None or group.type not in ("stage", "select") \
                or kit.presenter.mode(kit.entity_name, group.name) == "hidden":
            raise RecordNotFound(kit.entity_name)
        self.group: Field = group
        self.pipeline = kit.blueprint.pipelines.get(group.pipeline or "") if group.type == "stage" else None
        paths = list(spec.get("card") or default_columns(kit)[:3])
        self.card_columns: list[Column] = kit.presenter.columns(kit.entity_name, paths)
        self.sum_field = self._sum_field(spec.get("sum"), paths)
        in_place = InPlace(kit)
        self.quick_fields = [name for name in spec.get("quick_edit", ()) if in_place.editable(name)]

    def _sum_field(self, named: str | None, paths: list[str]) -> Field | None:
        """`sum:`, else the first money field among the card's fields, then the entity's."""
        entity, mode = self.kit.entity, self.kit.presenter.mode
        if named:
            field = entity.fields.get(named)
            usable = field is not None and field.type in ("integer", "number", "money", "percent")
            return field if usable and mode(entity.name, named) != "hidden" else None
        for name in [p for p in paths if "." not in p] + [f.name for f in entity]:
            field = entity.fields.get(name)
            if field is not None and field.type == "money" and mode(entity.name, name) != "hidden":
                return field
        return None

    def lanes(self) -> list[Lane]:
        text = self.kit.presenter.text
        if self.pipeline is not None:
            return [Lane(f"kanban-col-{i}", s.name, text(s.label), s.color, not s.is_open,
                         probability=self._probability(s)) for i, s in enumerate(self.pipeline.stages)]
        return [Lane(f"kanban-col-{i}", str(o.value), text(o.label), o.color)
                for i, o in enumerate(self.group.options)]

    def _probability(self, stage) -> str | None:
        """`50%`, and beside it the share learned from history when the pipeline learns one."""
        if stage.probability is None or not stage.is_open:
            return None
        configured = f"{stage.probability:g}%"
        assert self.pipeline is not None  # lanes() asks only for a pipeline's stages
        if not self.pipeline.learned_probability:
            return configured
        learned = self.kit.site.records.learned.for_pipeline(self.pipeline.name).get(stage.name)
        if learned is None or learned.learned is None:
            return configured
        return self.kit.word("{configured} · learned {learned} ({samples})", configured=configured,
                             learned=f"{learned.learned:g}%",
                             samples=learned.samples)

    def values(self) -> list[Any]:
        """The stored values that have a column of their own."""
        if self.pipeline is not None:
            return list(self.pipeline.stage_names)
        return list(self.group.option_values)

    def stored(self, text: str) -> Any:
        """A column's value as text (a form, a data attribute) → the stored value, or None."""
        return next((v for v in self.values() if str(v) == text), None)

    def label_of(self, value: Any) -> str:
        if self.pipeline is not None:
            stage = self.pipeline.stage(value)
            return self.kit.presenter.text(stage.label) if stage else str(value)
        option = self.group.option(value)
        return self.kit.presenter.text(option.label) if option else str(value)

    def targets(self, source: Any) -> list[tuple[str, str]]:
        """Columns a card in `source` may move to, for its "move to…" select."""
        result = []
        for lane in self.lanes():
            assert lane.value is not None  # only the board adds the lane of no value, not lanes()
            value = self.stored(lane.value)
            if value == source:
                continue
            if self.pipeline is not None and source is not None and not self.pipeline.allows(source, value):
                continue
            result.append((lane.value, lane.label))
        return result

    def total_text(self, value: Any) -> str | None:
        if self.sum_field is None:
            return None
        if self.sum_field.type == "money":
            return format_money(value or 0, self.kit.blueprint.currency, self.kit.locale)
        return format_number(value or 0)

    # --- filling the columns ------------------------------------------------------------------

    def fill(self, connection: Connection, state: ListState, only: Iterable[str | None] | None = None) -> list[Lane]:
        """The columns with counts, totals and cards; `only` the columns with these values (the
        two a move touched), else all. The column of unknown values shows only when not empty."""
        kit = self.kit
        joins, where = scoped(kit, connection, state)
        table = joins.base
        column = table.c[self.group.name]
        measures = [sa.func.count().label("n")]
        if self.sum_field is not None:
            measures.append(sa.func.sum(table.c[self.sum_field.name]).label("total"))
        tallies = {row[0]: row for row in connection.execute(
            sa.select(column, *measures).select_from(joins.from_clause).where(*where).group_by(column))}
        known = self.values()
        lanes = self.lanes()
        other = [row for value, row in tallies.items() if value not in known]
        if other:
            lanes.append(Lane(NONE_KEY, None, kit.word("(none)")))
        wanted = None if only is None else set(only)
        lanes = [lane for lane in lanes if wanted is None or lane.value in wanted]
        movable = self._mover(connection)
        for lane in lanes:
            if lane.value is None:
                lane.count = sum(row.n for row in other)
                total = sum((row.total or 0) for row in other) if self.sum_field is not None else None
                condition = sa.or_(column.is_(None), column.not_in(known))
            else:
                row = tallies.get(self.stored(lane.value))
                lane.count = row.n if row is not None else 0
                total = (row.total if row is not None else 0) if self.sum_field is not None else None
                condition = column == self.stored(lane.value)
                lane.more_url = f"/r/{kit.entity_name}?" + state.query_string(**{self.group.name: lane.value})
            lane.total = self.total_text(total)
            if lane.count:
                rows = connection.execute(sa.select(table).select_from(joins.from_clause)
                                          .where(*where, condition).order_by(table.c.id.desc()).limit(CARD_CAP))
                records = [kit.secured.visible(kit.actor, kit.entity_name,
                                               kit.site.records.record_of(kit.entity, r._mapping))
                           for r in rows]
                lane.cards = self.cards(connection, records, state, movable)
        return lanes

    def _mover(self, connection: Connection):
        """record → whether this reader may move it (update scope, and the column field writable)."""
        kit = self.kit
        if kit.presenter.mode(kit.entity_name, self.group.name) != "write":
            return lambda record: False
        return kit.site.access.permits_each(connection, kit.actor, kit.entity_name, "update")

    def cards(self, connection: Connection, records: list[dict], state: ListState, movable) -> list[Card]:
        kit = self.kit
        presenter = kit.presenter
        lookups = presenter.load(connection, kit.entity_name, records, [c.path for c in self.card_columns])
        query = state.query_string()
        updatable = InPlace(kit).updatable(connection) if self.quick_fields else (lambda record: False)
        result = []
        for record in records:
            shown = [(c.label, presenter.show(c.field, presenter.value_at(kit.entity_name, record, c.path, lookups),
                                              lookups)) for c in self.card_columns]
            link = shown[0][1].text if shown else ""
            can_move = movable(record)
            quick = quick_url(kit, record["id"], query) if self.quick_fields and updatable(record) else ""
            result.append(Card(record["id"], record["version"], link or f"#{record['id']}", shown[1:],
                               move_url(kit, record["id"], query), can_move,
                               self.targets(record.get(self.group.name)) if can_move else [], quick))
        return result


def move_url(kit: Kit, record_id: int, query: str) -> str:
    return f"/r/{kit.entity_name}/{record_id}/move" + (f"?{query}" if query else "")


def quick_url(kit: Kit, record_id: int, query: str) -> str:
    return f"/r/{kit.entity_name}/{record_id}/quick-edit" + (f"?{query}" if query else "")


def board_context(kit: Kit, board: Board, connection: Connection, state: ListState,
                  **extra: Any) -> dict[str, Any]:
    query = state.query_string()
    context = {
        "entity": kit.entity, "entity_name": kit.entity_name, "active_entity": kit.entity_name,
        "state": state, "lanes": board.fill(connection, state), "group": board.group,
        "filters": filter_widgets(kit, connection, kit.request.query_params),
        "query": query, "can_create": kit.can("create"),
        "has_calendar": bool(kit.view.calendar), "sum_label": kit.presenter.text(board.sum_field.label)
        if board.sum_field is not None else "",
        "views": view_links(kit, query, "kanban"), "messages": [], "notice": "", "ask": None,
    }
    context.update(extra)
    return context


@record_page
@in_thread
def kanban(request: Request) -> Response:
    kit = Kit(request)
    kit.require("read")
    board = Board(kit)
    with kit.site.engine.connect() as connection:
        state = read_state(kit, connection)
        context = board_context(kit, board, connection, state)
    return render(request, "kanban.html", context)


def view_links(kit: Kit, query: str, current: str) -> list[tuple[str, str, bool]]:
    """(label, href, current) for the list, board and calendar of the entity."""
    suffix = f"?{query}" if query else ""
    links = [(kit.word("List"), f"/r/{kit.entity_name}{suffix}", current == "list")]
    if kit.view.kanban:
        links.append((kit.word("Board"), f"/r/{kit.entity_name}/kanban{suffix}", current == "kanban"))
    if kit.view.calendar:
        links.append((kit.word("Calendar"), f"/r/{kit.entity_name}/calendar{suffix}", current == "calendar"))
    return links
