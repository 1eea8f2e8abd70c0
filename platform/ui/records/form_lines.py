"""Line grids on a form (a view's `form.lines`): the child rows shown, edited, added and removed
with the parent, read back from a submission, and handed to `save_with_lines`.

A grid's inputs are named `{grid}-{row}-{field}` (`g0-2-quantity`), with `{grid}-{row}-_id` for
an existing line, `{grid}-rows` for the row count and `{grid}-removed` for each existing line the
user took out. Each row is drafted through the same rules the save applies (defaults, formulas,
checks), so its formula cells follow the input on every form-state redraw, as the parent's do.
The parent's roll-ups over a grid are computed from those drafts (`rolled`, with the roll-ups' own
definitions), so its totals, and the formulas and conditions reading them, follow the rows too.
"""
from __future__ import annotations

from dataclasses import dataclass, field as dataclass_field
from decimal import Decimal
from typing import Any, Callable, Mapping, Sequence

from sqlalchemy.engine import Connection

from atrium.metadata.model import Field, LineGrid
from atrium.runtime.access.line_saves import GridChanges, LineChange, RowErrors
from atrium.runtime.query.lists import ListQuery
from atrium.runtime.records.rules import Errors
from atrium.ui.records.form_model import input_value
from atrium.ui.web.page_tools import Kit
from atrium.ui.web.present import EMPTY, Shown

MAX_LINES = 500  # rows one grid shows and saves
ADD, REMOVE = "_line_add", "_line_remove"  # form-state actions: add a row to grid g0, remove row g0-2


@dataclass
class PostedRow:
    """One row as the user left it: the line's id (None for a new one), input and typed titles."""

    id: int | None
    raw: dict[str, Any] = dataclass_field(default_factory=dict)
    titles: dict[str, str] = dataclass_field(default_factory=dict)
    errors: dict[str, list[str]] = dataclass_field(default_factory=dict)  # a picker left without a choice
    fresh: bool = False  # just added: its cells do not show messages yet


@dataclass
class GridInput:
    grid: LineGrid
    rows: list[PostedRow]
    removed: list[int] = dataclass_field(default_factory=list)
    drafted: list[tuple[dict[str, Any], Errors]] | None = None  # each row as it would be saved (FormLines.drafts)


@dataclass
class Cell:
    name: str  # the input's name and id
    field: Field
    editable: bool
    value: Any = ""
    shown: Shown = EMPTY
    title: str = ""
    options: list[tuple[str, str]] = dataclass_field(default_factory=list)
    errors: list[str] = dataclass_field(default_factory=list)

    @property
    def kind(self) -> str:
        return self.field.type


@dataclass
class Row:
    index: int
    id: int | None
    cells: list[Cell]
    errors: list[str] = dataclass_field(default_factory=list)  # the line's own, not a cell's
    focus: bool = False  # the row just added: its first cell takes the focus


@dataclass
class Table:
    prefix: str
    key: str
    label: str
    headers: list[tuple[str, bool, str]]  # label, required, field type
    rows: list[Row]
    removed: list[int]
    can_add: bool
    can_remove: bool


class FormLines:
    """The grids of one form; `parent_id` is None on a new record's form."""

    def __init__(self, kit: Kit, parent_id: int | None):
        self.kit = kit
        self.parent_id = parent_id
        access = kit.site.access
        self.grids = [g for g in kit.view.lines if access.can(kit.actor, g.entity, "read")
                      and access.field_mode(kit.actor, g.entity, g.via) != "hidden"]

    def prefix(self, index: int) -> str:
        return f"g{index}"

    def columns(self, grid: LineGrid) -> list[str]:
        mode = self.kit.site.access.field_mode
        return [c for c in grid.columns if mode(self.kit.actor, grid.entity, c) != "hidden"]

    def editable(self, grid: LineGrid, name: str) -> bool:
        field = self.kit.blueprint.entities[grid.entity].fields[name]
        return not field.computed and self.kit.site.access.field_mode(self.kit.actor, grid.entity, name) == "write"

    # --- the rows -----------------------------------------------------------------------------

    def stored(self, connection: Connection, grid: LineGrid) -> list[dict[str, Any]]:
        """The parent's lines as stored (every field: the drafts need what the role cannot see)."""
        if self.parent_id is None:
            return []
        records = self.kit.site.records.read_where(connection, grid.entity, grid.via, [self.parent_id])
        readable = {r["id"] for r in self.kit.secured.list(self.kit.actor, ListQuery(
            grid.entity, where={grid.via: self.parent_id}, sort=("id",), limit=MAX_LINES), connection).records}
        return sorted((r for r in records if r["id"] in readable), key=lambda r: r["id"])

    def initial(self, connection: Connection) -> list[GridInput]:
        """The grids as stored: one row per line, nothing changed."""
        result = []
        timezone = self.kit.blueprint.timezone
        for grid in self.grids:
            child = self.kit.blueprint.entities[grid.entity]
            rows = [PostedRow(line["id"], {c: cell_value(child.fields[c], line.get(c), timezone)
                                           for c in self.columns(grid) if self.editable(grid, c)})
                    for line in self.stored(connection, grid)]
            result.append(GridInput(grid, rows))
        return result

    def read(self, form: Any, resolve: Callable[[str, str], list[int]]) -> list[GridInput]:
        """The grids as submitted, with a form-state's add or remove applied."""
        result = []
        for g, grid in enumerate(self.grids):
            prefix = self.prefix(g)
            child = self.kit.blueprint.entities[grid.entity]
            count = min(_int(form.get(f"{prefix}-rows")) or 0, MAX_LINES)
            removed = [i for i in (_int(v) for v in form.getlist(f"{prefix}-removed")) if i is not None]
            rows = []
            for r in range(count):
                row = PostedRow(_int(form.get(f"{prefix}-{r}-_id")))
                for name in self.columns(grid):
                    if self.editable(grid, name):
                        self._read_cell(form, f"{prefix}-{r}-{name}", child.fields[name], row, resolve)
                rows.append(row)
            action = str(form.get(REMOVE, ""))
            if action.startswith(f"{prefix}-") and (_int(action[len(prefix) + 1:]) or 0) < len(rows):
                gone = rows.pop(_int(action[len(prefix) + 1:]) or 0)
                if gone.id is not None:
                    removed.append(gone.id)
            if str(form.get(ADD, "")) == prefix and len(rows) < MAX_LINES:
                rows.append(PostedRow(None, fresh=True))
            result.append(GridInput(grid, rows, removed))
        return result

    def _read_cell(self, form: Any, name: str, field: Field, row: PostedRow,
                   resolve: Callable[[str, str], list[int]]) -> None:
        column = field.name
        if field.type == "boolean":
            row.raw[column] = str(form.get(name, "")) in ("on", "true", "1")
            return
        if field.type == "multiselect":
            row.raw[column] = [str(v) for v in form.getlist(name) if str(v)]
            return
        value = str(form.get(name, "")).strip()
        if field.type == "reference":
            typed = str(form.get(f"{name}__q", "")).strip()
            row.titles[column] = typed
            if not value and typed:
                found = resolve(field.to or "", typed)
                if len(found) == 1:
                    value = str(found[0])
                else:
                    row.errors[column] = [self.kit.word("Choose a record from the list")]
        row.raw[column] = value

    @staticmethod
    def changes_of(row: PostedRow) -> dict[str, Any]:
        return {name: (value or None) if isinstance(value, list) else value for name, value in row.raw.items()}

    def changes(self, inputs: Sequence[GridInput]) -> list[GridChanges]:
        """What the save writes: each row's values, and each removed line."""
        result = []
        for grid_input in inputs:
            rows = [LineChange(row.id, self.changes_of(row)) for row in grid_input.rows]
            rows += [LineChange(line_id, remove=True) for line_id in grid_input.removed]
            result.append(GridChanges(grid_input.grid, rows))
        return result

    @staticmethod
    def input_errors(inputs: Sequence[GridInput]) -> dict[str, RowErrors]:
        return {i.grid.key: {r: row.errors for r, row in enumerate(i.rows) if row.errors} for i in inputs}

    # --- the tables ---------------------------------------------------------------------------

    def drafts(self, connection: Connection, grid_input: GridInput,
               stored: Mapping[int, Mapping[str, Any]] | None = None) -> list[tuple[dict[str, Any], Errors]]:
        """Each row as the save would leave it (its defaults, including those read from a linked
        record such as a product's price, its formulas) and the rules' messages; worked out once
        per submission."""
        if grid_input.drafted is not None:
            return grid_input.drafted
        grid = grid_input.grid
        child = self.kit.blueprint.entities[grid.entity]
        if stored is None:
            stored = {line["id"]: line for line in self.stored(connection, grid)}
        rules = self.kit.site.records.rules
        linked = self.kit.site.records.linked_values.reader(connection)
        drafts = []
        for row in grid_input.rows:
            line = stored.get(row.id) if row.id is not None else None
            base = ({f.name: None for f in child} | dict(line)) if line is not None else None
            changes = self.changes_of(row)
            if base is None:
                changes[grid.via] = self.parent_id
            record, found = rules.prepare(child, base, changes, self.kit.actor, linked=linked)
            found.pop(grid.via, None)  # a new parent's lines are linked when it is saved
            drafts.append((record, found))
        grid_input.drafted = drafts
        return drafts

    def rolled(self, connection: Connection, inputs: Sequence[GridInput]) -> dict[str, Any]:
        """The parent's roll-ups over its grids' lines as typed: rows added, changed and taken
        out count as the save would leave them, with the roll-ups' own definitions
        (Rollups.over_rows); a line of the parent the grid does not hold (one this role may not
        read) counts as stored."""
        values: dict[str, Any] = {}
        records = self.kit.site.records
        for grid_input in inputs:
            grid = grid_input.grid
            rows = [record for record, _ in self.drafts(connection, grid_input)]
            if self.parent_id is not None:
                held = {row.id for row in grid_input.rows if row.id is not None} | set(grid_input.removed)
                rows += [line for line in records.read_where(connection, grid.entity, grid.via, [self.parent_id])
                         if line["id"] not in held]
            values.update(records.rollups.over_rows(self.kit.entity, grid.entity, grid.via, rows))
        return values

    def tables(self, connection: Connection, inputs: Sequence[GridInput], errors: Mapping[str, RowErrors],
               users: list[tuple[int, str]], saving: bool) -> list[Table]:
        """The grids to show; `errors` by grid and row (from a save, or the drafts' own when
        `saving` is False: then only cells holding a value show their messages)."""
        result = []
        presenter = self.kit.presenter
        for g, grid_input in enumerate(inputs):
            grid = grid_input.grid
            child = self.kit.blueprint.entities[grid.entity]
            columns = self.columns(grid)
            stored = {line["id"]: line for line in self.stored(connection, grid)}
            drafts = self.drafts(connection, grid_input, stored)
            lookups = presenter.load(connection, grid.entity, [d[0] for d in drafts], columns)
            rows = []
            for r, (row, (record, found)) in enumerate(zip(grid_input.rows, drafts, strict=True)):
                messages = dict(errors.get(grid.key, {}).get(r, {})) if saving else {
                    k: v for k, v in found.items() if k in row.raw and row.raw[k] not in ("", [], None)}
                for name, texts in row.errors.items():
                    messages[name] = texts
                cells = [self._cell(grid, self.prefix(g), r, child.fields[name], row, record, lookups, users,
                                    messages.get(name, []) if not row.fresh else [])
                         for name in columns]
                shown = {c.field.name for c in cells}
                loose = [t for name, texts in messages.items() if name not in shown for t in texts]
                rows.append(Row(r, row.id, cells, loose if not row.fresh else [], focus=row.fresh))
            headers = [(presenter.text(child.fields[c].label), child.fields[c].required and self.editable(grid, c),
                        child.fields[c].type) for c in columns]
            can_create = (self.kit.can("create", grid.entity)
                          and self.kit.site.access.field_mode(self.kit.actor, grid.entity, grid.via) == "write")
            result.append(Table(self.prefix(g), grid.key, presenter.text(grid.label), headers, rows,
                                grid_input.removed, can_create, self.kit.can("delete", grid.entity)))
        return result

    def _cell(self, grid: LineGrid, prefix: str, r: int, field: Field, row: PostedRow, record: Mapping[str, Any],
              lookups: Any, users: list[tuple[int, str]], errors: list[str]) -> Cell:
        presenter = self.kit.presenter
        name = f"{prefix}-{r}-{field.name}"
        editable = self.editable(grid, field.name)
        cell = Cell(name, field, editable, shown=presenter.show(field, record.get(field.name), lookups),
                    errors=list(errors))
        if not editable:
            return cell
        # what the user typed; an empty cell shows the draft's value (a default, say one read from
        # the product just picked)
        typed = row.raw.get(field.name)
        cell.value = typed if typed not in (None, "", []) else cell_value(
            field, record.get(field.name), self.kit.blueprint.timezone)
        if field.type == "reference":
            chosen = _int(cell.value)
            linked = lookups.titles.get(field.to, {}).get(chosen) if chosen is not None else None
            cell.title = linked or row.titles.get(field.name, "")
        elif field.type in ("select", "multiselect"):
            cell.options = [(str(o.value), presenter.text(o.label)) for o in field.options]
        elif field.type == "user":
            cell.options = [(str(i), n) for i, n in users]
        return cell

    def read_only(self, connection: Connection) -> list[Table]:
        """The detail page's grids: the stored lines, shown, not editable."""
        result = []
        presenter = self.kit.presenter
        for g, grid in enumerate(self.grids):
            child = self.kit.blueprint.entities[grid.entity]
            columns = self.columns(grid)
            lines = [self.kit.secured.visible(self.kit.actor, grid.entity, line)
                     for line in self.stored(connection, grid)]
            lookups = presenter.load(connection, grid.entity, lines, columns)
            rows = [Row(r, line["id"], [Cell(c, child.fields[c], False,
                                             shown=presenter.show(child.fields[c], line.get(c), lookups))
                                        for c in columns])
                    for r, line in enumerate(lines)]
            headers = [(presenter.text(child.fields[c].label), False, child.fields[c].type) for c in columns]
            result.append(Table(self.prefix(g), grid.key, presenter.text(grid.label), headers, rows, [], False, False))
        return result


def cell_value(field: Field, value: Any, timezone: str) -> Any:
    """A stored value as a cell's input shows it: a number without trailing zeros (2, not 2.0000)."""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return input_value(field, value, timezone)


def _int(value: Any) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None
